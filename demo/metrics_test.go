package demo

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads a node's /metrics and returns the value of the series with
// exactly these labels (0 if absent).
func scrape(t *testing.T, n *Network, country string) func(name string, labels map[string]string) float64 {
	t.Helper()
	resp, err := n.AdminRequest(context.Background(), country, "GET", "/metrics", n.ViewerToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return func(name string, labels map[string]string) float64 {
		f := families[name]
		if f == nil {
			return 0
		}
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
		return 0
	}
}

// After traffic, the counters say what happened: documents per verdict on
// both sides, one latency sample per delivery, rejections by reason.
func TestMetrics_MatchDocumentsSent(t *testing.T) {
	n := startNetwork(t, "CL", "MX")
	ctx := context.Background()
	for seq := 1; seq <= 3; seq++ {
		if res := n.Send(ctx, "CL", "MX", seq, 2, seq == 3); !res.Intact {
			t.Fatalf("send %d: %v", seq, res.Problems)
		}
	}
	if res := n.Send(ctx, "MX", "CL", 9, 1, false); !res.Intact {
		t.Fatalf("send MX→CL: %v", res.Problems)
	}
	// One unauthenticated call to MX, to count a rejection.
	req, _ := http.NewRequest(http.MethodPost, "https://"+n.Nodes["MX"].Addr("partners")+"/vucelink/v1/documents/sps", strings.NewReader("<x/>"))
	req.Header.Set("X-Vucelink-Sender", "CL")
	req.Header.Set("X-Vucelink-Tracking-Id", "CL-M-1")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsTrusting(t, n, "MX")}}
	if resp, err := client.Do(req); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	cl, mx := scrape(t, n, "CL"), scrape(t, n, "MX")
	checks := []struct {
		what string
		got  float64
		want float64
	}{
		{"CL outbound received-correctly", cl("vucelink_documents_total", map[string]string{"direction": "outbound", "partner": "MX", "outcome": "received-correctly"}), 3},
		{"MX inbound received-correctly", mx("vucelink_documents_total", map[string]string{"direction": "inbound", "partner": "CL", "outcome": "received-correctly"}), 3},
		{"CL inbound received-correctly", cl("vucelink_documents_total", map[string]string{"direction": "inbound", "partner": "MX", "outcome": "received-correctly"}), 1},
		{"CL accepted steps", cl("vucelink_document_steps_total", map[string]string{"direction": "outbound", "step": "accepted"}), 3},
		{"CL delivery latency samples", cl("vucelink_delivery_duration_seconds", map[string]string{"partner": "MX"}), 3},
		{"MX rejections for a missing client certificate", mx("vucelink_failures_total", map[string]string{"reason": "auth.client-certificate"}), 1},
		{"CL backlog (nothing pending)", cl("vucelink_backlog_documents", map[string]string{"partner": "MX"}), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	if days := cl("vucelink_certificate_expiry_days", map[string]string{"kind": "signing"}); days < 700 || days > 731 {
		t.Errorf("signing certificate expiry days %v, want about two years", days)
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := n.AdminRequest(context.Background(), "CL", "GET", path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
		if path == "/readyz" {
			var r struct{ Ready bool }
			if json.Unmarshal(body, &r); !r.Ready {
				t.Errorf("readyz: %s", body)
			}
		}
	}
}

func tlsTrusting(t *testing.T, n *Network, country string) *tls.Config {
	t.Helper()
	return &tls.Config{RootCAs: mustPool(t, filepath.Join(n.PKI, country, "ca.pem"))}
}
