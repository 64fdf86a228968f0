package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/mapping"
)

// ruleBook holds the rule files a node uses and, when they come from
// rules_dir, reloads them while the node runs: analysts change a rule
// file and the next document uses it. A reload checks every file first;
// if any fails, the rules in force stay and the log (and /readyz) say why.
type ruleBook struct {
	fsys   fs.FS
	dir    string // rules_dir; "" means the embedded rules, never reloaded
	logger *slog.Logger
	want   map[string]ruleUse // by file name

	cur atomic.Pointer[map[string]*mapping.Rules]

	mu      sync.Mutex
	stamp   string
	lastErr error
}

// ruleUse is what a rule file must be for the configuration key using it.
type ruleUse struct{ key, document, direction string }

func (b *ruleBook) add(key, name, document, direction string) {
	if b.want == nil {
		b.want = map[string]ruleUse{}
	}
	b.want[name] = ruleUse{key, document, direction}
}

// load reads and checks every rule file; errors name the configuration
// key and the file (and, from package mapping, the line and rule).
func (b *ruleBook) load() (map[string]*mapping.Rules, error) {
	out := map[string]*mapping.Rules{}
	var errs []error
	names := make([]string, 0, len(b.want))
	for name := range b.want {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		use := b.want[name]
		r, err := mapping.Load(b.fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", use.key, err))
			continue
		}
		if r.Document() != use.document || r.Direction() != use.direction {
			errs = append(errs, fmt.Errorf("%s: %s maps %s %s, want %s %s", use.key, name, r.Document(), r.Direction(), use.document, use.direction))
			continue
		}
		out[name] = r
	}
	return out, errors.Join(errs...)
}

// start loads the rule files for the first time.
func (b *ruleBook) start() error {
	stamp, _ := dirStamp(b.dir)
	m, err := b.load()
	if err != nil {
		return err
	}
	b.cur.Store(&m)
	b.stamp = stamp
	return nil
}

// mapper returns a Mapper for one file that always uses the rules in force.
func (b *ruleBook) mapper(name string) bookMapper { return bookMapper{b, name} }

// reload loads the rule files again if anything under rules_dir changed.
func (b *ruleBook) reload() {
	b.mu.Lock()
	defer b.mu.Unlock()
	stamp, err := dirStamp(b.dir)
	if err != nil || stamp == b.stamp {
		return
	}
	b.stamp = stamp
	m, err := b.load()
	if err != nil {
		b.lastErr = err
		b.logger.Error("rule files changed but do not load; the previous rules stay in force", "rules_dir", b.dir, "error", err)
		return
	}
	b.cur.Store(&m)
	b.lastErr = nil
	b.logger.Info("rule files reloaded", "rules_dir", b.dir, "files", len(m))
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
	n := len(*b.cur.Load())
	if b.lastErr != nil {
		return fmt.Sprintf("%d rule files in force; the last change did not load: %s", n, strings.ReplaceAll(b.lastErr.Error(), "\n", "; "))
	}
	return fmt.Sprintf("%d rule files loaded and checked", n)
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

func (m bookMapper) rules() *mapping.Rules { return (*m.b.cur.Load())[m.name] }

func (m bookMapper) Map(input []byte) (*mapping.Output, error) { return m.rules().Map(input) }

func (m bookMapper) MapElement(root *etree.Element) (*mapping.Output, error) {
	return m.rules().MapElement(root)
}
