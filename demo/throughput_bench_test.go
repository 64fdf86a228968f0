package demo

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/opensslkey"
	"github.com/vucelink/vucelink/demo/legacysim"
)

// BenchmarkDurableThroughput measures two in-process nodes on loopback with
// the real store (SQLite, fsync on every commit), real mutual TLS and real
// simulated legacy systems: documents accepted per second by the origin's
// outbox, documents per second reaching the destination's legacy VUCE, and
// both as a ratio to the bare RSA-2048 signing rate of the same key
// measured in the same run (one core's worth: the goal is that signing,
// not storage or XML, bounds throughput). Partner and route credentials are
// at bcrypt cost 12, as in production; every fsync is kept.
//
//	go test -run '^$' -bench 'DurableThroughput|LegacyLatency' -benchtime 1x ./demo/
func BenchmarkDurableThroughput(b *testing.B) {
	// outbox.concurrency: the demo's 4, and 8 (the partner side's default
	// limits.max_inflight_per_partner): delivery waits on round trips, so
	// more workers per partner deliver more while the cores have room.
	// crypto.engine: crypto/rsa, and OpenSSL (the default where
	// libcrypto loads); the baselines are bare signatures of both.
	for _, engine := range []string{"go", "openssl"} {
		for _, workers := range []int{4, 8} {
			b.Run(fmt.Sprintf("engine=%s/workers=%d", engine, workers), func(b *testing.B) { durableThroughput(b, engine, workers) })
		}
	}
}

// requireEngine skips an OpenSSL benchmark where libcrypto does not load.
func requireEngine(b *testing.B, engine string) {
	if engine != "openssl" {
		return
	}
	if _, err := opensslkey.Open(""); err != nil {
		b.Skip(err)
	}
}

// bareSigners are the same key in crypto/rsa and (where libcrypto loads)
// in OpenSSL, for the baselines.
func bareSigners(b *testing.B, n *Network) (goKey, osslKey crypto.Signer) {
	goKey, err := certs.LoadPrivateKey(filepath.Join(n.PKI, "CL", "official.key"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := opensslkey.Open(""); err != nil {
		return goKey, nil
	}
	k, err := opensslkey.New(goKey.(*rsa.PrivateKey))
	if err != nil {
		b.Fatal(err)
	}
	return goKey, k
}

func durableThroughput(b *testing.B, engine string, workers int) {
	requireEngine(b, engine)
	ctx := context.Background()
	n, err := Start(ctx, Options{Dir: b.TempDir(), Countries: []string{"CL", "MX"}, NoWait: true, OutboxWorkers: workers, CryptoEngine: engine})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	goKey, osslKey := bareSigners(b, n)
	// One core's bare RSA-2048 signatures per second, measured right
	// before and right after each round: the machine's load moves, and
	// the ratio uses the mean of the two.
	rsaRate := func(key crypto.Signer) float64 {
		if key == nil {
			return 0
		}
		digest := sha256.Sum256([]byte("baseline"))
		start := time.Now()
		signs := 0
		for time.Since(start) < time.Second {
			if _, err := key.Sign(nil, digest[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
			signs++
		}
		return float64(signs) / time.Since(start).Seconds()
	}
	f, _ := legacysim.FormatFor("CL")
	client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 32}}
	url := n.LegacyOutboundURL("CL")
	seq := 0
	// One document first, delivered, so that the bcrypt checks (cost 12) of
	// the route's and the partner's credentials are paid before the clock
	// starts, as on a node that has been running (BenchmarkLegacyLatency
	// reports that first document's time).
	seq++
	if status, body, err := legacysim.Send(ctx, client, url, f, legacysim.Sample("CL", "MX", seq, 3)); err != nil || status != http.StatusAccepted {
		b.Fatalf("warm-up: status %d err %v: %s", status, err, body)
	}
	for deadline := time.Now().Add(time.Minute); len(n.Legacy["MX"].Received()) < 1; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("warm-up document not delivered")
		}
	}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		rsaBefore, osslBefore := rsaRate(goKey), rsaRate(osslKey)
		b.StartTimer()
		const docs = 200
		before := len(n.Legacy["MX"].Received())
		jobs := make(chan int, docs)
		for range docs {
			seq++
			jobs <- seq
		}
		close(jobs)
		t0 := time.Now()
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for s := range jobs {
					status, body, err := legacysim.Send(ctx, client, url, f, legacysim.Sample("CL", "MX", s, 3))
					if err != nil || status != http.StatusAccepted {
						b.Errorf("status %d err %v: %s", status, err, body)
						return
					}
				}
			}()
		}
		wg.Wait()
		accepted := time.Since(t0)
		deadline := time.Now().Add(time.Minute)
		for len(n.Legacy["MX"].Received()) < before+docs {
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d delivered", len(n.Legacy["MX"].Received())-before, docs)
			}
			time.Sleep(2 * time.Millisecond)
		}
		delivered := time.Since(t0)
		b.StopTimer()
		signRate := (rsaBefore + rsaRate(goKey)) / 2
		osslRate := (osslBefore + rsaRate(osslKey)) / 2
		b.StartTimer()
		acceptRate := docs / accepted.Seconds()
		deliverRate := docs / delivered.Seconds()
		b.ReportMetric(acceptRate, "accepted/s")
		b.ReportMetric(deliverRate, "delivered/s")
		b.ReportMetric(signRate, "rsa-signs/s")
		b.ReportMetric(acceptRate/signRate, "accepted/sign-ratio")
		b.ReportMetric(deliverRate/signRate, "delivered/sign-ratio")
		if osslRate > 0 {
			b.ReportMetric(osslRate, "openssl-signs/s")
			b.ReportMetric(deliverRate/osslRate, "delivered/openssl-sign-ratio")
		}
	}
}

