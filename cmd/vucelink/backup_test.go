package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/store"
)

// vucelink backup copies the store of the shipped configuration while a
// node holds it open, and the copy opens as a store.
func TestBackup(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "pki", "init", "--dir", dir); code != 0 {
		t.Fatalf("pki init: %s", stderr)
	}
	t.Setenv("VUCELINK_PKI_DIR", dir)
	t.Setenv("VUCELINK_STATE_DIR", dir)
	ctx := context.Background()
	live, err := store.OpenSQLite(ctx, filepath.Join(dir, "vucelink-CL.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	for _, id := range []string{"CL-1", "CL-2", "CL-3"} {
		if _, err := live.Add(ctx, &store.Document{TrackingID: id, Direction: store.Outbound, Partner: "MX", Type: "sps", DocumentID: id,
			Digest: "sha256:" + id, State: lifecycle.Accepted, Body: []byte("<x/>"), Created: time.Now()}, "legacy", "test"); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "backup.db")
	code, stdout, stderr := runCLI(t, "backup", "--config", "../../config.yaml", "--out", out)
	if code != 0 || !strings.Contains(stdout, "3 documents") || !strings.Contains(stdout, "integrity check ok") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	b, err := store.OpenSQLite(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Get(ctx, "CL-3"); err != nil {
		t.Fatalf("the backup lacks CL-3: %v", err)
	}
	if code, _, stderr := runCLI(t, "backup", "--config", "../../config.yaml", "--out", out); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("over an existing backup: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "backup", "--config", "../../config.yaml"); code != 2 || !strings.Contains(stderr, "--out") {
		t.Fatalf("without --out: exit %d, %s", code, stderr)
	}
}
