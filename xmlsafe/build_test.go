package xmlsafe

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// buildAgrees checks build against etree over encoding/xml (decode) on
// data: whatever build accepts, decode reads into the same tree, token for
// token; whatever build refuses, decode refuses too (or the document
// would be read twice, which the heap estimate does not cover); and the
// depth limit holds alike. FuzzParse runs it on every input.
func buildAgrees(t *testing.T, data []byte, lim Limits) {
	t.Helper()
	lim = lim.withDefaults()
	start := 0
	if bytes.HasPrefix(data, utf8BOM) {
		start = len(utf8BOM)
	}
	s, err := scanned(data, start, lim)
	if err != nil || s.exotic {
		return
	}
	built, failAt, berr := build(data, start, lim)
	decoded, derr := decode(data, start, s.tags, lim)
	if derr == nil {
		// build does check's work as it reads: the same verdict, in the
		// same words (but for its own errors, which come first).
		cerr := check(decoded, lim)
		switch {
		case built != nil && cerr != nil:
			t.Fatalf("build accepts what check refuses (%v): %q", cerr, data)
		case berr != nil && cerr == nil && !errors.Is(berr, ErrTooDeep):
			t.Fatalf("build refuses (%v) what check accepts: %q", berr, data)
		case berr != nil && cerr != nil && !errors.Is(berr, ErrTooDeep) && !strings.Contains(berr.Error(), " repeated on ") && berr.Error() != cerr.Error():
			t.Fatalf("build: %v; check: %v\n%q", berr, cerr, data)
		}
	}
	if derr == nil && berr != nil && !errors.Is(berr, ErrTooDeep) {
		derr = check(decoded, lim) // a repeated attribute: refused after decode
	}
	switch {
	case built != nil && derr != nil:
		t.Fatalf("build reads what encoding/xml refuses (%v): %q", derr, data)
	case built != nil:
		if diff := sameTree(&built.Element, &decoded.Element, "doc"); diff != "" {
			t.Fatalf("build and encoding/xml read differently: %s\n%q", diff, data)
		}
	case berr != nil:
		if derr == nil || errors.Is(berr, ErrTooDeep) != errors.Is(derr, ErrTooDeep) {
			t.Fatalf("build: %v; encoding/xml: %v\n%q", berr, derr, data)
		}
	case derr == nil:
		t.Fatalf("build refuses (at byte %d) what encoding/xml reads: %q", failAt, data)
	}
}

// sameTree compares two trees token by token, etree's links included.
func sameTree(a, b *etree.Element, path string) string {
	if a.Space != b.Space || a.Tag != b.Tag {
		return fmt.Sprintf("%s: <%s> vs <%s>", path, a.FullTag(), b.FullTag())
	}
	path += "/" + a.FullTag()
	if len(a.Attr) != len(b.Attr) {
		return fmt.Sprintf("%s: %d attributes vs %d", path, len(a.Attr), len(b.Attr))
	}
	for i := range a.Attr {
		x, y := a.Attr[i], b.Attr[i]
		if x.Space != y.Space || x.Key != y.Key || x.Value != y.Value || x.Element() != a {
			return fmt.Sprintf("%s: attribute %d: %s=%q vs %s=%q", path, i, x.FullKey(), x.Value, y.FullKey(), y.Value)
		}
	}
	if len(a.Child) != len(b.Child) {
		return fmt.Sprintf("%s: %d children vs %d", path, len(a.Child), len(b.Child))
	}
	for i := range a.Child {
		x, y := a.Child[i], b.Child[i]
		if x.Parent() != a || x.Index() != i {
			return fmt.Sprintf("%s: child %d is not linked to its parent", path, i)
		}
		switch x := x.(type) {
		case *etree.Element:
			y, ok := y.(*etree.Element)
			if !ok {
				return fmt.Sprintf("%s: child %d: element vs %T", path, i, b.Child[i])
			}
			if d := sameTree(x, y, path); d != "" {
				return d
			}
		case *etree.CharData:
			y, ok := y.(*etree.CharData)
			if !ok || x.Data != y.Data || x.IsWhitespace() != y.IsWhitespace() || x.IsCData() != y.IsCData() {
				return fmt.Sprintf("%s: child %d: text %q vs %#v", path, i, x.Data, b.Child[i])
			}
		case *etree.Comment:
			y, ok := y.(*etree.Comment)
			if !ok || x.Data != y.Data {
				return fmt.Sprintf("%s: child %d: comment %q vs %#v", path, i, x.Data, b.Child[i])
			}
		case *etree.ProcInst:
			y, ok := y.(*etree.ProcInst)
			if !ok || x.Target != y.Target || x.Inst != y.Inst {
				return fmt.Sprintf("%s: child %d: PI %q %q vs %#v", path, i, x.Target, x.Inst, b.Child[i])
			}
		default:
			return fmt.Sprintf("%s: child %d: unexpected %T", path, i, x)
		}
	}
	return ""
}

