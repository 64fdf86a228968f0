package mapping

import (
	"fmt"
	"os"
	"strings"
	"testing"
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

// BenchmarkMap maps certificates of 10 and 1,000 line items in each
// direction. b.SetBytes reports the input's throughput.
func BenchmarkMap(b *testing.B) {
	outbound := mustLoad(b, "sps/cert.outbound.yaml")
	inbound := mustLoad(b, "sps/cert.inbound.yaml")
	native := mustLoad(b, "sps/native.inbound.yaml")
	for _, n := range []int{10, 1000} {
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
				b.SetBytes(int64(len(c.in)))
				b.ReportAllocs()
				for b.Loop() {
					out, err := c.rules.Map(c.in)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := out.Bytes(); err != nil {
						b.Fatal(err)
					}
				}
			})
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
	for _, name := range []string{"sps/cert.json", "order.json"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false)
	}
	for _, name := range []string{"sps/cert.golden.xml", "sps/native.golden.xml", "order.golden.xml", "hostile/xxe.xml"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, true)
	}
	f.Add([]byte(`{"productos":{"descripcion":"x","bultos":[null,{"tipo":"\u0000"}]}}`), false)
	f.Fuzz(func(t *testing.T, data []byte, asXML bool) {
		rules := []*Rules{jsonRules}
		if asXML {
			rules = []*Rules{xmlRules, xmlToXMLRules}
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
				// Whatever the standard XML holds must be readable XML.
				if _, err := xmlRules.Map(b); err != nil && !isFieldErrors(err) {
					t.Fatalf("output is not parseable XML: %v\n%s", err, b)
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
