package demo

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/store/pgtest"
)

// TestReplicas_ExactlyOnce runs each of CL and MX as two "vucelink run"
// processes on one PostgreSQL, behind HAProxy (TCP, health-checked) on the
// legacy side and the partner side, and sends 1,000 certificates from CL's
// legacy VUCE. Mid-burst it SIGKILLs one CL replica (sender) and one MX
// replica (receiver) and restarts PostgreSQL once. Every certificate must
// reach MX's legacy VUCE exactly once and intact (a repeat not marked as a
// redelivery fails the test), and end received-correctly at CL.
func TestReplicas_ExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("replica test runs real processes; skipped in -short mode")
	}
	haproxy := requireHAProxy(t)
	pg := pgtest.Start(t)
	bin := buildBinary(t)
	r := replicaRun(t, bin, haproxy, runSpec{PG: pg, Replicas: 2, Total: 1000, Faults: true})
	t.Logf("replicas on PostgreSQL, faults injected: %s", r)
}

// requireHAProxy finds haproxy; CI sets VUCELINK_REQUIRE_HAPROXY so the
// test cannot silently skip there.
func requireHAProxy(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("haproxy")
	if err != nil {
		p = "/usr/sbin/haproxy"
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("VUCELINK_REQUIRE_HAPROXY") != "" {
				t.Fatal("haproxy is required (VUCELINK_REQUIRE_HAPROXY is set) but not installed: apt-get install haproxy")
			}
			t.Skip("haproxy not installed (apt-get install haproxy)")
		}
	}
	return p
}

// runResult is what one run measured, from the first document sent after
// the warm-up to the last verdict recorded at CL.
type runResult struct {
	Docs     int
	Elapsed  time.Duration
	WALSyncs int64 // PostgreSQL's WAL fsyncs (both countries' databases), -1 if unknown or none
	// ProcessFsyncs are the vucelink processes' own fsync and fdatasync
	// calls (counted under strace; SQLite's commits), -1 if not counted.
	ProcessFsyncs int64
}

func (r runResult) PerSecond() float64 { return float64(r.Docs) / r.Elapsed.Seconds() }

// Fsyncs is every fsync counted during the run, -1 if none was counted.
func (r runResult) Fsyncs() int64 {
	if r.WALSyncs < 0 && r.ProcessFsyncs < 0 {
		return -1
	}
	return max(r.WALSyncs, 0) + max(r.ProcessFsyncs, 0)
}

