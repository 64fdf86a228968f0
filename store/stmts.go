package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"
)

// stmtCache keeps statements prepared, by query text, for SQLite: its
// driver parses a statement anew each time one runs unprepared, and on
// the durable path that parsing cost more CPU than running the
// statements (0.44 s against 0.63 s in a CPU profile of the durable
// benchmark, about 0.7 ms a document across both nodes;
// docs/performance.md). PostgreSQL's driver keeps its own cache.
//
// The writer has one connection, which a transaction holds while its
// statements run, so preparing there would wait for itself: a text seen
// inside a transaction runs unprepared and is prepared afterwards, by
// prepareWanted, once the connection is free. At most max texts are
// kept (queries built from filters must not grow it without bound); the
// rest always run unprepared.
type stmtCache struct {
	db  *sql.DB
	max int

	mu      sync.Mutex
	ready   map[string]*sql.Stmt
	uses    map[string]int64 // times each was handed out prepared
	wanted  map[string]bool  // seen, not yet prepared
	refused map[string]bool  // failed to prepare: never asked again
	pending atomic.Bool      // wanted is not empty
	busy    atomic.Bool      // a prepareWanted runs
	closed  bool
}

func newStmtCache(db *sql.DB, max int) *stmtCache {
	return &stmtCache{db: db, max: max, ready: map[string]*sql.Stmt{}, uses: map[string]int64{}, wanted: map[string]bool{}, refused: map[string]bool{}}
}

// get returns q's prepared statement, or nil (run q unprepared): then q
// is noted for prepareWanted, room permitting.
func (c *stmtCache) get(q string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.ready[q]; st != nil {
		c.uses[q]++
		return st
	}
	if !c.closed && !c.wanted[q] && !c.refused[q] && len(c.ready)+len(c.wanted) < c.max {
		c.wanted[q] = true
		c.pending.Store(true)
	}
	return nil
}

// prepareNow returns q's prepared statement, preparing it if need be: for
// a pool no caller holds a connection of (the read connections).
func (c *stmtCache) prepareNow(ctx context.Context, q string) *sql.Stmt {
	if c == nil {
		return nil
	}
	if st := c.get(q); st != nil || !c.pending.Load() {
		return st
	}
	c.prepareWanted(ctx)
	return c.get(q)
}

// wants reports whether texts wait for prepareWanted.
func (c *stmtCache) wants() bool { return c != nil && c.pending.Load() }

// prepareWanted prepares the texts noted since the last call. It must
// not run while the caller's transaction holds the only connection.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	if !c.wants() || !c.busy.CompareAndSwap(false, true) {
		return
	}
	defer c.busy.Store(false)
	c.mu.Lock()
	var qs []string
	for q := range c.wanted {
		qs = append(qs, q)
	}
	c.pending.Store(false)
	c.mu.Unlock()
	for _, q := range qs {
		st, err := c.db.PrepareContext(ctx, q)
		c.mu.Lock()
		delete(c.wanted, q)
		switch {
		case c.closed:
			if st != nil {
				st.Close()
			}
		case err != nil && ctx.Err() != nil:
			// The caller gave up (a read's request ended): asked again
			// next time it runs.
		case err != nil:
			c.refused[q] = true
		default:
			c.ready[q] = st
		}
		c.mu.Unlock()
	}
}

// close closes every prepared statement; get then always answers nil.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, st := range c.ready {
		st.Close()
		delete(c.ready, q)
	}
}

// size is how many statements are prepared, and usesOf how many times
// those whose text starts with prefix were used prepared (tests).
func (c *stmtCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ready)
}

func (c *stmtCache) usesOf(prefix string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for q, u := range c.uses {
		if strings.HasPrefix(q, prefix) {
			n += u
		}
	}
	return n
}
