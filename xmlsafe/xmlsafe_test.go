package xmlsafe

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParse_RejectsHostileDocuments(t *testing.T) {
	tests := []struct {
		file  string
		lim   Limits
		want  error
		where string // a substring the error must contain: where, or what
	}{
		{"billion-laughs.xml", Limits{}, ErrEntity, "<!ENTITY at byte 40, in the DOCTYPE at byte 22"},
		{"xxe-file.xml", Limits{}, ErrEntity, "in the DOCTYPE at byte 22"},
		{"parameter-entity.xml", Limits{}, ErrEntity, "<!ENTITY at byte 22"},
		{"parameter-entity-in-dtd.xml", Limits{}, ErrEntity, "in the DOCTYPE at byte 22"},
		{"doctype-only.xml", Limits{}, ErrDTD, "<!DOCTYPE at byte 22"},
		{"doctype-external.xml", Limits{}, ErrDTD, "<!DOCTYPE at byte 22"},
		{"doctype-lowercase.xml", Limits{}, ErrDTD, `"<!doctype" at byte 0`},
		{"bom-doctype.xml", Limits{}, ErrDTD, "<!DOCTYPE at byte 25"},
		{"element-declaration.xml", Limits{}, ErrDTD, `"<!ELEMENT" at byte 22`},
		{"attlist.xml", Limits{}, ErrDTD, `"<!ATTLIST"`},
		{"conditional-section.xml", Limits{}, ErrDTD, `"<!" at byte 3`},
		{"undefined-entity.xml", Limits{}, ErrMalformed, "undefined entity reference &nope; (only"},
		{"undefined-entity-in-attribute.xml", Limits{}, ErrMalformed, "undefined entity reference &xxe;"},
		{"deep.xml", Limits{MaxDepth: 10}, ErrTooDeep, "deeper than 10 at byte 30"},
		{"end-tag-first.xml", Limits{MaxDepth: 2}, ErrMalformed, "end tag without a start tag at byte 0"},
		{"many.xml", Limits{MaxElements: 5}, ErrTooManyElements, "more than 5, the last at byte 19"},
		{"benign.xml", Limits{MaxBytes: 100}, ErrTooLarge, "limit 100"},
		{"unterminated-comment.xml", Limits{}, ErrMalformed, "unterminated comment at byte 3"},
		{"mismatched-end-tag.xml", Limits{}, ErrMalformed, "</r> at byte 6, but <a> is open"},
		{"unclosed.xml", Limits{}, ErrMalformed, "<a> is never closed"},
		{"two-roots.xml", Limits{}, ErrMalformed, "a second root element <r>"},
		{"text-after-root.xml", Limits{}, ErrMalformed, "text outside the root"},
		{"duplicate-attribute.xml", Limits{}, ErrMalformed, "attribute unitCode repeated on <w>"},
		{"utf16.xml", Limits{}, ErrMalformed, "UTF-16"},
		{"encoding-latin1.xml", Limits{}, ErrMalformed, `encoding "ISO-8859-1" is not supported`},
		{"not-xml.txt", Limits{}, ErrMalformed, ""},
		{"undeclared-prefix.xml", Limits{}, ErrMalformed, `prefix "A" of /r/e/A:0 is not declared (no xmlns:A in scope)`},
		{"undeclared-attribute-prefix.xml", Limits{}, ErrMalformed, `prefix "y" of attribute y:k on /r/x:a is not declared`},
		{"prefix-out-of-scope.xml", Limits{}, ErrMalformed, `prefix "p" of /r/p:b is not declared`},
		{"prefix-undeclared.xml", Limits{}, ErrMalformed, `xmlns:p="" on /r/a: a prefix cannot be undeclared`},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, filepath.Ext(tt.file)), func(t *testing.T) {
			doc, err := Parse(readFixture(t, tt.file), tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if n := sentinels(err); n != 1 {
				t.Errorf("err %v wraps %d sentinels, want 1", err, n)
			}
			if !strings.Contains(err.Error(), tt.where) {
				t.Errorf("err %q does not say %q", err, tt.where)
			}
			if doc != nil {
				t.Error("a tree was returned with the error")
			}
		})
	}
}

func sentinels(err error) int {
	n := 0
	for _, s := range []error{ErrDTD, ErrEntity, ErrTooLarge, ErrTooDeep, ErrTooManyElements, ErrTooManyAttrs, ErrMalformed} {
		if errors.Is(err, s) {
			n++
		}
	}
	return n
}

