package node

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/metrics"
	"github.com/vucelink/vucelink/notify"
	"github.com/vucelink/vucelink/notify/mailtest"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/store"
)

const (
	nsRSM = "urn:un:unece:uncefact:data:standard:SPSCertificate:11"
	clOut = "CL/sps.outbound.yaml"
)

// reloadEnv is a rule book over a copy of the shipped rules in a
// rules_dir, counted in metrics and alerting through a real notifier that
// sends to a loopback SMTP server.
type reloadEnv struct {
	dir  string
	book *ruleBook
	mx   *metrics.Metrics
	mail *mailtest.Server
}

func newReloadEnv(t *testing.T) *reloadEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dir := filepath.Join(t.TempDir(), "rules")
	if err := os.CopyFS(dir, rules.FS); err != nil {
		t.Fatal(err)
	}
	e := &reloadEnv{dir: dir, mx: metrics.New()}
	e.book = &ruleBook{fsys: os.DirFS(dir), dir: dir, logger: slog.New(slog.DiscardHandler)}
	e.book.addSchema("sps", "documents.sps.schema", "documents/sps-d13b/SPSCertificate_11p0.xsd", "{"+nsRSM+"}SPSCertificate", "{"+nsRSM+"}SPSCertificate")
	e.book.add("routes.sps.rules", clOut, "sps", "outbound")
	e.book.add("legacy.inbound.sps.rules", "CL/sps.inbound.yaml", "sps", "inbound")
	e.book.count(e.mx)

	var err error
	if e.mail, err = mailtest.NewServer("127.0.0.1:0", "", ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.mail.Close() })
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	nt, err := notify.New(st.DB(), notify.Options{Country: "CL", Operators: []string{"ops@sag.example"}, PollInterval: 20 * time.Millisecond,
		SMTP:   notify.SMTP{Host: "127.0.0.1", Port: e.mail.Port(), TLS: "none", From: "vucelink@sag.example", Timeout: 5 * time.Second},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); nt.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	e.book.alertTo(nt)

	if err := e.book.start(); err != nil {
		t.Fatal(err)
	}
	go e.book.watch(ctx, 50*time.Millisecond)
	return e
}

// write replaces a file of the rules directory.
func (e *reloadEnv) write(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(e.dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *reloadEnv) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// metric returns the line of /metrics for name.
func (e *reloadEnv) metric(t *testing.T, name string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	e.mx.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, name+" ") {
			return l
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return ""
}

// eventually waits for ok: a reload runs every example pair of the rules
// directory, which takes seconds on a loaded machine (-race, ./...).
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	const limit = 45 * time.Second
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("after %s: %s", limit, what)
}

