package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RulesMetrics are the rule book's numbers: an operator sees from them
// alone that a change to the rules was refused and that what runs is not
// what is on disk.
type RulesMetrics struct {
	failures prometheus.Counter
	lastGood prometheus.Gauge

	mu     sync.Mutex
	inSync func() bool
}

// Rules registers the rule book's metrics on m's registry, once: later
// calls return the same ones.
func (m *Metrics) Rules() *RulesMetrics {
	m.rulesOnce.Do(func() {
		r := &RulesMetrics{
			failures: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "vucelink_rules_reload_failures_total",
				Help: "Changes to the rules directory refused: a rule file, schema or example pair that failed; the rules in force stayed.",
			}),
			lastGood: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "vucelink_rules_last_good_reload_timestamp_seconds",
				Help: "When the rules in force were loaded and checked (Unix time).",
			}),
		}
		inSync := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vucelink_rules_in_sync",
			Help: "1 when the rules in force are the files on disk, 0 when the files changed and the change was refused (or is not yet loaded).",
		}, func() float64 {
			r.mu.Lock()
			f := r.inSync
			r.mu.Unlock()
			if f == nil || f() {
				return 1
			}
			return 0
		})
		m.reg.MustRegister(r.failures, r.lastGood, inSync)
		m.rules = r
	})
	return m.rules
}

// Loaded records rules put in force at t.
func (r *RulesMetrics) Loaded(t time.Time) { r.lastGood.Set(float64(t.UnixNano()) / 1e9) }

// Refused records a change that was refused.
func (r *RulesMetrics) Refused() { r.failures.Inc() }

// WatchSync makes the in-sync gauge ask f when scraped.
func (r *RulesMetrics) WatchSync(f func() bool) {
	r.mu.Lock()
	r.inSync = f
	r.mu.Unlock()
}
