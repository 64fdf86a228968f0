package xmlsafe

import (
	"bytes"
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// hostileBody is a document built for the most parse cost per byte of one
// shape.
type hostileBody struct {
	name string
	data []byte
}

// hostileBodies returns one body of about size bytes per shape.
func hostileBodies(size int) []hostileBody {
	deep := strings.Repeat("<a>", DefaultMaxDepth-1) + strings.Repeat("</a>", DefaultMaxDepth-1)
	return []hostileBody{
		{"flat-empty", repeatTo(size, "<r>", "<a/>", "</r>")},
		{"flat-with-text", repeatTo(size, "<r>", "<a/>x", "</r>")},
		{"deep", repeatTo(size, "<r>", deep, "</r>")},
		{"attrs-one-element", oneElement(size)},
		{"attrs-16-per-element", repeatTo(size, "<r>", "<a"+attrs(16, "a")+"/>", "</r>")},
		{"attrs-256-per-element", repeatTo(size, "<r>", "<a"+attrs(256, "a")+"/>", "</r>")},
		{"long-names", repeatTo(size, "<r>", "<"+strings.Repeat("n", 200)+"/>", "</r>")},
		{"one-long-name", repeatTo(size, "<r><", "n", "/></r>")},
		{"xmlns-every-element", repeatTo(size, `<r xmlns:p="u">`, `<p:a xmlns:q="u"/>`, "</r>")},
		// The prefix each element uses is declared first, under 10,000
		// others: walk's look-up went through all of them.
		{"xmlns-10k-in-scope", repeatTo(size, `<r xmlns:p="u"`+attrs(10_000, "xmlns:q")+`>`, "<p:b/>", "</r>")},
		{"huge-text", repeatTo(size, "<r>", "x", "</r>")},
		{"huge-comment", repeatTo(size, "<r><!--", "x", "--></r>")},
		{"comments", repeatTo(size, "<r>", "<!---->", "</r>")},
		{"processing-instructions", repeatTo(size, "<r>", "<?a?>", "</r>")},
		{"tab-in-every-value", repeatTo(size, "<r>", "<a b=\"\t\"/>", "</r>")},
		// Built whole, then refused by the parser at the very end.
		{"error-at-the-end", repeatTo(size, "<r>", "<a/>", "&bad;</r>")},
		// Processing instructions (which MaxElements does not count), as
		// many as the budget admits, padded with elements that cost
		// little per byte: about the most an accepted body can cost.
		{"just-under-the-budget", repeatTo(size, "<r>"+strings.Repeat("<?a?>", size*32/100/5), "<"+strings.Repeat("n", 200)+"/>", "</r>")},
	}
}

// repeatTo repeats unit between head and tail to about size bytes.
func repeatTo(size int, head, unit, tail string) []byte {
	n := max(0, size-len(head)-len(tail)) / len(unit)
	return []byte(head + strings.Repeat(unit, n) + tail)
}

// attrs returns n distinct attributes named prefix0, prefix1...
func attrs(n int, prefix string) string {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, ` %s%d="u"`, prefix, i)
	}
	return sb.String()
}

// oneElement is an element of about size bytes, all attributes.
func oneElement(size int) []byte {
	var b bytes.Buffer
	b.WriteString("<r")
	for i := 0; b.Len() < size-2; i++ {
		fmt.Fprintf(&b, ` a%d=""`, i)
	}
	b.WriteString("/>")
	return b.Bytes()
}

// realisticSPS is testdata/realistic-sps.xml (the Chilean SPS example in
// rules/) with its line item repeated to n items, indented as it is.
func realisticSPS(t testing.TB, n int) []byte {
	b := readFixture(t, "realistic-sps.xml")
	open := []byte("      <ram:IncludedSPSTradeLineItem>")
	close := []byte("</ram:IncludedSPSTradeLineItem>\n")
	first := bytes.Index(b, open)
	end := first + bytes.Index(b[first:], close) + len(close)
	last := bytes.LastIndex(b, close) + len(close)
	var out bytes.Buffer
	out.Write(b[:first])
	for range n {
		out.Write(b[first:end])
	}
	out.Write(b[last:])
	return out.Bytes()
}

// compact drops the indentation between tags.
func compact(b []byte) []byte {
	return regexp.MustCompile(`>\s+<`).ReplaceAll(b, []byte("><"))
}

