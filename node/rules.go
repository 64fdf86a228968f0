package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/metrics"
	"github.com/vucelink/vucelink/notify"
	"github.com/vucelink/vucelink/rulestest"
	"github.com/vucelink/vucelink/schema"
)

// ruleBook holds the rule files and the document schemas a node uses
// and, when they come from rules_dir, reloads them while the node runs:
// analysts change a rule file or a schema and the next document uses it.
// A load — at start and on every change — checks what `vucelink rules
// test` checks first: each schema compiles, each rule file loads, each
// outbound rule file writes only what its document's schema has and
// everything it requires, and (rules_dir only) every example pair beside
// the rules still gives its expected document, valid against its schema.
// If anything fails, what is in force stays; /readyz says the rules are
// degraded and why, the metrics count the refusal, and the operators get
// one e-mail per refused change.
type ruleBook struct {
	fsys    fs.FS
	dir     string // rules_dir; "" means the embedded rules, never reloaded
	logger  *slog.Logger
	want    map[string]ruleUse    // by file name
	schemas map[string]schemaUse  // by document type
	metrics *metrics.RulesMetrics // nil: not counted

	cur atomic.Pointer[ruleSet]

	mu       sync.Mutex
	stamp    string // the files last loaded (or refused)
	alerted  bool   // the operators were told of lastErr
	inForce  string // the files the rules in force were loaded from
	lastErr  error
	notifier ruleAlerter
}

// ruleAlerter is what the rule book needs of the notifier (a
// *notify.Notifier): one message to the operators per refused change.
type ruleAlerter interface {
	Notify(ctx context.Context, e notify.Event) (bool, error)
}

// alertTo sends refused changes to n from now on.
func (b *ruleBook) alertTo(n ruleAlerter) {
	b.mu.Lock()
	b.notifier = n
	b.mu.Unlock()
}

// count makes the book's reloads show in m.
func (b *ruleBook) count(m *metrics.Metrics) {
	b.metrics = m.Rules()
	b.metrics.WatchSync(b.inSync)
}

// ruleUse is what a rule file must be for the configuration key using it.
type ruleUse struct{ key, document, direction string }

// schemaUse is a document type's schema: its configuration key, its entry
// file, its root element and the path to its signed part (what inbound
// rule files read), in Clark notation ({uri}local).
type schemaUse struct{ key, entry, root, signed string }

// ruleSet is what one load produced, swapped in whole.
type ruleSet struct {
	rules   map[string]*mapping.Rules // by file name
	schemas map[string]*schema.Schema // by document type
}

// addSchema makes docType's documents validated against entry.
func (b *ruleBook) addSchema(docType, key, entry, root, signed string) {
	if b.schemas == nil {
		b.schemas = map[string]schemaUse{}
	}
	b.schemas[docType] = schemaUse{key, entry, root, signed}
}

func (b *ruleBook) add(key, name, document, direction string) {
	if b.want == nil {
		b.want = map[string]ruleUse{}
	}
	b.want[name] = ruleUse{key, document, direction}
}

// load compiles every schema and reads and checks every rule file; errors
// name the configuration key and the file (and, from package mapping, the
// line and rule).
func (b *ruleBook) load() (*ruleSet, error) {
	set := &ruleSet{rules: map[string]*mapping.Rules{}, schemas: map[string]*schema.Schema{}}
	var errs []error
	targets := map[string]mapping.TargetChecker{}
	for _, docType := range slices.Sorted(maps.Keys(b.schemas)) {
		use := b.schemas[docType]
		s, err := schema.Load(b.fsys, use.entry)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", use.key, err))
			continue
		}
		for _, w := range s.Warnings() {
			b.logger.Warn("schema compiles with a warning", "document", docType, "schema", use.entry, "warning", w)
		}
		t, err := schema.LoadTargets(b.fsys, use.entry, use.root)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", use.key, err))
			continue
		}
		set.schemas[docType] = s
		targets[docType] = t
	}
	for _, name := range slices.Sorted(maps.Keys(b.want)) {
		use := b.want[name]
		// Outbound files write the standard document: their targets are
		// checked against its schema; inbound files read it: their XML
		// source paths are, from the signed part.
		var opts mapping.Options
		if t, ok := targets[use.document]; ok {
			if use.direction == "outbound" {
				opts.Targets = t
			} else {
				opts.Sources, opts.SourceRoot = t, b.schemas[use.document].signed
			}
		} else if _, ok := b.schemas[use.document]; ok {
			continue // the schema failed: already reported
		}
		r, err := mapping.LoadWith(b.fsys, name, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", use.key, err))
			continue
		}
		if r.Document() != use.document || r.Direction() != use.direction {
			errs = append(errs, fmt.Errorf("%s: %s maps %s %s, want %s %s", use.key, name, r.Document(), r.Direction(), use.document, use.direction))
			continue
		}
		set.rules[name] = r
	}
	if len(errs) == 0 && b.dir != "" {
		errs = append(errs, b.examples()...)
	}
	return set, errors.Join(errs...)
}

// examples runs the example pairs beside the rules, as `vucelink rules
// test` does: a change that loads but changes what an example produces,
// or makes a document its schema refuses, is refused too.
func (b *ruleBook) examples() []error {
	rep, err := rulestest.CheckFS(b.fsys)
	switch {
	case errors.Is(err, rulestest.ErrNoExamples):
		b.logger.Warn("rules_dir has no example pairs: changes are checked against the schemas only", "rules_dir", b.dir)
		return nil
	case err != nil:
		return []error{fmt.Errorf("rules test: %w", err)}
	}
	for _, w := range rep.Warnings {
		b.logger.Warn("rules test: "+w, "rules_dir", b.dir)
	}
	var errs []error
	for _, r := range rep.Results {
		if !r.OK() {
			errs = append(errs, fmt.Errorf("rules test: %s", r))
		}
	}
	return errs
}

