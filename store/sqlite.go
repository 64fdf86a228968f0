package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", pure Go

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/wire"
)

// SQLite is the embedded store.
type SQLite struct {
	db *sql.DB
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
  last_error   TEXT NOT NULL DEFAULT '',
  contact      TEXT NOT NULL DEFAULT '',
  created      INTEGER NOT NULL,
  updated      INTEGER NOT NULL,
  UNIQUE (direction, partner, doc_type, doc_id)
);
CREATE INDEX IF NOT EXISTS documents_due ON documents (direction, partner, next_try) WHERE next_try IS NOT NULL;
CREATE INDEX IF NOT EXISTS documents_updated ON documents (updated);
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
CREATE TABLE IF NOT EXISTS cursors (
  name    TEXT PRIMARY KEY,
  last_id INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS transitions_append_only_u BEFORE UPDATE ON transitions
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS transitions_append_only_d BEFORE DELETE ON transitions
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
`

// OpenSQLite opens (creating if needed) the store at path. Every commit is
// fsynced (synchronous=FULL): an answer to the legacy VUCE means the
// document is on disk.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// One connection: SQLite has one writer anyway, and a single
	// connection makes every transaction serial without busy retries.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return &SQLite{db: db}, nil
}

// migrate adds the columns later releases introduced to a store created by
// an earlier one (CREATE TABLE IF NOT EXISTS leaves an old table as it was).
func migrate(ctx context.Context, db *sql.DB) error {
	added := []struct{ table, column, def string }{
		{"documents", "contact", "TEXT NOT NULL DEFAULT ''"},
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

// DB is the underlying database, for packages that keep their own tables
// beside the documents (the notification outbox). It is one connection:
// use it in short transactions.
func (s *SQLite) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

// Ping checks the store is writable (for readiness).
func (s *SQLite) Ping(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `PRAGMA user_version = 1`)
	return err
}

const cols = `seq, tracking_id, direction, partner, doc_type, doc_id, digest, state, body, receipt, receipt_signed, attempts, next_try, last_error, contact, created, updated`

type scanner interface{ Scan(...any) error }

func scanDoc(r scanner) (*Document, error) {
	var d Document
	var receipt sql.NullString
	var signed []byte
	var next sql.NullInt64
	var created, updated int64
	if err := r.Scan(&d.Seq, &d.TrackingID, &d.Direction, &d.Partner, &d.Type, &d.DocumentID, &d.Digest, &d.State,
		&d.Body, &receipt, &signed, &d.Attempts, &next, &d.LastError, &d.Contact, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	if receipt.Valid {
		d.Receipt = &wire.Receipt{}
		if err := json.Unmarshal([]byte(receipt.String), d.Receipt); err != nil {
			return nil, fmt.Errorf("document %s: stored receipt: %w", d.TrackingID, err)
		}
		d.Receipt.Signed = signed
	}
	if next.Valid {
		d.NextTry = time.Unix(0, next.Int64).UTC()
	}
	d.Created, d.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return &d, nil
}

func receiptJSON(r *wire.Receipt) any {
	if r == nil {
		return nil
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func signedOf(r *wire.Receipt) any {
	if r == nil || r.Signed == nil {
		return nil
	}
	return r.Signed
}

func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func (s *SQLite) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func record(ctx context.Context, tx *sql.Tx, seq int64, at time.Time, from, to lifecycle.State, actor, reason string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO transitions (doc_seq, at, from_state, to_state, actor, reason) VALUES (?, ?, ?, ?, ?, ?)`,
		seq, at.UnixNano(), string(from), string(to), actor, reason)
	return err
}

