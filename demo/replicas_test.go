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
	r := replicaRun(t, bin, haproxy, pg, 2, 1000, true)
	t.Logf("replicas on PostgreSQL, faults injected: %s", r)
}

// requireHAProxy finds haproxy; CI sets VUCELINK_REQUIRE_HAPROXY so the
// test cannot silently skip there.
func requireHAProxy(t *testing.T) string {
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

// runResult is what one run measured.
type runResult struct {
	Docs     int
	Elapsed  time.Duration // first send to last verdict at CL
	WALSyncs int64         // PostgreSQL WAL fsyncs during the run (both countries), -1 if unknown
}

func (r runResult) PerSecond() float64 { return float64(r.Docs) / r.Elapsed.Seconds() }

func (r runResult) String() string {
	s := fmt.Sprintf("%d documents in %s (%.1f/s)", r.Docs, r.Elapsed.Round(time.Millisecond), r.PerSecond())
	if r.WALSyncs >= 0 {
		s += fmt.Sprintf(", %d WAL fsyncs (%.2f per document)", r.WALSyncs, float64(r.WALSyncs)/float64(r.Docs))
	}
	return s
}

func freeAddr(t *testing.T) string {
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
// listeners, the shared PostgreSQL database, and timings short enough for
// a test (a dead replica's leases and hand-overs are taken over in seconds).
func replicaConfig(t *testing.T, base, dsn string, i int) (path string, addrs map[string]string) {
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
	cfg = store.ReplaceAllString(cfg, "store:\n  driver: postgres\n  dsn: "+dsn)
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
func startHAProxy(t *testing.T, bin, dir string, frontends map[string][]string) *exec.Cmd {
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

func waitListening(t *testing.T, addr string) {
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

// replicaRun sends total certificates CL → MX through replicas processes
// per country on pg; with faults, it kills a replica of each and restarts
// PostgreSQL mid-burst. It checks exactly-once delivery and returns what
// it measured.
func replicaRun(t *testing.T, bin, haproxy string, pg *pgtest.Server, replicas, total int, faults bool) runResult {
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
	for _, cc := range []string{"CL", "MX"} {
		dsn := pg.NewDatabase(t)
		for i := range replicas {
			cfg, addrs := replicaConfig(t, n.Configs[cc], dsn, i+1)
			logf, _ := os.Create(filepath.Join(n.Dir, fmt.Sprintf("%s-%d.log", cc, i+1)))
			defer logf.Close()
			p := &process{t: t, bin: bin, config: cfg, addr: addrs["legacy"], log: logf}
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
	if faults {
		faultAt[int64(total*2/10)] = func() { procs["CL"][0].kill9(); t.Log("SIGKILL CL replica 1") }
		faultAt[int64(total*4/10)] = func() { procs["MX"][0].kill9(); t.Log("SIGKILL MX replica 1") }
		faultAt[int64(total*6/10)] = func() {
			t.Log("restarting PostgreSQL")
			if err := pg.Stop(); err != nil {
				t.Error(err)
			}
			time.Sleep(time.Second)
			if err := pg.Start(); err != nil {
				t.Error(err)
			}
		}
	}
	walBefore := walSyncs(pg.DSN("postgres"))
	start := time.Now()
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
	for seq := 1; seq <= total; seq++ {
		jobs <- seq
	}
	close(jobs)
	wg.Wait()
	if t.Failed() {
		return runResult{}
	}
	// The surviving CL replica answers for the node (any replica would).
	apiURL := admins["CL"][replicas-1] + "/api/v1/documents?direction=outbound&state=received-correctly&limit=1000"
	done := 0
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		done = countDocs(ctx, client, apiURL, n.ViewerToken)
		if done == total && len(n.Legacy["MX"].Received()) >= total {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	r := runResult{Docs: total, Elapsed: time.Since(start), WALSyncs: -1}
	if walBefore >= 0 {
		if after := walSyncs(pg.DSN("postgres")); after >= 0 {
			r.WALSyncs = after - walBefore
		}
	}
	if done != total {
		t.Errorf("%d of %d documents are received-correctly at CL", done, total)
	}
	checkExactlyOnce(t, n.Legacy["MX"], total)
	return r
}

// checkExactlyOnce: every certificate 1..total reached the legacy VUCE
// once, intact, and no repeat came unannounced.
func checkExactlyOnce(t *testing.T, legacy *legacysim.Server, total int) {
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
