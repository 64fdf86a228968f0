package demo

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/vucelink/vucelink/store/pgtest"
)

// BenchmarkDurablePath measures the durable path end to end with real
// processes, in one run: CL's legacy VUCE sends certificates (8 clients)
// to MX through "vucelink run" processes behind HAProxy on both sides,
// and the clock runs from the first send to the last verdict recorded at
// CL (every certificate handed to MX's legacy VUCE once). Three shapes,
// interleaved round by round so the machine's drift spreads over all:
//
//   - sqlite-1: each country one process on its own SQLite store;
//   - pg-1:     each country one process on PostgreSQL (one server, a
//     database per country);
//   - pg-2:     each country two replicas on PostgreSQL.
//
// Reported per shape (median of the rounds): delivered documents per
// second, and fsyncs per document across both countries — the vucelink
// processes' own fsync/fdatasync calls (counted under strace with
// --seccomp-bpf, which stops a process on those calls only; SQLite's
// commits) plus PostgreSQL's WAL fsyncs (pg_stat_wal.wal_sync; data-file
// fsyncs at checkpoints are not counted). Every process — both countries,
// PostgreSQL, HAProxy, the simulated legacy systems and the load — shares
// the machine's cores: on a 2-core machine a second replica adds no
// cores, only coordination, so pg-2 shows what replicas cost, not what
// they would gain on more machines.
//
//	go test -run '^$' -bench DurablePath -benchtime 1x ./demo/
//
// VUCELINK_BENCH_DOCS (default 400) and VUCELINK_BENCH_ROUNDS (default 2)
// size it.
func BenchmarkDurablePath(b *testing.B) {
	haproxy := requireHAProxy(b)
	strace, err := exec.LookPath("strace")
	if err != nil {
		b.Skip("strace is needed to count the processes' fsyncs (apt-get install strace)")
	}
	pg := pgtest.Start(b)
	bin := buildBinary(b)
	docs, rounds := envInt("VUCELINK_BENCH_DOCS", 400), envInt("VUCELINK_BENCH_ROUNDS", 2)
	shapes := []struct {
		name string
		spec runSpec
	}{
		{"sqlite-1", runSpec{Replicas: 1}},
		{"pg-1", runSpec{PG: pg, Replicas: 1}},
		{"pg-2", runSpec{PG: pg, Replicas: 2}},
	}
	results := map[string][]runResult{}
	for b.Loop() {
		for round := range rounds {
			for _, sh := range shapes {
				s := sh.spec
				s.Warmup, s.Total, s.Strace = 4*s.Replicas, 4*s.Replicas+docs, strace
				r := replicaRun(b, bin, haproxy, s)
				// Printed, not logged: a benchmark's log is cut at ten lines.
				fmt.Printf("round %d %-8s %s\n", round+1, sh.name, r)
				results[sh.name] = append(results[sh.name], r)
			}
		}
	}
	var table strings.Builder
	fmt.Fprintf(&table, "median of %d rounds, %d documents each\n%-9s %8s %18s %12s %11s\n", rounds, docs, "shape", "docs/s", "(min–max)", "vs sqlite-1", "fsyncs/doc")
	base := median(results["sqlite-1"], runResult.PerSecond)
	for _, sh := range shapes {
		rs := results[sh.name]
		rate := median(rs, runResult.PerSecond)
		lo, hi := extremes(rs, runResult.PerSecond)
		fsyncs := median(rs, func(r runResult) float64 { return float64(r.Fsyncs()) / float64(r.Docs) })
		fmt.Fprintf(&table, "%-9s %8.1f %18s %11.2fx %11.2f\n", sh.name, rate, fmt.Sprintf("(%.1f–%.1f)", lo, hi), rate/base, fsyncs)
		b.ReportMetric(rate, sh.name+"-docs/s")
		b.ReportMetric(fsyncs, sh.name+"-fsyncs/doc")
	}
	fmt.Print(table.String())
}

func median(rs []runResult, f func(runResult) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func extremes(rs []runResult, f func(runResult) float64) (lo, hi float64) {
	for i, r := range rs {
		v := f(r)
		if i == 0 || v < lo {
			lo = v
		}
		if i == 0 || v > hi {
			hi = v
		}
	}
	return lo, hi
}

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err != nil || n <= 0 {
		return def
	}
	return n
}
