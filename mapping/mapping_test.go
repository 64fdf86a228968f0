package mapping

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/beevik/etree"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// mustLoad loads a rule file from testdata/.
func mustLoad(t testing.TB, name string) *Rules {
	t.Helper()
	r, err := Load(os.DirFS("testdata"), name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Headers for inline rule files: source → target.
const (
	jsonToXML  = "document: d\ndirection: outbound\nsource: {format: json}\ntarget: {format: xml, root: x:R, namespaces: {x: urn:x}}\n"
	jsonToJSON = "document: d\ndirection: outbound\nsource: {format: json}\ntarget: {format: json}\n"
	xmlToJSON  = "document: d\ndirection: inbound\nsource: {format: xml, namespaces: {x: urn:x, y: urn:y}}\ntarget: {format: json}\n"
	xmlToXML   = "document: d\ndirection: inbound\nsource: {format: xml, namespaces: {x: urn:x}}\ntarget: {format: xml, root: R}\n"
)

// inline builds a rule file system: rules.yaml plus the shared tables.
func inline(body string) fstest.MapFS {
	units, _ := os.ReadFile("testdata/tables/units.yaml")
	return fstest.MapFS{
		"rules.yaml":        {Data: []byte(body)},
		"tables/units.yaml": {Data: units},
	}
}

func mustLoadInline(t testing.TB, body string) *Rules {
	t.Helper()
	r, err := Load(inline(body), "rules.yaml")
	if err != nil {
		t.Fatalf("load:\n%v\n--- rules ---\n%s", err, body)
	}
	return r
}

// golden compares got with a file in testdata/, or rewrites it with -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	file = filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\n got %s\nwant %s", file, got, want)
	}
}

