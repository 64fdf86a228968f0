package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/store/pgtest"
	"github.com/vucelink/vucelink/wire"
)

// opener opens a fresh, empty store; again opens a second handle on the
// same store, as another process would (nil where the store serves one
// process only).
type opener struct {
	open  func(t *testing.T) Store
	again func(t *testing.T, s Store) Store
}

// Every store implementation must pass the same contract: each adds
// itself here.
func implementations(t *testing.T) map[string]opener {
	var pg *pgtest.Server
	var once sync.Once
	dsns := map[Store]string{}
	var mu sync.Mutex
	openPG := func(t *testing.T, dsn string) Store {
		s, err := OpenPostgres(context.Background(), dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		mu.Lock()
		dsns[s] = dsn
		mu.Unlock()
		return s
	}
	return map[string]opener{
		"sqlite": {open: func(t *testing.T) Store {
			s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "test.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
		"postgres": {
			open: func(t *testing.T) Store {
				once.Do(func() { pg = pgtest.Start(t) })
				if pg == nil {
					t.Skip("no PostgreSQL")
				}
				return openPG(t, pg.NewDatabase(t))
			},
			again: func(t *testing.T, s Store) Store {
				mu.Lock()
				dsn := dsns[s]
				mu.Unlock()
				return openPG(t, dsn)
			},
		},
	}
}

// rawDB is the database under a store, for tests that go around it.
func rawDB(s Store) *sql.DB { return s.(interface{ DB() *sql.DB }).DB() }

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func outbound(id, digest string) *Document {
	return &Document{TrackingID: "CL-" + id, Direction: Outbound, Partner: "MX", Type: "sps", DocumentID: id,
		Digest: digest, State: lifecycle.Accepted, Body: []byte("<x/>"), NextTry: t0, Created: t0}
}

func TestStore_Contract(t *testing.T) {
	impls := implementations(t)
	for _, name := range []string{"sqlite", "postgres"} {
		open, again := impls[name].open, impls[name].again
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if name == "postgres" {
				open(t) // the server starts once, for the whole suite
			}

			t.Run("add is idempotent and refuses changed content", func(t *testing.T) {
				s := open(t)
				if old, err := s.Add(ctx, outbound("A", "sha256:1"), "legacy", "accepted"); err != nil || old != nil {
					t.Fatalf("first add: %v %v", old, err)
				}
				old, err := s.Add(ctx, &Document{TrackingID: "CL-other", Direction: Outbound, Partner: "MX", Type: "sps", DocumentID: "A", Digest: "sha256:1", State: lifecycle.Accepted, Created: t0}, "legacy", "again")
				if err != nil || old == nil || old.TrackingID != "CL-A" {
					t.Fatalf("repeat: %v %v", old, err)
				}
				_, err = s.Add(ctx, outbound("A", "sha256:2"), "legacy", "changed")
				if !errors.Is(err, ErrConflict) {
					t.Fatalf("changed content: %v", err)
				}
			})

			t.Run("claim, lease, transition and history", func(t *testing.T) {
				s := open(t)
				s.Add(ctx, outbound("B", "sha256:1"), "legacy", "accepted")
				d, err := s.Claim(ctx, "MX", t0, time.Minute)
				if err != nil || d == nil || d.Attempts != 1 {
					t.Fatalf("claim: %+v %v", d, err)
				}
				if again, _ := s.Claim(ctx, "MX", t0.Add(30*time.Second), time.Minute); again != nil {
					t.Fatal("a leased document was claimed twice")
				}
				if other, _ := s.Claim(ctx, "PE", t0, time.Minute); other != nil {
					t.Fatal("claimed another partner's document")
				}
				if expired, _ := s.Claim(ctx, "MX", t0.Add(2*time.Minute), time.Minute); expired == nil || expired.Attempts != 2 {
					t.Fatal("an expired lease was not reclaimed")
				}
				next := t0.Add(time.Hour)
				msg := "partner unavailable"
				if _, err := s.Transition(ctx, "CL-B", t0.Add(3*time.Minute), Change{To: lifecycle.Sent, Actor: "outbox", NextTry: &next, LastError: &msg}); err != nil {
					t.Fatal(err)
				}
				if d, _ := s.Claim(ctx, "MX", t0.Add(59*time.Minute), time.Minute); d != nil {
					t.Fatal("claimed before its next try")
				}
				if due, _ := s.NextDue(ctx, "MX"); !due.Equal(next) {
					t.Errorf("next due %v, want %v", due, next)
				}
				rc := &wire.Receipt{TrackingID: "CL-B", Outcome: wire.ReceivedCorrectly, Digest: "sha256:1"}
				d, err = s.Transition(ctx, "CL-B", t0.Add(2*time.Hour), Change{To: lifecycle.ReceivedCorrectly, Actor: "partner:MX", Reason: "receipt", Receipt: rc, NextTry: &time.Time{}})
				if err != nil || d.State != lifecycle.ReceivedCorrectly || !d.NextTry.IsZero() {
					t.Fatalf("verdict: %+v %v", d, err)
				}
				got, _ := s.Get(ctx, "CL-B")
				if got.Receipt == nil || got.Receipt.Digest != "sha256:1" || got.Attempts != 2 || got.LastError != msg {
					t.Errorf("stored %+v", got)
				}
				if d, _ := s.Claim(ctx, "MX", t0.Add(3*time.Hour), time.Minute); d != nil {
					t.Fatal("claimed a delivered document")
				}
				_, err = s.Transition(ctx, "CL-B", t0.Add(3*time.Hour), Change{To: lifecycle.Accepted, Actor: "x"})
				if !errors.Is(err, lifecycle.ErrIllegal) || !strings.Contains(err.Error(), "B (CL-B)") {
					t.Errorf("illegal transition: %v", err)
				}
				h, _ := s.History(ctx, "CL-B")
				var path []string
				for _, x := range h {
					path = append(path, string(x.From)+">"+string(x.To)+"@"+x.Actor)
				}
				if want := ">accepted@legacy accepted>sent@outbox sent>received-correctly@partner:MX"; strings.Join(path, " ") != want {
					t.Errorf("history %v, want %s", path, want)
				}
			})

			t.Run("audit trail is append-only", func(t *testing.T) {
				s := open(t)
				s.Add(ctx, outbound("C", "sha256:1"), "legacy", "accepted")
				if _, err := rawDB(s).ExecContext(ctx, `UPDATE transitions SET actor = 'mallory'`); err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Errorf("update: %v", err)
				}
				if _, err := rawDB(s).ExecContext(ctx, `DELETE FROM transitions`); err == nil {
					t.Error("delete allowed")
				}
			})

			t.Run("list filters and pages", func(t *testing.T) {
				s := open(t)
				for i, id := range []string{"D1", "D2", "D3"} {
					d := outbound(id, "sha256:x")
					d.Created = t0.Add(time.Duration(i) * time.Minute)
					s.Add(ctx, d, "legacy", "")
				}
				in := &Document{TrackingID: "MX-1", Direction: Inbound, Partner: "MX", Type: "sps", DocumentID: "M1", Digest: "d", State: lifecycle.ReceivedCorrectly, Created: t0}
				s.Add(ctx, in, "partner:MX", "")
				page1, _ := s.List(ctx, Filter{Direction: Outbound, Limit: 2})
				if len(page1) != 2 || page1[0].DocumentID != "D1" {
					t.Fatalf("page 1: %d", len(page1))
				}
				page2, _ := s.List(ctx, Filter{Direction: Outbound, Limit: 2, AfterSeq: page1[1].Seq})
				if len(page2) != 1 || page2[0].DocumentID != "D3" {
					t.Fatalf("page 2: %v", page2)
				}
				recv, _ := s.List(ctx, Filter{State: lifecycle.ReceivedCorrectly})
				if len(recv) != 1 || recv[0].TrackingID != "MX-1" {
					t.Errorf("by state: %v", recv)
				}
				late, _ := s.List(ctx, Filter{Since: t0.Add(90 * time.Second)})
				if len(late) != 1 || late[0].DocumentID != "D3" {
					t.Errorf("since: %v", late)
				}
				counts, _ := s.Counts(ctx)
				if counts[Outbound][lifecycle.Accepted] != 3 || counts[Inbound][lifecycle.ReceivedCorrectly] != 1 {
					t.Errorf("counts %v", counts)
				}
			})

			t.Run("concurrent claims never share a document", func(t *testing.T) {
				s := open(t)
				for i := range 50 {
					s.Add(ctx, outbound(string(rune('a'+i%26))+string(rune('a'+i/26)), "d"), "legacy", "")
				}
				var mu sync.Mutex
				seen := map[string]int{}
				var wg sync.WaitGroup
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							d, err := s.Claim(ctx, "MX", t0, time.Hour)
							if err != nil {
								t.Error(err)
								return
							}
							if d == nil {
								return
							}
							mu.Lock()
							seen[d.TrackingID]++
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				if len(seen) != 50 {
					t.Errorf("claimed %d documents, want 50", len(seen))
				}
				for id, n := range seen {
					if n != 1 {
						t.Errorf("%s claimed %d times", id, n)
					}
				}
			})

			t.Run("leases released at start", func(t *testing.T) {
				s := open(t)
				s.Add(ctx, outbound("E", "d"), "legacy", "")
				s.Claim(ctx, "MX", t0, time.Hour)
				if err := s.(interface{ ReleaseLeases(context.Context) error }).ReleaseLeases(ctx); err != nil {
					t.Fatal(err)
				}
				if d, _ := s.Claim(ctx, "MX", t0, time.Hour); d == nil {
					t.Error("released document not claimable")
				}
			})

			contractLeases(t, open)
			contractReceive(t, open)
			contractOneTransaction(t, open)
			contractRecords(t, open)
			if again != nil {
				contractProcesses(t, open, again)
			}
		})
	}
}

