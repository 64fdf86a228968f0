package xmlsafe

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParse_NewLimits(t *testing.T) {
	flat := func(size int) string { return string(repeatTo(size, "<r>", "<a/>", "</r>")) }
	tests := []struct {
		name string
		doc  string
		lim  Limits
		want error  // nil: accepted
		says string // what the error must contain: the limit, and where
	}{
		{"attributes over MaxAttrs", `<r a="1" b="2" c="3" d="4"/>`, Limits{MaxAttrs: 3}, ErrTooManyAttrs,
			"more than 3 attributes (MaxAttrs) on the element at byte 0, the last at byte 21"},
		{"attributes over MaxAttrs, nested", `<r><x a="1" b="2"/></r>`, Limits{MaxAttrs: 1}, ErrTooManyAttrs,
			"on the element at byte 3, the last at byte 12"},
		{"attributes at MaxAttrs", `<r a="1" b="2" c="3" d="4"/>`, Limits{MaxAttrs: 4}, nil, ""},
		{"namespace declarations are attributes", `<r xmlns:a="u" xmlns:b="u"/>`, Limits{MaxAttrs: 1}, ErrTooManyAttrs,
			"(MaxAttrs) on the element at byte 0, the last at byte 15"},
		{"a '>' in a value does not end the tag", `<r a=">" b='>' c="3"/>`, Limits{MaxAttrs: 2}, ErrTooManyAttrs,
			"the last at byte 15"},

		{"declarations in scope over MaxNamespaces", `<r xmlns:a="u"><b xmlns:c="u"><d xmlns:e="u"/></b></r>`, Limits{MaxNamespaces: 2}, ErrTooManyAttrs,
			"more than 2 namespace declarations in scope (MaxNamespaces) at the element at byte 30"},
		{"declarations go out of scope", `<r xmlns:a="u"><b xmlns:c="u"/><b xmlns:c="u"></b><b xmlns:c="u"><c/></b><b xmlns:c="u"/></r>`, Limits{MaxNamespaces: 2}, nil, ""},
		{"default namespaces are not prefixes", `<r xmlns="u"><a xmlns="v"><b xmlns="w"/></a></r>`, Limits{MaxNamespaces: 1}, nil, ""},

		{"element name over MaxNameLen", `<r><abcdefghi/></r>`, Limits{MaxNameLen: 8}, ErrTooLarge,
			"a name of 9 bytes (abcdefghi) at byte 4, longer than 8 (MaxNameLen)"},
		{"attribute name over MaxNameLen", `<r abcdefghi="x"/>`, Limits{MaxNameLen: 8}, ErrTooLarge,
			"a name of 9 bytes (abcdefghi) at byte 3, longer than 8 (MaxNameLen)"},
		{"the prefix is part of the name", `<p:abcdefg xmlns:p="u"/>`, Limits{MaxNameLen: 8}, ErrTooLarge,
			"a name of 9 bytes (p:abcdefg) at byte 1"},
		{"name at MaxNameLen", `<abcdefgh/>`, Limits{MaxNameLen: 8}, nil, ""},
		{"a long name is cut short in the message", "<r><" + strings.Repeat("n", 1000) + "/></r>", Limits{}, ErrTooLarge,
			"a name of 1000 bytes (" + strings.Repeat("n", 64) + "...) at byte 4, longer than 256 (MaxNameLen)"},

		{"elements over the new default", flat(4*100_001 + 7), Limits{MaxHeapRatio: 1000}, ErrTooManyElements,
			"more than 100000, the last at byte 399999"},
		{"elements over MaxElements, nested", "<r><a><b/></a></r>", Limits{MaxElements: 2}, ErrTooManyElements,
			"more than 2, the last at byte 6"},

		// The heap budget: 16 times the body (or 64 KiB), refused in the
		// scan as soon as the estimate passes it.
		{"a small body of empty elements fits the floor", flat(10_000), Limits{}, nil, ""},
		{"a large body of empty elements does not", flat(200_000), Limits{}, ErrTooLarge,
			"over the budget of 3199984 (MaxHeapRatio 16 × the larger of its size, 199999, and HeapFloor)"},
		{"MaxHeapRatio raises the budget", flat(200_000), Limits{MaxHeapRatio: 100}, nil, ""},
		{"MaxHeapRatio lowers it", string(readFixture(t, "realistic-sps.xml")), Limits{MaxHeapRatio: 1}, ErrTooLarge,
			"over the budget of 65536 (MaxHeapRatio 1"},

		// The scan matches end tags to start tags, so an unbalanced
		// document is refused before any tree is built.
		{"end tag names are matched", "<r><a></b></r>", Limits{}, ErrMalformed, "</b> at byte 6, but <a> is open"},
		{"a prefix is part of the name", `<r xmlns:p="u" xmlns:q="u"><p:a></q:a></r>`, Limits{}, ErrMalformed, "</q:a> at byte 32, but <p:a> is open"},
		{"spaces may end an end tag", "<r><a></a \n></r >", Limits{}, nil, ""},
		{"a long end tag is cut short", "<r></" + strings.Repeat("x", 5000) + "></r>", Limits{}, ErrMalformed,
			"</" + strings.Repeat("x", 64) + "...> at byte 3, but <r> is open"},
		{"the innermost unclosed element is named", "<r><a><b/>", Limits{}, ErrMalformed, "<a> is never closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse([]byte(tt.doc), tt.lim)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if n := sentinels(err); n != 1 {
				t.Errorf("err %v wraps %d sentinels, want 1", err, n)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("err %q does not say %q", err, tt.says)
			}
			if doc != nil {
				t.Error("a tree was returned with the error")
			}
		})
	}
}

