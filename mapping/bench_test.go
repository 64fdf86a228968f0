package mapping

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vucelink/vucelink/xmlsafe"
)

// certificate builds a native JSON certificate with n line items, each with
// two packages, in the shape of testdata/sps/cert.json.
func certificate(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"certificado":{"numero":"PE-2026-000123","fechaEmision":"25/11/2026 09:30","paisOrigen":"Perú","paisDestino":"México",` +
		`"observaciones":[{"tipo":"tratamiento","texto":"Fumigado"}]},"exportador":{"nombre":"Agrícola S.A.C.","pais":"Peru"},"productos":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"descripcion":"Paltas Hass lote %d","peso":%d.50,"unidad":"kg","bultos":[{"tipo":"bx","cantidad":%d},{"tipo":"pk","cantidad":2}]}`, i, i+1, i+1)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// benchSizes are the item counts every benchmark runs: ns/item staying
// flat across them is what "linear in the number of items" means.
var benchSizes = []int{10, 100, 1000}

// BenchmarkMap maps certificates of 10, 100 and 1,000 line items in each
// direction. b.SetBytes reports the input's throughput; ns/item the cost
// of one line item (with its two packages).
func BenchmarkMap(b *testing.B) {
	outbound := mustLoad(b, "sps/cert.outbound.yaml")
	inbound := mustLoad(b, "sps/cert.inbound.yaml")
	native := mustLoad(b, "sps/native.inbound.yaml")
	for _, n := range benchSizes {
		jsonIn := certificate(n)
		o, err := outbound.Map(jsonIn)
		if err != nil {
			b.Fatal(err)
		}
		xmlIn, err := o.Bytes()
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name  string
			rules *Rules
			in    []byte
		}{
			{"json-to-xml", outbound, jsonIn},
			{"xml-to-json", inbound, xmlIn},
			{"xml-to-xml", native, xmlIn},
		} {
			b.Run(fmt.Sprintf("%s/items=%d", c.name, n), func(b *testing.B) {
				benchMap(b, c.rules.Map, c.in, n)
			})
		}
	}
}

func benchMap(b *testing.B, mapFn func([]byte) (*Output, error), in []byte, n int) {
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := mapFn(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := out.Bytes(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/item")
}

// consignment builds the complete fixture's native JSON with n products,
// ten per shipment, each with two packages.
func consignment(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"certificado":{"numero":"CL-2026-0042","fecha":"25/11/2026 09:30","paisOrigen":"Chile","paisDestino":"México",` +
		`"observaciones":"Libre de tierra; Inspeccionado en origen","referencia":"LOTE-7/2026/B"},` +
		`"partes":[{"tipo":"importador","nombre":"Importadora Azteca","direccion":{"calle":"Calle 5","ciudad":"CDMX"}},` +
		`{"tipo":"exportador","nombre":"Frutas del Sur","email":"d@f.cl","direccion":{"calle":"Av. 742","ciudad":"Rancagua"}}],` +
		`"tratamientos":[{"producto":"bromuro"},{"producto":"frío"}],"embarques":[`)
	for i := range n {
		switch {
		case i%10 == 0 && i > 0:
			b.WriteString(`]},{"productos":[`)
		case i == 0:
			b.WriteString(`{"productos":[`)
		default:
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"descripcion":"Uvas %d","variedad":"Red Globe","peso":"1.%03d,50","bultos":[{"tipo":"caja","cantidad":%d},{"tipo":"pallet","cantidad":2}]}`, i, i%1000, i+1)
	}
	b.WriteString("]}]}")
	return []byte(b.String())
}

// BenchmarkMapFeatures maps the complete fixture — expressions, when:
// expressions, predicates, $root from nested groups, number formats,
// tables in files, split, join, concat, local values — both ways, and
// with explanations.
func BenchmarkMapFeatures(b *testing.B) {
	outbound := mustLoad(b, "complete/consignment.outbound.yaml")
	inbound := mustLoad(b, "complete/consignment.inbound.yaml")
	for _, n := range benchSizes {
		jsonIn := consignment(n)
		o, err := outbound.Map(jsonIn)
		if err != nil {
			b.Fatal(err)
		}
		xmlIn, err := o.Bytes()
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name string
			fn   func([]byte) (*Output, error)
			in   []byte
		}{
			{"json-to-xml", outbound.Map, jsonIn},
			{"xml-to-json", inbound.Map, xmlIn},
			{"json-to-xml-explain", outbound.MapExplain, jsonIn},
		} {
			b.Run(fmt.Sprintf("%s/items=%d", c.name, n), func(b *testing.B) {
				benchMap(b, c.fn, c.in, n)
			})
		}
	}
}

// Mapping stays linear in the number of items: allocations per item at
// 1,000 items are those at 100, within a margin, for the plain rules and
// for the rules using every feature (a rule re-reading $root, or a lookup
// scanning all items, per item would grow them).
func TestMap_LinearInItems(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: maps 1,000-item documents")
	}
	for _, c := range []struct {
		rules string
		build func(int) []byte
	}{
		{"sps/cert.outbound.yaml", certificate},
		{"complete/consignment.outbound.yaml", consignment},
	} {
		r := mustLoad(t, c.rules)
		perItem := func(n int) float64 {
			in := c.build(n)
			return testing.AllocsPerRun(3, func() {
				if _, err := r.Map(in); err != nil {
					t.Fatal(err)
				}
			}) / float64(n)
		}
		small, large := perItem(100), perItem(1000)
		if large > small*1.1 {
			t.Errorf("%s: %.1f allocations per item at 1,000 items, %.1f at 100", c.rules, large, small)
		}
	}
}

// FuzzMap feeds arbitrary JSON and XML to rules that use every feature.
// Whatever the input, Map must not panic, and what it produces must
// serialize and map back.
func FuzzMap(f *testing.F) {
	jsonRules := mustLoad(f, "sps/cert.outbound.yaml")
	xmlRules := mustLoad(f, "sps/cert.inbound.yaml")
	xmlToXMLRules := mustLoad(f, "sps/native.outbound.yaml")
	// Expressions, predicates, $root, numbers, split and join.
	completeOut := mustLoad(f, "complete/consignment.outbound.yaml")
	completeIn := mustLoad(f, "complete/consignment.inbound.yaml")
	// copy: of an embedded document, and a section.
	copyOut := mustLoad(f, "copy/signed.outbound.yaml")
	for _, name := range []string{"sps/cert.json", "order.json", "complete/consignment.json", "copy/signed.json"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false)
	}
	for _, name := range []string{"sps/cert.golden.xml", "sps/native.golden.xml", "order.golden.xml", "hostile/xxe.xml", "complete/consignment.golden.xml"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, true)
	}
	f.Add([]byte(`{"productos":{"descripcion":"x","bultos":[null,{"tipo":"\u0000"}]}}`), false)
	f.Add([]byte(`{"texto":"<e xmlns:x=\"urn:x\" xmlns=\"urn:d\"><x:a k=\"v\"/></e>","v":"1","l":["a"],"sello":"S"}`), false)
	f.Fuzz(func(t *testing.T, data []byte, asXML bool) {
		rules := []*Rules{jsonRules, completeOut, copyOut}
		if asXML {
			rules = []*Rules{xmlRules, xmlToXMLRules, completeIn}
		}
		for _, r := range rules {
			out, err := r.Map(data)
			if err != nil {
				if out != nil {
					t.Fatalf("output and error: %v", err)
				}
				continue
			}
			b, err := out.Bytes()
			if err != nil {
				t.Fatalf("mapped but cannot serialize: %v", err)
			}
			if out.XML != nil {
				// Whatever the standard XML holds must be readable XML,
				// every prefix in it declared (copies bring theirs along):
				// Parse refuses an undeclared one.
				if _, err := xmlsafe.Parse(b, xmlsafe.Limits{}); err != nil {
					t.Fatalf("output is not namespace-well-formed XML: %v\n%s", err, b)
				}
			} else if _, err := jsonRules.Map(b); err != nil && !isFieldErrors(err) {
				t.Fatalf("output is not valid JSON: %v\n%s", err, b)
			}
		}
	})
}

func isFieldErrors(err error) bool {
	_, ok := err.(Errors)
	return ok
}
