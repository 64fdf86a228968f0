package notify

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vucelink/vucelink/notify/mailtest"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/store/pgtest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is the notifier's time, moved by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// mailbox is a real SMTP server on loopback that keeps what it receives.
// A mailbox with only addr set stands for a server that is down.
type mailbox struct {
	*mailtest.Server
	addr string
}

type received = mailtest.Message

// startMailbox listens on addr ("127.0.0.1:0" for any port).
func startMailbox(t *testing.T, addr, user, pass string) *mailbox {
	t.Helper()
	s, err := mailtest.NewServer(addr, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &mailbox{Server: s}
}

func (mb *mailbox) port(t *testing.T) int {
	if mb.Server != nil {
		return mb.Port()
	}
	_, p, _ := net.SplitHostPort(mb.addr)
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (mb *mailbox) all() []received { return mb.Messages() }
func (mb *mailbox) count() int      { return len(mb.all()) }

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

// testDB is the queue's database, for tests that look into it: their
// statements are written with ? placeholders, rewritten for PostgreSQL.
type testDB struct {
	*sql.DB
	postgres bool
}

func (d testDB) rebind(q string) string {
	if !d.postgres {
		return q
	}
	for i := 1; strings.Contains(q, "?"); i++ {
		q = strings.Replace(q, "?", "$"+strconv.Itoa(i), 1)
	}
	return q
}

func (d testDB) QueryRow(q string, args ...any) *sql.Row { return d.DB.QueryRow(d.rebind(q), args...) }

type env struct {
	st   store.Store
	db   testDB
	clk  *clock
	logs *syncBuffer
	// reopen closes the store and opens it again, as a restarted process
	// would.
	reopen func(t *testing.T)
}

// eachStore runs f against a fresh store of each kind: the queue must
// behave the same on SQLite and on PostgreSQL (started by the tests; a
// skip without it, a failure where VUCELINK_REQUIRE_POSTGRES is set).
func eachStore(t *testing.T, f func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "node.db")
		e := &env{clk: &clock{t: t0}, logs: &syncBuffer{}}
		open := func(t *testing.T) {
			st, err := store.OpenSQLite(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			e.st, e.db = st, testDB{DB: st.DB()}
		}
		open(t)
		e.reopen = func(t *testing.T) { e.st.Close(); open(t) }
		f(t, e)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.Shared(t).NewDatabase(t)
		e := &env{clk: &clock{t: t0}, logs: &syncBuffer{}}
		open := func(t *testing.T) {
			st, err := store.OpenPostgres(context.Background(), dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			e.st, e.db = st, testDB{DB: st.DB(), postgres: true}
		}
		open(t)
		e.reopen = func(t *testing.T) { e.st.Close(); open(t) }
		f(t, e)
	})
}

// options are a Chilean node's, sending through mb (nil: email off).
func (e *env) options(t *testing.T, mb *mailbox) Options {
	o := Options{
		Country:          "CL",
		ConsoleURL:       "https://vucelink.sag.example/",
		Operators:        []string{"ops@sag.example", "duty@sag.example"},
		PartnerOperators: map[string][]string{"MX": {"ops@senasica.example"}},
		PollInterval:     10 * time.Millisecond,
		BackoffMin:       time.Minute,
		BackoffMax:       2 * time.Minute,
		Now:              e.clk.Now,
		Logger:           slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mb != nil {
		o.SMTP = SMTP{Host: "127.0.0.1", Port: mb.port(t), TLS: "none", From: "vucelink@sag.example", Timeout: 5 * time.Second}
	}
	return o
}

func (e *env) notifier(t *testing.T, o Options) *Notifier {
	t.Helper()
	n, err := New(e.db.DB, o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// start runs the sender (and the watcher, with a feed) until the test
// ends or stop is called; stop waits for them to finish.
func start(t *testing.T, n *Notifier, feed Feed) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { n.Run(ctx) })
	if feed != nil {
		wg.Go(func() { n.Watch(ctx, feed) })
	}
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond for up to 10 s, calling nudge (if not nil) between
// polls — to move the clock on, say.
func waitFor(t *testing.T, what string, cond func() bool, nudge func()) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		if nudge != nil {
			nudge()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func queryInt(t *testing.T, db testDB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// settled reports that nothing is left to send, so no further mail can
// arrive: a deterministic "and no more".
func settled(t *testing.T, db testDB) func() bool {
	return func() bool { return queryInt(t, db, `SELECT COUNT(*) FROM notifications WHERE sent_at IS NULL`) == 0 }
}