// The heap budget refuses a body early: at a byte offset the message
// names, well before the end, and before the tree is built.
func TestParse_HeapBudgetRefusesEarly(t *testing.T) {
	data := repeatTo(1<<20, "<r>", "<a/>", "</r>")
	alloc, _, err := parseAlloc(data, Limits{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	m := regexp.MustCompile(`by byte (\d+),`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("err %q names no byte", err)
	}
	// 16 bytes of heap per byte of body, at 70 per byte of this one.
	if at, _ := strconv.Atoi(m[1]); at > len(data)/4 {
		t.Errorf("refused at byte %d of %d", at, len(data))
	}
	if alloc > 64<<10 {
		t.Errorf("Parse allocated %d bytes before refusing the body", alloc)
	}
}

// The goal: whatever the shape of a body the limits admit, parsing it
// takes at most 16 bytes of heap per byte of body (per byte of HeapFloor
// for a small one); and a body they refuse is refused in the scan, before
// the tree takes anything.
func TestParse_HostileBodiesStayWithinTheBudget(t *testing.T) {
	for _, size := range []int{100_000, 400_000} {
		for _, h := range hostileBodies(size) {
			t.Run(fmt.Sprintf("%s/%d", h.name, size), func(t *testing.T) {
				alloc, _, err := parseAlloc(h.data, Limits{})
				budget := uint64(DefaultMaxHeapRatio * max(len(h.data), HeapFloor))
				if alloc > budget {
					t.Errorf("allocated %d bytes (%.1f per byte), over %d (err %v)", alloc, float64(alloc)/float64(len(h.data)), budget, err)
				}
				if err != nil && !errors.Is(err, ErrMalformed) && alloc > uint64(3*len(h.data)) {
					t.Errorf("allocated %d bytes before refusing it: %v", alloc, err)
				}
			})
		}
	}
}

// The estimate must stay above what Parse allocates, whatever the shape
// and whichever reader builds the tree, or the budget would not bound it. This fails should etree or
// encoding/xml start allocating more per token than scan.go assumes.
func TestHeapEstimateBoundsAllocation(t *testing.T) {
	bodies := append(hostileBodies(64<<10), hostileBodies(300_000)...)
	bodies = append(bodies,
		hostileBody{"text of 2^n+1 bytes", repeatTo(1<<18+8, "<r>", "x", "</r>")},
		hostileBody{"attrs-17-per-element", repeatTo(200_000, "<r>", "<a"+attrs(17, "a")+"/>", "</r>")},
		hostileBody{"attrs-300-per-element", repeatTo(200_000, "<r>", "<a"+attrs(300, "a")+"/>", "</r>")},
		hostileBody{"mixed", repeatTo(200_000, "<r>", "<a b='x'> <b/>text<!--c--><?p i?><![CDATA[d]]></a>\n", "</r>")},
		hostileBody{"realistic-sps-100", realisticSPS(t, 100)},
		hostileBody{"sps-like-1000", spsLike(1000)},
	)
	unbounded := oldLimits
	unbounded.MaxElements = 1 << 30
	for _, h := range bodies {
		t.Run(fmt.Sprintf("%s/%d", h.name, len(h.data)), func(t *testing.T) {
			_, est, err := scan(h.data, 0, unbounded.withDefaults())
			if err != nil {
				t.Fatal(err)
			}
			// Both readers: the one-pass one (build.go), and etree over
			// encoding/xml, which documents with exotic names still take.
			for _, fast := range []bool{true, false} {
				alloc, _, _ := parseAllocVia(h.data, unbounded, fast)
				t.Logf("one-pass %v: estimate/alloc %.3f", fast, float64(est)/float64(alloc))
				if uint64(est) < alloc {
					t.Errorf("one-pass %v: estimated %d bytes, Parse allocated %d (%.2f as much)", fast, est, alloc, float64(alloc)/float64(est))
				}
			}
		})
	}
}

// Real documents pass the defaults with room to spare: they are estimated
// at no more than 12 bytes of heap per byte (or per byte of HeapFloor),
// against a budget of 16.
func TestParse_RealisticDocumentsPass(t *testing.T) {
	type doc struct {
		name string
		data []byte
	}
	docs := []doc{
		{"realistic-sps", readFixture(t, "realistic-sps.xml")},
		{"realistic-sps-1000-items", realisticSPS(t, 1000)},
		{"realistic-sps-1000-items-compact", compact(realisticSPS(t, 1000))},
		{"sps-like-1000", spsLike(1000)},
	}
	// The examples every country's rules ship, where the repository has them.
	examples, _ := filepath.Glob(filepath.Join("..", "rules", "*", "examples", "*", "*.xml"))
	for _, f := range examples {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc{f, data})
	}
	for _, d := range docs {
		t.Run(d.name, func(t *testing.T) {
			if _, err := Parse(d.data, Limits{}); err != nil {
				t.Fatal(err)
			}
			_, est, err := scan(d.data, 0, Limits{}.withDefaults())
			if err != nil {
				t.Fatal(err)
			}
			elements := bytes.Count(d.data, []byte("<")) - bytes.Count(d.data, []byte("</")) - bytes.Count(d.data, []byte("<?"))
			ratio := float64(est) / float64(max(len(d.data), HeapFloor))
			t.Logf("%d bytes, %.1f elements/KB, estimated heap %.1f × its size, %.2f of the budget", len(d.data),
				float64(elements)*1024/float64(len(d.data)), float64(est)/float64(len(d.data)), ratio/DefaultMaxHeapRatio)
			if ratio > 12 {
				t.Errorf("estimated at %.1f × max(size, HeapFloor): too close to the budget of %d", ratio, DefaultMaxHeapRatio)
			}
		})
	}
}

// parseError reads again only the last stretch of a document the parser
// refused; it must still say what a read from the start says.
func TestParseError_ReadsOnlyTheEnd(t *testing.T) {
	lines := strings.Repeat("<a b='1'>text</a>\n", 20_000)
	tests := []struct {
		name string
		doc  string
	}{
		{"at the end", "<r>\n" + lines + "<c>&bad;</c></r>"},
		{"in the middle", "<r>\n" + lines[:len(lines)/2] + "<c>&bad;</c>" + lines[len(lines)/2:] + "</r>"},
		{"at the start", "<r>&bad;\n" + lines + "</r>"},
		{"at the end of a long text", "<r>\n" + lines + strings.Repeat("x", 5000) + "&bad;</r>"},
		{"after line breaks in values, which normalization removes", "<r>\n" + strings.Repeat("<a b='1\r\n2'/>\n", 2000) + "<c>&bad;</c></r>"},
		{"after a byte order mark", "\uFEFF<r>\n" + lines + "<c>&bad;</c></r>"},
		{"a bad character", "<r>\n" + lines + "<c>\x01</c></r>"},
		{"a bad name", "<r>\n" + lines + "<c d%='1'/></r>"},
		{"an unquoted value", "<r>\n" + lines + "<c d=1 e='2'/></r>"},
		{"a bad encoding", `<?xml version="1.0" encoding="ISO-8859-1"?>` + "<r>\n" + lines + "</r>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.doc)
			// Short elements, each with an attribute and text: more
			// than 16 bytes of heap per byte.
			_, err := Parse(data, Limits{MaxHeapRatio: 100})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v", err)
			}
			if want := readFromTheStart(data); !strings.Contains(err.Error(), want) {
				t.Errorf("err %q\ndoes not say %q", err, want)
			}
		})
	}
}

