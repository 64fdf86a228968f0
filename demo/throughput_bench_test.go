package demo

import (
	"context"
	"crypto"
	"crypto/sha256"
	"net/http"
	"path/filepath"
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
// not storage or XML, bounds throughput).
func BenchmarkDurableThroughput(b *testing.B) {
	ctx := context.Background()
	n, err := Start(ctx, Options{Dir: b.TempDir(), Countries: []string{"CL", "MX"}, NoWait: true})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	key, err := certs.LoadPrivateKey(filepath.Join(n.PKI, "CL", "official.key"))
	if err != nil {
		b.Fatal(err)
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
	signRate := float64(signs) / time.Since(start).Seconds()

	f, _ := legacysim.FormatFor("CL")
	client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 32}}
	url := n.LegacyOutboundURL("CL")
	seq := 0
	b.ResetTimer()
	for b.Loop() {
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
		acceptRate := docs / accepted.Seconds()
		deliverRate := docs / delivered.Seconds()
		b.ReportMetric(acceptRate, "accepted/s")
		b.ReportMetric(deliverRate, "delivered/s")
		b.ReportMetric(signRate, "rsa-signs/s")
		b.ReportMetric(acceptRate/signRate, "accepted/sign-ratio")
		b.ReportMetric(deliverRate/signRate, "delivered/sign-ratio")
	}
}
