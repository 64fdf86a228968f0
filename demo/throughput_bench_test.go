package demo

import (
	"context"
	"crypto"
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
	for _, workers := range []int{4, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { durableThroughput(b, workers) })
	}
}

func durableThroughput(b *testing.B, workers int) {
	ctx := context.Background()
	n, err := Start(ctx, Options{Dir: b.TempDir(), Countries: []string{"CL", "MX"}, NoWait: true, OutboxWorkers: workers})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	key, err := certs.LoadPrivateKey(filepath.Join(n.PKI, "CL", "official.key"))
	if err != nil {
		b.Fatal(err)
	}
	// One core's bare RSA-2048 signatures per second, measured right
	// before and right after each round: the machine's load moves, and
	// the ratio uses the mean of the two.
	rsaRate := func() float64 {
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
		rsaBefore := rsaRate()
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
		signRate := (rsaBefore + rsaRate()) / 2
		b.StartTimer()
		acceptRate := docs / accepted.Seconds()
		deliverRate := docs / delivered.Seconds()
		b.ReportMetric(acceptRate, "accepted/s")
		b.ReportMetric(deliverRate, "delivered/s")
		b.ReportMetric(signRate, "rsa-signs/s")
		b.ReportMetric(acceptRate/signRate, "accepted/sign-ratio")
		b.ReportMetric(deliverRate/signRate, "delivered/sign-ratio")
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
	n, err := Start(ctx, Options{Dir: b.TempDir(), Countries: []string{"CL", "MX"}, NoWait: true})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	legacyLatency(b, n)
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
		b.Run(placement.name, func(b *testing.B) {
			ctx := context.Background()
			n, err := Start(ctx, Options{Dir: b.TempDir(), Countries: []string{"CL", "MX"}, NoWait: true, External: true})
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
			legacyLatency(b, n)
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// legacyLatency is the measurement of BenchmarkLegacyLatency on n.
func legacyLatency(b *testing.B, n *Network) {
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
	// The machine's own jitter, as a baseline in the same run: 300 bare
	// RSA-2048 signatures (the request's largest step), one every 3 ms as
	// one client's requests come, each timed alone.
	key, err := certs.LoadPrivateKey(filepath.Join(n.PKI, "CL", "official.key"))
	if err != nil {
		b.Fatal(err)
	}
	var rsaTook []time.Duration
	digest := sha256.Sum256([]byte("baseline"))
	for range 300 {
		t0 := time.Now()
		if _, err := key.Sign(nil, digest[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
		rsaTook = append(rsaTook, time.Since(t0))
		time.Sleep(3 * time.Millisecond)
	}
	slices.Sort(rsaTook)
	rsaP50, rsaP99 := ms(rsaTook[len(rsaTook)/2]), ms(rsaTook[len(rsaTook)*99/100])
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
				b.ReportMetric(float64(len(took)), "answers")
				b.ReportMetric(float64(cold)/float64(time.Millisecond), "cold-ms")
			}
		})
	}
}