// readFromTheStart says where the decoder fails on data, read whole.
func readFromTheStart(data []byte) string {
	start := 0
	if bytes.HasPrefix(data, utf8BOM) {
		start = len(utf8BOM)
	}
	dec := xml.NewDecoder(bytes.NewReader(data[start:]))
	dec.CharsetReader = utf8Only
	for {
		_, err := dec.RawToken()
		if err == io.EOF {
			return "no error"
		}
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			return fmt.Sprintf("at line %d (near byte %d)", se.Line, int64(start)+dec.InputOffset())
		}
		if err != nil {
			return fmt.Sprintf("(near byte %d)", int64(start)+dec.InputOffset())
		}
	}
}

// The scan reads a start tag once, however many attributes it has: it
// used to look for the closing '>' again after each one.
func TestScan_LinearInAttributes(t *testing.T) {
	data := oneElement(1 << 20) // 100,000 attributes
	lim := oldLimits.withDefaults()
	start := time.Now()
	if _, _, err := scan(data, 0, lim); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

// walk's namespace stack is shared, not copied by every element that
// declares a prefix.
func TestParse_NamespaceDeclarationsCostNoCopies(t *testing.T) {
	head := `<r xmlns:p="u" xmlns:o="u">`
	for i := range DefaultMaxDepth - 2 {
		head += fmt.Sprintf(`<p:a xmlns:q%d="u">`, i)
	}
	tail := strings.Repeat("</p:a>", DefaultMaxDepth-2) + "</r>"
	lim := Limits{MaxNamespaces: 1000}
	cost := func(n int) uint64 {
		data := []byte(head + strings.Repeat(`<p:b xmlns:z="u"/>`, n) + tail)
		doc, err := Parse(data, lim)
		if err != nil {
			t.Fatal(err)
		}
		var stack []string
		runtime.GC()
		old := debug.SetGCPercent(-1)
		defer debug.SetGCPercent(old)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := walk(doc.Root(), lim.withDefaults(), new(int), &stack); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	if extra := cost(2000) - cost(1000); extra > 1000 {
		t.Errorf("1,000 more leaves declaring a prefix cost walk %d bytes", extra)
	}
}