func (r runResult) String() string {
	s := fmt.Sprintf("%d documents in %s (%.1f/s)", r.Docs, r.Elapsed.Round(time.Millisecond), r.PerSecond())
	if n := r.Fsyncs(); n >= 0 {
		s += fmt.Sprintf(", %d fsyncs (%.2f per document)", n, float64(n)/float64(r.Docs))
	}
	return s
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var listenLine = regexp.MustCompile(`(?m)^  (legacy|admin|partners|forward_proxy): \S+$`)

// replicaConfig derives replica i's configuration from the demo's: its own
// listeners, the shared PostgreSQL database (dsn; "" keeps the demo's
// SQLite store), and timings short enough for a test (a dead replica's
// leases and hand-overs are taken over in seconds).
func replicaConfig(t testing.TB, base, dsn string, i int) (path string, addrs map[string]string) {
	t.Helper()
	b, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	addrs = map[string]string{}
	cfg := listenLine.ReplaceAllStringFunc(string(b), func(line string) string {
		name := strings.TrimSpace(strings.SplitN(line, ":", 2)[0])
		addrs[name] = freeAddr(t)
		return "  " + name + ": " + addrs[name]
	})
	// The public page of paper copies: each replica its own listener too
	// (the configured url, what a QR code names, stays the node's).
	public := regexp.MustCompile(`(?m)^public:\n  listen: \S+$`)
	if public.MatchString(cfg) {
		addrs["public"] = freeAddr(t)
		cfg = public.ReplaceAllString(cfg, "public:\n  listen: "+addrs["public"])
	}
	store := regexp.MustCompile(`(?m)^store:\n  path: \S+$`)
	if !store.MatchString(cfg) {
		t.Fatal("demo configuration has no store.path line to replace")
	}
	if dsn != "" {
		cfg = store.ReplaceAllString(cfg, "store:\n  driver: postgres\n  dsn: "+dsn)
	}
	cfg = strings.Replace(cfg, "delivery:\n  timeout: 10s\n  retries: 2", "delivery:\n  timeout: 5s\n  retries: 1", 1)
	cfg = strings.Replace(cfg, "  lease: 1m", "  lease: 12s", 1)
	cfg = strings.Replace(cfg, "\nlegacy:\n", "\nlegacy:\n  timeout: 5s\n", 1)
	path = filepath.Join(filepath.Dir(base), fmt.Sprintf("replica-%d.yaml", i))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, addrs
}

// startHAProxy balances each frontend address over its backends, in TCP
// mode (TLS and client certificates pass through to the replicas), with
// health checks that take a dead replica out within a second.
func startHAProxy(t testing.TB, bin, dir string, frontends map[string][]string) *exec.Cmd {
	t.Helper()
	var b strings.Builder
	b.WriteString("global\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n  retries 2\n  option redispatch\n")
	i := 0
	for front, backs := range frontends {
		i++
		fmt.Fprintf(&b, "listen lb%d\n  bind %s\n  balance roundrobin\n", i, front)
		for j, back := range backs {
			fmt.Fprintf(&b, "  server r%d %s check inter 300ms fall 2 rise 2\n", j+1, back)
		}
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, _ := os.Create(filepath.Join(dir, "haproxy.log"))
	cmd := exec.Command(bin, "-db", "-f", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	for front := range frontends {
		waitListening(t, front)
	}
	return cmd
}

func waitListening(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func walSyncs(dsn string) int64 {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return -1
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(`SELECT wal_sync FROM pg_stat_wal`).Scan(&n); err != nil {
		return -1
	}
	return n
}

// runSpec is how a run deploys CL and MX.
type runSpec struct {
	// PG is the database server of both countries (one database each);
	// nil runs each country as one process on its own SQLite store.
	PG       *pgtest.Server
	Replicas int // processes per country (1 with SQLite)
	Total    int // certificates sent, the warm-up's included
	// Warmup certificates go first, delivered before the clock starts: the
	// bcrypt checks (cost 12) of the route's and the partner's credentials
	// are then paid, once per process, as on a node that has been running.
	Warmup int
	// Faults kills a replica of each country and restarts PostgreSQL
	// mid-burst.
	Faults bool
	// Strace, if set, runs every vucelink process under it to count its
	// fsyncs (only those calls stop the process: --seccomp-bpf).
	Strace string
}

// replicaRun sends s.Total certificates CL → MX through s.Replicas
// processes per country behind HAProxy (both the legacy and the partner
// side). It checks exactly-once delivery and returns what it measured.
func replicaRun(t testing.TB, bin, haproxy string, s runSpec) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n, err := Start(ctx, Options{Dir: t.TempDir(), Countries: []string{"CL", "MX"}, NoWait: true, External: true})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	procs := map[string][]*process{}
	frontends := map[string][]string{}
	admins := map[string][]string{}
	var traces []string
	for _, cc := range []string{"CL", "MX"} {
		dsn := ""
		if s.PG != nil {
			dsn = s.PG.NewDatabase(t)
		}
		for i := range s.Replicas {
			cfg, addrs := replicaConfig(t, n.Configs[cc], dsn, i+1)
			logf, _ := os.Create(filepath.Join(n.Dir, fmt.Sprintf("%s-%d.log", cc, i+1)))
			defer logf.Close()
			p := &process{t: t, bin: bin, config: cfg, addr: addrs["legacy"], log: logf}
			if s.Strace != "" {
				trace := filepath.Join(n.Dir, fmt.Sprintf("%s-%d.fsyncs", cc, i+1))
				traces = append(traces, trace)
				p.wrap = []string{s.Strace, "-f", "-qq", "--seccomp-bpf", "-e", "trace=fsync,fdatasync", "-o", trace}
			}
			p.start()
			defer p.stop()
			procs[cc] = append(procs[cc], p)
			admins[cc] = append(admins[cc], "http://"+addrs["admin"])
			for _, name := range []string{"legacy", "partners"} {
				front := n.Addrs[cc][name]
				frontends[front] = append(frontends[front], addrs[name])
			}
		}
	}
	startHAProxy(t, haproxy, n.Dir, frontends)

	f, _ := legacysim.FormatFor("CL")
	outURL := n.LegacyOutboundURL("CL")
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}}
	var accepted atomic.Int64
	faultAt := map[int64]func(){}
	if s.Faults {
		faultAt[int64(s.Total*2/10)] = func() { procs["CL"][0].kill9(); t.Log("SIGKILL CL replica 1") }
		faultAt[int64(s.Total*4/10)] = func() { procs["MX"][0].kill9(); t.Log("SIGKILL MX replica 1") }
		faultAt[int64(s.Total*6/10)] = func() {
			t.Log("restarting PostgreSQL")
			if err := s.PG.Stop(); err != nil {
				t.Error(err)
			}
			time.Sleep(time.Second)
			if err := s.PG.Start(); err != nil {
				t.Error(err)
			}
		}
	}
	// send sends certificates from..to with 8 clients, each trying again
	// until its certificate is accepted, as a legacy VUCE would.
	send := func(from, to int) {
		jobs := make(chan int)
		var wg sync.WaitGroup
		var faultMu sync.Mutex
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for seq := range jobs {
					cert := legacysim.Sample("CL", "MX", seq, 3)
					for {
						status, _, err := legacysim.Send(ctx, client, outURL, f, cert)
						if err == nil && status == http.StatusAccepted {
							break
						}
						if ctx.Err() != nil {
							t.Errorf("certificate %d never accepted: %v", seq, err)
							return
						}
						time.Sleep(50 * time.Millisecond)
					}
					if fault := faultAt[accepted.Add(1)]; fault != nil {
						faultMu.Lock()
						fault()
						faultMu.Unlock()
					}
				}
			}()
		}
		for seq := from; seq <= to; seq++ {
			jobs <- seq
		}
		close(jobs)
		wg.Wait()
	}
	// settled waits until count certificates reached MX's legacy VUCE and
	// are received-correctly at CL (asked of the last CL replica, which
	// the faults spare; any replica would answer the same).
	apiURL := admins["CL"][s.Replicas-1] + "/api/v1/documents?direction=outbound&state=received-correctly&limit=1000"
	settled := func(count int) int {
		deadline := time.Now().Add(3 * time.Minute)
		for len(n.Legacy["MX"].Received()) < count && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		done := 0
		for time.Now().Before(deadline) {
			if done = countDocs(ctx, client, apiURL, n.ViewerToken); done >= count {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		return done
	}
	if s.Warmup > 0 {
		send(1, s.Warmup)
		if done := settled(s.Warmup); done != s.Warmup {
			t.Fatalf("warm-up: %d of %d received-correctly at CL", done, s.Warmup)
		}
	}
	walBefore, fsyncsBefore := int64(-1), int64(-1)
	if s.PG != nil {
		walBefore = walSyncs(s.PG.DSN("postgres"))
	}
	if s.Strace != "" {
		fsyncsBefore = countFsyncs(traces)
	}
	start := time.Now()
	send(s.Warmup+1, s.Total)
	if t.Failed() {
		return runResult{}
	}
	done := settled(s.Total)
	r := runResult{Docs: s.Total - s.Warmup, Elapsed: time.Since(start), WALSyncs: -1, ProcessFsyncs: -1}
	if walBefore >= 0 {
		if after := walSyncs(s.PG.DSN("postgres")); after >= 0 {
			r.WALSyncs = after - walBefore
		}
	}
	if fsyncsBefore >= 0 {
		r.ProcessFsyncs = countFsyncs(traces) - fsyncsBefore
	}
	if done != s.Total {
		t.Errorf("%d of %d documents are received-correctly at CL", done, s.Total)
	}
	checkExactlyOnce(t, n.Legacy["MX"], s.Total)
	return r
}

// countFsyncs counts the fsync and fdatasync calls strace has written so
// far to the trace files (one line per call; an interrupted call is
// counted at its start only).
func countFsyncs(traces []string) int64 {
	var n int64
	for _, f := range traces {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n") {
			if (strings.Contains(line, "fsync(") || strings.Contains(line, "fdatasync(")) && !strings.Contains(line, "resumed>") {
				n++
			}
		}
	}
	return n
}

