package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// groupCommit lets concurrent writers share one transaction, and so one
// fsync (SQLite: one connection, one writer, a commit costs an fsync of
// the WAL). A writer that finds the store idle commits its own work at
// once, in its own goroutine (no hand-off: on busy cores a goroutine woken
// to commit may wait a scheduling quantum). Writers arriving while a
// commit runs queue; when it ends, the first of them leads the next
// commit and takes every writer waiting, runs each one's work inside its
// own savepoint of one transaction, commits once and only then answers
// each of them: no one is answered before its data is durable, and a
// writer whose work fails is rolled back to its savepoint without
// touching the others'. A writer alone runs as before, in a transaction
// of its own. Leading passes on after one commit, so no writer's answer
// waits for others' later commits.
type groupCommit struct {
	s *sqlStore

	mu      sync.Mutex
	busy    bool        // a writer is leading a commit
	queue   []*groupReq // writers waiting for the next commit
	closed  bool
	settled sync.Cond // signalled when busy turns false (close waits)
}

type groupReq struct {
	ctx     context.Context
	relaxed bool
	f       func(txn) error
	err     chan error    // the writer's answer (buffered)
	lead    chan struct{} // closed when the writer is to lead the next commit
}

// maxGroup bounds how many writers share one transaction.
const maxGroup = 64

var errClosed = errors.New("store closed")

func newGroupCommit(s *sqlStore) *groupCommit {
	g := &groupCommit{s: s}
	g.settled.L = &g.mu
	return g
}

// do runs f in a transaction shared with the writers waiting alongside,
// and returns once that transaction is committed (or f failed). A writer
// whose context ends before its turn runs nothing; once its work has run
// it waits for the commit, so that it never reports a failure for work
// that is committed.
func (g *groupCommit) do(ctx context.Context, relaxed bool, f func(txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &groupReq{ctx: ctx, relaxed: relaxed, f: f, err: make(chan error, 1), lead: make(chan struct{})}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errClosed
	}
	g.queue = append(g.queue, r)
	if g.busy {
		g.mu.Unlock()
		select {
		case err := <-r.err: // a leader took it
			return err
		case <-r.lead:
		}
		g.mu.Lock()
	}
	g.busy = true
	n := min(len(g.queue), maxGroup)
	batch := slices.Clone(g.queue[:n])
	g.queue = slices.Delete(g.queue, 0, n)
	g.mu.Unlock()

	g.commit(batch)

	g.mu.Lock()
	if len(g.queue) > 0 {
		close(g.queue[0].lead) // busy stays true: leading passes on
	} else {
		g.busy = false
		g.settled.Broadcast()
	}
	g.mu.Unlock()
	return <-r.err
}

// close refuses new writers and waits for those already queued to be
// answered.
func (g *groupCommit) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for g.busy {
		g.settled.Wait()
	}
}

func (g *groupCommit) commit(batch []*groupReq) {
	live := make([]*groupReq, 0, len(batch))
	relaxed := true
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err <- err
			continue
		}
		live = append(live, r)
		relaxed = relaxed && r.relaxed
	}
	switch len(live) {
	case 0:
		return
	case 1:
		r := live[0]
		r.err <- g.s.txAlone(r.ctx, r.relaxed, func(t txn) error { return member(r.f, t) })
		return
	}
	results := make([]error, len(live))
	fail := func(err error) {
		for _, r := range live {
			r.err <- err
		}
	}
	// The transaction is everyone's: no one writer's context may end it.
	ctx := context.Background()
	tx, done, err := g.s.d.begin(ctx, relaxed)
	if err != nil {
		fail(err)
		return
	}
	if done != nil {
		defer done()
	}
	for i, r := range live {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT member`); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("group commit: %w", err))
			return
		}
		if results[i] = member(r.f, txn{Tx: tx, s: g.s, detached: true}); results[i] != nil {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO member`); err != nil {
				// The transaction itself is gone (SQLite rolls it back
				// whole on some errors): nothing of the group is kept.
				tx.Rollback()
				fail(fmt.Errorf("group commit: %w (after %w)", err, results[i]))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE member`); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("group commit: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		for i, r := range live {
			if results[i] == nil {
				results[i] = err
			}
			r.err <- results[i]
		}
		return
	}
	g.s.shared.Add(int64(len(live)))
	// Answered only now, the transaction committed (and, unless every
	// writer in it was relaxed, fsynced).
	for i, r := range live {
		if results[i] == nil {
			g.s.count(r.relaxed)
		}
		r.err <- results[i]
	}
}

// member runs one writer's work; a panic in it is that writer's error
// (its savepoint is rolled back), not the end of the committer.
func member(f func(txn) error, t txn) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: panic in a transaction: %v", p)
		}
	}()
	return f(t)
}
