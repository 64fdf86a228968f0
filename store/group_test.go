package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
)

// holdCommitter keeps SQLite's committer busy until the returned function
// is called, so that the writers started meanwhile queue and then share
// one transaction.
func holdCommitter(t *testing.T, s *SQLite) (release func()) {
	t.Helper()
	ch, started := make(chan struct{}), make(chan struct{})
	go s.group.do(context.Background(), true, func(txn) error { close(started); <-ch; return nil })
	<-started
	return func() { close(ch) }
}

// waitQueued waits until n writers are queued behind the held committer.
func waitQueued(n int, queued func() int) {
	for deadline := time.Now().Add(5 * time.Second); queued() < n && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // each is past its count and queued
}

// A writer of a group is answered only once the group's transaction is
// committed: what it wrote is then visible to any other connection.
func TestSQLite_GroupCommitAnswersAfterCommit(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "group.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	before := s.Stats()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				d := outbound(fmt.Sprintf("G%d-%d", w, i), "d")
				if _, err := s.Add(ctx, d, "legacy", ""); err != nil {
					t.Error(err)
					return
				}
				var n int
				if err := other.QueryRow(`SELECT COUNT(*) FROM documents WHERE tracking_id = ?`, d.TrackingID).Scan(&n); err != nil || n != 1 {
					t.Errorf("%s answered but not committed (%d rows, %v)", d.TrackingID, n, err)
				}
			}
		})
	}
	wg.Wait()
	after := s.Stats()
	if after.Durable-before.Durable != 200 {
		t.Errorf("%d durable commits counted, want 200", after.Durable-before.Durable)
	}
	if after.Shared == before.Shared {
		t.Error("200 concurrent writers never shared a transaction")
	}
}

// A writer whose work fails is rolled back alone: the others of its group
// are committed, and nothing of its own work is.
func TestSQLite_GroupCommitFailedWriterRolledBackAlone(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "group.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Add(ctx, outbound("A", "d"), "legacy", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, outbound("S", "d1"), "legacy", ""); err != nil {
		t.Fatal(err)
	}
	var queued sync.WaitGroup
	var mu sync.Mutex
	n := 0
	count := func() { mu.Lock(); n++; mu.Unlock() }
	release := holdCommitter(t, s)
	before := s.Stats()
	var failed error
	queued.Go(func() {
		count()
		// The transition is written, then its status message conflicts
		// with one already stored: the whole change must go.
		_, failed = s.Transition(ctx, "CL-A", t0, Change{To: lifecycle.Withdrawn, Actor: "operator:ana",
			Enqueue: []*Document{outbound("S", "d2")}})
	})
	for _, id := range []string{"B", "C"} {
		queued.Go(func() {
			count()
			if _, err := s.Add(ctx, outbound(id, "d"), "legacy", ""); err != nil {
				t.Errorf("add %s: %v", id, err)
			}
		})
	}
	waitQueued(3, func() int { mu.Lock(); defer mu.Unlock(); return n })
	release()
	queued.Wait()
	if !errors.Is(failed, ErrConflict) {
		t.Fatalf("transition with a conflicting status message: %v, want ErrConflict", failed)
	}
	if got := s.Stats().Shared - before.Shared; got != 3 {
		t.Fatalf("%d writers shared a transaction, want the 3 queued", got)
	}
	d, err := s.Get(ctx, "CL-A")
	if err != nil || d.State != lifecycle.Accepted || d.Lease != 0 {
		t.Errorf("the failed transition left its mark: %+v %v", d, err)
	}
	if h, _ := s.History(ctx, "CL-A"); len(h) != 1 {
		t.Errorf("the failed transition's history entry was kept: %+v", h)
	}
	for _, id := range []string{"CL-B", "CL-C"} {
		if _, err := s.Get(ctx, id); err != nil {
			t.Errorf("%s of the same group: %v", id, err)
		}
	}
}

// A group with one writer that asked for fsync waits for fsync, whatever
// the others asked for.
func TestSQLite_GroupCommitDurableIfAnyWriterIs(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "group.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 4 {
		if _, err := s.Add(ctx, outbound(fmt.Sprint("Q", i), "d"), "legacy", ""); err != nil {
			t.Fatal(err)
		}
	}
	// Every transaction begun from now on, and whether it is relaxed.
	var mu sync.Mutex
	var begun []bool
	begin := s.d.begin
	s.d.begin = func(ctx context.Context, relaxed bool) (*sql.Tx, func(), error) {
		mu.Lock()
		begun = append(begun, relaxed)
		mu.Unlock()
		return begin(ctx, relaxed)
	}
	n := 0
	var nmu sync.Mutex
	count := func() { nmu.Lock(); n++; nmu.Unlock() }
	release := holdCommitter(t, s)
	before := s.Stats()
	var wg sync.WaitGroup
	for range 3 { // relaxed claims first, then a durable add
		wg.Go(func() { count(); s.Claim(ctx, "MX", t0, time.Minute) })
	}
	waitQueued(3, func() int { nmu.Lock(); defer nmu.Unlock(); return n })
	wg.Go(func() { count(); s.Add(ctx, outbound("R", "d"), "legacy", "") })
	waitQueued(4, func() int { nmu.Lock(); defer nmu.Unlock(); return n })
	release()
	wg.Wait()
	if got := s.Stats().Shared - before.Shared; got != 4 {
		t.Fatalf("%d writers shared a transaction, want the 4 queued", got)
	}
	mu.Lock()
	defer mu.Unlock()
	// The held committer's transaction, then the group's.
	if len(begun) != 2 || begun[1] {
		t.Errorf("transactions begun, relaxed or not: %v; want the group's (the second) durable", begun)
	}
}

// The WAL is copied into the database beside the writer, not by it.
func TestSQLite_CheckpointsBesideTheWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ckpt.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	for i := range 50 {
		d := outbound(fmt.Sprint("W", i), "d")
		d.Body = make([]byte, 8192)
		if _, err := s.Add(ctx, d, "legacy", ""); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); size() < before+50*8192; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is %d bytes after 50 commits of 8 KB: not checkpointed", size())
		}
	}
}

// Closing twice is harmless (a test's cleanup may close what the test
// closed), and a closed store refuses writers instead of hanging.
func TestSQLite_CloseTwice(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "close.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := s.Add(ctx, outbound("Z", "d"), "legacy", ""); err == nil {
		t.Fatal("a closed store accepted a document")
	}
}