func TestParse_AcceptsBenignDocuments(t *testing.T) {
	tests := []struct {
		file string
		text string // the text of the root's first child element
	}{
		// "<!DOCTYPE" and "<!ENTITY" inside comments, CDATA sections,
		// processing instructions and attribute values are only text.
		{"benign.xml", `<!DOCTYPE not-a-dtd> <!ENTITY nor-this "x">`},
		{"benign-pi.xml", ""},
		{"bom.xml", ""},
		// Prefixes declared on the element itself or an ancestor; xml:
		// needs no declaration.
		{"namespace-scopes.xml", ""},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".xml"), func(t *testing.T) {
			doc, err := Parse(readFixture(t, tt.file), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Root().Tag != "doc" {
				t.Errorf("root %q", doc.Root().Tag)
			}
			if kids := doc.Root().ChildElements(); len(kids) > 0 && kids[0].Text() != tt.text {
				t.Errorf("text %q, want %q", kids[0].Text(), tt.text)
			}
		})
	}
}

func TestParse_LimitsAreInclusive(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		lim  Limits
		want error
	}{
		{"depth at the limit", "<a><b><c/></b></a>", Limits{MaxDepth: 3}, nil},
		{"depth over the limit", "<a><b><c><d/></c></b></a>", Limits{MaxDepth: 3}, ErrTooDeep},
		{"self-closing leaf does not nest", "<a><b/><b/></a>", Limits{MaxDepth: 1}, ErrTooDeep},
		// A name build does not read: etree over encoding/xml bounds the
		// self-closing leaf, which the scan leaves to the parser.
		{"self-closing leaf, encoding/xml's path", "<é><b/></é>", Limits{MaxDepth: 1}, ErrTooDeep},
		{"self-closing leaf at the limit, encoding/xml's path", "<é><b/></é>", Limits{MaxDepth: 2}, nil},
		{"elements at the limit", "<a><b/><b/></a>", Limits{MaxElements: 3}, nil},
		{"elements over the limit", "<a><b/><b/><b/></a>", Limits{MaxElements: 3}, ErrTooManyElements},
		{"bytes at the limit", "<a/>", Limits{MaxBytes: 4}, nil},
		{"bytes over the limit", "<a/> ", Limits{MaxBytes: 4}, ErrTooLarge},
		{"'>' inside attribute values", `<a x="<b>" y='>'><c/></a>`, Limits{MaxElements: 2}, ErrMalformed}, // '<' in a value is not XML
		{"quotes inside attribute values", `<a x="it's" y='say "hi"'><c/></a>`, Limits{MaxElements: 2}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), tt.lim)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// Attribute values read as a conformant parser (libxml2, Java) reads them,
