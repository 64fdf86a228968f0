package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
)

// A backup of a store a node is writing to: the copy is consistent and
// whole, holds every document committed before it began (those still in
// the write-ahead log included), and the node goes on committing while it
// is made. Then the same store, closed, is backed up again, and a
// backup never overwrites a file.
func TestBackupSQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "node.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(strings.Repeat("<x>certificado</x>", 300))
	var added atomic.Int64
	addOne := func(i int64) error {
		tid := fmt.Sprintf("CL-BK-%06d", i)
		_, err := s.Add(ctx, &Document{TrackingID: tid, Direction: Outbound, Partner: "MX", Type: "sps", DocumentID: tid,
			Digest: "sha256:" + tid, State: lifecycle.Accepted, Body: body, Created: time.Now()}, "legacy", "test")
		return err
	}
	for range 200 {
		if err := addOne(added.Add(1)); err != nil {
			t.Fatal(err)
		}
	}
	before := added.Load()
	// The node keeps committing while the backup runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := addOne(added.Add(1)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	out := filepath.Join(dir, "backup.db")
	info, err := BackupSQLite(ctx, path, out)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	after := added.Load()
	if info.Documents < before || info.Documents > after || info.Transitions < info.Documents {
		t.Fatalf("backup holds %d documents, %d transitions; %d were committed before it began, %d by its end", info.Documents, info.Transitions, before, after)
	}
	t.Logf("backup of a live store: %d documents (%d before it began, %d by its end), %d bytes", info.Documents, before, after, info.Bytes)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The copy opens as a store, and what it holds reads back whole.
	b, err := OpenSQLite(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.Get(ctx, "CL-BK-000200")
	if err != nil || string(d.Body) != string(body) {
		t.Fatalf("the last document committed before the backup: %v", err)
	}
	b.Close()
	// A closed store backs up too; an existing file is never replaced.
	again := filepath.Join(dir, "again.db")
	if info, err := BackupSQLite(ctx, path, again); err != nil || info.Documents != after {
		t.Fatalf("closed store: %+v, %v; want %d documents", info, err, after)
	}
	if _, err := BackupSQLite(ctx, path, again); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("over an existing backup: %v", err)
	}
	if _, err := BackupSQLite(ctx, filepath.Join(dir, "missing.db"), filepath.Join(dir, "x.db")); err == nil {
		t.Fatal("backed up a store that does not exist")
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".partial") {
				t.Errorf("left %s behind", e.Name())
			}
		}
	}
}
