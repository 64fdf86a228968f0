package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/wire"
)

// sqlStore is the implementation SQLite and PostgreSQL share: the same
// statements, written with ? placeholders, and a dialect for what differs
// (row locks, fsync control, notifications, the audit trail's order).
type sqlStore struct {
	db *sql.DB
	// rdb serves reads outside transactions: db itself, or (SQLite) a
	// pool of read connections, which in WAL mode read the last commit
	// while the writer's connection commits the next.
	rdb *sql.DB
	d   dialect
	// group, if not nil, lets concurrent writers share a transaction
	// (SQLite: see groupCommit).
	group *groupCommit
	// stmts and rstmts, if not nil, keep the writer's and the readers'
	// statements prepared (SQLite: see stmtCache).
	stmts, rstmts *stmtCache
	// commits by durability, for Stats; shared: those that shared their
	// transaction with others.
	durable, relaxed, shared atomic.Int64
}

type dialect struct {
	// rebind rewrites ? placeholders for the driver.
	rebind func(string) string
	// lockRow is appended to a SELECT that reads a row to change it;
	// claimRow to the claim's SELECT (skip rows other workers hold).
	lockRow, claimRow string
	// greatest is the two-argument maximum function.
	greatest string
	// caseless wraps a column, and the ? of the pattern it is compared
	// with, so that a LIKE ignores case through an index: SQLite's LIKE
	// already does (with the columns' NOCASE indexes); PostgreSQL's
	// compares lower() of both (its expression indexes).
	caseless func(string) string
	// begin starts a transaction; relaxed ones do not wait for fsync at
	// commit. done, if not nil, runs after commit or rollback.
	begin func(ctx context.Context, relaxed bool) (tx *sql.Tx, done func(), err error)
	// beforeTrail runs before every insert into the audit trail, in the
	// same transaction (PostgreSQL: serializes them so positions in the
	// trail are handed out in commit order and a feed reader skips none).
	beforeTrail func(ctx context.Context, tx *sql.Tx) error
	// notify, if not nil, tells other processes sharing the store.
	notify func(ctx context.Context, tx *sql.Tx, channel, payload string) error
}

// Channels of notify.
const (
	chanSettled = "vucelink_settled"
	chanDue     = "vucelink_due"
)

const cols = `seq, tracking_id, direction, partner, doc_type, doc_id, digest, state, body, receipt, receipt_signed, attempts, next_try, last_error, contact, created, updated, lease_token`

type scanner interface{ Scan(...any) error }