// Add stores a new document in its first state (d.State) and records the
// first transition. If a document with the same direction, partner, type
// and ID exists, Add returns it unchanged (with the same digest) or
// ErrConflict (with another digest) — the idempotency rule both sides use.
func (s *SQLite) Add(ctx context.Context, d *Document, actor, reason string) (existing *Document, err error) {
	if !lifecycle.Valid(d.State) {
		return nil, fmt.Errorf("%w: unknown first state %q", lifecycle.ErrIllegal, d.State)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanDoc(tx.QueryRowContext(ctx, `SELECT `+cols+` FROM documents WHERE direction = ? AND partner = ? AND doc_type = ? AND doc_id = ?`,
			d.Direction, d.Partner, d.Type, d.DocumentID))
		switch {
		case err == nil:
			if old.Digest != d.Digest {
				return fmt.Errorf("%w: %s %s from %s was %s, now %s", ErrConflict, d.Type, d.DocumentID, d.Partner, old.Digest, d.Digest)
			}
			existing = old
			return nil
		case !errors.Is(err, ErrNotFound):
			return err
		}
		now := d.Created
		res, err := tx.ExecContext(ctx, `INSERT INTO documents (tracking_id, direction, partner, doc_type, doc_id, digest, state, body, receipt, receipt_signed, attempts, next_try, last_error, contact, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, '', ?, ?, ?)`,
			d.TrackingID, d.Direction, d.Partner, d.Type, d.DocumentID, d.Digest, string(d.State), d.Body, receiptJSON(d.Receipt), signedOf(d.Receipt),
			nanos(d.NextTry), d.Contact, now.UnixNano(), now.UnixNano())
		if err != nil {
			return err
		}
		if d.Seq, err = res.LastInsertId(); err != nil {
			return err
		}
		d.Updated = now
		return record(ctx, tx, d.Seq, now, "", d.State, actor, reason)
	})
	return existing, err
}

// Get returns a document by tracking ID.
func (s *SQLite) Get(ctx context.Context, trackingID string) (*Document, error) {
	return scanDoc(s.db.QueryRowContext(ctx, `SELECT `+cols+` FROM documents WHERE tracking_id = ?`, trackingID))
}

// Find returns a document by its natural key.
func (s *SQLite) Find(ctx context.Context, direction, partner, docType, docID string) (*Document, error) {
	return scanDoc(s.db.QueryRowContext(ctx, `SELECT `+cols+` FROM documents WHERE direction = ? AND partner = ? AND doc_type = ? AND doc_id = ?`,
		direction, partner, docType, docID))
}