// start loads the rule files for the first time.
func (b *ruleBook) start() error {
	stamp, _ := dirStamp(b.dir)
	set, err := b.load()
	if err != nil {
		return err
	}
	b.cur.Store(set)
	b.stamp, b.inForce = stamp, stamp
	if b.metrics != nil {
		b.metrics.Loaded(time.Now())
	}
	return nil
}

// mapper returns a Mapper for one file that always uses the rules in force.
func (b *ruleBook) mapper(name string) bookMapper { return bookMapper{b, name} }

// reload loads the rule files again if anything under rules_dir changed.
// Only the watch goroutine calls it; the lock is held around the book's
// state, not the load (which runs the examples), so /readyz never waits.
func (b *ruleBook) reload() {
	stamp, err := dirStamp(b.dir)
	b.mu.Lock()
	unchanged := err != nil || stamp == b.stamp
	b.stamp = stamp
	alerter := b.notifier
	// The operators are told of a refused change once the files have
	// stayed so for one more look: an analyst saving a rule file and then
	// its example is not e-mailed about the state in between.
	alert := unchanged && b.lastErr != nil && !b.alerted
	if alert {
		b.alerted = true
	}
	lastErr := b.lastErr
	b.mu.Unlock()
	if alert {
		b.alert(alerter, stamp, lastErr)
	}
	if unchanged {
		return
	}
	set, err := b.load()
	b.mu.Lock()
	if err == nil {
		b.cur.Store(set)
		b.lastErr, b.inForce = nil, stamp
	} else {
		b.lastErr, b.alerted = err, false
	}
	b.mu.Unlock()
	if err != nil {
		b.logger.Error("rule files or schemas changed but do not pass their checks; the previous ones stay in force", "rules_dir", b.dir, "error", err)
		if b.metrics != nil {
			b.metrics.Refused()
		}
		return
	}
	if b.metrics != nil {
		b.metrics.Loaded(time.Now())
	}
	b.logger.Info("rule files and schemas reloaded and checked", "rules_dir", b.dir, "files", len(set.rules), "schemas", len(set.schemas))
}

// alert tells the operators of a refused change, once per state of the
// files (the key is their stamp), each problem a line.
func (b *ruleBook) alert(alerter ruleAlerter, stamp string, err error) {
	if alerter == nil {
		return
	}
	sum := sha256.Sum256([]byte(stamp))
	e := notify.Event{Kind: notify.KindRulesRefused, Key: "rules/" + hex.EncodeToString(sum[:8]), Error: err.Error(),
		Reasons: strings.Split(err.Error(), "\n")}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, nerr := alerter.Notify(ctx, e); nerr != nil {
		b.logger.Error("the refused rule change could not be notified", "error", nerr)
	}
}

// inSync reports whether the rules in force are the files on disk.
func (b *ruleBook) inSync() bool {
	if b.dir == "" {
		return true
	}
	stamp, err := dirStamp(b.dir)
	b.mu.Lock()
	defer b.mu.Unlock()
	return err == nil && stamp == b.inForce
}

// watch reloads on change until ctx ends (only for rules_dir).
func (b *ruleBook) watch(ctx context.Context, every time.Duration) {
	if b.dir == "" {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.reload()
		}
	}
}

// status is what /readyz says about the rules.
func (b *ruleBook) status() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	set := b.cur.Load()
	n := fmt.Sprintf("%d rule files and %d schemas", len(set.rules), len(set.schemas))
	if b.lastErr != nil {
		// Degraded, not down: the node still serves with the rules in
		// force, so /readyz stays 200 and says what to fix.
		return "degraded: " + n + " in force; the last change did not load: " + strings.ReplaceAll(b.lastErr.Error(), "\n", "; ")
	}
	return n + " loaded and checked"
}

// dirStamp summarizes every file's name, size and modification time.
func dirStamp(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s/%d/%d;", path, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	return b.String(), err
}

// bookMapper maps with the rules in force for one file.
type bookMapper struct {
	b    *ruleBook
	name string
}

func (m bookMapper) rules() *mapping.Rules { return m.b.cur.Load().rules[m.name] }

func (m bookMapper) Map(input []byte) (*mapping.Output, error) { return m.rules().Map(input) }

func (m bookMapper) MapElement(root *etree.Element) (*mapping.Output, error) {
	return m.rules().MapElement(root)
}

// validator returns a proxy.Validator for one document type that always
// uses the schema in force.
func (b *ruleBook) validator(docType string) bookValidator { return bookValidator{b, docType} }

type bookValidator struct {
	b       *ruleBook
	docType string
}

func (v bookValidator) ValidateElement(el *etree.Element) error {
	s, ok := v.b.cur.Load().schemas[v.docType]
	if !ok {
		return fmt.Errorf("the %s schema is not loaded", v.docType)
	}
	return s.ValidateElement(el)
}

// MapExplain maps and says which rule wrote each value: the outbound side
// uses it to name the rule behind a value it refuses.
func (m bookMapper) MapExplain(input []byte) (*mapping.Output, error) {
	return m.rules().MapExplain(input)
}
