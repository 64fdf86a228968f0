package node

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/rules"
)

// configMapDir lays out a rules directory the way the kubelet mounts a
// ConfigMap volume: the files in a timestamped directory, a ..data
// symlink to it, and a symlink per top-level entry through ..data.
// Each update writes a new timestamped directory and replaces ..data
// atomically (a new symlink renamed over it), then removes the old one.
type configMapDir struct {
	root string
	gen  int
}

func newConfigMapDir(t *testing.T, files fs.FS) *configMapDir {
	t.Helper()
	c := &configMapDir{root: filepath.Join(t.TempDir(), "rules")}
	if err := os.Mkdir(c.root, 0o755); err != nil {
		t.Fatal(err)
	}
	c.update(t, files)
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Symlink(filepath.Join("..data", e.Name()), filepath.Join(c.root, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// update publishes files as the ConfigMap's new content.
func (c *configMapDir) update(t *testing.T, files fs.FS) {
	t.Helper()
	c.gen++
	ts := fmt.Sprintf("..2026_12_06_08_00_%02d.%d", c.gen, 100+c.gen)
	if err := os.CopyFS(filepath.Join(c.root, ts), files); err != nil {
		t.Fatal(err)
	}
	old, _ := os.Readlink(filepath.Join(c.root, "..data"))
	tmp := filepath.Join(c.root, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.root, "..data")); err != nil {
		t.Fatal(err)
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(c.root, old)); err != nil {
			t.Fatal(err)
		}
	}
}

// materialize copies base with the replacements into a new directory and
// returns it as an fs.FS.
func materialize(t *testing.T, base fs.FS, replace map[string]string) fs.FS {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "content")
	if err := os.CopyFS(dir, base); err != nil {
		t.Fatal(err)
	}
	for name, text := range replace {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return os.DirFS(dir)
}

// TestReload_SurvivesConfigMapSymlinkSwap: rules_dir mounted from a
// ConfigMap (directory mount, no subPath) is updated by the kubelet's
// symlink swap, never by writing the files in place. The swap must be
// seen as a change, the change must go through the same checks (a change
// that breaks an example pair is refused), and a good one must apply.
func TestReload_SurvivesConfigMapSymlinkSwap(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cm := newConfigMapDir(t, rules.FS)
	book := &ruleBook{fsys: os.DirFS(cm.root), dir: cm.root, logger: slog.New(slog.DiscardHandler)}
	book.addSchema("sps", "documents.sps.schema", "documents/sps-d13b/SPSCertificate_11p0.xsd", "{"+nsRSM+"}SPSCertificate", "{"+nsRSM+"}SPSCertificate")
	book.add("routes.sps.rules", clOut, "sps", "outbound")
	book.add("legacy.inbound.sps.rules", "CL/sps.inbound.yaml", "sps", "inbound")
	if err := book.start(); err != nil {
		t.Fatalf("rules from a ConfigMap layout: %v", err)
	}
	go book.watch(ctx, 50*time.Millisecond)
	e := &reloadEnv{dir: cm.root, book: book}

	const before, after = "Servicio Agrícola y Ganadero (SAG)", "SAG Chile (reloaded)"
	if !strings.Contains(e.mapCL(t), before) {
		t.Fatal("the rules in force are not the mounted ones")
	}
	good, err := fs.ReadFile(rules.FS, clOut)
	if err != nil {
		t.Fatal(err)
	}
	std := "CL/examples/sps/sample.standard.xml"
	example, err := fs.ReadFile(rules.FS, std)
	if err != nil {
		t.Fatal(err)
	}

	// A swap whose rule change breaks Chile's example pair: refused,
	// through the symlinks as on a plain directory.
	cm.update(t, materialize(t, rules.FS, map[string]string{clOut: strings.ReplaceAll(string(good), before, after)}))
	eventually(t, "the swapped-in change that breaks an example pair is refused", func() bool {
		return strings.HasPrefix(book.status(), "degraded: ")
	})
	if !strings.Contains(book.status(), "rules test: FAIL CL/examples/sps/sample (outbound)") {
		t.Errorf("refused for another reason than the example pair: %s", book.status())
	}
	if !strings.Contains(e.mapCL(t), before) {
		t.Fatal("a refused swap replaced the rules in force")
	}

	// The good change, its example updated, in one swap: applies.
	cm.update(t, materialize(t, rules.FS, map[string]string{
		clOut: strings.ReplaceAll(string(good), before, after),
		std:   strings.ReplaceAll(string(example), before, after),
	}))
	eventually(t, "the swapped-in good change applies", func() bool { return strings.Contains(e.mapCL(t), after) })
	if got := book.status(); got != "2 rule files and 1 schemas loaded and checked" {
		t.Errorf("status: %s", got)
	}
	// The kubelet removes the old directory after the swap: one more look
	// and the rules in force are the mounted files.
	eventually(t, "the rules in force are reported in sync with the mounted files", book.inSync)
}
