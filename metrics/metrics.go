// Package metrics exposes a node's numbers for Prometheus: documents by
// direction, partner, type and step; delivery latency; backlog; retries and
// verification failures by reason; days until each certificate expires.
//
// Counters come from the document events (Metrics is a track.Recorder);
// gauges that describe state (backlog, expiry) are read when scraped. Each
// node has its own registry, so several nodes in one process (the demo)
// do not mix their numbers.
package metrics

import (
	"context"
	"crypto/x509"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/track"
)

// Backlog is what the backlog gauge reads.
type Backlog interface {
	Backlog(ctx context.Context) (map[string]map[lifecycle.State]int, error)
}

// Metrics is one node's metrics.
type Metrics struct {
	reg      *prometheus.Registry
	steps    *prometheus.CounterVec
	verdicts *prometheus.CounterVec
	failures *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	rulesOnce  sync.Once
	rules      *RulesMetrics
	engineOnce sync.Once

	mu      sync.Mutex
	backlog Backlog
	certs   map[string]*x509.Certificate // "kind subject" → certificate
}

// New builds the metrics of one node.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), certs: map[string]*x509.Certificate{}}
	m.steps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vucelink_document_steps_total",
		Help: "Document steps passed, by direction, partner, document type and step (accepted, mapped, signed, queued, delivered, received, verified, handed-over, failed).",
	}, []string{"direction", "partner", "document", "step"})
	m.verdicts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vucelink_documents_total",
		Help: "Documents with a verdict, by direction, partner, document type and outcome.",
	}, []string{"direction", "partner", "document", "outcome"})
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vucelink_failures_total",
		Help: "Failures by direction, partner and reason code (delivery.retry counts retries; signature.* and auth.* are verification rejections).",
	}, []string{"direction", "partner", "reason"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "vucelink_delivery_duration_seconds",
		Help:    "Time from sending a document to the partner's receipt, per attempt that got one.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"partner"})
	m.reg.MustRegister(m.steps, m.verdicts, m.failures, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&stateCollector{m})
	return m
}

// Record implements track.Recorder.
func (m *Metrics) Record(_ context.Context, e track.Event) {
	dir, partner := string(e.Direction), e.Partner
	m.steps.WithLabelValues(dir, partner, e.Document, string(e.Step)).Inc()
	switch {
	case e.Step == track.Delivered:
		m.verdicts.WithLabelValues(dir, partner, e.Document, e.Outcome).Inc()
		if e.Duration > 0 {
			m.latency.WithLabelValues(partner).Observe(e.Duration.Seconds())
		}
	case e.Step == track.HandedOver && e.Direction == track.Inbound:
		m.verdicts.WithLabelValues(dir, partner, e.Document, "received-correctly").Inc()
	case e.Step == track.Failed:
		code := e.Code
		if code == "" {
			code = "other"
		}
		m.failures.WithLabelValues(dir, partner, code).Inc()
	}
}

// WatchBacklog makes the backlog gauge read from b.
func (m *Metrics) WatchBacklog(b Backlog) {
	m.mu.Lock()
	m.backlog = b
	m.mu.Unlock()
}

// WatchCertificate adds a certificate to the expiry gauge; kind says what
// it is ("signing", "tls-server", "partner-ca:MX", …).
func (m *Metrics) WatchCertificate(kind string, c *x509.Certificate) {
	m.mu.Lock()
	m.certs[kind+" "+c.Subject.String()] = c
	m.mu.Unlock()
}

// SigningEngine says where the signing keys' RSA operations run: engine
// "openssl" or "go", and the library's version.
func (m *Metrics) SigningEngine(engine, version string) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "vucelink_signing_engine_info",
		Help:        "Where the signing keys' RSA operations run (crypto.engine): openssl or go, with the library's version. Always 1.",
		ConstLabels: prometheus.Labels{"engine": engine, "version": version},
	})
	g.Set(1)
	m.engineOnce.Do(func() { m.reg.MustRegister(g) })
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// stateCollector reads backlog and certificate expiry at scrape time.
type stateCollector struct{ m *Metrics }

var (
	backlogDesc = prometheus.NewDesc("vucelink_backlog_documents",
		"Outbound documents not yet delivered (accepted, sent) or given up (incomplete), by partner and state.", []string{"partner", "state"}, nil)
	expiryDesc = prometheus.NewDesc("vucelink_certificate_expiry_days",
		"Days until a certificate this node uses or trusts expires (negative: expired).", []string{"kind", "subject"}, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- backlogDesc
	ch <- expiryDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	b := c.m.backlog
	certs := make(map[string]*x509.Certificate, len(c.m.certs))
	for k, v := range c.m.certs {
		certs[k] = v
	}
	c.m.mu.Unlock()
	if b != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if counts, err := b.Backlog(ctx); err == nil {
			for partner, byState := range counts {
				for st, n := range byState {
					ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(n), partner, string(st))
				}
			}
		}
	}
	for key, cert := range certs {
		kind := key[:len(key)-len(cert.Subject.String())-1]
		days := time.Until(cert.NotAfter).Hours() / 24
		ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue, days, kind, cert.Subject.String())
	}
}