// or a signature over them would verify on one side only.
func TestParse_NormalizesAttributeWhitespace(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"tab", "<r a=\"x\ty\"/>", "x y"},
		{"line feed", "<r a=\"x\ny\"/>", "x y"},
		{"CR LF is one space", "<r a=\"x\r\ny\"/>", "x y"},
		{"lone CR", "<r a=\"x\ry\"/>", "x y"},
		{"single quotes", "<r a='x\n\ty'/>", "x  y"},
		{"character references are kept", `<r a="x&#10;&#9;&#13;y"/>`, "x\n\t\ry"},
		{"breaks between attributes are not values", "<r\n\tb=\"1\"\n\ta=\"x\ny\"\n/>", "x y"},
		{"'>' inside the value", "<r a=\"1 > 0\n\"/>", "1 > 0 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Parse([]byte(tt.doc), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if got := doc.Root().SelectAttrValue("a", "?"); got != tt.want {
				t.Errorf("a = %q, want %q", got, tt.want)
			}
		})
	}
	doc, err := Parse([]byte("<r a=\"x\ny\">keep\ttext\r\nas is</r>"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Root().Text(); got != "keep\ttext\nas is" {
		t.Errorf("text %q: only attribute values are normalized", got)
	}
}

// A hostile nesting depth must fail fast in the scan, not in a recursive
// descent somewhere later.
func TestParse_DeepNestingFailsFast(t *testing.T) {
	data := bytes.Repeat([]byte("<a>"), 5_000_000)
	start := time.Now()
	_, err := Parse(data, Limits{MaxBytes: 1 << 30})
	if !errors.Is(err, ErrTooDeep) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

func TestReadAll(t *testing.T) {
	tests := []struct {
		in   string
		max  int64
		want error
	}{
		{strings.Repeat("x", 10), 10, nil},
		{strings.Repeat("x", 11), 10, ErrTooLarge},
		{"", 10, nil},
	}
	for _, tt := range tests {
		b, err := ReadAll(strings.NewReader(tt.in), Limits{MaxBytes: tt.max})
		if !errors.Is(err, tt.want) || (tt.want == nil && (err != nil || string(b) != tt.in)) {
			t.Errorf("%d bytes with limit %d: %q, %v", len(tt.in), tt.max, b, err)
		}
	}
}

// FuzzParse checks the package's promises on arbitrary input: no panic; an
// error comes alone and wraps exactly one sentinel; an accepted document
// has one root, no declaration anywhere, and fits its limits; and the
// one-pass reader agrees with encoding/xml (buildAgrees).
//
//	go test -run xxx -fuzz FuzzParse -fuzztime 30s ./xmlsafe/
func FuzzParse(f *testing.F) {
	files, _ := os.ReadDir("testdata")
	for _, file := range files {
		if !file.IsDir() { // testdata/fuzz holds the fuzzer's own finds
			f.Add(readFixture(f, file.Name()))
		}
	}
	for _, s := range []string{"<a/>", "<a><b x='>'/></a>", "<a><![CDATA[<!DOCTYPE]]></a>", "<?xml version='1.0'?><a/>", "<a>&amp;&#x41;</a>"} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxBytes: 1 << 16, MaxDepth: 16, MaxElements: 200, MaxAttrs: 8, MaxNamespaces: 4, MaxNameLen: 32}
	f.Fuzz(func(t *testing.T, data []byte) {
		buildAgrees(t, data, lim)
		doc, err := Parse(data, lim)
		if err != nil {
			if doc != nil {
				t.Fatal("a tree was returned with the error")
			}
			if n := sentinels(err); n != 1 {
				t.Fatalf("err %v wraps %d sentinels", err, n)
			}
			return
		}
		roots := 0
		for _, tok := range doc.Child {
			switch tok.(type) {
			case *etree.Element:
				roots++
			case *etree.Directive:
				t.Fatalf("accepted a declaration: %q", data)
			}
		}
		if roots != 1 {
			t.Fatalf("accepted %d root elements", roots)
		}
		elements := 0
		var visit func(e *etree.Element, depth int)
		visit = func(e *etree.Element, depth int) {
			elements++
			if depth > lim.MaxDepth {
				t.Fatalf("accepted depth %d", depth)
			}
			if len(e.Attr) > lim.MaxAttrs {
				t.Fatalf("accepted %d attributes", len(e.Attr))
			}
			if len(e.FullTag()) > lim.MaxNameLen {
				t.Fatalf("accepted <%s>", e.FullTag())
			}
			for _, a := range e.Attr {
				if len(a.FullKey()) > lim.MaxNameLen {
					t.Fatalf("accepted attribute %s", a.FullKey())
				}
			}
			for _, tok := range e.Child {
				switch c := tok.(type) {
				case *etree.Element:
					visit(c, depth+1)
				case *etree.Directive:
					t.Fatalf("accepted a declaration: %q", data)
				}
			}
		}
		visit(doc.Root(), 1)
		if elements > lim.MaxElements {
			t.Fatalf("accepted %d elements", elements)
		}
	})
}

// spsLike is a synthetic certificate with n line items: the shape and
// density of markup the node parses most.
func spsLike(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	sb.WriteString(`<rsm:SPSCertificate xmlns:rsm="urn:un:unece:uncefact:data:standard:SPSCertificate:11" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:14"><rsm:SPSConsignment>`)
	for range n {
		sb.WriteString(`<ram:IncludedSPSTradeLineItem><ram:SequenceNumeric>1</ram:SequenceNumeric><ram:Description languageID="es">Uva de mesa &amp; cerezas</ram:Description>` +
			`<ram:NetWeightMeasure unitCode="KGM">1250.5</ram:NetWeightMeasure><!-- lot 7 --><ram:ScientificName>Vitis vinifera</ram:ScientificName></ram:IncludedSPSTradeLineItem>`)
	}
	sb.WriteString(`</rsm:SPSConsignment></rsm:SPSCertificate>`)
	return []byte(sb.String())
}

// BenchmarkParse compares the pre-scan with the whole Parse (scan included),
// with etree alone, and with Parse on etree over encoding/xml: the scan
// must stay a small share of parsing.
func BenchmarkParse(b *testing.B) {
	data := spsLike(1000)
	lim := Limits{}.withDefaults()
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, _, err := scan(data, 0, lim); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("etree", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := etree.NewDocument().ReadFromBytes(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Parse(data, Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Parse as it was before the one-pass reader (build.go), and as it
	// still reads documents with exotic names: etree over encoding/xml.
	b.Run("parse-encoding-xml", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := parse(data, Limits{}, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}