// oldLimits are the limits before the heap budget: a million elements,
// and nothing else bounded but size and depth.
var oldLimits = Limits{MaxElements: 1_000_000, MaxAttrs: 1 << 30, MaxNamespaces: 1 << 30, MaxNameLen: 1 << 30, MaxHeapRatio: 1 << 20}

// parseAlloc parses data once with the garbage collector off and returns
// what Parse allocated: nothing is freed, so this bounds the heap's growth
// during the parse from above, however the collector would have run.
// live is what the returned tree holds once the garbage is collected, a
// bound from below (zero when Parse fails).
func parseAlloc(data []byte, lim Limits) (alloc, live uint64, err error) {
	return parseAllocVia(data, lim, true)
}

// parseAllocVia is parseAlloc on the one-pass reader (fast) or on etree
// over encoding/xml, which exotic documents still take.
func parseAllocVia(data []byte, lim Limits, fast bool) (alloc, live uint64, err error) {
	runtime.GC()
	old := debug.SetGCPercent(-1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	doc, _, err := parse(data, lim, fast)
	runtime.ReadMemStats(&after)
	debug.SetGCPercent(old)
	runtime.GC()
	var held runtime.MemStats
	runtime.ReadMemStats(&held)
	runtime.KeepAlive(doc)
	if held.HeapAlloc > before.HeapAlloc {
		live = held.HeapAlloc - before.HeapAlloc
	}
	return after.TotalAlloc - before.TotalAlloc, live, err
}

// BenchmarkHostile parses each hostile body with the limits before the
// heap budget and with the default ones, and reports the peak heap (see
// parseAlloc) per byte of the body and per byte of MaxBytes. "after"
// should stay at or below 16 for both, and refuse what "before" let cost
// more.
//
//	go test -run '^$' -bench Hostile -benchtime 1x ./xmlsafe/
func BenchmarkHostile(b *testing.B) {
	var bodies []hostileBody
	for _, h := range hostileBodies(4_000_000) {
		h.name += "/4MB"
		bodies = append(bodies, h)
	}
	for _, h := range hostileBodies(400_000) {
		if h.name == "flat-empty" || h.name == "attrs-one-element" {
			h.name += "/400KB"
			bodies = append(bodies, h)
		}
	}
	for _, h := range bodies {
		for _, c := range []struct {
			name string
			lim  Limits
		}{{"before", oldLimits}, {"after", Limits{}}} {
			b.Run(h.name+"/"+c.name, func(b *testing.B) {
				alloc, live, err := parseAlloc(h.data, c.lim)
				b.SetBytes(int64(len(h.data)))
				for b.Loop() {
					Parse(h.data, c.lim)
				}
				maxBytes := c.lim.withDefaults().MaxBytes
				b.ReportMetric(float64(alloc)/float64(len(h.data)), "peak/body")
				b.ReportMetric(float64(alloc)/float64(maxBytes), "peak/MaxBytes")
				b.ReportMetric(float64(alloc)/(1<<20), "peak-MiB")
				b.ReportMetric(float64(live)/float64(len(h.data)), "live/body")
				refused := 0.0
				if err != nil {
					refused = 1
				}
				b.ReportMetric(refused, "refused")
			})
		}
	}
}

// BenchmarkParseRealistic is BenchmarkParse's "parse" on a certificate
// shaped like the real ones, with its heap per byte: compare it with the
// same benchmark on the parser before the heap budget for what the new
// checks cost.
func BenchmarkParseRealistic(b *testing.B) {
	for _, d := range []struct {
		name string
		data []byte
	}{
		{"sps-1000-items", realisticSPS(b, 1000)},
		{"sps-1000-items-compact", compact(realisticSPS(b, 1000))},
	} {
		b.Run(d.name, func(b *testing.B) {
			alloc, _, err := parseAlloc(d.data, Limits{})
			if err != nil {
				b.Fatal(err)
			}
			_, est, _ := scan(d.data, 0, Limits{}.withDefaults())
			b.SetBytes(int64(len(d.data)))
			for b.Loop() {
				if _, err := Parse(d.data, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(alloc)/float64(len(d.data)), "peak/body")
			b.ReportMetric(float64(est)/float64(len(d.data)), "estimate/body")
		})
	}
}