func mapBytes(t *testing.T, r *Rules, in []byte) []byte {
	t.Helper()
	out, err := r.Map(in)
	if err != nil {
		t.Fatalf("%s: %v", r.File(), err)
	}
	b, err := out.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// JSON → XML → JSON through the order fixture: constants, trim, defaults,
// tables both ways, dates across zones, case, attributes, [+], when,
// $index, nested groups, JSON types.
func TestMap_OrderRoundtrip(t *testing.T) {
	in, err := os.ReadFile("testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	xml := mapBytes(t, mustLoad(t, "orders.outbound.yaml"), in)
	golden(t, "order.golden.xml", xml)
	golden(t, "order.golden.json", mapBytes(t, mustLoad(t, "orders.inbound.yaml"), xml))
}

// The SPS-like fixture in every direction: native JSON → standard XML →
// native JSON (JSON↔XML), and standard XML → native XML → standard XML
// (XML↔XML), which must reproduce the standard document byte for byte.
func TestMap_SPSRoundtrips(t *testing.T) {
	in, err := os.ReadFile("testdata/sps/cert.json")
	if err != nil {
		t.Fatal(err)
	}
	sps := mapBytes(t, mustLoad(t, "sps/cert.outbound.yaml"), in)
	golden(t, "sps/cert.golden.xml", sps)

	t.Run("xml-to-json", func(t *testing.T) {
		golden(t, "sps/cert.golden.json", mapBytes(t, mustLoad(t, "sps/cert.inbound.yaml"), sps))
	})
	t.Run("xml-to-xml-and-back", func(t *testing.T) {
		native := mapBytes(t, mustLoad(t, "sps/native.inbound.yaml"), sps)
		golden(t, "sps/native.golden.xml", native)
		back := mapBytes(t, mustLoad(t, "sps/native.outbound.yaml"), native)
		if !bytes.Equal(back, sps) {
			t.Errorf("standard → native → standard changed the document:\n got %s\nwant %s", back, sps)
		}
	})
	t.Run("json-back-to-xml", func(t *testing.T) {
		// The native JSON that inbound produced maps to the same standard
		// document again.
		native := mapBytes(t, mustLoad(t, "sps/cert.inbound.yaml"), sps)
		again := mapBytes(t, mustLoad(t, "sps/cert.outbound.yaml"), native)
		if !bytes.Equal(again, sps) {
			t.Errorf("JSON → standard → JSON → standard changed the document:\n got %s\nwant %s", again, sps)
		}
	})
}

// Namespaces are matched by URI, whatever prefixes (or default namespace)
// the sender used.
func TestMap_XMLPrefixesByURI(t *testing.T) {
	r := mustLoad(t, "orders.inbound.yaml")
	want := `{"id":"A-1","buyer":{"country":"PE"},"lines":[{"product":"p"}]}`
	for _, in := range []string{
		`<Order xmlns="urn:example:order" xmlns:k="urn:example:common"><Header><k:ID>A-1</k:ID><k:Buyer country="PE"/></Header><Lines><Line><k:Product>p</k:Product></Line></Lines></Order>`,
		`<q:Order xmlns:q="urn:example:order"><q:Header><ID xmlns="urn:example:common">A-1</ID><Buyer xmlns="urn:example:common" country="PE"/></q:Header><q:Lines><q:Line><z:Product xmlns:z="urn:example:common">p</z:Product></q:Line></q:Lines></q:Order>`,
	} {
		out, err := r.Map([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if string(out.JSON) != want {
			t.Errorf("got %s, want %s", out.JSON, want)
		}
	}
}

// MapElement maps a subtree of an already parsed document (the inbound
// path parses once, verifies the signature, then maps): paths are relative
// to the element and namespaces declared on its ancestors count.
func TestMapElement(t *testing.T) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(`<env:Envelope xmlns:env="urn:env" xmlns:x="urn:x"><env:Body><x:Doc><x:ID>7</x:ID></x:Doc></env:Body></env:Envelope>`); err != nil {
		t.Fatal(err)
	}
	body := doc.FindElement("//x:Doc")
	r := mustLoadInline(t, strings.Replace(xmlToJSON, "format: xml,", "format: xml, root: x:Doc,", 1)+"fields:\n  - {target: id, source: x:ID}\n")
	out, err := r.MapElement(body)
	if err != nil {
		t.Fatal(err)
	}
	if string(out.JSON) != `{"id":"7"}` {
		t.Errorf("got %s", out.JSON)
	}
	if _, err := r.MapElement(doc.Root()); err == nil || !strings.Contains(err.Error(), "root element is {urn:env}Envelope, want {urn:x}Doc") {
		t.Errorf("wrong root: %v", err)
	}
	if _, err := r.MapElement(nil); err == nil {
		t.Error("nil root accepted")
	}
	if _, err := mustLoad(t, "orders.outbound.yaml").MapElement(body); err == nil || !strings.Contains(err.Error(), "source format is json") {
		t.Errorf("JSON rules mapped an element: %v", err)
	}
}

func TestRules_Accessors(t *testing.T) {
	r := mustLoad(t, "sps/cert.outbound.yaml")
	if r.Document() != "sps" || r.Direction() != "outbound" || r.File() != "sps/cert.outbound.yaml" {
		t.Errorf("Document %q Direction %q File %q", r.Document(), r.Direction(), r.File())
	}
}

// LoadFile resolves table files relative to the rule file, including
// ../ into a sibling directory.
func TestLoadFile_SiblingTables(t *testing.T) {
	r, err := LoadFile(filepath.Join("testdata", "sps", "cert.outbound.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := os.ReadFile("testdata/sps/cert.json")
	mapBytes(t, r, in)
	if _, err := LoadFile("testdata/none.yaml"); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

// Compiled rules are shared by concurrent requests.
func TestMap_Concurrent(t *testing.T) {
	r := mustLoad(t, "sps/cert.outbound.yaml")
	in, _ := os.ReadFile("testdata/sps/cert.json")
	want := mapBytes(t, r, in)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				out, err := r.Map(in)
				if err != nil {
					t.Error(err)
					return
				}
				if got, _ := out.Bytes(); !bytes.Equal(got, want) {
					t.Errorf("concurrent output differs: %s", got)
					return
				}
			}
		}()
	}
	wg.Wait()
}
