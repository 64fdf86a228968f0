package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go
)

// SQLite is the embedded store: one process holds it (an exclusive lock
// on a file beside it), so its leases, singletons and waits need nothing
// beyond the process.
type SQLite struct {
	*sqlStore
	lock *os.File
	// ckpt is the checkpointer's connection; stop ends it.
	ckpt          *sql.DB
	stop, stopped chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// maxPrepared bounds each statement cache (stmtCache): the store runs a
// few dozen distinct statements; filters build the rest.
const maxPrepared = 128

// checkpointEvery is how often the checkpointer looks for new commits.
const checkpointEvery = 200 * time.Millisecond

// checkpoint copies committed pages from the WAL into the database, every
// interval while there are new commits, on a connection of its own: a
// passive checkpoint never waits for the writer nor makes it wait, and
// every commit it copies was fsynced in the WAL already.
func (s *SQLite) checkpoint(interval time.Duration) {
	defer close(s.stopped)
	t := time.NewTicker(interval)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		st := s.Stats()
		if n := st.Durable + st.Relaxed; n != last {
			last = n
			s.ckpt.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}

const schema = `
CREATE TABLE IF NOT EXISTS documents (
  seq          INTEGER PRIMARY KEY,
  tracking_id  TEXT NOT NULL UNIQUE,
  direction    TEXT NOT NULL,
  partner      TEXT NOT NULL,
  doc_type     TEXT NOT NULL,
  doc_id       TEXT NOT NULL,
  digest       TEXT NOT NULL,
  state        TEXT NOT NULL,
  body         BLOB,
  receipt      TEXT,
  receipt_signed BLOB,
  attempts     INTEGER NOT NULL DEFAULT 0,
  next_try     INTEGER,
  lease_until  INTEGER,
  lease_token  INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT NOT NULL DEFAULT '',
  contact      TEXT NOT NULL DEFAULT '',
  created      INTEGER NOT NULL,
  updated      INTEGER NOT NULL,
  UNIQUE (direction, partner, doc_type, doc_id)
);
CREATE INDEX IF NOT EXISTS documents_due ON documents (direction, partner, next_try) WHERE next_try IS NOT NULL;
CREATE INDEX IF NOT EXISTS documents_updated ON documents (updated);
CREATE INDEX IF NOT EXISTS documents_pending ON documents (seq) WHERE state IN ('accepted', 'sent');
CREATE INDEX IF NOT EXISTS documents_state ON documents (direction, state, partner);
CREATE INDEX IF NOT EXISTS documents_doc_id_prefix ON documents (doc_id COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS documents_tracking_id_prefix ON documents (tracking_id COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS transitions (
  id         INTEGER PRIMARY KEY,
  doc_seq    INTEGER NOT NULL REFERENCES documents(seq),
  at         INTEGER NOT NULL,
  from_state TEXT NOT NULL,
  to_state   TEXT NOT NULL,
  actor      TEXT NOT NULL,
  reason     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_doc ON transitions (doc_seq, id);
CREATE TABLE IF NOT EXISTS partners (
  code   TEXT PRIMARY KEY,
  paused INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS partner_events (
  id     INTEGER PRIMARY KEY,
  code   TEXT NOT NULL,
  at     INTEGER NOT NULL,
  action TEXT NOT NULL,
  actor  TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS partner_events_append_only_u BEFORE UPDATE ON partner_events
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS partner_events_append_only_d BEFORE DELETE ON partner_events
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TABLE IF NOT EXISTS records (
  kind    TEXT NOT NULL,
  key     TEXT NOT NULL,
  value   BLOB,
  expires INTEGER,
  PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS cursors (
  name    TEXT PRIMARY KEY,
  last_id INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS transitions_append_only_u BEFORE UPDATE ON transitions
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS transitions_append_only_d BEFORE DELETE ON transitions
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
`

// OpenSQLite opens (creating if needed) the store at path. Every commit
// that promises something is fsynced (synchronous=FULL): an answer to the
// legacy VUCE means the document is on disk. A second process opening the
// same store is refused with ErrInUse, naming the process that holds it.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	// The writer does not checkpoint as it commits (a checkpoint copies
	// the WAL into the database and fsyncs both: some milliseconds on the
	// path of the commit that happens to cross the threshold); the
	// checkpointer does, beside it. The writer's threshold stays, far
	// higher, as a backstop should the checkpointer fall behind.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=wal_autocheckpoint(20000)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		lock.Close()
		return nil, err
	}
	// One connection: SQLite has one writer anyway, and a single
	// connection makes every transaction serial without busy retries.
	db.SetMaxOpenConns(1)
	fail := func(err error) (*SQLite, error) {
		db.Close()
		lock.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return fail(err)
	}
	if err := migrate(ctx, db); err != nil {
		return fail(err)
	}
	// Reads outside transactions take connections of their own: in WAL
	// mode they read the last commit while the writer commits the next,
	// instead of queueing behind its fsync.
	rdb, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return fail(err)
	}
	rdb.SetMaxOpenConns(4)
	rdb.SetMaxIdleConns(4)
	cdb, err := sql.Open("sqlite", "file:"+path+"?_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
	if err != nil {
		rdb.Close()
		return fail(err)
	}
	cdb.SetMaxOpenConns(1)
	s := &SQLite{lock: lock, ckpt: cdb, stop: make(chan struct{}), stopped: make(chan struct{})}
	s.sqlStore = &sqlStore{db: db, rdb: rdb, d: dialect{
		rebind:   func(q string) string { return q },
		greatest: "MAX",
		caseless: func(x string) string { return x },
		begin:    s.begin,
	}}
	s.group = newGroupCommit(s.sqlStore)
	s.stmts, s.rstmts = newStmtCache(db, maxPrepared), newStmtCache(rdb, maxPrepared)
	go s.checkpoint(checkpointEvery)
	return s, nil
}