// mapCL maps Chile's example payload with the rules in force.
func (e *reloadEnv) mapCL(t *testing.T) string {
	t.Helper()
	in, err := fs.ReadFile(rules.FS, "CL/examples/sps/sample.native.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.book.mapper(clOut).Map(in)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := out.Bytes()
	return string(b)
}

// TestReload_RunsWhatRulesTestRuns: a change to rules_dir takes effect
// only once it passes what `vucelink rules test` checks, schema and
// example pairs included; a refused change keeps the rules in force,
// /readyz says the rules are degraded (the node still serves), the
// metrics move and the operators get one e-mail; a good change applies
// within seconds, without a restart.
func TestReload_RunsWhatRulesTestRuns(t *testing.T) {
	e := newReloadEnv(t)
	const before, after = "Servicio Agrícola y Ganadero (SAG)", "SAG Chile (reloaded)"
	good := e.read(t, clOut)
	if !strings.Contains(e.mapCL(t), before) || e.metric(t, "vucelink_rules_in_sync") != "vucelink_rules_in_sync 1" {
		t.Fatal("the rules in force are not the copied ones")
	}
	firstGood := e.metric(t, "vucelink_rules_last_good_reload_timestamp_seconds")

	// A change that loads and is valid against the schema, but changes
	// what Chile's example pair produces: refused.
	e.write(t, clOut, strings.ReplaceAll(good, before, after))
	eventually(t, "the change that breaks an example pair is refused", func() bool {
		return strings.HasPrefix(e.book.status(), "degraded: ")
	})
	status := e.book.status()
	for _, want := range []string{"the last change did not load", "rules test: FAIL CL/examples/sps/sample (outbound): output differs", "<ram:Name>SAG Chile (reloaded)</ram:Name>"} {
		if !strings.Contains(status, want) {
			t.Errorf("/readyz's rules check does not say %q:\n%s", want, status)
		}
	}
	if !strings.Contains(e.mapCL(t), before) {
		t.Error("a refused change replaced the rules in force")
	}
	if got := e.metric(t, "vucelink_rules_reload_failures_total"); got != "vucelink_rules_reload_failures_total 1" {
		t.Errorf("metric: %s", got)
	}
	if got := e.metric(t, "vucelink_rules_in_sync"); got != "vucelink_rules_in_sync 0" {
		t.Errorf("metric: %s", got)
	}
	eventually(t, "one e-mail to the operators", func() bool { return len(e.mail.Messages()) == 1 })
	msg := e.mail.Messages()[0]
	if msg.Subject != "[vucelink CL] Cambio de reglas rechazado / Rule change refused" || !slicesEqual(msg.To, []string{"ops@sag.example"}) ||
		!strings.Contains(msg.Text, "FAIL CL/examples/sps/sample (outbound)") {
		t.Errorf("e-mail: %q to %v:\n%s", msg.Subject, msg.To, msg.Text)
	}

	// A change that lists the rules out of the schema's order: the
	// document is the same, so it applies (rule order cannot break one).
	e.write(t, clOut, reverseTopLevelRules(t, good))
	eventually(t, "the reordered rules apply", func() bool { return e.book.status() != status && !strings.HasPrefix(e.book.status(), "degraded") })
	if got := e.mapCL(t); !strings.Contains(got, before) {
		t.Errorf("reordered rules: %s", got)
	}

	// The good change, with its example updated: applies within seconds.
	e.write(t, clOut, strings.ReplaceAll(good, before, after))
	std := "CL/examples/sps/sample.standard.xml"
	e.write(t, std, strings.ReplaceAll(e.read(t, std), before, after))
	eventually(t, "the good change applies", func() bool { return strings.Contains(e.mapCL(t), after) })
	if got := e.book.status(); got != "2 rule files and 1 schemas loaded and checked" {
		t.Errorf("status: %s", got)
	}
	eventually(t, "the rules in force are the files on disk", func() bool {
		return e.metric(t, "vucelink_rules_in_sync") == "vucelink_rules_in_sync 1"
	})
	if got := e.metric(t, "vucelink_rules_last_good_reload_timestamp_seconds"); got == firstGood {
		t.Errorf("the time of the last good reload did not move: %s", got)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(e.mail.Messages()); n != 1 {
		t.Errorf("%d e-mails, want only the one for the refused change", n)
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// reverseTopLevelRules lists a rule file's top-level flow-style rules
// (one per line, "  - {…}") in reverse order, leaving the rest in place.
func reverseTopLevelRules(t *testing.T, text string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	var idx []int
	for i, l := range lines {
		if strings.HasPrefix(l, "local:") {
			break // fields: only
		}
		if strings.HasPrefix(l, "  - {") && strings.HasSuffix(l, "}") {
			idx = append(idx, i)
		}
	}
	if len(idx) < 3 {
		t.Fatal("too few one-line rules to reorder")
	}
	rev := make([]string, len(idx))
	for k, i := range idx {
		rev[len(idx)-1-k] = lines[i]
	}
	for k, i := range idx {
		lines[i] = rev[k]
	}
	return strings.Join(lines, "\n")
}