// A store created before the contact column existed gains it on open, and
// its documents read back with an empty contact.
func TestOpen_MigratesOlderStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	old := strings.Replace(schema, "  contact      TEXT NOT NULL DEFAULT '',\n", "", 1)
	if old == schema {
		t.Fatal("test no longer removes the contact column from the schema")
	}
	if _, err := db.Exec(old); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO documents (tracking_id, direction, partner, doc_type, doc_id, digest, state, created, updated)
		VALUES ('T1', 'outbound', 'MX', 'sps', 'D1', 'sha256:00', 'accepted', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := s.Get(context.Background(), "T1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Contact != "" || d.DocumentID != "D1" {
		t.Fatalf("got %+v", d)
	}
}

func TestList_TypePrefixAndNewestFirst(t *testing.T) {
	for name, impl := range implementations(t) {
		t.Run(name, func(t *testing.T) { testList(t, impl.open(t)) })
	}
}

func testList(t *testing.T, s Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for i, d := range []struct{ tid, typ, id string }{
		{"T1", "sps", "CL-2026-001"}, {"T2", "cod", "CL-2026-002"}, {"T3", "sps", "CL_2026%3"}, {"T4", "sps", "XX-1"},
	} {
		if _, err := s.Add(ctx, &Document{TrackingID: d.tid, Direction: Outbound, Partner: "MX", Type: d.typ, DocumentID: d.id,
			Digest: "sha256:" + d.tid, State: lifecycle.Accepted, Created: t0.Add(time.Duration(i) * time.Second)}, "t", ""); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(f Filter) string {
		docs, err := s.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range docs {
			out = append(out, d.TrackingID)
		}
		return strings.Join(out, ",")
	}
	for _, tt := range []struct {
		name string
		f    Filter
		want string
	}{
		{"type", Filter{Type: "sps"}, "T1,T3,T4"},
		{"prefix of the document ID", Filter{IDPrefix: "CL-2026"}, "T1,T2"},
		{"wildcards are literal", Filter{IDPrefix: "CL_2026%"}, "T3"},
		{"prefix of the tracking ID", Filter{IDPrefix: "T4"}, "T4"},
		{"in lower case", Filter{IDPrefix: "cl-2026-00"}, "T1,T2"},
		{"a tracking ID in lower case", Filter{IDPrefix: "t4"}, "T4"},
		{"newest first", Filter{Newest: true}, "T4,T3,T2,T1"},
		{"newest first, next page", Filter{Newest: true, BeforeSeq: 3, Limit: 1}, "T2"},
	} {
		if got := ids(tt.f); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}
