package console

// Traffic charts: documents sent, received and failed per hour, delivery
// latency (p50, p95) and queue depth, overall or for one partner, over
// the last 24 hours or 7 days. They are drawn here as SVG, inline in the
// page (the CSP allows no scripts, and needs none), from the node's own
// store, so they work without Prometheus. Every chart has a title, a
// description and its numbers as a table, for screen readers and for
// anyone who would rather read than look.

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vucelink/vucelink/store"
)

// Chart is one chart with the table behind it.
type Chart struct {
	ID, Title string
	Series    []Series
	SVG       template.HTML
	Columns   []string
	Rows      [][]string
}

// Series is one line of a chart; NaN is a gap (no data that hour).
type Series struct {
	Name, Class string
	Values      []float64
}

// Traffic is what the charts show for one partner (or all) and range.
type Traffic struct {
	Charts []Chart
}

// buckets is a window of whole hours ending with the current one.
type buckets struct {
	start time.Time
	n     int
}

func (b buckets) index(t time.Time) int {
	if t.IsZero() || t.Before(b.start) {
		return -1
	}
	i := int(t.Sub(b.start) / time.Hour)
	if i >= b.n {
		return -1
	}
	return i
}

func (b buckets) end(i int) time.Time { return b.start.Add(time.Duration(i+1) * time.Hour) }

// trafficSeries computes the charts' numbers from the store's records.
type trafficSeries struct {
	sent, received, failed, p50, p95, queue []float64
}

func computeTraffic(recs []store.TrafficRecord, partner string, b buckets, now time.Time) trafficSeries {
	s := trafficSeries{sent: make([]float64, b.n), received: make([]float64, b.n), failed: make([]float64, b.n),
		p50: make([]float64, b.n), p95: make([]float64, b.n), queue: make([]float64, b.n)}
	latencies := make([][]float64, b.n)
	for _, r := range recs {
		if partner != "" && r.Partner != partner {
			continue
		}
		if i := b.index(r.Created); i >= 0 {
			if r.Direction == store.Outbound {
				s.sent[i]++
			} else {
				s.received[i]++
			}
		}
		if i := b.index(r.Failed); i >= 0 {
			s.failed[i]++
		}
		if i := b.index(r.Delivered); i >= 0 && r.Direction == store.Outbound {
			latencies[i] = append(latencies[i], r.Delivered.Sub(r.Created).Seconds())
		}
		if r.Direction != store.Outbound {
			continue
		}
		// Queue depth at each hour's end (now, for the current hour).
		for i := range b.n {
			at := b.end(i)
			if at.After(now) {
				at = now
			}
			if !r.Created.After(at) && (r.Settled.IsZero() || r.Settled.After(at)) {
				s.queue[i]++
			}
		}
	}
	for i, l := range latencies {
		s.p50[i], s.p95[i] = percentile(l, 0.50), percentile(l, 0.95)
	}
	return s
}

// percentile is the nearest-rank percentile; NaN for no values.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	rank := int(math.Ceil(p*float64(len(v)))) - 1
	return v[max(rank, 0)]
}

// traffic builds the charts for partner ("" for all) over rng (24h, 7d);
// nil when the store keeps no traffic.
func (c *Console) traffic(r *http.Request, partner, rng string) (*Traffic, error) {
	if c.opts.Traffic == nil {
		return nil, nil
	}
	hours := 24
	if rng == "7d" {
		hours = 7 * 24
	}
	now := c.opts.Now().UTC()
	b := buckets{start: now.Truncate(time.Hour).Add(-time.Duration(hours-1) * time.Hour), n: hours}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	recs, err := c.opts.Traffic.Traffic(ctx, b.start)
	if err != nil {
		return nil, fmt.Errorf("traffic since %s: %w", b.start.Format(time.RFC3339), err)
	}
	s := computeTraffic(recs, partner, b, now)
	t := c.tr(r)
	who := t.T("traffic.allPartners")
	if partner != "" {
		who = partner
	}
	span := t.T("traffic." + rng)
	labels := make([]string, b.n)
	for i := range labels {
		labels[i] = b.start.Add(time.Duration(i) * time.Hour).Format(t.T("format.hour"))
	}
	mk := func(id, title, unit string, digits int, series ...Series) Chart {
		ch := Chart{ID: id, Title: t.T(title, "Who", who, "Span", span), Series: series}
		ch.Columns = append(ch.Columns, t.T("traffic.hourUTC"))
		for _, s := range series {
			ch.Columns = append(ch.Columns, s.Name)
		}
		for i := range b.n {
			row := []string{labels[i]}
			for _, s := range series {
				if math.IsNaN(s.Values[i]) {
					row = append(row, "—")
				} else {
					row = append(row, t.F(s.Values[i], digits))
				}
			}
			ch.Rows = append(ch.Rows, row)
		}
		ch.SVG = drawChart(ch, b, t, unit)
		return ch
	}
	return &Traffic{Charts: []Chart{
		mk("documents", "traffic.documentsTitle", "", 0,
			Series{t.T("traffic.sent"), "sent", s.sent},
			Series{t.T("traffic.received"), "received", s.received},
			Series{t.T("traffic.failed"), "failed", s.failed}),
		mk("latency", "traffic.latencyTitle", "s", 1,
			Series{"p50", "p50", s.p50},
			Series{"p95", "p95", s.p95}),
		mk("queue", "traffic.queueTitle", "", 0,
			Series{t.T("traffic.queued"), "queue", s.queue}),
	}}, nil
}

