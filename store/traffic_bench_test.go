package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vucelink/vucelink/store/pgtest"
)

// trafficQueryOR is the traffic query as first written, one OR that the
// planner answered by scanning every document: the baseline.
const trafficQueryOR = `
SELECT d.direction, d.partner, d.created,
  MIN(CASE WHEN t.to_state NOT IN ('accepted', 'sent') THEN t.at END),
  MIN(CASE WHEN d.direction = 'outbound' AND t.to_state IN ('received-correctly', 'received-with-errors') THEN t.at END),
  MIN(CASE WHEN t.to_state IN ('incomplete', 'received-with-errors') THEN t.at END)
FROM documents d LEFT JOIN transitions t ON t.doc_seq = d.seq
WHERE d.doc_type <> 'status' AND (d.updated >= ? OR d.state IN ('accepted', 'sent'))
GROUP BY d.seq, d.direction, d.partner, d.created`

// BenchmarkTraffic reads a day's traffic from a store that has kept a
// year's: 20,000 documents of 5 KB with two transitions each, 1 % of them
// from the last day and 0.5 % still pending; the query of the console's
// overview against the single-OR query it replaced (the baseline, same
// store, same run).
//
//	go test -run '^$' -bench Traffic ./store/
func BenchmarkTraffic(b *testing.B) {
	const docs = 20000
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	body := bytes.Repeat([]byte("<x>certificado fitosanitario</x>"), 160) // 5 KB
	ctx := context.Background()
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			var db *sqlStore
			if name == "sqlite" {
				s, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "traffic.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				db = s.sqlStore
			} else {
				s, err := OpenPostgres(ctx, pgtest.Start(b).NewDatabase(b), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				db = s.sqlStore
			}
			err := db.tx(ctx, true, func(tx txn) error {
				for i := range docs {
					created := now.Add(-time.Duration(docs-i) * (365 * 24 * time.Hour / docs))
					state := "received-correctly"
					if i%200 == 0 {
						state = "sent"
					}
					var seq int64
					if err := tx.row(ctx, `INSERT INTO documents (tracking_id, direction, partner, doc_type, doc_id, digest, state, body, attempts, lease_token, last_error, contact, created, updated)
						VALUES (?, 'outbound', 'MX', 'sps', ?, 'sha256:x', ?, ?, 1, 0, '', '', ?, ?) RETURNING seq`,
						fmt.Sprintf("CL-%06d", i), fmt.Sprintf("CL-2026-%06d", i), state, body, created.UnixNano(), created.Add(time.Minute).UnixNano()).Scan(&seq); err != nil {
						return err
					}
					for j, to := range []string{"accepted", state} {
						if _, err := tx.exec(ctx, `INSERT INTO transitions (doc_seq, at, from_state, to_state, actor, reason) VALUES (?, ?, '', ?, 'outbox', '')`,
							seq, created.Add(time.Duration(j)*time.Minute).UnixNano(), to); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.db.ExecContext(ctx, db.d.rebind(`ANALYZE`)); err != nil {
				b.Fatal(err)
			}
			since := now.Add(-24 * time.Hour)
			for _, q := range []struct{ name, sql string }{{"single-OR", trafficQueryOR}, {"two-indexes", trafficQuery}} {
				b.Run(q.name, func(b *testing.B) {
					n := 0
					for b.Loop() {
						rows, err := db.rows(ctx, q.sql, since.UnixNano())
						if err != nil {
							b.Fatal(err)
						}
						recs, err := scanTraffic(rows)
						if err != nil {
							b.Fatal(err)
						}
						n = len(recs)
					}
					b.ReportMetric(float64(n), "documents")
				})
			}
		})
	}
}