// The corners where a hand-written reader most easily departs from
// encoding/xml, each read both ways.
func TestBuild_AgreesWithEncodingXML(t *testing.T) {
	for _, doc := range []string{
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c -->\n<?pi   data ?>\n<r/>\n",
		"<?xml version='1.0' encoding='utf8' standalone='yes'?><r/>",
		"<?xml version=\"1.1\"?><r/>",
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>",
		"<r a = \"1\"\tb\n=\n'2'  ><x/ ></r>",
		"<r a=\"1\"b=\"2\"/>",
		"<r a=\"x\ty\r\nz\rw\n\"/>",
		"<r a=\"&#9;&#10;&#13;&lt;&gt;&amp;&apos;&quot;]]>\"/>",
		"<r>a\r\nb\rc\r\r\nd&#13;&#xd;&#x10FFFF;&#xD800;</r>",
		"<r>&#0;</r>",
		"<r>&#x41;&#65;</r>",
		"<r>&#X41;</r>",
		"<r>&#x0000000000041;</r>",
		"<r>&unknown;</r>",
		"<r>&amp</r>",
		"<r>x]]>y</r>",
		"<r>x]]y]>z</r>",
		"<r><![CDATA[a\r\nb]]]]><![CDATA[>]]></r>",
		"<r><!----><!-- a - b --><!-- x -- y --></r>",
		"<r><!--a---></r>",
		"<r><?p?><?p\tq ?><?x:y z?></r>",
		"<p:r xmlns:p=\"urn:p\"><p:a p:b=\"1\"/></p:r >",
		"<r><a:b:c/></r>",
		"<r><_a/><a.b-c/><:a/><a:/></r>",
		"<r><1a/></r>",
		"<r><-a/></r>",
		"<r>\x01</r>",
		"<r>\xff</r>",
		"<r a=\"\xef\xbf\xbe\"/>",
		"<r>\t \n</r>",
		"<r><![CDATA[ ]]></r>",
		"\xef\xbb\xbf<r/>",
		"<r/><!-- after --><?after?>\n",
		"<r></r >",
		"<r></r\t>",
		"<r><a></b></r>",
	} {
		t.Run(fmt.Sprintf("%q", doc), func(t *testing.T) {
			buildAgrees(t, []byte(doc), Limits{})
		})
	}
	for _, n := range []int{1, 100} {
		buildAgrees(t, spsLike(n), Limits{})
	}
	buildAgrees(t, readFixture(t, "realistic-sps.xml"), Limits{})
}

func TestRootEnd(t *testing.T) {
	for _, c := range []struct {
		doc   string
		at    int
		empty bool
	}{
		{"<r><a/></r>", 7, false},
		{"\xef\xbb\xbf<r/>", 5, true},
		{"<?xml version='1.0'?><r a='/>'/><!-- </r> -->", 30, true},
		{"<r><![CDATA[</r>]]></r >\n<?p </r>?>", 19, false},
	} {
		at, empty, err := RootEnd([]byte(c.doc), Limits{})
		if err != nil || at != c.at || empty != c.empty {
			t.Errorf("%q: %d %v %v, want %d %v", c.doc, at, empty, err, c.at, c.empty)
		}
	}
}
