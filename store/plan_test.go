package store

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The console's and the metrics' queries read what they show through
// indexes, never by scanning the documents table: a node keeps every
// document, and a scan's cost grows with all of them (BenchmarkTraffic,
// BenchmarkBacklog, BenchmarkSearch measure it). SQLite's plans, as the
// node's SQLite store runs them: no ANALYZE, parameters bound.
func TestQueries_UseIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	search, searchArgs := listQuery(Filter{IDPrefix: "CL-2026-0000", Newest: true}, s.d.caseless)
	incomplete, incompleteArgs := listQuery(Filter{Direction: Outbound, State: "incomplete", Newest: true}, s.d.caseless)
	// A scan of the table itself, or of an index holding every
	// document in place of a lookup. documents_pending holds only the
	// pending ones; documents_state is the covering index Counts reads
	// whole, a few bytes a document.
	// A range of rowids from the first (seq > 0) is a scan too.
	tableScan := regexp.MustCompile(`^SCAN (documents|d|transitions|t)( USING (COVERING )?INDEX (sqlite_autoindex\w*|documents_updated|documents_doc_id_prefix|documents_tracking_id_prefix))?$|INTEGER PRIMARY KEY \(rowid[<>]`)
	for _, q := range []struct {
		name string
		sql  string
		args []any
		uses []string // indexes the plan must use
	}{
		{"traffic", trafficQuery, []any{time.Now().Add(-24 * time.Hour).UnixNano()}, []string{"documents_updated (updated>?)", "documents_pending", "transitions_doc"}},
		{"backlog", backlogQuery, nil, []string{"COVERING INDEX documents_state (direction=? AND state=?)"}},
		{"search", search, searchArgs, []string{"documents_doc_id_prefix (doc_id>? AND doc_id<?)", "documents_tracking_id_prefix (tracking_id>? AND tracking_id<?)"}},
		{"a state", incomplete, incompleteArgs, []string{"documents_state (direction=? AND state=?)"}},
	} {
		t.Run(q.name, func(t *testing.T) {
			rows, err := s.rdb.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q.sql, q.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			all := strings.Join(plan, "\n")
			for _, step := range plan {
				if tableScan.MatchString(step) {
					t.Fatalf("%q scans every document:\n%s", step, all)
				}
			}
			for _, ix := range q.uses {
				if !strings.Contains(all, ix) {
					t.Fatalf("the plan does not use %s:\n%s", ix, all)
				}
			}
			t.Logf("plan:\n%s", strings.Join(plan, "\n"))
		})
	}
}