// lockFile takes an exclusive lock on name, writing this process's
// identity into it; if another process holds it, the error names that one.
func lockFile(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(name)
		f.Close()
		who := strings.TrimSpace(string(holder))
		if who == "" {
			who = "another process"
		}
		return nil, fmt.Errorf("%w: %s (lock %s); SQLite serves one process: for replicas use store.driver: postgres", ErrInUse, who, name)
	}
	host, _ := os.Hostname()
	f.Truncate(0)
	fmt.Fprintf(f, "process %d on %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	return f, nil
}

// begin starts a transaction on the one connection; a relaxed one runs
// with synchronous=NORMAL, which in WAL mode skips the commit's fsync
// (the next FULL commit's fsync covers it).
func (s *SQLite) begin(ctx context.Context, relaxed bool) (*sql.Tx, func(), error) {
	if !relaxed {
		tx, err := s.db.BeginTx(ctx, nil)
		return tx, nil, err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		conn.Close()
		return nil, nil, err
	}
	tx, err := conn.BeginTx(ctx, nil)
	done := func() {
		conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = FULL`)
		conn.Close()
	}
	if err != nil {
		done()
		return nil, nil, err
	}
	return tx, done, nil
}

// migrate adds the columns later releases introduced to a store created by
// an earlier one (CREATE TABLE IF NOT EXISTS leaves an old table as it was).
func migrate(ctx context.Context, db *sql.DB) error {
	added := []struct{ table, column, def string }{
		{"documents", "contact", "TEXT NOT NULL DEFAULT ''"},
		{"documents", "lease_token", "INTEGER NOT NULL DEFAULT 0"},
	}
	for _, a := range added {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, a.table, a.column).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := db.ExecContext(ctx, `ALTER TABLE `+a.table+` ADD COLUMN `+a.column+` `+a.def); err != nil {
				return fmt.Errorf("adding %s.%s: %w", a.table, a.column, err)
			}
		}
	}
	return nil
}

// Close closes the database and lets another process open it. Closing
// again does nothing (tests and shutdown paths may both close).
func (s *SQLite) Close() error {
	s.closeOnce.Do(func() {
		s.group.close()
		close(s.stop)
		<-s.stopped
		s.stmts.close()
		s.rstmts.close()
		s.ckpt.Close()
		s.rdb.Close()
		s.closeErr = s.db.Close()
		s.lock.Close()
	})
	return s.closeErr
}

// Ping checks the store is writable (for readiness).
func (s *SQLite) Ping(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `PRAGMA user_version = 1`)
	return err
}

// Singleton runs f: the process holding the file holds every role.
func (s *SQLite) Singleton(ctx context.Context, name string, f func(ctx context.Context)) { f(ctx) }

// Settled: no other process shares a SQLite store.
func (s *SQLite) Settled() <-chan string { return nil }

// Due: no other process shares a SQLite store.
func (s *SQLite) Due() <-chan string { return nil }

var _ Store = (*SQLite)(nil)
