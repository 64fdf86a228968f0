package mapping

import (
	"strings"
	"testing"
)

// Each feature of the rule language on the smallest rule file that shows
// it. XML outputs are compared without the XML declaration.
func TestMap_Features(t *testing.T) {
	const R = `<x:R xmlns:x="urn:x">`
	tests := []struct {
		name, rules, input, want string
	}{
		// Values.
		{"constant", jsonToXML + `fields: [{target: x:A, value: "851"}]`, `{}`, R + `<x:A>851</x:A></x:R>`},
		{"constant written as a YAML number keeps its text", jsonToXML + `fields: [{target: x:A, value: 1.50}]`, `{}`, R + `<x:A>1.50</x:A></x:R>`},
		{"nested source", jsonToXML + `fields: [{target: x:A, source: a.b.c}]`, `{"a":{"b":{"c":"v"}}}`, R + `<x:A>v</x:A></x:R>`},
		{"JSON numbers keep their exact text", jsonToXML + `fields: [{target: x:A, source: a}, {target: x:B, source: b}, {target: x:C, source: c}]`,
			`{"a":1250.50,"b":12345678901234567890,"c":1e3}`, R + `<x:A>1250.50</x:A><x:B>12345678901234567890</x:B><x:C>1e3</x:C></x:R>`},
		{"JSON booleans", jsonToXML + `fields: [{target: x:A, source: a}, {target: x:B, source: b}]`, `{"a":true,"b":false}`, R + `<x:A>true</x:A><x:B>false</x:B></x:R>`},
		{"missing optional source writes nothing, not even parents", jsonToXML + `fields: [{target: x:A/x:B, source: missing}, {target: x:C, value: v}]`, `{}`, R + `<x:C>v</x:C></x:R>`},
		{"empty and null sources write nothing", jsonToXML + `fields: [{target: x:A, source: a}, {target: x:B, source: b}, {target: x:C, source: c.d}]`, `{"a":"","b":null,"c":[1]}`, `<x:R xmlns:x="urn:x"/>`},
		{"trim", jsonToXML + `fields: [{target: x:A, source: a, trim: true}, {target: x:B, source: b, trim: true}]`, `{"a":"  v \n","b":"   "}`, R + `<x:A>v</x:A></x:R>`},
		{"untrimmed by default", jsonToXML + `fields: [{target: x:A, source: a}]`, `{"a":" v "}`, R + `<x:A> v </x:A></x:R>`},
		{"case", jsonToXML + `fields: [{target: x:A, source: a, case: upper}, {target: x:B, source: a, case: lower}]`, `{"a":"Perú"}`, R + `<x:A>PERÚ</x:A><x:B>perú</x:B></x:R>`},
		{"default when missing, empty or blank after trim", jsonToXML + `fields: [{target: x:A, source: a, default: KGM}, {target: x:B, source: b, default: KGM}, {target: x:C, source: c, default: KGM, trim: true}]`,
			`{"b":"","c":"  "}`, R + `<x:A>KGM</x:A><x:B>KGM</x:B><x:C>KGM</x:C></x:R>`},
		{"default is an output value, not looked up", jsonToXML + "tables: {unit: {file: tables/units.yaml}}\nfields: [{target: x:A, source: a, table: unit, default: KGM}, {target: x:B, source: b, table: unit, default: KGM}]",
			`{"b":"t"}`, R + `<x:A>KGM</x:A><x:B>TNE</x:B></x:R>`},
		{"default satisfies required", jsonToXML + `fields: [{target: x:A, source: a, required: true, default: "0"}]`, `{}`, R + `<x:A>0</x:A></x:R>`},

		// Tables.
		{"table from file", jsonToXML + "tables: {unit: {file: tables/units.yaml}}\nfields: [{target: x:A, source: a, table: unit}]", `{"a":"kilo"}`, R + `<x:A>KGM</x:A></x:R>`},
		{"inline table, keys and values taken as text", jsonToXML + "tables: {yn: {values: {yes: \"1\", no: 0, 01: on}}}\nfields: [{target: x:A, source: a, table: yn}, {target: x:B, source: b, table: yn}, {target: x:C, source: c, table: yn}]",
			`{"a":"yes","b":"no","c":"01"}`, R + `<x:A>1</x:A><x:B>0</x:B><x:C>on</x:C></x:R>`},
		{"reverse look-up, first key wins", jsonToXML + "tables: {unit: {file: tables/units.yaml}}\nfields: [{target: x:A, source: a, table: unit, reverse: true}]", `{"a":"KGM"}`, R + `<x:A>kg</x:A></x:R>`},
		{"trim before table, case after", jsonToXML + "tables: {unit: {file: tables/units.yaml}}\nfields: [{target: x:A, source: a, trim: true, table: unit, case: lower}]", `{"a":" t "}`, R + `<x:A>tne</x:A></x:R>`},

		// Dates.
		{"date across zones", jsonToXML + `fields: [{target: x:A, source: a, date: {from: "dd/MM/yyyy HH:mm", to: "yyyy-MM-dd'T'HH:mm:ssXXX", zone: America/Lima}}]`,
			`{"a":"25/11/2026 09:30"}`, R + `<x:A>2026-11-25T14:30:00Z</x:A></x:R>`},
		{"date after table", jsonToXML + "tables: {d: {values: {today: \"2026-01-02\"}}}\nfields: [{target: x:A, source: a, table: d, date: {from: yyyy-MM-dd, to: yyyyMMdd}}]",
			`{"a":"today"}`, R + `<x:A>20260102</x:A></x:R>`},

		// XML targets.
		{"find-or-create: attributes land on the element just made", jsonToXML + `fields: [{target: x:A/x:B, source: b}, {target: x:A/x:B/@lang, value: es}, {target: x:A/x:C, source: c}]`,
			`{"b":"1","c":"2"}`, R + `<x:A><x:B lang="es">1</x:B><x:C>2</x:C></x:A></x:R>`},
		{"elements follow rule order", jsonToXML + `fields: [{target: x:A/x:Z, value: z}, {target: x:B, value: b}, {target: x:A/x:Y, value: "y"}]`,
			`{}`, R + `<x:A><x:Z>z</x:Z><x:Y>y</x:Y></x:A><x:B>b</x:B></x:R>`},
		{"[+] appends; later steps find the newest", jsonToXML + `fields: [{target: "x:N[+]/x:T", value: a}, {target: x:N/@k, value: "1"}, {target: "x:N[+]/x:T", value: b}, {target: x:N/@k, value: "2"}]`,
			`{}`, R + `<x:N k="1"><x:T>a</x:T></x:N><x:N k="2"><x:T>b</x:T></x:N></x:R>`},
		{"[+] with a missing source appends nothing", jsonToXML + `fields: [{target: "x:N[+]", source: a}, {target: "x:N[+]", source: b}]`, `{"b":"v"}`, R + `<x:N>v</x:N></x:R>`},
		{"unprefixed names and xml:lang", jsonToXML + `fields: [{target: x:A/B, value: v}, {target: x:A/B/@xml:lang, value: es}, {target: x:A/@x:k, value: q}]`,
			`{}`, R + `<x:A x:k="q"><B xml:lang="es">v</B></x:A></x:R>`},
		{"escaping", jsonToXML + `fields: [{target: x:A, source: a}, {target: x:A/@q, source: a}]`, `{"a":"<&\"'>"}`,
			R + `<x:A q="&lt;&amp;&quot;&apos;&gt;">&lt;&amp;&quot;&apos;&gt;</x:A></x:R>`},
		{"default namespace on the target root", strings.Replace(xmlToXML, "root: R}", "root: R, namespaces: {\"\": urn:n, p: urn:p}}", 1) + `fields: [{target: A/@b, value: "1"}, {target: p:C, value: c}]`,
			`<x/>`, `<R xmlns="urn:n" xmlns:p="urn:p"><A b="1"/><p:C>c</p:C></R>`},
		{"target . writes the element's own text", xmlToXML + "fields:\n  - group: x:N\n    target: N\n    fields: [{target: \"@k\", source: \"@k\"}, {target: ., source: .}]",
			`<x:R xmlns:x="urn:x"><x:N k="1">one</x:N><x:N k="2"/></x:R>`, `<R><N k="1">one</N><N k="2"/></R>`},

		// when.
		{"when present", jsonToXML + `fields: [{target: x:A, value: "yes", when: flag}]`, `{"flag":"x"}`, R + `<x:A>yes</x:A></x:R>`},
		{"when absent or empty", jsonToXML + `fields: [{target: x:A, value: "yes", when: flag}, {target: x:B, value: "yes", when: e}]`, `{"e":""}`, `<x:R xmlns:x="urn:x"/>`},
		{"when skips required", jsonToXML + `fields: [{target: x:A, source: a, required: true, when: flag}]`, `{}`, `<x:R xmlns:x="urn:x"/>`},
		{"when on an object counts it present", jsonToXML + `fields: [{target: x:A, value: "1", when: o}, {target: x:B, value: "1", when: a}]`, `{"o":{"k":1},"a":[]}`, R + `<x:A>1</x:A><x:B>1</x:B></x:R>`},
		{"when on a group", jsonToXML + "fields:\n  - {group: l, target: x:L, when: on, fields: [{target: x:V, source: .}]}", `{"l":["a"]}`, `<x:R xmlns:x="urn:x"/>`},

		// Groups.
		{"group with $index, nested groups restart it", jsonToXML + "fields:\n  - group: l\n    target: x:Ls/x:L\n    fields:\n      - {target: x:I, source: $index}\n      - group: p\n        target: x:P\n        fields: [{target: \"@i\", source: $index}, {target: \"@v\", source: v}]",
			`{"l":[{"p":[{"v":"a"},{"v":"b"}]},{"p":[{"v":"c"}]}]}`,
			R + `<x:Ls><x:L><x:I>1</x:I><x:P i="1" v="a"/><x:P i="2" v="b"/></x:L><x:L><x:I>2</x:I><x:P i="1" v="c"/></x:L></x:Ls></x:R>`},
		{"group items of plain values, source .", jsonToXML + "fields:\n  - {group: tags, target: x:T, fields: [{target: ., source: .}]}", `{"tags":["a",2,true]}`, R + `<x:T>a</x:T><x:T>2</x:T><x:T>true</x:T></x:R>`},
		{"a single object is a list of one", jsonToXML + "fields:\n  - {group: l, target: x:L, fields: [{target: x:V, source: v}]}", `{"l":{"v":"a"}}`, R + `<x:L><x:V>a</x:V></x:L></x:R>`},
		{"null items are skipped", jsonToXML + "fields:\n  - {group: l, target: x:L, fields: [{target: x:V, source: v}, {target: x:I, source: $index}]}", `{"l":[null,{"v":"a"}]}`, R + `<x:L><x:V>a</x:V><x:I>1</x:I></x:L></x:R>`},
		{"items with no values leave no element, nor parents", jsonToXML + "fields:\n  - {group: l, target: x:Ls/x:L, fields: [{target: x:V, source: v}]}\n  - {target: x:Z, value: z}", `{"l":[{},{"v":""}]}`, R + `<x:Z>z</x:Z></x:R>`},
		{"an empty item is skipped, the rest kept", jsonToXML + "fields:\n  - {group: l, target: x:L, fields: [{target: x:V, source: v}]}", `{"l":[{},{"v":"b"}]}`, R + `<x:L><x:V>b</x:V></x:L></x:R>`},
		{"rules after a group append after its items", jsonToXML + "fields:\n  - {group: l, target: x:C/x:L, fields: [{target: x:V, source: .}]}\n  - {target: x:C/x:After, value: z}", `{"l":["a","b"]}`,
			R + `<x:C><x:L><x:V>a</x:V></x:L><x:L><x:V>b</x:V></x:L><x:After>z</x:After></x:C></x:R>`},

		// JSON targets.
		{"JSON: nested objects in rule order", jsonToJSON + `fields: [{target: b.y, value: "1"}, {target: a, value: "2"}, {target: b.x, value: "3"}]`, `{}`, `{"b":{"y":"1","x":"3"},"a":"2"}`},
		{"JSON: types", jsonToJSON + `fields: [{target: n, source: n, type: number}, {target: i, source: i, type: integer}, {target: b, source: b, type: boolean}, {target: c, source: c, type: boolean}, {target: s, source: n, type: string}]`,
			`{"n":"-1250.50e+2","i":" 42 ","b":"TRUE","c":"0"}`, `{"n":-1250.50e+2,"i":42,"b":true,"c":false,"s":"-1250.50e+2"}`},
		{"JSON: groups are arrays of objects", jsonToJSON + "fields:\n  - {group: l, target: out.items, fields: [{target: v, source: v, type: integer}]}", `{"l":[{"v":1},{"v":2}]}`, `{"out":{"items":[{"v":1},{"v":2}]}}`},
		{"JSON: target . makes arrays of plain values", jsonToJSON + "fields:\n  - {group: l, target: tags, fields: [{target: ., source: ., case: upper}]}", `{"l":["a","b"]}`, `{"tags":["A","B"]}`},
		{"JSON: string escaping", jsonToJSON + `fields: [{target: s, source: s}]`, `{"s":"a\"b\\c\n\t\u0001<&>\u2028é"}`, `{"s":"a\"b\\c\n\t\u0001<&>\u2028é"}`},
		{"JSON: one key from rules whose conditions exclude each other", jsonToJSON + `fields: [{target: a, value: "1", when: 'not present(b)'}, {target: a, source: b, when: b}]`, `{"b":"2"}`, `{"a":"2"}`},
		{"JSON: nothing mapped is an empty object", jsonToJSON + `fields: [{target: a, source: b}]`, `{}`, `{}`},

		// XML sources.
		{"XML: first match in document order, across parents", xmlToJSON + `fields: [{target: v, source: x:A/x:B}]`,
			`<x:R xmlns:x="urn:x"><x:A/><x:A><x:B>second</x:B></x:A><x:A><x:B>third</x:B></x:A></x:R>`, `{"v":"second"}`},
		{"XML: attributes, prefixed and not", xmlToJSON + `fields: [{target: a, source: x:A/@k}, {target: b, source: x:A/@y:k}, {target: c, source: x:A/@xml:lang}]`,
			`<x:R xmlns:x="urn:x" xmlns:q="urn:y"><x:A k="plain" q:k="qualified" xml:lang="es"/></x:R>`, `{"a":"plain","b":"qualified","c":"es"}`},
		{"XML: an unprefixed step matches only no-namespace elements", xmlToJSON + `fields: [{target: a, source: A}, {target: b, source: x:A}]`,
			`<R><A xmlns="urn:x">in x</A><A>none</A></R>`, `{"a":"none","b":"in x"}`},
		{"XML: a prefix rebound on a child", xmlToJSON + `fields: [{target: a, source: x:A/x:B}, {target: b, source: x:A/y:B}]`,
			`<p:R xmlns:p="urn:x"><p:A><p:B xmlns:p="urn:y">in y</p:B></p:A><p:A><p:B>in x</p:B></p:A></p:R>`, `{"a":"in x","b":"in y"}`},
		{"XML: text across CDATA and comments", xmlToJSON + `fields: [{target: a, source: x:A}]`,
			`<x:R xmlns:x="urn:x"><x:A>a<!-- c -->b<![CDATA[<c>]]>&amp;</x:A></x:R>`, `{"a":"ab<c>&"}`},
		{"XML: . is the context element", xmlToJSON + "fields:\n  - {target: root, source: ./@id}\n  - {group: x:T, target: t, fields: [{target: ., source: .}]}",
			`<x:R xmlns:x="urn:x" id="r"><x:T>1</x:T><x:T>2</x:T></x:R>`, `{"root":"r","t":["1","2"]}`},
		{"XML: a group path gathers items across parents, in order", xmlToJSON + "fields:\n  - {group: x:L/x:I, target: i, fields: [{target: v, source: .}, {target: n, source: $index, type: integer}]}",
			`<x:R xmlns:x="urn:x"><x:L><x:I>a</x:I><x:I>b</x:I></x:L><x:Other/><x:L><x:I>c</x:I></x:L></x:R>`, `{"i":[{"v":"a","n":1},{"v":"b","n":2},{"v":"c","n":3}]}`},
		{"XML: when on an attribute", xmlToJSON + `fields: [{target: a, value: "1", when: x:A/@on}, {target: b, value: "1", when: x:A/@off}]`,
			`<x:R xmlns:x="urn:x"><x:A on="y"/></x:R>`, `{"a":"1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustLoadInline(t, tt.rules)
			got := string(mapBytes(t, r, []byte(tt.input)))
			got = strings.TrimPrefix(got, `<?xml version="1.0" encoding="UTF-8"?>`)
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// The XML output starts with the declaration and is not indented.
func TestOutput_Bytes(t *testing.T) {
	r := mustLoadInline(t, jsonToXML+"fields:\n  - {target: x:A/x:B, value: v}\n")
	b := mapBytes(t, r, []byte(`{}`))
	want := `<?xml version="1.0" encoding="UTF-8"?><x:R xmlns:x="urn:x"><x:A><x:B>v</x:B></x:A></x:R>`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	o, _ := mustLoadInline(t, jsonToJSON+"fields: [{target: a, value: v}]").Map([]byte(`{}`))
	if o.XML != nil {
		t.Error("JSON target produced an XML document")
	}
	if b, _ := o.Bytes(); string(b) != `{"a":"v"}` {
		t.Errorf("got %s", b)
	}
}