// History returns a document's transitions, oldest first.
func (s *SQLite) History(ctx context.Context, trackingID string) ([]Transition, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.at, t.from_state, t.to_state, t.actor, t.reason FROM transitions t
		JOIN documents d ON d.seq = t.doc_seq WHERE d.tracking_id = ? ORDER BY t.id`, trackingID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Transition
	for rows.Next() {
		var tr Transition
		var at int64
		if err := rows.Scan(&at, &tr.From, &tr.To, &tr.Actor, &tr.Reason); err != nil {
			return nil, err
		}
		tr.At = time.Unix(0, at).UTC()
		out = append(out, tr)
	}
	return out, rows.Err()
}

// List returns documents matching f, oldest first.
func (s *SQLite) List(ctx context.Context, f Filter) ([]*Document, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Direction != "" {
		add("direction = ?", f.Direction)
	}
	if f.Partner != "" {
		add("partner = ?", f.Partner)
	}
	if f.State != "" {
		add("state = ?", string(f.State))
	}
	if f.Type != "" {
		add("doc_type = ?", f.Type)
	}
	if f.IDPrefix != "" {
		like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(f.IDPrefix) + "%"
		where = append(where, `(doc_id LIKE ? ESCAPE '\' OR tracking_id LIKE ? ESCAPE '\')`)
		args = append(args, like, like)
	}
	if f.BeforeSeq > 0 {
		add("seq < ?", f.BeforeSeq)
	}
	if !f.Since.IsZero() {
		add("updated >= ?", f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		add("updated < ?", f.Until.UnixNano())
	}
	add("seq > ?", f.AfterSeq)
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	order := "seq"
	if f.Newest {
		order = "seq DESC"
	}
	q := `SELECT ` + cols + ` FROM documents WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + order + ` LIMIT ?`
	rows, err := s.db.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Document
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Counts returns how many documents are in each state, per direction.
func (s *SQLite) Counts(ctx context.Context) (map[string]map[lifecycle.State]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT direction, state, COUNT(*) FROM documents GROUP BY direction, state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[lifecycle.State]int{}
	for rows.Next() {
		var dir string
		var st lifecycle.State
		var n int
		if err := rows.Scan(&dir, &st, &n); err != nil {
			return nil, err
		}
		if out[dir] == nil {
			out[dir] = map[lifecycle.State]int{}
		}
		out[dir][st] = n
	}
	return out, rows.Err()
}

// Change is an update applied together with a state transition.
type Change struct {
	To        lifecycle.State
	Actor     string
	Reason    string
	Receipt   *wire.Receipt // stored if not nil
	NextTry   *time.Time    // set (zero time clears it) if not nil
	LastError *string
}

// Transition moves a document to c.To if the lifecycle allows it, applying
// the rest of the change in the same transaction.
func (s *SQLite) Transition(ctx context.Context, trackingID string, at time.Time, c Change) (*Document, error) {
	var out *Document
	err := s.tx(ctx, func(tx *sql.Tx) error {
		d, err := scanDoc(tx.QueryRowContext(ctx, `SELECT `+cols+` FROM documents WHERE tracking_id = ?`, trackingID))
		if err != nil {
			return err
		}
		if err := lifecycle.Check(d.State, c.To); err != nil {
			return fmt.Errorf("document %s (%s): %w", d.DocumentID, trackingID, err)
		}
		sets := []string{"state = ?", "updated = ?"}
		args := []any{string(c.To), at.UnixNano()}
		if c.Receipt != nil {
			sets, args = append(sets, "receipt = ?", "receipt_signed = ?"), append(args, receiptJSON(c.Receipt), signedOf(c.Receipt))
			d.Receipt = c.Receipt
		}
		if c.NextTry != nil {
			// A new schedule ends the attempt that held the lease.
			sets, args = append(sets, "next_try = ?", "lease_until = NULL"), append(args, nanos(*c.NextTry))
			d.NextTry = *c.NextTry
		}
		if !lifecycle.Pending(c.To) && c.To != lifecycle.Sent {
			// Nothing more to deliver in a state that is not pending.
			sets = append(sets, "next_try = NULL", "lease_until = NULL")
			d.NextTry = time.Time{}
		}
		if c.LastError != nil {
			sets, args = append(sets, "last_error = ?"), append(args, *c.LastError)
			d.LastError = *c.LastError
		}
		if _, err := tx.ExecContext(ctx, `UPDATE documents SET `+strings.Join(sets, ", ")+` WHERE seq = ?`, append(args, d.Seq)...); err != nil {
			return err
		}
		// Repeated attempts (sent → sent) are not history worth keeping.
		if d.State != c.To {
			if err := record(ctx, tx, d.Seq, at, d.State, c.To, c.Actor, c.Reason); err != nil {
				return err
			}
		}
		d.State, d.Updated = c.To, at
		out = d
		return nil
	})
	return out, err
}

// Claim leases the next outbound document due for delivery to partner
// until now+lease, so no other worker takes it meanwhile and a crashed
// worker's claim expires; its attempt count grows. A Transition ends the
// lease that sets a new NextTry (or leaves the pending states). It returns
// nil when nothing is due.
func (s *SQLite) Claim(ctx context.Context, partner string, now time.Time, lease time.Duration) (*Document, error) {
	var out *Document
	err := s.tx(ctx, func(tx *sql.Tx) error {
		d, err := scanDoc(tx.QueryRowContext(ctx, `SELECT `+cols+` FROM documents
			WHERE direction = 'outbound' AND partner = ? AND state IN ('accepted', 'sent')
			  AND next_try IS NOT NULL AND next_try <= ?
			  AND NOT EXISTS (SELECT 1 FROM partners p WHERE p.code = documents.partner AND p.paused = 1)
			  AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY next_try LIMIT 1`, partner, now.UnixNano(), now.UnixNano()))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		d.Attempts++
		if _, err := tx.ExecContext(ctx, `UPDATE documents SET attempts = ?, lease_until = ? WHERE seq = ?`, d.Attempts, now.Add(lease).UnixNano(), d.Seq); err != nil {
			return err
		}
		out = d
		return nil
	})
	return out, err
}

// ReleaseLeases ends every lease. A single node calls it at start: any
// lease then left is from a process that no longer runs.
func (s *SQLite) ReleaseLeases(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `UPDATE documents SET lease_until = NULL WHERE lease_until IS NOT NULL`)
	return err
}

// NextDue returns when the earliest pending delivery to partner is due, or
// the zero time if none is pending.
func (s *SQLite) NextDue(ctx context.Context, partner string) (time.Time, error) {
	var next sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MIN(MAX(next_try, COALESCE(lease_until, 0))) FROM documents
		WHERE direction = 'outbound' AND partner = ? AND next_try IS NOT NULL`, partner).Scan(&next)
	if err != nil || !next.Valid {
		return time.Time{}, err
	}
	return time.Unix(0, next.Int64), nil
}

// Change event: one transition with the document it moved.
type Event struct {
	ID         int64 // position in the audit trail
	At         time.Time
	TrackingID string
	DocumentID string
	Type       string
	Direction  string
	Partner    string
	From, To   lifecycle.State
	Actor      string
	Reason     string
}