// BenchmarkLegacyLatency measures what the legacy VUCE waits for one
// answer from its node, once warm (mapped, validated, signed and committed to the
// store, every fsync kept; partner credentials at bcrypt cost 12), with one
// client and with eight concurrent ones, on the same two-node network as
// BenchmarkDurableThroughput: p50 and p99 in milliseconds. Each round
// waits until the partner has received everything, so that no backlog of
// deliveries carries over into the next.
//
//	go test -run '^$' -bench LegacyLatency -benchtime 1x ./demo/
func BenchmarkLegacyLatency(b *testing.B) {
	ctx := context.Background()
	for _, engine := range []string{"go", "openssl"} {
		b.Run("engine="+engine, func(b *testing.B) {
			requireEngine(b, engine)
			n, err := Start(ctx, Options{Dir: b.TempDir(), Countries: []string{"CL", "MX"}, NoWait: true, CryptoEngine: engine})
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			legacyLatency(b, n, engine)
		})
	}
}

// BenchmarkLegacyLatencyProcesses is BenchmarkLegacyLatency with each
// node a "vucelink run" process, placed two ways. In production the
// partner's node runs in another country; in BenchmarkLegacyLatency both
// nodes share the test process's cores, so the receiver's verification
// and receipt signature compete with the sender's next request.
//
//   - pinned: CL on CPU 0, MX on CPU 1 (taskset): no competition, but
//     the sender has one core where the goal allows two.
//   - partner-niced: CL on both cores, MX on both at nice 19, so the
//     kernel runs the partner only when the sender leaves a core idle:
//     the sender's two cores as if the partner were elsewhere, while
//     the partner still verifies, hands over and signs each receipt.
//
// The legacy simulators and the client stay in the test process.
//
//	go test -run '^$' -bench LegacyLatencyProcesses -benchtime 1x ./demo/
func BenchmarkLegacyLatencyProcesses(b *testing.B) {
	if runtime.NumCPU() < 2 {
		b.Skip("needs two CPUs")
	}
	for _, tool := range []string{"taskset", "nice"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("needs %s", tool)
		}
	}
	bin := buildBinary(b)
	for _, placement := range []struct {
		name   string
		cl, mx []string
	}{
		{"pinned", []string{"taskset", "-c", "0"}, []string{"taskset", "-c", "1"}},
		{"partner-niced", nil, []string{"nice", "-n", "19"}},
	} {
		for _, engine := range []string{"go", "openssl"} {
			b.Run(placement.name+"/engine="+engine, func(b *testing.B) {
				requireEngine(b, engine)
				ctx := context.Background()
				n, err := Start(ctx, Options{Dir: b.TempDir(), Countries: []string{"CL", "MX"}, NoWait: true, External: true, CryptoEngine: engine})
				if err != nil {
					b.Fatal(err)
				}
				defer n.Close()
				for _, node := range []struct {
					cc   string
					wrap []string
				}{{"CL", placement.cl}, {"MX", placement.mx}} {
					logf, err := os.Create(filepath.Join(n.Dir, node.cc+".log"))
					if err != nil {
						b.Fatal(err)
					}
					defer logf.Close()
					p := &process{t: b, bin: bin, config: n.Configs[node.cc], addr: n.Addrs[node.cc]["legacy"], log: logf, wrap: node.wrap}
					p.start()
					defer p.stop()
				}
				legacyLatency(b, n, engine)
			})
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// jitter times op alone 300 times, one every 3 ms, and returns its p50
// and p99 in milliseconds.
func jitter(b *testing.B, op func() error) (p50, p99 float64) {
	took := make([]time.Duration, 0, 300)
	for range 300 {
		t0 := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
		time.Sleep(3 * time.Millisecond)
	}
	slices.Sort(took)
	return ms(took[len(took)/2]), ms(took[len(took)*99/100])
}

// legacyLatency is the measurement of BenchmarkLegacyLatency on n.
func legacyLatency(b *testing.B, n *Network, engine string) {
	ctx := context.Background()
	f, _ := legacysim.FormatFor("CL")
	client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 32}}
	url := n.LegacyOutboundURL("CL")
	// The first document pays the bcrypt checks (cost 12) of the route's
	// and the partner's credentials, once until their verdicts expire: it
	// is timed apart, as cold-ms.
	t0 := time.Now()
	if status, body, err := legacysim.Send(ctx, client, url, f, legacysim.Sample("CL", "MX", 0, 3)); err != nil || status != http.StatusAccepted {
		b.Fatalf("warm-up: status %d err %v: %s", status, err, body)
	}
	cold := time.Since(t0)
	// The machine's own jitter, as baselines in the same run, each timed
	// alone, one every 3 ms as one client's requests come: 300 bare
	// RSA-2048 signatures (the request's largest step, in the engine's
	// own crypto/rsa or OpenSSL), and 300 fsyncs of an 8 KiB write beside
	// the store (every answer waits for one).
	key, osslKey := bareSigners(b, n)
	if engine == "openssl" {
		key = osslKey
	}
	digest := sha256.Sum256([]byte("baseline"))
	rsaP50, rsaP99 := jitter(b, func() error {
		_, err := key.Sign(nil, digest[:], crypto.SHA256)
		return err
	})
	syncFile, err := os.Create(filepath.Join(n.Dir, "CL", "fsync-baseline"))
	if err != nil {
		b.Fatal(err)
	}
	defer syncFile.Close()
	page, at := make([]byte, 8<<10), int64(0)
	fsyncP50, fsyncP99 := jitter(b, func() error {
		if _, err := syncFile.WriteAt(page, at%(1<<20)); err != nil {
			return err
		}
		at += int64(len(page))
		return syncFile.Sync()
	})
	seq := 0
	for _, clients := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			for b.Loop() {
				// 300 answers from one client: a p99 of 100 is the second
				// slowest, one stall's worth.
				docs := max(100*clients, 300)
				before := len(n.Legacy["MX"].Received())
				jobs := make(chan int, docs)
				for range docs {
					seq++
					jobs <- seq
				}
				close(jobs)
				var mu sync.Mutex
				var took []time.Duration
				var wg sync.WaitGroup
				for range clients {
					wg.Go(func() {
						for s := range jobs {
							t0 := time.Now()
							status, body, err := legacysim.Send(ctx, client, url, f, legacysim.Sample("CL", "MX", s, 3))
							d := time.Since(t0)
							if err != nil || status != http.StatusAccepted {
								b.Errorf("status %d err %v: %s", status, err, body)
								return
							}
							mu.Lock()
							took = append(took, d)
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				deadline := time.Now().Add(2 * time.Minute)
				for len(n.Legacy["MX"].Received()) < before+docs {
					if time.Now().After(deadline) {
						b.Fatalf("only %d of %d delivered", len(n.Legacy["MX"].Received())-before, docs)
					}
					time.Sleep(5 * time.Millisecond)
				}
				slices.Sort(took)
				at := func(p float64) float64 {
					return float64(took[int(p*float64(len(took)-1))]) / float64(time.Millisecond)
				}
				b.ReportMetric(at(0.50), "p50-ms")
				b.ReportMetric(at(0.99), "p99-ms")
				b.ReportMetric(rsaP50, "rsa-p50-ms")
				b.ReportMetric(rsaP99, "rsa-p99-ms")
				b.ReportMetric(fsyncP50, "fsync-p50-ms")
				b.ReportMetric(fsyncP99, "fsync-p99-ms")
				b.ReportMetric(float64(len(took)), "answers")
				b.ReportMetric(float64(cold)/float64(time.Millisecond), "cold-ms")
			}
		})
	}
}