func (c *Console) trafficPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	partner, rng := q.Get("partner"), q.Get("range")
	if partner != "" && !slices.Contains(c.opts.Partners, partner) {
		http.Error(w, c.tr(r).T("documents.badPartner", "Partner", partner), http.StatusNotFound)
		return
	}
	if rng != "7d" {
		rng = "24h"
	}
	tr, err := c.traffic(r, partner, rng)
	if err != nil {
		c.fail(w, s, err)
		return
	}
	title := c.tr(r).T("traffic.title")
	if partner != "" {
		title = c.tr(r).T("traffic.titlePartner", "Partner", partner)
	}
	if tr == nil {
		tr = &Traffic{}
	}
	c.page(w, r, http.StatusOK, s, "traffic", map[string]any{
		"Title": title, "Traffic": tr, "Partner": partner, "Range": rng, "Partners": c.opts.Partners,
	})
}

// Chart geometry, in SVG user units (the chart scales to its box).
const (
	chartW, chartH               = 720, 230
	padL, padR, padTop, padBelow = 52, 12, 12, 34
)

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten, so the
// axis reads well.
func niceMax(v float64) float64 {
	if v <= 0 || math.IsNaN(v) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// drawChart draws ch as SVG. Every text in it is escaped here.
func drawChart(ch Chart, b buckets, t *tr, unit string) template.HTML {
	esc := template.HTMLEscapeString
	top := 0.0
	for _, s := range ch.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				top = max(top, v)
			}
		}
	}
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padTop-padBelow)
	x := func(i int) float64 { return padL + plotW*(float64(i)+0.5)/float64(b.n) }
	// Latency spans seconds to hours (an outage's backlog delivered late):
	// a logarithmic axis keeps the ordinary second visible beside it.
	logScale := unit == "s"
	ticks := []float64{0, 0.5, 1}
	var y func(v float64) float64
	if logScale {
		const floor = 0.1
		top = math.Pow(10, math.Ceil(math.Log10(max(top, 1))))
		span := math.Log10(top / floor)
		y = func(v float64) float64 { return padTop + plotH*(1-math.Log10(max(v, floor)/floor)/span) }
		ticks = ticks[:0]
		for v := floor; v <= top*1.001; v *= 10 {
			ticks = append(ticks, v/top)
		}
	} else {
		top = niceMax(top)
		y = func(v float64) float64 { return padTop + plotH*(1-v/top) }
	}
	var sb strings.Builder
	titleID, descID := "t-"+ch.ID, "d-"+ch.ID
	fmt.Fprintf(&sb, `<svg class="chart-svg" viewBox="0 0 %d %d" role="img" aria-labelledby="%s %s" xmlns="http://www.w3.org/2000/svg">`,
		chartW, chartH, titleID, descID)
	fmt.Fprintf(&sb, `<title id="%s">%s</title>`, titleID, esc(ch.Title))
	var desc []string
	for _, s := range ch.Series {
		total, peak := 0.0, 0.0
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				total += v
				peak = max(peak, v)
			}
		}
		desc = append(desc, t.T("traffic.desc", "Series", s.Name, "Peak", t.F(peak, 1), "Unit", unit))
	}
	fmt.Fprintf(&sb, `<desc id="%s">%s</desc>`, descID, esc(strings.Join(desc, "; ")))
	// Grid and y axis: 0, half, top.
	for _, f := range ticks {
		v := top * f
		fmt.Fprintf(&sb, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, y(v), y(v))
		label := t.F(v, 0)
		if v < 1 && v > 0 || (top < 10 && f == 0.5) {
			label = t.F(v, 1)
		}
		if unit != "" {
			label += " " + unit
		}
		fmt.Fprintf(&sb, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, y(v)+4, esc(label))
	}
	// x axis: a label every 3 hours (24 h) or at each midnight (7 days).
	for i := range b.n {
		at := b.start.Add(time.Duration(i) * time.Hour)
		var label string
		switch {
		case b.n <= 24 && at.Hour()%3 == 0:
			label = at.Format("15:00")
		case b.n > 24 && at.Hour() == 0:
			label = at.Format(t.T("format.day"))
		default:
			continue
		}
		fmt.Fprintf(&sb, `<line class="tick" x1="%.1f" x2="%.1f" y1="%d" y2="%d"/>`, x(i), x(i), chartH-padBelow, chartH-padBelow+4)
		fmt.Fprintf(&sb, `<text class="axis" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(i), chartH-padBelow+18, esc(label))
	}
	// Lines, broken where there is no data; a dot where a point stands alone.
	for _, s := range ch.Series {
		fmt.Fprintf(&sb, `<g class="s-%s">`, esc(s.Class))
		var pts []string
		flush := func() {
			switch len(pts) {
			case 0:
			case 1:
				xy := strings.Split(pts[0], ",")
				fmt.Fprintf(&sb, `<circle cx="%s" cy="%s" r="2.5"/>`, xy[0], xy[1])
			default:
				fmt.Fprintf(&sb, `<polyline points="%s"/>`, strings.Join(pts, " "))
			}
			pts = pts[:0]
		}
		for i, v := range s.Values {
			if math.IsNaN(v) {
				flush()
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		}
		flush()
		sb.WriteString(`</g>`)
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) // built above; every text escaped
}