// EventsAfter returns up to limit transitions recorded after position
// after, oldest first: the audit trail read as a durable feed.
func (s *SQLite) EventsAfter(ctx context.Context, after int64, limit int) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.id, t.at, d.tracking_id, d.doc_id, d.doc_type, d.direction, d.partner,
		t.from_state, t.to_state, t.actor, t.reason
		FROM transitions t JOIN documents d ON d.seq = t.doc_seq WHERE t.id > ? ORDER BY t.id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.TrackingID, &e.DocumentID, &e.Type, &e.Direction, &e.Partner, &e.From, &e.To, &e.Actor, &e.Reason); err != nil {
			return nil, err
		}
		e.At = time.Unix(0, at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Cursor returns how far the named feed consumer has got (0 if never).
func (s *SQLite) Cursor(ctx context.Context, name string) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT last_id FROM cursors WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// SetCursor records how far the named consumer has got.
func (s *SQLite) SetCursor(ctx context.Context, name string, id int64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO cursors (name, last_id) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id`, name, id)
	return err
}

// Backlog counts outbound documents still to be delivered or given up
// (accepted, sent, incomplete), per partner and state.
func (s *SQLite) Backlog(ctx context.Context) (map[string]map[lifecycle.State]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT partner, state, COUNT(*) FROM documents
		WHERE direction = 'outbound' AND state IN ('accepted', 'sent', 'incomplete') GROUP BY partner, state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[lifecycle.State]int{}
	for rows.Next() {
		var p string
		var st lifecycle.State
		var n int
		if err := rows.Scan(&p, &st, &n); err != nil {
			return nil, err
		}
		if out[p] == nil {
			out[p] = map[lifecycle.State]int{}
		}
		out[p][st] = n
	}
	return out, rows.Err()
}

// PartnerEvent is one entry of the partners' audit trail.
type PartnerEvent struct {
	Partner string    `json:"partner"`
	At      time.Time `json:"at"`
	Action  string    `json:"action"` // pause, resume, resend
	Actor   string    `json:"actor"`
	Reason  string    `json:"reason,omitempty"`
}

// SetPaused pauses or resumes delivery to a partner: while paused, its
// documents stay queued (accepted or sent) and are not attempted. Recorded
// in the partners' audit trail.
func (s *SQLite) SetPaused(ctx context.Context, partner string, paused bool, at time.Time, actor, reason string) error {
	action := "resume"
	if paused {
		action = "pause"
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO partners (code, paused) VALUES (?, ?)
			ON CONFLICT (code) DO UPDATE SET paused = excluded.paused`, partner, paused); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO partner_events (code, at, action, actor, reason) VALUES (?, ?, ?, ?, ?)`,
			partner, at.UnixNano(), action, actor, reason)
		return err
	})
}

// Paused returns the partners delivery is paused for.
func (s *SQLite) Paused(ctx context.Context) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT code FROM partners WHERE paused = 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out[c] = true
	}
	return out, rows.Err()
}

// PartnerEvents returns a partner's audit trail, oldest first.
func (s *SQLite) PartnerEvents(ctx context.Context, partner string) ([]PartnerEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT code, at, action, actor, reason FROM partner_events WHERE code = ? ORDER BY id`, partner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PartnerEvent
	for rows.Next() {
		var e PartnerEvent
		var at int64
		if err := rows.Scan(&e.Partner, &at, &e.Action, &e.Actor, &e.Reason); err != nil {
			return nil, err
		}
		e.At = time.Unix(0, at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// ResendIncomplete puts a partner's incomplete documents back in the queue
// (incomplete → sent, due now), each transition audited; it returns how
// many. Used after a partner recovers from a long outage.
func (s *SQLite) ResendIncomplete(ctx context.Context, partner string, at time.Time, actor, reason string) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT seq FROM documents WHERE direction = 'outbound' AND partner = ? AND state = 'incomplete' ORDER BY seq`, partner)
		if err != nil {
			return err
		}
		var seqs []int64
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return err
			}
			seqs = append(seqs, seq)
		}
		rows.Close()
		for _, seq := range seqs {
			if _, err := tx.ExecContext(ctx, `UPDATE documents SET state = 'sent', next_try = ?, lease_until = NULL, updated = ? WHERE seq = ?`,
				at.UnixNano(), at.UnixNano(), seq); err != nil {
				return err
			}
			if err := record(ctx, tx, seq, at, lifecycle.Incomplete, lifecycle.Sent, actor, reason); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO partner_events (code, at, action, actor, reason) VALUES (?, ?, 'resend', ?, ?)`,
			partner, at.UnixNano(), actor, fmt.Sprintf("%d incomplete documents: %s", len(seqs), reason)); err != nil {
			return err
		}
		n = len(seqs)
		return nil
	})
	return n, err
}
