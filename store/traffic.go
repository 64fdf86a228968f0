package store

import (
	"context"
	"database/sql"
	"time"
)

// TrafficRecord is one document's part in the console's traffic charts:
// when it was created, when (if ever) its partner's verdict came back,
// and when (if ever) it failed. Status messages are left out: the
// charts count documents people sent, not the bookkeeping about them.
type TrafficRecord struct {
	Direction string
	Partner   string
	Created   time.Time
	// Settled is when it first left the pending states (accepted, sent);
	// zero while it is still queued.
	Settled time.Time
	// Delivered is when the partner's verdict arrived (received-correctly
	// or received-with-errors), for outbound documents; zero otherwise.
	Delivered time.Time
	// Failed is when it first became incomplete or received-with-errors.
	Failed time.Time
}

// TrafficSource is what the traffic charts read. It is a separate,
// small interface (not a method of Store) so a store implementation can
// add it without the charts waiting for it; both SQLite and PostgreSQL
// have it, and contractTraffic in traffic_test.go is the contract each
// passes.
type TrafficSource interface {
	Traffic(ctx context.Context, since time.Time) ([]TrafficRecord, error)
}

// trafficQuery selects every document that matters to a window starting
// at since: created in it, settled in it, or still pending. A document
// that settled before the window has updated < since and is not pending,
// so "updated >= since OR pending" is exactly the set. The two halves are
// two index lookups (documents_updated, and documents_pending, which
// holds only pending documents): written as one OR, the planner scanned
// every document a node ever kept — on SQLite reading each one's body
// too, since created and updated come after it in the row — for every
// console overview. UNION ALL, not UNION: IN does not mind a document
// named twice, and to merge a UNION in order SQLite scanned the table
// again. TestQueries_UseIndexes holds the plans. It is the SQL both
// SQLite and PostgreSQL speak (CASE inside MIN, no FILTER).
const trafficQuery = `
SELECT d.direction, d.partner, d.created,
  MIN(CASE WHEN t.to_state NOT IN ('accepted', 'sent') THEN t.at END),
  MIN(CASE WHEN d.direction = 'outbound' AND t.to_state IN ('received-correctly', 'received-with-errors') THEN t.at END),
  MIN(CASE WHEN t.to_state IN ('incomplete', 'received-with-errors') THEN t.at END)
FROM documents d LEFT JOIN transitions t ON t.doc_seq = d.seq
WHERE d.seq IN (SELECT seq FROM documents WHERE updated >= ?
                UNION ALL SELECT seq FROM documents WHERE state IN ('accepted', 'sent'))
  AND d.doc_type <> 'status'
GROUP BY d.seq, d.direction, d.partner, d.created`

// Traffic returns the documents that were created, settled or pending
// since the given time, for the traffic charts.
func (s *sqlStore) Traffic(ctx context.Context, since time.Time) ([]TrafficRecord, error) {
	rows, err := s.rows(ctx, trafficQuery, since.UnixNano())
	if err != nil {
		return nil, err
	}
	return scanTraffic(rows)
}

func scanTraffic(rows *sql.Rows) ([]TrafficRecord, error) {
	defer rows.Close()
	var out []TrafficRecord
	at := func(v sql.NullInt64) time.Time {
		if !v.Valid {
			return time.Time{}
		}
		return time.Unix(0, v.Int64).UTC()
	}
	for rows.Next() {
		var r TrafficRecord
		var created int64
		var settled, delivered, failed sql.NullInt64
		if err := rows.Scan(&r.Direction, &r.Partner, &created, &settled, &delivered, &failed); err != nil {
			return nil, err
		}
		r.Created = time.Unix(0, created).UTC()
		r.Settled, r.Delivered, r.Failed = at(settled), at(delivered), at(failed)
		out = append(out, r)
	}
	return out, rows.Err()
}
