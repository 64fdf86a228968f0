package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// The writer's statements are prepared after their first transaction and
// used prepared from then on; reads are prepared on first use.
func TestSQLite_PreparesStatements(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "stmts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Add(ctx, outbound("A-1", "d1"), "legacy", ""); err != nil {
		t.Fatal(err)
	}
	// Prepared in the background once the first transaction is over.
	for deadline := time.Now().Add(5 * time.Second); s.stmts.size() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no statement prepared 5 s after the first transaction")
		}
	}
	prepared := s.stmts.size()
	for i := range 20 {
		if _, err := s.Add(ctx, outbound(fmt.Sprint("A-", i+2), "d"), "legacy", ""); err != nil {
			t.Fatal(err)
		}
	}
	// The same statements again: nothing new to prepare, and they work
	// prepared (the documents are there, found through a prepared read).
	time.Sleep(50 * time.Millisecond)
	if got := s.stmts.size(); got != prepared {
		t.Errorf("%d statements prepared after 20 more documents, %d after the first", got, prepared)
	}
	// Statements run through exec and through row, each once a document.
	for _, prefix := range []string{"INSERT INTO transitions", "INSERT INTO documents"} {
		if got := s.stmts.usesOf(prefix); got < 20 {
			t.Errorf("%s… used prepared %d times for 20 documents", prefix, got)
		}
	}
	for i := range 21 {
		d, err := s.Find(ctx, Outbound, "MX", "sps", fmt.Sprint("A-", i+1))
		if err != nil || d.DocumentID != fmt.Sprint("A-", i+1) {
			t.Fatalf("document A-%d: %v %v", i+1, d, err)
		}
	}
	if s.rstmts.size() == 0 {
		t.Error("reads are not prepared")
	}
	// A repeat with other content conflicts through the prepared path.
	if _, err := s.Add(ctx, outbound("A-1", "other"), "legacy", ""); err == nil {
		t.Error("a changed repeat was accepted")
	}
}

// At most max texts are kept; the rest run unprepared, and a closed cache
// gives nothing out.
func TestStmtCache_Bounded(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "bound.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := newStmtCache(s.rdb, 3)
	if st := c.prepareNow(ctx, "SELECT nonsense FROM nowhere"); st != nil {
		t.Fatal("a statement that cannot prepare came back prepared")
	}
	for i := range 10 {
		q := fmt.Sprintf("SELECT %d", i)
		if st := c.prepareNow(ctx, q); st == nil && i < 3 {
			t.Fatalf("%q not prepared with room left", q)
		} else if st != nil && i >= 3 {
			t.Fatalf("%q prepared beyond the bound", q)
		}
	}
	if c.size() != 3 {
		t.Fatalf("%d prepared, want 3", c.size())
	}
	// A caller that gave up does not make a good statement a refused one.
	c2 := newStmtCache(s.rdb, 3)
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if st := c2.prepareNow(gone, "SELECT 42"); st != nil {
		t.Fatal("prepared with a cancelled context")
	}
	if st := c2.prepareNow(ctx, "SELECT 42"); st == nil {
		t.Fatal("a statement whose first preparation was cancelled is never prepared")
	}
	c.close()
	if c.get("SELECT 0") != nil || c.size() != 0 {
		t.Fatal("a closed cache still gives statements out")
	}
}

// BenchmarkAdd commits one outbound document (fsync and all), with the
// statements prepared and, in the same run, with them parsed each time.
//
//	go test -run '^$' -bench Add -benchmem ./store/
func BenchmarkAdd(b *testing.B) {
	for _, prepared := range []bool{true, false} {
		b.Run(fmt.Sprintf("prepared=%v", prepared), func(b *testing.B) {
			ctx := context.Background()
			s, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "add.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if !prepared {
				s.stmts, s.rstmts = nil, nil
			}
			body := make([]byte, 6<<10)
			i := 0
			for b.Loop() {
				i++
				d := outbound(fmt.Sprint("B-", i), "d")
				d.Body = body
				if _, err := s.Add(ctx, d, "legacy", ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