// checkExactlyOnce: every certificate 1..total reached the legacy VUCE
// once, intact, and no repeat came unannounced.
func checkExactlyOnce(t testing.TB, legacy *legacysim.Server, total int) {
	t.Helper()
	got := legacy.Received()
	byID := map[string]int{}
	for _, r := range got {
		if r.Err != nil {
			t.Errorf("MX legacy could not decode a hand-over: %v", r.Err)
			continue
		}
		byID[r.Certificate.ID]++
		var seq int
		fmt.Sscanf(r.Certificate.ID, "CL-FITO-2026-%d", &seq)
		if ok, diffs := legacysim.Sample("CL", "MX", seq, 3).Equal(r.Certificate); !ok {
			t.Errorf("%s arrived changed: %v", r.Certificate.ID, diffs)
		}
	}
	for seq := 1; seq <= total; seq++ {
		if id := legacysim.Sample("CL", "MX", seq, 3).ID; byID[id] != 1 {
			t.Errorf("%s reached MX's legacy VUCE %d times", id, byID[id])
		}
	}
	redeliveries := 0
	for _, d := range legacy.Duplicates() {
		redeliveries += d.Redeliveries
		if unannounced := d.Times - 1 - d.Redeliveries; unannounced > 0 {
			t.Errorf("%s was handed over %d times, %d of the repeats not marked as a redelivery", d.ID, d.Times, unannounced)
		}
	}
	t.Logf("MX legacy: %d certificates taken, %d in-doubt redeliveries refused as duplicates (announced)", len(got), redeliveries)
}
