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

// seedYear fills a store as a year of a busy node would: docs
// documents of 5 KB with two transitions each, spread over the year
// before now, one in 200 still pending (sent).
func seedYear(b *testing.B, db *sqlStore, docs int, now time.Time) {
	b.Helper()
	ctx := context.Background()
	body := bytes.Repeat([]byte("<x>certificado fitosanitario</x>"), 160) // 5 KB
	err := db.tx(ctx, true, func(tx txn) error {
		for i := range docs {
			created := now.Add(-time.Duration(docs-i) * (365 * 24 * time.Hour / time.Duration(docs)))
			state := "received-correctly"
			if i%200 == 0 {
				state = "sent"
			}
			var seq int64
			if err := tx.row(ctx, `INSERT INTO documents (tracking_id, direction, partner, doc_type, doc_id, digest, state, body, attempts, lease_token, last_error, contact, created, updated)
				VALUES (?, 'outbound', ?, 'sps', ?, 'sha256:x', ?, ?, 1, 0, '', '', ?, ?) RETURNING seq`,
				fmt.Sprintf("CL-%06d", i), []string{"MX", "PE", "CO"}[i%3], fmt.Sprintf("CL-2026-%06d", i), state, body, created.UnixNano(), created.Add(time.Minute).UnixNano()).Scan(&seq); err != nil {
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
}

// openBench opens a fresh store of the given kind for a benchmark.
func openBench(b *testing.B, kind string) *sqlStore {
	b.Helper()
	ctx := context.Background()
	if kind == "sqlite" {
		s, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s.sqlStore
	}
	s, err := OpenPostgres(ctx, pgtest.Start(b).NewDatabase(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s.sqlStore
}

// BenchmarkTraffic reads a day's traffic from a store that has kept a
// year's (seedYear, 20,000 documents): the query of the console's
// overview against the single-OR query it replaced (the baseline, same
// store, same run).
//
//	go test -run '^$' -bench 'Traffic|Backlog' ./store/
func BenchmarkTraffic(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			db := openBench(b, kind)
			seedYear(b, db, 20000, now)
			analyze(b, db, kind)
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

// BenchmarkBacklog counts the outbound backlog (every /metrics scrape,
// the console's overview, the API's status) and every document by state
// on SQLite, without the (direction, state, partner) index (the
// baseline: the table scanned) and with it, same store, same run.
func BenchmarkBacklog(b *testing.B) {
	ctx := context.Background()
	db := openBench(b, "sqlite")
	seedYear(b, db, 20000, time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	for _, indexed := range []bool{false, true} {
		name := "table-scan"
		if indexed {
			name = "indexed"
			if _, err := db.db.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS documents_state ON documents (direction, state, partner)`); err != nil {
				b.Fatal(err)
			}
		} else if _, err := db.db.ExecContext(ctx, `DROP INDEX documents_state`); err != nil {
			b.Fatal(err)
		}
		b.Run("backlog/"+name, func(b *testing.B) {
			for b.Loop() {
				if _, err := db.Backlog(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("counts/"+name, func(b *testing.B) {
			for b.Loop() {
				if _, err := db.Counts(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSearch finds one document by the beginning of its number, as
// an operator answering "where is my certificate?" does, in a store of a
// year (seedYear): List against the single-OR query it replaced (the
// baseline: the newest documents read backwards until a hundred match),
// same store, same run.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	const orQuery = `SELECT ` + cols + ` FROM documents WHERE (doc_id LIKE ? ESCAPE '\' OR tracking_id LIKE ? ESCAPE '\') AND seq > ? ORDER BY seq DESC LIMIT ?`
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			db := openBench(b, kind)
			seedYear(b, db, 20000, time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
			analyze(b, db, kind)
			// The baseline runs on the schema it ran on: without the
			// prefix indexes (which the single OR can use too).
			for _, ix := range []string{"documents_doc_id_prefix", "documents_tracking_id_prefix"} {
				if _, err := db.db.ExecContext(ctx, `DROP INDEX `+ix); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("single-OR", func(b *testing.B) {
				for b.Loop() {
					rows, err := db.rows(ctx, orQuery, "CL-2026-000042%", "CL-2026-000042%", 0, 100)
					if err != nil {
						b.Fatal(err)
					}
					n := 0
					for rows.Next() {
						n++
					}
					rows.Close()
					if n != 1 {
						b.Fatalf("%d documents", n)
					}
				}
			})
			for _, ix := range []string{
				map[string]string{"sqlite": `CREATE INDEX documents_doc_id_prefix ON documents (doc_id COLLATE NOCASE)`,
					"postgres": `CREATE INDEX documents_doc_id_prefix ON documents (lower(doc_id) text_pattern_ops)`}[kind],
				map[string]string{"sqlite": `CREATE INDEX documents_tracking_id_prefix ON documents (tracking_id COLLATE NOCASE)`,
					"postgres": `CREATE INDEX documents_tracking_id_prefix ON documents (lower(tracking_id) text_pattern_ops)`}[kind],
			} {
				if _, err := db.db.ExecContext(ctx, ix); err != nil {
					b.Fatal(err)
				}
			}
			analyze(b, db, kind)
			b.Run("two-indexes", func(b *testing.B) {
				for b.Loop() {
					docs, err := db.List(ctx, Filter{IDPrefix: "CL-2026-000042", Newest: true})
					if err != nil || len(docs) != 1 {
						b.Fatalf("%d documents, %v", len(docs), err)
					}
				}
			})
		})
	}
}

// analyze gathers planner statistics where production has them:
// PostgreSQL's autovacuum analyzes tables; nothing runs ANALYZE on a
// node's SQLite file.
func analyze(b *testing.B, db *sqlStore, kind string) {
	b.Helper()
	if kind != "postgres" {
		return
	}
	if _, err := db.db.ExecContext(context.Background(), `ANALYZE`); err != nil {
		b.Fatal(err)
	}
}
