package mapping

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func mustLoad(t testing.TB, name string) *Rules {
	t.Helper()
	r, err := Load(os.DirFS("testdata"), name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		os.WriteFile(file, got, 0o644)
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\n got %s\nwant %s", file, got, want)
	}
}

// JSON → XML → JSON through every feature: constants, trim, defaults,
// tables both ways, dates across zones, case, attributes, [+], when,
// $index, nested groups, JSON types.
func TestMap_Roundtrip(t *testing.T) {
	in, _ := os.ReadFile("testdata/order.json")
	out, err := mustLoad(t, "orders.outbound.yaml").Map(in)
	if err != nil {
		t.Fatal(err)
	}
	xml, _ := out.Bytes()
	golden(t, "testdata/order.golden.xml", xml)

	back, err := mustLoad(t, "orders.inbound.yaml").Map(xml)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/order.golden.json", back.JSON)
}

func TestMap_FieldErrors(t *testing.T) {
	r := mustLoad(t, "orders.outbound.yaml")
	tests := []struct {
		name  string
		input string
		want  []string
		is    error
	}{
		{"required missing", `{"lines":[{"product":"x"}]}`, []string{"o:Header/c:ID (from id, rule line"}, ErrRequired},
		{"required group empty", `{"id":"1","lines":[]}`, []string{"o:Lines/o:Line", "at least one item"}, ErrRequired},
		{"unknown code names table and value", `{"id":"1","lines":[{"product":"x","unit":"lb"}]}`,
			[]string{`o:Lines/o:Line[1]/c:Qty/@unit (from lines[1]/unit`, `"lb" is not in table unit`}, ErrUnknownCode},
		{"bad date", `{"id":"1","issued":"2026-11-25","lines":[{"product":"x"}]}`, []string{"o:Header/c:Issued", "does not match the date pattern"}, ErrBadValue},
		{"object where a value is expected", `{"id":{"x":1},"lines":[{"product":"x"}]}`, []string{"found a JSON object"}, ErrBadValue},
		{"every error at once", `{"issued":"x","lines":[{"unit":"lb"},{}]}`,
			[]string{"c:ID", "c:Issued", "o:Lines/o:Line[1]/c:Product", "o:Lines/o:Line[2]/c:Product", "lb"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := r.Map([]byte(tt.input))
			if err == nil || out != nil {
				t.Fatalf("got output %v, err %v", out, err)
			}
			var fe Errors
			if !errors.As(err, &fe) {
				t.Fatalf("err %T %v, want Errors", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			if tt.is != nil && !errors.Is(fe[0], tt.is) {
				t.Errorf("first error %v is not %v", fe[0], tt.is)
			}
		})
	}
	// "every error at once" reports all five problems, not the first.
	_, err := r.Map([]byte(`{"issued":"x","lines":[{"unit":"lb"},{}]}`))
	var fe Errors
	errors.As(err, &fe)
	if len(fe) != 5 {
		t.Errorf("%d errors, want 5: %v", len(fe), err)
	}
}

func TestMap_BadInput(t *testing.T) {
	tests := []struct {
		rules, input, want string
	}{
		{"orders.outbound.yaml", `not json`, "not valid JSON"},
		{"orders.outbound.yaml", `[1,2]`, "must be a JSON object"},
		{"orders.outbound.yaml", `{"id":"1"} {"id":"2"}`, "data after the JSON value"},
		{"orders.inbound.yaml", `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><o:Order xmlns:o="urn:example:order"/>`, "entity declaration not allowed"},
		{"orders.inbound.yaml", `<Order/>`, "root element is {}Order, want {urn:example:order}Order"},
	}
	for _, tt := range tests {
		_, err := mustLoad(t, tt.rules).Map([]byte(tt.input))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s on %q: err %v, want %q", tt.rules, tt.input, err, tt.want)
		}
	}
}

// Namespaces are matched by URI, whatever prefix the sender used.
func TestMap_XMLPrefixesByURI(t *testing.T) {
	in := `<Order xmlns="urn:example:order" xmlns:k="urn:example:common"><Header><k:ID>A-1</k:ID></Header>
	  <Lines><Line><k:Product>p</k:Product></Line></Lines></Order>`
	out, err := mustLoad(t, "orders.inbound.yaml").Map([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"A-1","lines":[{"product":"p"}]}`; string(out.JSON) != want {
		t.Errorf("got %s, want %s", out.JSON, want)
	}
}

func TestLoad_Errors(t *testing.T) {
	base := "document: d\ndirection: outbound\nsource: {format: json}\ntarget: {format: xml, root: x:R, namespaces: {x: urn:x}}\n"
	tests := []struct {
		name, body string
		want       []string
	}{
		{"unknown rule key", base + "fields:\n  - {target: x:A, source: a, requird: true}\n", []string{"rules.yaml:6:", `unknown key "requird"`}},
		{"unknown top-level key", base + "colour: red\nfields:\n  - {target: x:A, value: v}\n", []string{"rules.yaml:5:", "colour"}},
		{"source and value", base + "fields:\n  - {target: x:A, source: a, value: b}\n", []string{"rules.yaml:6: rule x:A: set source or value, not both"}},
		{"neither source nor value", base + "fields:\n  - {target: x:A}\n", []string{"rule x:A: source or value is required"}},
		{"unknown table", base + "fields:\n  - {target: x:A, source: a, table: nope}\n", []string{`table: "nope" is not declared`}},
		{"missing table file", base + "tables:\n  t: {file: none.yaml}\nfields:\n  - {target: x:A, source: a, table: t}\n", []string{"tables.t", "none.yaml"}},
		{"undeclared prefix", base + "fields:\n  - {target: y:A, source: a}\n", []string{`prefix "y" is not declared`}},
		{"bad date pattern", base + "fields:\n  - {target: x:A, source: a, date: {from: yyyy-QQ, to: yyyy}}\n", []string{`unsupported pattern letters "QQ"`}},
		{"bad zone", base + "fields:\n  - {target: x:A, source: a, date: {from: yyyy, to: yyyy, zone: Mars/Olympus}}\n", []string{`unknown time zone "Mars/Olympus"`}},
		{"type on xml target", base + "fields:\n  - {target: x:A, source: a, type: number}\n", []string{"type: number applies to JSON targets only"}},
		{"group without fields", base + "fields:\n  - {group: items, target: x:Items}\n", []string{"a group needs at least one rule"}},
		{"attribute in the middle", base + "fields:\n  - {target: x:A/@b/x:C, source: a}\n", []string{"must be the last step"}},
		{"reverse without table", base + "fields:\n  - {target: x:A, source: a, reverse: true}\n", []string{"reverse: only applies with a table"}},
		{"bad direction", strings.Replace(base, "outbound", "sideways", 1) + "fields:\n  - {target: x:A, value: v}\n", []string{"direction: must be outbound or inbound"}},
		{"YAML syntax", base + "fields:\n  - {target: x:A[+], source: a}\n", []string{"rules.yaml:", "YAML syntax", "quote values"}},
		{"several problems at once", base + "fields:\n  - {target: x:A}\n  - {target: x:B, source: b, case: title}\n", []string{"rule x:A:", "rule x:B: case:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"rules.yaml": {Data: []byte(tt.body)}}
			_, err := Load(fsys, "rules.yaml")
			if err == nil {
				t.Fatal("loaded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestDateConv(t *testing.T) {
	tests := []struct {
		spec     dateSpec
		in, want string
	}{
		{dateSpec{"yyyy-MM-dd'T'HH:mm:ssXXX", "yyyy-MM-dd'T'HH:mm:ssXXX", ""}, "2026-11-25T09:30:00-05:00", "2026-11-25T14:30:00Z"},
		{dateSpec{"dd/MM/yyyy HH:mm", "yyyy-MM-dd'T'HH:mm:ssXXX", "America/Lima"}, "25/11/2026 09:30", "2026-11-25T14:30:00Z"},
		{dateSpec{"yyyy-MM-dd'T'HH:mm:ssXXX", "yyyyMMddHHmm", "America/Bogota"}, "2026-11-25T14:30:00Z", "202611250930"},
		{dateSpec{"yyyy-MM-dd HH:mm", "dd.MM.yy", "America/Mexico_City"}, "2026-01-02 23:59", "02.01.26"},
		{dateSpec{"yyyyMMdd", "yyyy-MM-dd", ""}, "20261125", "2026-11-25"},
		{dateSpec{"yyyy-MM-dd'T'HH:mm:ss.SSSZ", "yyyy-MM-dd'T'HH:mm:ssXXX", ""}, "2026-11-25T14:30:00.123+0100", "2026-11-25T13:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.spec, tt.in), func(t *testing.T) {
			d, err := newDateConv(&tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.convert(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("convert(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func BenchmarkMap(b *testing.B) {
	out := mustLoad(b, "orders.outbound.yaml")
	in := mustLoad(b, "orders.inbound.yaml")
	for _, n := range []int{10, 1000} {
		var sb strings.Builder
		sb.WriteString(`{"id":"ORD-1","issued":"25/11/2026 09:30","buyer":{"name":"Acme","country":"PE"},"lines":[`)
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"product":"Palta %d","qty":%d.5,"unit":"kg","packages":[{"kind":"BX","count":%d}]}`, i, i, i)
		}
		sb.WriteString("]}")
		jsonIn := []byte(sb.String())
		o, err := out.Map(jsonIn)
		if err != nil {
			b.Fatal(err)
		}
		xmlIn, _ := o.Bytes()
		b.Run(fmt.Sprintf("json-to-xml/items=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(jsonIn)))
			for b.Loop() {
				if _, err := out.Map(jsonIn); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("xml-to-json/items=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(xmlIn)))
			for b.Loop() {
				if _, err := in.Map(xmlIn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func FuzzMap(f *testing.F) {
	out := mustLoad(f, "orders.outbound.yaml")
	in := mustLoad(f, "orders.inbound.yaml")
	seedJSON, _ := os.ReadFile("testdata/order.json")
	seedXML, _ := os.ReadFile("testdata/order.golden.xml")
	f.Add(seedJSON, false)
	f.Add(seedXML, true)
	f.Fuzz(func(t *testing.T, data []byte, asXML bool) {
		r := out
		if asXML {
			r = in
		}
		o, err := r.Map(data)
		if err == nil {
			if _, err := o.Bytes(); err != nil {
				t.Fatalf("mapped but cannot serialize: %v", err)
			}
		}
	})
}