func scanDoc(r scanner) (*Document, error) {
	var d Document
	var receipt sql.NullString
	var signed []byte
	var next sql.NullInt64
	var created, updated int64
	if err := r.Scan(&d.Seq, &d.TrackingID, &d.Direction, &d.Partner, &d.Type, &d.DocumentID, &d.Digest, &d.State,
		&d.Body, &receipt, &signed, &d.Attempts, &next, &d.LastError, &d.Contact, &created, &updated, &d.Lease); err != nil {
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

// txn is a transaction that rebinds its statements.
type txn struct {
	*sql.Tx
	s *sqlStore
	// detached: the transaction is shared with other writers (group
	// commit), so one writer's context ending must not interrupt a
	// statement (SQLite would roll the whole transaction back).
	detached bool
}

func (t txn) ctx(ctx context.Context) context.Context {
	if t.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (t txn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.s.stmts.get(q); st != nil {
		return t.StmtContext(t.ctx(ctx), st).ExecContext(t.ctx(ctx), args...)
	}
	return t.ExecContext(t.ctx(ctx), t.s.d.rebind(q), args...)
}

// row runs a query whose one row the caller scans at once: a prepared
// statement is used again only after its row is read (rows, which a
// caller may hold open while it runs other statements, are never
// prepared).
func (t txn) row(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.s.stmts.get(q); st != nil {
		return t.StmtContext(t.ctx(ctx), st).QueryRowContext(t.ctx(ctx), args...)
	}
	return t.QueryRowContext(t.ctx(ctx), t.s.d.rebind(q), args...)
}

func (t txn) rows(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.QueryContext(t.ctx(ctx), t.s.d.rebind(q), args...)
}

func (t txn) notify(ctx context.Context, channel, payload string) error {
	if t.s.d.notify == nil {
		return nil
	}
	return t.s.d.notify(ctx, t.Tx, channel, payload)
}

func (s *sqlStore) tx(ctx context.Context, relaxed bool, f func(txn) error) error {
	// Statements first seen in a transaction are prepared once it is
	// over, in the background (the connection is free by then).
	defer func() {
		if s.stmts.wants() {
			go s.stmts.prepareWanted(context.WithoutCancel(ctx))
		}
	}()
	if s.group != nil {
		return s.group.do(ctx, relaxed, f)
	}
	return s.txAlone(ctx, relaxed, f)
}

// txAlone runs f in a transaction of its own.
func (s *sqlStore) txAlone(ctx context.Context, relaxed bool, f func(txn) error) error {
	tx, done, err := s.d.begin(ctx, relaxed)
	if err != nil {
		return err
	}
	if done != nil {
		defer done()
	}
	if err := f(txn{Tx: tx, s: s}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.count(relaxed)
	return nil
}

func (s *sqlStore) count(relaxed bool) {
	if relaxed {
		s.relaxed.Add(1)
	} else {
		s.durable.Add(1)
	}
}

func (s *sqlStore) exec(ctx context.Context, q string, args ...any) error {
	_, err := s.db.ExecContext(ctx, s.d.rebind(q), args...)
	if err == nil {
		s.durable.Add(1)
	}
	return err
}

func (s *sqlStore) row(ctx context.Context, q string, args ...any) *sql.Row {
	if st := s.rstmts.prepareNow(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.rdb.QueryRowContext(ctx, s.d.rebind(q), args...)
}

func (s *sqlStore) rows(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.rdb.QueryContext(ctx, s.d.rebind(q), args...)
}

// Stats counts commits by durability.
func (s *sqlStore) Stats() Stats {
	return Stats{Durable: s.durable.Load(), Relaxed: s.relaxed.Load(), Shared: s.shared.Load()}
}

func (t txn) record(ctx context.Context, seq int64, at time.Time, from, to lifecycle.State, actor, reason string) error {
	if t.s.d.beforeTrail != nil {
		if err := t.s.d.beforeTrail(ctx, t.Tx); err != nil {
			return err
		}
	}
	_, err := t.exec(ctx, `INSERT INTO transitions (doc_seq, at, from_state, to_state, actor, reason) VALUES (?, ?, ?, ?, ?, ?)`,
		seq, at.UnixNano(), string(from), string(to), actor, reason)
	return err
}

// insert adds a new document with its first transition; existing is the
// document already stored under the same natural key (nil if d is new).
func (t txn) insert(ctx context.Context, d *Document, leaseUntil time.Time, actor, reason string) (existing *Document, err error) {
	if !lifecycle.Valid(d.State) {
		return nil, fmt.Errorf("%w: unknown first state %q", lifecycle.ErrIllegal, d.State)
	}
	now := d.Created
	lease := int64(0)
	if !leaseUntil.IsZero() {
		lease = 1
	}
	err = t.row(ctx, `INSERT INTO documents (tracking_id, direction, partner, doc_type, doc_id, digest, state, body, receipt, receipt_signed, attempts, next_try, lease_until, lease_token, last_error, contact, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, '', ?, ?, ?) ON CONFLICT DO NOTHING RETURNING seq`,
		d.TrackingID, d.Direction, d.Partner, d.Type, d.DocumentID, d.Digest, string(d.State), d.Body, receiptJSON(d.Receipt), signedOf(d.Receipt),
		nanos(d.NextTry), nanos(leaseUntil), lease, d.Contact, now.UnixNano(), now.UnixNano()).Scan(&d.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		old, err := scanDoc(t.row(ctx, `SELECT `+cols+` FROM documents WHERE direction = ? AND partner = ? AND doc_type = ? AND doc_id = ?`+t.s.d.lockRow,
			d.Direction, d.Partner, d.Type, d.DocumentID))
		switch {
		case errors.Is(err, ErrNotFound):
			return nil, fmt.Errorf("%w: %s", ErrTrackingID, d.TrackingID)
		case err != nil:
			return nil, err
		case old.Digest != d.Digest:
			return old, fmt.Errorf("%w: %s %s from %s was %s, now %s", ErrConflict, d.Type, d.DocumentID, d.Partner, old.Digest, d.Digest)
		}
		return old, nil
	}
	if err != nil {
		return nil, err
	}
	d.Updated, d.Lease = now, lease
	if d.Direction == Outbound && lifecycle.Pending(d.State) && !d.NextTry.IsZero() {
		if err := t.notify(ctx, chanDue, d.Partner); err != nil {
			return nil, err
		}
	}
	return nil, t.record(ctx, d.Seq, now, "", d.State, actor, reason)
}

// Add stores a new document; see Store.
func (s *sqlStore) Add(ctx context.Context, d *Document, actor, reason string) (existing *Document, err error) {
	err = s.tx(ctx, false, func(t txn) error {
		existing, err = t.insert(ctx, d, time.Time{}, actor, reason)
		return err
	})
	if err != nil {
		return nil, err
	}
	return existing, nil
}

// Receive decides what to do with a verified inbound document; see Store.
func (s *sqlStore) Receive(ctx context.Context, d *Document, hold time.Duration, actor, reason string) (Reception, *Document, error) {
	verdict, out := Fresh, d
	err := s.tx(ctx, false, func(t txn) error {
		d.Direction, d.State = Inbound, lifecycle.Accepted
		prev, err := t.insert(ctx, d, d.Created.Add(hold), actor, reason)
		switch {
		case errors.Is(err, ErrConflict):
			verdict, out = Conflict, prev
			return nil
		case err != nil:
			return err
		case prev == nil:
			verdict, out = Fresh, d
			return nil
		case prev.Receipt != nil:
			verdict, out = Replay, prev
			return nil
		}
		var until sql.NullInt64
		if err := t.row(ctx, `SELECT lease_until FROM documents WHERE seq = ?`, prev.Seq).Scan(&until); err != nil {
			return err
		}
		if until.Valid && until.Int64 > d.Created.UnixNano() {
			verdict, out = Busy, prev
			return nil
		}
		// The marker's holder is gone: take it over.
		prev.Lease++
		if _, err := t.exec(ctx, `UPDATE documents SET lease_token = ?, lease_until = ? WHERE seq = ?`,
			prev.Lease, d.Created.Add(hold).UnixNano(), prev.Seq); err != nil {
			return err
		}
		verdict, out = InDoubt, prev
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return verdict, out, nil
}

// Release ends a lease; see Store.
func (s *sqlStore) Release(ctx context.Context, trackingID string, lease int64) error {
	return s.tx(ctx, true, func(t txn) error {
		_, err := t.exec(ctx, `UPDATE documents SET lease_until = NULL WHERE tracking_id = ? AND lease_token = ?`, trackingID, lease)
		return err
	})
}

// Get returns a document by tracking ID.
func (s *sqlStore) Get(ctx context.Context, trackingID string) (*Document, error) {
	return scanDoc(s.row(ctx, `SELECT `+cols+` FROM documents WHERE tracking_id = ?`, trackingID))
}

// Find returns a document by its natural key.
func (s *sqlStore) Find(ctx context.Context, direction, partner, docType, docID string) (*Document, error) {
	return scanDoc(s.row(ctx, `SELECT `+cols+` FROM documents WHERE direction = ? AND partner = ? AND doc_type = ? AND doc_id = ?`,
		direction, partner, docType, docID))
}

// History returns a document's transitions, oldest first.
func (s *sqlStore) History(ctx context.Context, trackingID string) ([]Transition, error) {
	rows, err := s.rows(ctx, `SELECT t.at, t.from_state, t.to_state, t.actor, t.reason FROM transitions t
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
func (s *sqlStore) List(ctx context.Context, f Filter) ([]*Document, error) {
	q, args := listQuery(f, s.d.caseless)
	rows, err := s.rows(ctx, q, args...)
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

// listQuery is List's SQL and its arguments; caseless is the dialect's.
func listQuery(f Filter, caseless func(string) string) (string, []any) {
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
		// Two index lookups (documents_doc_id_prefix and
		// documents_tracking_id_prefix), not one OR over the table:
		// "where is my certificate?" must not read every document kept.
		// A number typed in lower case finds the document too.
		where = append(where, `seq IN (SELECT seq FROM documents WHERE `+caseless("doc_id")+` LIKE `+caseless("?")+` ESCAPE '\'
			UNION ALL SELECT seq FROM documents WHERE `+caseless("tracking_id")+` LIKE `+caseless("?")+` ESCAPE '\')`)
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
	return `SELECT ` + cols + ` FROM documents WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + order + ` LIMIT ?`, append(args, limit)
}

// Counts returns how many documents are in each state, per direction.
func (s *sqlStore) Counts(ctx context.Context) (map[string]map[lifecycle.State]int, error) {
	return s.countBy(ctx, `SELECT direction, state, COUNT(*) FROM documents GROUP BY direction, state`)
}

// Backlog counts outbound documents still to be delivered or given up
// (accepted, sent, incomplete), per partner and state.
func (s *sqlStore) Backlog(ctx context.Context) (map[string]map[lifecycle.State]int, error) {
	return s.countBy(ctx, backlogQuery)
}

const backlogQuery = `SELECT partner, state, COUNT(*) FROM documents
	WHERE direction = 'outbound' AND state IN ('accepted', 'sent', 'incomplete') GROUP BY partner, state`

func (s *sqlStore) countBy(ctx context.Context, q string) (map[string]map[lifecycle.State]int, error) {
	rows, err := s.rows(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[lifecycle.State]int{}
	for rows.Next() {
		var k string
		var st lifecycle.State
		var n int
		if err := rows.Scan(&k, &st, &n); err != nil {
			return nil, err
		}
		if out[k] == nil {
			out[k] = map[lifecycle.State]int{}
		}
		out[k][st] = n
	}
	return out, rows.Err()
}

// Transition moves a document; see Store.
func (s *sqlStore) Transition(ctx context.Context, trackingID string, at time.Time, c Change) (*Document, error) {
	var out *Document
	err := s.tx(ctx, c.Recoverable, func(t txn) error {
		d, err := scanDoc(t.row(ctx, `SELECT `+cols+` FROM documents WHERE tracking_id = ?`+s.d.lockRow, trackingID))
		if err != nil {
			return err
		}
		if c.Lease != 0 && d.Lease != c.Lease {
			return fmt.Errorf("document %s (%s): %w", d.DocumentID, trackingID, ErrLeaseLost)
		}
		if err := lifecycle.Check(d.State, c.To); err != nil {
			return fmt.Errorf("document %s (%s): %w", d.DocumentID, trackingID, err)
		}
		if err := t.apply(ctx, d, at, c); err != nil {
			return err
		}
		for _, m := range c.Enqueue {
			if _, err := t.insert(ctx, m, time.Time{}, c.Actor, "status message: "+string(c.To)); err != nil {
				return fmt.Errorf("queueing %s %s: %w", m.Type, m.DocumentID, err)
			}
		}
		out = d
		return nil
	})
	return out, err
}

// apply writes a checked change to d and its audit-trail entry.
func (t txn) apply(ctx context.Context, d *Document, at time.Time, c Change) error {
	sets := []string{"state = ?", "updated = ?"}
	args := []any{string(c.To), at.UnixNano()}
	endLease := false
	if c.Lease == 0 {
		// A change from outside the claim ends it: the worker that held it
		// can no longer record anything on this document.
		sets = append(sets, "lease_token = lease_token + 1")
		d.Lease++
		endLease = true
	}
	if c.Receipt != nil {
		sets, args = append(sets, "receipt = ?", "receipt_signed = ?"), append(args, receiptJSON(c.Receipt), signedOf(c.Receipt))
		d.Receipt = c.Receipt
	}
	switch {
	case !lifecycle.Pending(c.To) && c.To != lifecycle.Sent:
		// Nothing more to deliver in a state that is not pending.
		sets = append(sets, "next_try = NULL")
		d.NextTry, endLease = time.Time{}, true
	case c.NextTry != nil:
		// A new schedule ends the attempt that held the lease.
		sets, args = append(sets, "next_try = ?"), append(args, nanos(*c.NextTry))
		d.NextTry, endLease = *c.NextTry, true
	}
	if endLease {
		sets = append(sets, "lease_until = NULL")
	}
	if c.LastError != nil {
		sets, args = append(sets, "last_error = ?"), append(args, *c.LastError)
		d.LastError = *c.LastError
	}
	if _, err := t.exec(ctx, `UPDATE documents SET `+strings.Join(sets, ", ")+` WHERE seq = ?`, append(args, d.Seq)...); err != nil {
		return err
	}
	if d.Direction == Outbound {
		switch {
		case lifecycle.Pending(c.To) && !d.NextTry.IsZero() && !d.NextTry.After(at):
			if err := t.notify(ctx, chanDue, d.Partner); err != nil {
				return err
			}
		case !lifecycle.Pending(c.To) && lifecycle.Pending(d.State):
			if err := t.notify(ctx, chanSettled, d.TrackingID); err != nil {
				return err
			}
		}
	}
	// Repeated attempts (sent → sent) are not history worth keeping.
	if d.State != c.To {
		if err := t.record(ctx, d.Seq, at, d.State, c.To, c.Actor, c.Reason); err != nil {
			return err
		}
	}
	d.State, d.Updated = c.To, at
	return nil
}

// Claim leases the next due outbound document; see Store.
func (s *sqlStore) Claim(ctx context.Context, partner string, now time.Time, lease time.Duration) (*Document, error) {
	var out *Document
	err := s.tx(ctx, true, func(t txn) error {
		d, err := scanDoc(t.row(ctx, `SELECT `+cols+` FROM documents
			WHERE direction = 'outbound' AND partner = ? AND state IN ('accepted', 'sent')
			  AND next_try IS NOT NULL AND next_try <= ?
			  AND NOT EXISTS (SELECT 1 FROM partners p WHERE p.code = documents.partner AND p.paused = 1)
			  AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY next_try LIMIT 1`+s.d.claimRow, partner, now.UnixNano(), now.UnixNano()))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		d.Attempts++
		d.Lease++
		if _, err := t.exec(ctx, `UPDATE documents SET attempts = ?, lease_until = ?, lease_token = ? WHERE seq = ?`,
			d.Attempts, now.Add(lease).UnixNano(), d.Lease, d.Seq); err != nil {
			return err
		}
		if d.State == lifecycle.Accepted {
			// The first attempt is recorded with the claim: one commit, not two.
			if _, err := t.exec(ctx, `UPDATE documents SET state = 'sent', updated = ? WHERE seq = ?`, now.UnixNano(), d.Seq); err != nil {
				return err
			}
			if err := t.record(ctx, d.Seq, now, lifecycle.Accepted, lifecycle.Sent, "outbox", "first delivery attempt"); err != nil {
				return err
			}
			d.State, d.Updated = lifecycle.Sent, now
		}
		out = d
		return nil
	})
	return out, err
}

// ReleaseLeases ends every lease (a single process at start: any lease
// left is from a process that no longer runs).
func (s *sqlStore) ReleaseLeases(ctx context.Context) error {
	return s.exec(ctx, `UPDATE documents SET lease_until = NULL WHERE lease_until IS NOT NULL`)
}

// NextDue returns when the earliest pending delivery to partner is due, or
// the zero time if none is pending.
func (s *sqlStore) NextDue(ctx context.Context, partner string) (time.Time, error) {
	var next sql.NullInt64
	err := s.row(ctx, `SELECT MIN(`+s.d.greatest+`(next_try, COALESCE(lease_until, 0))) FROM documents
		WHERE direction = 'outbound' AND partner = ? AND next_try IS NOT NULL`, partner).Scan(&next)
	if err != nil || !next.Valid {
		return time.Time{}, err
	}
	return time.Unix(0, next.Int64), nil
}

// Event is one transition with the document it moved.
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
func (s *sqlStore) EventsAfter(ctx context.Context, after int64, limit int) ([]Event, error) {
	rows, err := s.rows(ctx, `SELECT t.id, t.at, d.tracking_id, d.doc_id, d.doc_type, d.direction, d.partner,
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
func (s *sqlStore) Cursor(ctx context.Context, name string) (int64, error) {
	var id int64
	err := s.row(ctx, `SELECT last_id FROM cursors WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// SetCursor records how far the named consumer has got.
func (s *sqlStore) SetCursor(ctx context.Context, name string, id int64) error {
	return s.exec(ctx, `INSERT INTO cursors (name, last_id) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id`, name, id)
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
func (s *sqlStore) SetPaused(ctx context.Context, partner string, paused bool, at time.Time, actor, reason string) error {
	action, flag := "resume", 0
	if paused {
		action, flag = "pause", 1
	}
	return s.tx(ctx, false, func(t txn) error {
		if _, err := t.exec(ctx, `INSERT INTO partners (code, paused) VALUES (?, ?)
			ON CONFLICT (code) DO UPDATE SET paused = excluded.paused`, partner, flag); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `INSERT INTO partner_events (code, at, action, actor, reason) VALUES (?, ?, ?, ?, ?)`,
			partner, at.UnixNano(), action, actor, reason); err != nil {
			return err
		}
		if !paused {
			return t.notify(ctx, chanDue, partner)
		}
		return nil
	})
}

// Paused returns the partners delivery is paused for.
func (s *sqlStore) Paused(ctx context.Context) (map[string]bool, error) {
	rows, err := s.rows(ctx, `SELECT code FROM partners WHERE paused = 1`)
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
func (s *sqlStore) PartnerEvents(ctx context.Context, partner string) ([]PartnerEvent, error) {
	rows, err := s.rows(ctx, `SELECT code, at, action, actor, reason FROM partner_events WHERE code = ? ORDER BY id`, partner)
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
func (s *sqlStore) ResendIncomplete(ctx context.Context, partner string, at time.Time, actor, reason string) (int, error) {
	n := 0
	err := s.tx(ctx, false, func(t txn) error {
		rows, err := t.rows(ctx, `SELECT seq FROM documents WHERE direction = 'outbound' AND partner = ? AND state = 'incomplete' ORDER BY seq`+s.d.lockRow, partner)
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
			if _, err := t.exec(ctx, `UPDATE documents SET state = 'sent', next_try = ?, lease_until = NULL, lease_token = lease_token + 1, updated = ? WHERE seq = ?`,
				at.UnixNano(), at.UnixNano(), seq); err != nil {
				return err
			}
			if err := t.record(ctx, seq, at, lifecycle.Incomplete, lifecycle.Sent, actor, reason); err != nil {
				return err
			}
		}
		if _, err := t.exec(ctx, `INSERT INTO partner_events (code, at, action, actor, reason) VALUES (?, ?, 'resend', ?, ?)`,
			partner, at.UnixNano(), actor, fmt.Sprintf("%d incomplete documents: %s", len(seqs), reason)); err != nil {
			return err
		}
		n = len(seqs)
		return t.notify(ctx, chanDue, partner)
	})
	return n, err
}

// Put keeps a small record; see Store.
func (s *sqlStore) Put(ctx context.Context, kind, key string, value []byte, expires time.Time) error {
	return s.exec(ctx, `INSERT INTO records (kind, key, value, expires) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, expires = excluded.expires`, kind, key, value, nanos(expires))
}

// Value reads a record (ErrNotFound if absent or expired).
func (s *sqlStore) Value(ctx context.Context, kind, key string) ([]byte, error) {
	var v []byte
	err := s.row(ctx, `SELECT value FROM records WHERE kind = ? AND key = ? AND (expires IS NULL OR expires > ?)`,
		kind, key, time.Now().UnixNano()).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return v, err
}

// Delete removes a record, and every expired record of its kind.
func (s *sqlStore) Delete(ctx context.Context, kind, key string) error {
	return s.exec(ctx, `DELETE FROM records WHERE kind = ? AND (key = ? OR expires <= ?)`, kind, key, time.Now().UnixNano())
}

// DB is the underlying database, for packages that keep their own tables
// beside the documents (the notification outbox).
func (s *sqlStore) DB() *sql.DB { return s.db }
