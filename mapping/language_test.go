package mapping

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// The features added to complete the language, each on the smallest rule
// file that shows it. Their failures are in TestMap_LanguageFieldErrors and
// their load-time checks in TestLoad_LanguageErrors.
func TestMap_Language(t *testing.T) {
	const R = `<x:R xmlns:x="urn:x">`
	const tables = "tables: {unit: {file: tables/units.yaml}}\n"
	tests := []struct {
		name, rules, input, want string
	}{
		// Expressions.
		{"expr: arithmetic on numbers read as text", jsonToJSON + `fields: [{target: a, expr: 'num(peso) * 2'}, {target: b, expr: 'fixed(peso, 1)'}, {target: c, expr: 'fixed(num(peso) / 3, 2)'}]`,
			`{"peso":12.25}`, `{"a":"24.5","b":"12.3","c":"4.08"}`},
		{"expr: fixed rounds the decimal digits, not a binary float", jsonToJSON + `fields: [{target: a, expr: 'fixed("1.005", 2)'}, {target: b, expr: 'fixed("-0.004", 2)'}, {target: c, expr: 'fixed(2, 0)'}]`,
			`{}`, `{"a":"1.01","b":"0.00","c":"2"}`},
		{"expr: text, builtins and helpers", jsonToJSON + "tables: {t: {values: {a: A}}}\n" +
			`fields: [{target: a, expr: 'upper(nombre) + "/" + trim(codigo)'}, {target: b, expr: 'coalesce(nada, "", apodo, nombre)'}, {target: c, expr: 'lookup("t", tipo)'}, {target: d, expr: 'present(nada) || present(vacio)'}]`,
			`{"nombre":"ana","codigo":" 7 ","apodo":"A","tipo":"a","vacio":""}`, `{"a":"ANA/7","b":"A","c":"A","d":"false"}`},
		{"expr: let, ternary and nested objects", jsonToJSON + `fields: [{target: a, expr: 'let p = num(envio.peso); p > 10 ? "pesado" : "liviano"'}]`,
			`{"envio":{"peso":"12"}}`, `{"a":"pesado"}`},
		{"expr: $root and $index inside nested groups", jsonToJSON + "fields:\n  - group: l\n    target: l\n    fields:\n      - group: p\n        target: p\n        fields: [{target: id, expr: '$root.id + \"-\" + string($index)'}]\n",
			`{"id":"D","l":[{"p":[{},{}]},{"p":{}}]}`, `{"l":[{"p":[{"id":"D-1"},{"id":"D-2"}]},{"p":[{"id":"D-1"}]}]}`},
		{"expr: src() with a predicate, srcAll() and $item", jsonToJSON + "fields:\n  - {target: a, expr: 'src(\"partes[tipo=''exp''].nombre\")'}\n  - {target: n, expr: 'len(srcAll(\"partes.nombre\"))'}\n  - {group: tags, target: t, fields: [{target: ., expr: 'upper($item)'}]}\n",
			`{"partes":[{"tipo":"imp","nombre":"I"},{"tipo":"exp","nombre":"E"}],"tags":["a","b"]}`, `{"a":"E","n":"2","t":["A","B"]}`},
		{"expr: a list built in the expression, joined", jsonToJSON + `fields: [{target: a, expr: 'join(map(srcAll("l.v"), upper(#)), "+")'}]`,
			`{"l":[{"v":"a"},{"v":"b"}]}`, `{"a":"A+B"}`},
		{"expr: nothing to write when the result is empty", jsonToJSON + `fields: [{target: a, expr: 'nada'}, {target: b, expr: '""'}, {target: c, expr: 'true'}]`,
			`{}`, `{"c":"true"}`},
		{"expr: XML names are children in no namespace; src() reads prefixed paths", xmlToJSON + `fields: [{target: a, expr: 'nombre + "-" + src("x:Code/@k") + "-" + src("$root/x:Code")'}, {target: b, expr: 'present(src("x:Box")) && len(srcAll("x:Box/x:I")) == 2'}]`,
			`<x:R xmlns:x="urn:x"><nombre>n</nombre><x:Code k="K">c</x:Code><x:Box><x:I/><x:I/></x:Box></x:R>`, `{"a":"n-K-c","b":"true"}`},
		{"expr: multi-line, in a block scalar", jsonToJSON + "fields:\n  - target: a\n    expr: |\n      let n = num(cantidad);\n      n > 1 ? string(n) + \" bultos\" : \"1 bulto\"\n",
			`{"cantidad":3}`, `{"a":"3 bultos"}`},

		// Conditions.
		{"when: expression on fields", jsonToJSON + `fields: [{target: a, value: "si", when: 'tipo == "A"'}, {target: b, value: "si", when: 'tipo != "A"'}, {target: c, value: "si", when: 'num(peso) >= 10'}]`,
			`{"tipo":"A","peso":"10.0"}`, `{"a":"si","c":"si"}`},
		{"when: expression on a group, read in the parent's context", jsonToJSON + "fields:\n  - {group: l, target: l, when: 'len(l) > 1', fields: [{target: v, source: v}]}\n  - {group: m, target: m, when: 'len(m) > 1', fields: [{target: v, source: v}]}\n",
			`{"l":[{"v":"1"},{"v":"2"}],"m":[{"v":"3"}]}`, `{"l":[{"v":"1"},{"v":"2"}]}`},
		{"when: expression per item with $index", jsonToXML + "fields:\n  - {group: l, target: x:L, fields: [{target: x:V, source: ., when: '$index % 2 == 1'}]}\n",
			`{"l":["a","b","c"]}`, R + `<x:L><x:V>a</x:V></x:L><x:L><x:V>c</x:V></x:L></x:R>`},
		{"when: a bare name or path is still a path (present and not empty)", jsonToJSON + `fields: [{target: a, value: "1", when: a.b}, {target: c, value: "1", when: "l[k='x']"}]`,
			`{"a":{"b":"v"},"l":[{"k":"x"}]}`, `{"a":"1","c":"1"}`},

		// Split, join, concat.
		{"split: pick a part, from the end, or none", jsonToJSON + `fields: [{target: a, source: r, split: {sep: /, part: 2}}, {target: b, source: r, split: {sep: /, part: -1}}, {target: c, source: r, split: {sep: /, part: 4}}, {target: d, source: r, split: {sep: " / ", part: 1}, trim: true}]`,
			`{"r":"A/B/C"}`, `{"a":"B","b":"C","d":"A/B/C"}`},
		{"split: a group makes one item per non-empty part", jsonToJSON + "fields:\n  - {group: tags, split: {sep: \",\"}, target: t, fields: [{target: ., source: ., trim: true}]}\n",
			`{"tags":"a, b,,c,"}`, `{"t":["a","b","c"]}`},
		{"split: a group over an XML attribute", xmlToXML + "fields:\n  - {group: x:A/@codes, split: {sep: \" \"}, target: C, fields: [{target: \"@n\", source: $index}, {target: ., source: .}]}\n",
			`<x:R xmlns:x="urn:x"><x:A codes="p q"/></x:R>`, `<R><C n="1">p</C><C n="2">q</C></R>`},
		{"join: every value of a JSON path, empty ones left out", jsonToJSON + `fields: [{target: a, source: l.v, join: "; "}, {target: b, source: tags, join: ","}, {target: c, source: none, join: ","}]`,
			`{"l":[{"v":"x"},{"v":""},{},{"v":2}],"tags":["p","q"]}`, `{"a":"x; 2","b":"p,q"}`},
		{"join: every value of an XML path, elements or attributes", xmlToJSON + `fields: [{target: a, source: x:L/x:I, join: "|"}, {target: b, source: x:L/x:I/@k, join: "|"}]`,
			`<x:R xmlns:x="urn:x"><x:L><x:I k="1">a</x:I></x:L><x:L><x:I>b</x:I><x:I k="3">c</x:I></x:L></x:R>`, `{"a":"a|b|c","b":"1|3"}`},
		{"join: then the other transforms", jsonToJSON + `fields: [{target: a, source: l, join: "-", case: upper}]`, `{"l":["a","b"]}`, `{"a":"A-B"}`},
		{"concat: several sources, missing ones left out", jsonToJSON + `fields: [{target: a, concat: [n, a.b, none, c], separator: " "}, {target: b, concat: [n, c]}]`,
			`{"n":"N","a":{"b":"B"},"c":"C"}`, `{"a":"N B C","b":"NC"}`},

		// Numbers.
		{"number: native notation to the standard's", jsonToJSON + `fields: [{target: a, source: a, number: {from: {decimal: ",", thousands: "."}}}, {target: b, source: b, number: {from: {decimal: ",", thousands: "."}, to: {decimals: 2}}}, {target: c, source: c, number: {from: {decimal: ","}}}]`,
			`{"a":"1.234,50","b":"-1.234.567","c":" 0,5 "}`, `{"a":"1234.50","b":"-1234567.00","c":"0.5"}`},
		{"number: and back, with grouping and rounding", jsonToJSON + `fields: [{target: a, source: a, number: {to: {decimal: ",", thousands: ".", decimals: 2}}}, {target: b, source: b, number: {to: {decimals: 2}}}, {target: c, source: c, number: {to: {thousands: " ", decimals: 0}}}, {target: d, source: d, number: {to: {decimals: 1}}}]`,
			`{"a":1234.5,"b":"2.345","c":"1234567.5","d":"-0.04"}`, `{"a":"1.234,50","b":"2.35","c":"1 234 568","d":"0.0"}`},
		{"number: then a JSON number", jsonToJSON + `fields: [{target: a, source: a, type: number, number: {from: {decimal: ",", thousands: "."}}}]`, `{"a":"12.000,75"}`, `{"a":12000.75}`},

		// Code tables.
		{"table: a file given on the field, shared, and reverse", jsonToJSON + `fields: [{target: a, source: a, table: {file: tables/units.yaml}}, {target: b, source: b, table: {file: tables/units.yaml}, reverse: true}, {target: c, source: c, table: {values: {s: S}}}]`,
			`{"a":"kilo","b":"TNE","c":"s"}`, `{"a":"KGM","b":"t","c":"S"}`},
		{"table: unknown values kept, skipped, or skipped to the default", jsonToJSON + tables + `fields: [{target: a, source: u, table: unit, unknown: keep}, {target: b, source: u, table: unit, unknown: skip}, {target: c, source: u, table: unit, unknown: skip, default: KGM}, {target: d, source: k, table: unit, unknown: keep}]`,
			`{"u":"lb","k":"kg"}`, `{"a":"lb","c":"KGM","d":"KGM"}`},

		// Paths: predicates, lists looked through, $root.
		{"JSON predicates: =, !=, presence and position", jsonToJSON + `fields: [{target: a, source: "p[t='e'].n"}, {target: b, source: "p[t!='e'].n"}, {target: c, source: "p[mail].n"}, {target: d, source: "p[2].n"}, {target: e, source: "p[t='z'].n"}, {target: f, source: "p[t='a.b'].n"}]`,
			`{"p":[{"t":"i","n":"I"},{"t":"e","n":"E","mail":"m"},{"t":"a.b","n":"AB"}]}`, `{"a":"E","b":"I","c":"E","d":"E","f":"AB"}`},
		{"JSON predicates on a nested path and a number", jsonToJSON + `fields: [{target: a, source: "l[d.k='2'].v"}]`, `{"l":[{"d":{"k":1},"v":"one"},{"d":{"k":2},"v":"two"}]}`, `{"a":"two"}`},
		{"JSON: a list in the middle of a path is looked through", jsonToJSON + `fields: [{target: a, source: l.v}, {target: b, source: l.w.z}]`, `{"l":[{"x":1},{"v":"first"},{"v":"second","w":[{},{"z":"Z"}]}]}`, `{"a":"first","b":"Z"}`},
		{"JSON: a group selected by predicate", jsonToJSON + "fields:\n  - {group: \"p[t='e']\", target: e, fields: [{target: n, source: n}]}\n", `{"p":[{"t":"e","n":"1"},{"t":"i","n":"2"},{"t":"e","n":"3"}]}`, `{"e":[{"n":"1"},{"n":"3"}]}`},
		{"JSON: a group path through lists gathers every item", jsonToJSON + "fields:\n  - {group: c.items, target: all, fields: [{target: ., source: n}]}\n", `{"c":[{"items":[{"n":"a"},{"n":"b"}]},{"items":{"n":"c"}}]}`, `{"all":["a","b","c"]}`},
		{"XML predicates: child text, attribute, position, absence", xmlToJSON + `fields: [{target: a, source: "x:N[x:S='T']/x:C"}, {target: b, source: "x:N[@k='2']/x:C"}, {target: c, source: "x:N[2]/x:C"}, {target: d, source: "x:N[x:S!='T']/x:C"}, {target: e, source: "x:N[x:S]/x:C"}]`,
			`<x:R xmlns:x="urn:x"><x:N k="1"><x:C>first</x:C></x:N><x:N k="2"><x:S>T</x:S><x:C>treated</x:C></x:N></x:R>`, `{"a":"treated","b":"treated","c":"treated","d":"first","e":"treated"}`},
		{"XML: a position counts within each parent", xmlToJSON + "fields:\n  - {group: \"x:L/x:I[1]\", target: firsts, fields: [{target: ., source: .}]}\n",
			`<x:R xmlns:x="urn:x"><x:L><x:I>a</x:I><x:I>b</x:I></x:L><x:L><x:I>c</x:I></x:L></x:R>`, `{"firsts":["a","c"]}`},
		{"$root from nested groups, JSON and XML", xmlToJSON + "fields:\n  - group: x:A\n    target: a\n    fields:\n      - group: x:B\n        target: b\n        fields: [{target: id, source: $root/@id}, {target: n, source: $root/x:Name}, {target: v, source: .}]\n",
			`<x:R xmlns:x="urn:x" id="7"><x:Name>N</x:Name><x:A><x:B>1</x:B><x:B>2</x:B></x:A></x:R>`, `{"a":[{"b":[{"id":"7","n":"N","v":"1"},{"id":"7","n":"N","v":"2"}]}]}`},

		// Nesting to any depth.
		{"JSON → JSON: three levels", jsonToJSON + "fields:\n  - group: envios\n    target: consignments\n    fields:\n      - {target: id, source: id}\n      - group: items\n        target: items\n        fields:\n          - {target: seq, source: $index, type: integer}\n          - group: bultos\n            target: packages\n            fields: [{target: n, source: n, type: integer}, {target: of, expr: '$root.doc + \"/\" + string($index)'}]\n",
			`{"doc":"D","envios":[{"id":"E1","items":[{"bultos":[{"n":1},{"n":2}]},{"bultos":{"n":3}}]},{"id":"E2","items":[{"bultos":[]}]}]}`,
			`{"consignments":[{"id":"E1","items":[{"seq":1,"packages":[{"n":1,"of":"D/1"},{"n":2,"of":"D/2"}]},{"seq":2,"packages":[{"n":3,"of":"D/1"}]}]},{"id":"E2","items":[{"seq":1}]}]}`},
		{"XML → XML: three levels", xmlToXML + "fields:\n  - group: x:Consignment\n    target: Envios/Envio\n    fields:\n      - {target: \"@id\", source: \"@id\"}\n      - group: x:Item\n        target: Item\n        fields:\n          - {target: \"@n\", source: $index}\n          - group: x:Package\n            target: Bulto\n            fields: [{target: ., source: x:Count}, {target: \"@tipo\", source: \"@type\", case: lower}]\n",
			`<x:R xmlns:x="urn:x"><x:Consignment id="c1"><x:Item><x:Package type="BX"><x:Count>10</x:Count></x:Package><x:Package type="PX"><x:Count>1</x:Count></x:Package></x:Item></x:Consignment><x:Consignment id="c2"><x:Item/><x:Item><x:Package type="BX"><x:Count>5</x:Count></x:Package></x:Item></x:Consignment></x:R>`,
			`<R><Envios><Envio id="c1"><Item n="1"><Bulto tipo="bx">10</Bulto><Bulto tipo="px">1</Bulto></Item></Envio><Envio id="c2"><Item n="1"/><Item n="2"><Bulto tipo="bx">5</Bulto></Item></Envio></Envios></R>`},

		// Local values are not written to the document.
		{"local values stay out of the document", jsonToJSON + "local:\n  - {name: email, source: exportador.email}\nfields: [{target: a, value: \"1\"}]\n", `{"exportador":{"email":"e@x"}}`, `{"a":"1"}`},
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

// Map-time failures of the new features: the sentinel, and a message
// naming the field, its source and the rule's line.
func TestMap_LanguageFieldErrors(t *testing.T) {
	tests := []struct {
		name, rules, input string
		is                 error
		want               string
	}{
		{"expr: not a number", jsonToJSON + "fields:\n  - {target: a, expr: 'num(p) * 2'}\n", `{"p":"12,5"}`, ErrBadValue,
			`a (from expr: num(p) * 2, rule line 6): invalid value: expression: "12,5" is not a number`},
		{"expr: a type error", jsonToJSON + "fields:\n  - {target: a, expr: 'p * 2'}\n", `{"p":"3"}`, ErrBadValue, "invalid value: expression: invalid operation: string * int"},
		{"expr: a list is not a value", jsonToJSON + "fields:\n  - {target: a, expr: 'l'}\n", `{"l":["a"]}`, ErrBadValue, "the result is a list; join it"},
		{"expr: an object is not a value", jsonToJSON + "fields:\n  - {target: a, expr: 'o'}\n", `{"o":{"k":1}}`, ErrBadValue, "the result is an object"},
		{"expr: lookup of an unknown code", jsonToJSON + "tables: {t: {values: {a: A}}}\nfields:\n  - {target: a, expr: 'lookup(\"t\", v)'}\n", `{"v":"z"}`, ErrUnknownCode,
			`a (from expr: lookup("t", v), rule line 7): value not in code table: expression: "z" is not in table t`},
		{"expr: inside a group names the item", jsonToJSON + "fields:\n  - {group: l, target: l, fields: [{target: v, expr: 'num(v) + 1'}]}\n", `{"l":[{"v":1},{"v":"x"}]}`, ErrBadValue,
			`l[2]/v (from l[2]/expr: num(v) + 1, rule line 6)`},
		{"expr: required and empty", jsonToJSON + "fields:\n  - {target: a, expr: 'nada', required: true}\n", `{}`, ErrRequired, "a (from expr: nada, rule line 6): required value is missing"},
		{"when: a failing condition fails the rule", jsonToJSON + "fields:\n  - {target: a, value: v, when: 'num(p) > 1'}\n", `{"p":"x"}`, ErrBadValue,
			`a (from (constant), rule line 6): when num(p) > 1: invalid value: expression: "x" is not a number`},
		{"split: the required part is missing", jsonToJSON + "fields:\n  - {target: a, source: r, split: {sep: /, part: 3}, required: true}\n", `{"r":"A/B"}`, ErrRequired, "a (from r, rule line 6): required value is missing"},
		{"split: a required group with no parts", jsonToJSON + "fields:\n  - {group: t, split: {sep: \",\"}, target: t, required: true, fields: [{target: ., source: .}]}\n", `{"t":",,"}`, ErrRequired, "at least one item"},
		{"join: objects are not values", jsonToJSON + "fields:\n  - {target: a, source: l, join: \",\"}\n", `{"l":[{"v":1}]}`, ErrBadValue, "found a JSON object, want plain values"},
		{"join: element with children", xmlToJSON + "fields:\n  - {target: a, source: x:A, join: \",\"}\n", `<x:R xmlns:x="urn:x"><x:A><x:B/></x:A></x:R>`, ErrBadValue, "<x:A> has child elements"},
		{"concat: required and every part missing", jsonToJSON + "fields:\n  - {target: a, concat: [b, c], required: true}\n", `{"b":""}`, ErrRequired, "a (from concat: b, c, rule line 6): required value is missing"},
		{"number: not in the declared notation", jsonToJSON + "fields:\n  - {target: a, source: a, number: {from: {decimal: \",\", thousands: \".\"}}}\n", `{"a":"1,234.50"}`, ErrBadValue,
			`a (from a, rule line 6): invalid value: "1,234.50" is not a number with decimal separator "," and thousands separator "."`},
		{"number: a misplaced thousands separator", jsonToJSON + "fields:\n  - {target: a, source: a, number: {from: {decimal: \",\", thousands: \".\"}}}\n", `{"a":"12.34,5"}`, ErrBadValue, "is not a number"},
		{"table: skip on a required field still fails, naming the code", jsonToJSON + "tables: {unit: {file: tables/units.yaml}}\nfields:\n  - {target: u, source: u, table: unit, unknown: skip, required: true}\n", `{"u":"lb"}`, ErrUnknownCode,
			`u (from u, rule line 7): value not in code table: "lb" is not in table unit`},
		{"table on the field: the message names its file", jsonToJSON + "fields:\n  - {target: u, source: u, table: {file: tables/units.yaml}}\n", `{"u":"lb"}`, ErrUnknownCode, `"lb" is not in table tables/units.yaml`},
		{"predicate: no match for a required field", jsonToJSON + "fields:\n  - {target: a, source: \"p[t='e'].n\", required: true}\n", `{"p":[{"t":"i","n":"I"}]}`, ErrRequired, `a (from p[t='e'].n, rule line 6)`},
		{"$root: the source is named without the item", jsonToJSON + "fields:\n  - {group: l, target: l, fields: [{target: v, source: $root.id, required: true}]}\n", `{"l":[{}]}`, ErrRequired, "l[1]/v (from $root.id, rule line 6)"},
		{"local: a required value is missing", jsonToJSON + "local:\n  - {name: email, source: e.mail, required: true}\nfields: [{target: a, value: \"1\"}]\n", `{}`, ErrRequired,
			"local:email (from e.mail, rule line 6): required value is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := mustLoadInline(t, tt.rules).Map([]byte(tt.input))
			if err == nil || out != nil {
				t.Fatalf("got output %v, err %v; want an error and no output", out, err)
			}
			var fe Errors
			if !errors.As(err, &fe) || len(fe) != 1 {
				t.Fatalf("err %T %v, want Errors with one FieldError", err, err)
			}
			if !errors.Is(fe[0], tt.is) {
				t.Errorf("%v is not %v", fe[0], tt.is)
			}
			if !strings.Contains(fe[0].Error(), tt.want) {
				t.Errorf("got  %v\nwant %s", fe[0], tt.want)
			}
		})
	}
}

// The complete fixture: native JSON → standard XML → native JSON through
// every feature, with local values and explanations.
func TestMap_CompleteFixture(t *testing.T) {
	in, err := os.ReadFile("testdata/complete/consignment.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := mustLoad(t, "complete/consignment.outbound.yaml").MapExplain(in)
	if err != nil {
		t.Fatal(err)
	}
	xml, err := out.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "complete/consignment.golden.xml", xml)
	golden(t, "complete/consignment.explain.txt", explainText(out.Explain))
	want := map[string]string{"exporter_email": "despacho@frutasdelsur.cl", "lot": "LOTE-7", "items": "3"}
	if len(out.Local) != len(want) {
		t.Errorf("Local = %v, want %v", out.Local, want)
	}
	for k, v := range want {
		if out.Local[k] != v {
			t.Errorf("Local[%s] = %q, want %q", k, out.Local[k], v)
		}
	}

	back, err := mustLoad(t, "complete/consignment.inbound.yaml").MapExplain(xml)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "complete/consignment.golden.json", back.JSON)
	golden(t, "complete/consignment.inbound.explain.txt", explainText(back.Explain))
	if back.Local["certificate_id"] != "CL-2026-0042" {
		t.Errorf("inbound Local = %v", back.Local)
	}

	// Map without explaining gives the same document and no explanation.
	plain, err := mustLoad(t, "complete/consignment.outbound.yaml").Map(in)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := plain.Bytes(); string(b) != string(xml) || plain.Explain != nil {
		t.Errorf("Map differs from MapExplain, or explains: %d origins", len(plain.Explain))
	}
}

func explainText(os []Origin) []byte {
	var b strings.Builder
	for _, o := range os {
		b.WriteString(o.String())
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// Explanations name every value written, once, with its final path.
func TestMapExplain(t *testing.T) {
	t.Run("JSON target: own values, overrides, lists", func(t *testing.T) {
		r := mustLoadInline(t, jsonToJSON+"fields:\n  - {target: a, value: \"1\", when: 'not present(b)'}\n  - {target: a, source: b, when: b}\n  - {group: l, target: out.l, fields: [{target: ., source: ., case: upper}]}\n  - {target: c, source: nada, default: D}\n")
		out, err := r.MapExplain([]byte(`{"b":"2","l":["x","y"]}`))
		if err != nil {
			t.Fatal(err)
		}
		want := `a = "2" <- b (rules.yaml:7)
out.l[1] = "X" <- l[1]/. "x" | case upper: "x" → "X" (rules.yaml:8)
out.l[2] = "Y" <- l[2]/. "y" | case upper: "y" → "Y" (rules.yaml:8)
c = "D" <- default: D (rules.yaml:9)
`
		if got := string(explainText(out.Explain)); got != want {
			t.Errorf("got\n%swant\n%s", got, want)
		}
	})
	t.Run("XML target: [+], attributes, element text", func(t *testing.T) {
		r := mustLoadInline(t, xmlToXML+"fields:\n  - {target: \"N[+]\", value: a}\n  - {target: N/@k, source: x:K}\n  - {target: \"N[+]\", value: b}\n  - {group: x:I, target: I, fields: [{target: ., source: ., when: 'present($item)'}]}\n")
		doc := `<x:R xmlns:x="urn:x"><x:K>k</x:K><x:I>1</x:I><x:I/></x:R>`
		out, err := r.MapExplain([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		want := `/R/N[1] = "a" <- value: a (rules.yaml:6)
/R/N[1]/@k = "k" <- x:K (rules.yaml:7)
/R/N[2] = "b" <- value: b (rules.yaml:8)
/R/I = "1" <- x:I[1]/. (rules.yaml:9)
`
		if got := string(explainText(out.Explain)); got != want {
			t.Errorf("got\n%swant\n%s", got, want)
		}
		// MapElementExplain explains an already parsed document; Map and
		// MapElement do not explain.
		parsed := etree.NewDocument()
		if err := parsed.ReadFromString(doc); err != nil {
			t.Fatal(err)
		}
		el, err := r.MapElementExplain(parsed.Root())
		if err != nil || len(el.Explain) != 4 {
			t.Errorf("MapElementExplain: %v, %d origins", err, len(el.Explain))
		}
		for _, o := range []func() (*Output, error){
			func() (*Output, error) { return r.Map([]byte(doc)) },
			func() (*Output, error) { return r.MapElement(parsed.Root()) },
		} {
			if out, err := o(); err != nil || out.Explain != nil || out.Local != nil {
				t.Errorf("explained without being asked, or Local without local: %v %v", err, out)
			}
		}
	})
	t.Run("nothing on failure", func(t *testing.T) {
		out, err := mustLoadInline(t, jsonToJSON+"fields: [{target: a, source: a, required: true}]").MapExplain([]byte(`{}`))
		if out != nil || err == nil {
			t.Errorf("out %v err %v", out, err)
		}
	})
}

// Every load-time check of the new features, each reported as
// file:line: rule <target>: message. The headers are four lines long, so
// the first rule under "fields:" is on line 6.
func TestLoad_LanguageErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		// Expressions.
		{"expr syntax", jsonToJSON + "fields:\n  - {target: a, expr: 'num(p) *'}\n", []string{"rules.yaml:6: rule a: expr: unexpected token EOF (column 8)"}},
		{"expr syntax, on the line of a block scalar", jsonToJSON + "fields:\n  - target: a\n    expr: |\n      1 +\n      * 2\n", []string{"rules.yaml:9: rule a: expr: unexpected token Operator(\"*\")"}},
		{"expr: an unknown function", jsonToJSON + "fields:\n  - {target: a, expr: 'foo(1)'}\n", []string{"rules.yaml:6: rule a: expr: unknown function foo()"}},
		{"expr: the clock is not available", jsonToJSON + "fields:\n  - {target: a, expr: 'string(now())'}\n", []string{"rules.yaml:6: rule a: expr: now() is not available"}},
		{"expr: nor unbounded repeat", jsonToJSON + "fields:\n  - {target: a, expr: 'repeat(\"x\", 1000000000)'}\n", []string{"rules.yaml:6: rule a: expr: repeat() is not available"}},
		{"expr: $env is refused", jsonToJSON + "fields:\n  - {target: a, expr: '$env[\"a\"]'}\n", []string{"rules.yaml:6: rule a: expr: $env is not available"}},
		{"expr: an unknown variable", jsonToJSON + "fields:\n  - {target: a, expr: '$foo'}\n", []string{"rules.yaml:6: rule a: expr: unknown variable $foo"}},
		{"expr: $index outside a group", jsonToJSON + "fields:\n  - {target: a, expr: '$index + 1'}\n", []string{"rules.yaml:6: rule a: expr: $index is a position in a group"}},
		{"expr: wrong number of arguments", jsonToJSON + "fields:\n  - {target: a, expr: 'num(1, 2)'}\n", []string{"rules.yaml:6: rule a: expr: too many arguments to call num"}},
		{"expr: $root in an XML source", xmlToJSON + "fields:\n  - {target: a, expr: '$root'}\n", []string{"rules.yaml:6: rule a: expr: $root is the JSON document"}},
		{"expr: an XML name that is not one", xmlToJSON + "fields:\n  - {target: a, expr: 'x1 + é1'}\n", nil},
		{"expr: src() of a computed path", jsonToJSON + "fields:\n  - {target: a, expr: 'src(\"a\" + b)'}\n", []string{"rules.yaml:6: rule a: expr: src() takes a path in quotes"}},
		{"expr: src() of a bad path", jsonToJSON + "fields:\n  - {target: a, expr: 'src(\"a..b\")'}\n", []string{`rules.yaml:6: rule a: expr: src("a..b"): empty key in "a..b"`}},
		{"expr: src() of an undeclared prefix", xmlToJSON + "fields:\n  - {target: a, expr: 'src(\"q:A\")'}\n", []string{`rules.yaml:6: rule a: expr: src("q:A"): prefix "q" is not declared`}},
		{"expr: lookup() in an undeclared table", jsonToJSON + "fields:\n  - {target: a, expr: 'lookup(\"nope\", a)'}\n", []string{`rules.yaml:6: rule a: expr: lookup("nope", …): table "nope" is not declared`}},
		{"expr: empty", jsonToJSON + "fields:\n  - {target: a, expr: \" \"}\n", []string{"rules.yaml:6: rule a: expr: is empty"}},
		{"expr and source", jsonToJSON + "fields:\n  - {target: a, source: a, expr: a}\n", []string{"rules.yaml:6: rule a: set one of source, value, expr, concat or copy, not several"}},
		{"expr on a group", jsonToJSON + "fields:\n  - {group: l, target: l, expr: a, fields: [{target: v, source: v}]}\n", []string{"rules.yaml:6: rule l: expr: does not apply to a group"}},

		// Conditions.
		{"when: expression syntax", jsonToJSON + "fields:\n  - {target: a, value: v, when: 'a == '}\n", []string{"rules.yaml:6: rule a: when: unexpected token EOF"}},
		{"when: expression on a group", jsonToJSON + "fields:\n  - {group: l, target: l, when: 'bar(l)', fields: [{target: v, source: v}]}\n", []string{"rules.yaml:6: rule l: when: unknown function bar()"}},
		{"when: a path with a bad predicate", jsonToJSON + "fields:\n  - {target: a, value: v, when: \"l[k=x]\"}\n", []string{"rules.yaml:6: rule a: when: \"l[k=x]\": compare with a quoted text"}},

		// Split, join, concat.
		{"split without sep", jsonToJSON + "fields:\n  - {target: a, source: a, split: {part: 1}}\n", []string{"rules.yaml:6: rule a: split: sep: is required"}},
		{"split on a field without part", jsonToJSON + "fields:\n  - {target: a, source: a, split: {sep: /}}\n", []string{"rules.yaml:6: rule a: split: part: is required on a field"}},
		{"split part zero", jsonToJSON + "fields:\n  - {target: a, source: a, split: {sep: /, part: 0}}\n", []string{`rules.yaml:6: rule a: split: part: must be a non-zero whole number`}},
		{"split on a group with part", jsonToJSON + "fields:\n  - {group: l, split: {sep: /, part: 1}, target: l, fields: [{target: ., source: .}]}\n", []string{"rules.yaml:6: rule l: split: part: applies to a field"}},
		{"split unknown key", jsonToJSON + "fields:\n  - {target: a, source: a, split: {sep: /, part: 1, max: 2}}\n", []string{`rules.yaml:6: rule a: split: unknown key "max"`}},
		{"join without source", jsonToJSON + "fields:\n  - {target: a, value: v, join: \",\"}\n", []string{"rules.yaml:6: rule a: join: joins every value of a source path"}},
		{"concat of one path", jsonToJSON + "fields:\n  - {target: a, concat: [a]}\n", []string{"rules.yaml:6: rule a: concat: must list at least two source paths"}},
		{"concat of a bad path", jsonToJSON + "fields:\n  - target: a\n    concat:\n      - b\n      - c..d\n", []string{`rules.yaml:9: rule a: concat: empty key in "c..d"`}},
		{"separator without concat", jsonToJSON + "fields:\n  - {target: a, source: a, separator: \" \"}\n", []string{"rules.yaml:6: rule a: separator: applies to concat:"}},

		// Numbers.
		{"number without from or to", jsonToJSON + "fields:\n  - {target: a, source: a, number: {}}\n", []string{"rules.yaml:6: rule a: number: needs from: or to:"}},
		{"number: a separator of two characters", jsonToJSON + "fields:\n  - {target: a, source: a, number: {from: {decimal: \",,\"}}}\n", []string{`rules.yaml:6: rule a: number.from: decimal: must be one character, got ",,"`}},
		{"number: the same separator twice", jsonToJSON + "fields:\n  - {target: a, source: a, number: {to: {decimal: \".\", thousands: \".\"}}}\n", []string{`rules.yaml:6: rule a: number.to: decimal and thousands separators are both "."`}},
		{"number: a digit as separator", jsonToJSON + "fields:\n  - {target: a, source: a, number: {to: {thousands: \"0\"}}}\n", []string{`rules.yaml:6: rule a: number.to: thousands: "0" cannot be a separator`}},
		{"number: too many decimals", jsonToJSON + "fields:\n  - {target: a, source: a, number: {to: {decimals: 30}}}\n", []string{"rules.yaml:6: rule a: number.to: decimals: must be between 0 and 18, got 30"}},
		{"number: decimals not a number", jsonToJSON + "fields:\n  - {target: a, source: a, number: {to: {decimals: two}}}\n", []string{`rules.yaml:6: rule a: number.to: decimals: must be a whole number, got "two"`}},
		{"number: decimals on input", jsonToJSON + "fields:\n  - {target: a, source: a, number: {from: {decimals: 2}}}\n", []string{`rules.yaml:6: rule a: number.from: unknown key "decimals"`}},

		// Tables.
		{"unknown: a bad mode", jsonToJSON + "tables: {t: {values: {a: b}}}\nfields:\n  - {target: a, source: a, table: t, unknown: ignore}\n", []string{`rules.yaml:7: rule a: unknown: must be error, skip or keep, got "ignore"`}},
		{"unknown: without a table", jsonToJSON + "fields:\n  - {target: a, source: a, unknown: keep}\n", []string{"rules.yaml:6: rule a: unknown: only applies with a table"}},
		{"table file on the field, missing", jsonToJSON + "fields:\n  - {target: a, source: a, table: {file: tables/nope.yaml}}\n", []string{"rules.yaml:6: rule a: table: table file: open tables/nope.yaml: file does not exist"}},
		{"table on the field, with an unknown key", jsonToJSON + "fields:\n  - {target: a, source: a, table: {values: {a: b}, sheet: 1}}\n", []string{`rules.yaml:6: rule a: table: unknown key "sheet"`}},
		{"table on the field, empty", jsonToJSON + "fields:\n  - {target: a, source: a, table: {values: {}}}\n", []string{"rules.yaml:6: rule a: table: has no values"}},

		// Constants.
		{"a required constant", jsonToXML + "fields:\n  - {target: x:A, value: \"851\", required: true}\n", []string{"rules.yaml:6: rule x:A: required: a constant is always there"}},

		// Paths.
		{"predicate: unbalanced", jsonToJSON + "fields:\n  - {target: a, source: \"p[t='e'.n\"}\n", []string{`rules.yaml:6: rule a: source: unbalanced [ in "p[t='e'.n"`}},
		{"predicate: unterminated quote", jsonToJSON + "fields:\n  - {target: a, source: \"p[t='e].n\"}\n", []string{"rules.yaml:6: rule a: source: unterminated quote"}},
		{"predicate: position zero", jsonToJSON + "fields:\n  - {target: a, source: \"p[0].n\"}\n", []string{`rules.yaml:6: rule a: source: "p[0]": a position is 1 or more`}},
		{"predicate: an unquoted literal", xmlToJSON + "fields:\n  - {target: a, source: \"x:N[x:S=T]/x:C\"}\n", []string{`rules.yaml:6: rule a: source: "x:N[x:S=T]": compare with a quoted text`}},
		{"predicate: without a name", jsonToJSON + "fields:\n  - {target: a, source: \"[t='e'].n\"}\n", []string{"rules.yaml:6: rule a: source: \"[t='e']\": a predicate needs a name before it"}},
		{"predicate: text after it", jsonToJSON + "fields:\n  - {target: a, source: \"p[1]x.n\"}\n", []string{"rules.yaml:6: rule a: source: \"p[1]x\": text after the predicate"}},
		{"predicate: $root inside", jsonToJSON + "fields:\n  - {target: a, source: \"p[$root.t='e'].n\"}\n", []string{"$root cannot be used inside a predicate"}},
		{"predicate: undeclared prefix", xmlToJSON + "fields:\n  - {target: a, source: \"x:N[q:S='T']/x:C\"}\n", []string{`rules.yaml:6: rule a: source: predicate [q:S='T']: prefix "q" is not declared`}},
		{"predicate: empty", jsonToJSON + "fields:\n  - {target: a, source: \"p[].n\"}\n", []string{"empty predicate"}},
		{"predicate: unbalanced ]", jsonToJSON + "fields:\n  - {target: a, source: \"p].n\"}\n", []string{"unbalanced ]"}},
		{"$root alone", jsonToJSON + "fields:\n  - {target: a, source: $root}\n", []string{"rules.yaml:6: rule a: source: \"$root\": name a path under $root"}},
		{"../ is not supported", xmlToJSON + "fields:\n  - {group: x:L, target: l, fields: [{target: a, source: ../x:Id}]}\n", []string{"rules.yaml:6: rule a: source: \"../x:Id\": \"..\" is not supported; read outside the current item with $root/…"}},
		{"a target with a predicate", jsonToXML + "fields:\n  - {target: \"x:A[x:B='c']\", value: v}\n", []string{`rules.yaml:6: rule x:A[x:B='c']: target: "A[x:B='c']" is not a valid XML name`}},

		// Local values.
		{"local: not a list", jsonToJSON + "local: {name: a}\nfields: [{target: a, value: v}]\n", []string{"rules.yaml:5: local: must be a list"}},
		{"local: without a name", jsonToJSON + "local:\n  - {source: a}\nfields: [{target: a, value: v}]\n", []string{"rules.yaml:6: rule #6: name: is required"}},
		{"local: a name twice", jsonToJSON + "local:\n  - {name: e, source: a}\n  - {name: e, source: b}\nfields: [{target: a, value: v}]\n", []string{`rules.yaml:7: rule local:e: name: "e" is already used on line 6`}},
		{"local: a target", jsonToJSON + "local:\n  - {name: e, source: a, target: b}\nfields: [{target: a, value: v}]\n", []string{`rules.yaml:6: rule local:e: unknown key "target"`}},
		{"local: neither source nor value nor expr", jsonToJSON + "local:\n  - {name: e}\nfields: [{target: a, value: v}]\n", []string{"rules.yaml:6: rule local:e: source, value, expr or concat is required"}},
		{"local: $index", jsonToJSON + "local:\n  - {name: e, source: $index}\nfields: [{target: a, value: v}]\n", []string{"rules.yaml:6: rule local:e: source: $index is a position in a group"}},
		{"local: a bad expression", jsonToJSON + "local:\n  - {name: e, expr: 'a +'}\nfields: [{target: a, value: v}]\n", []string{"rules.yaml:6: rule local:e: expr: unexpected token EOF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Load(inline(tt.body), "rules.yaml")
			if tt.want == nil {
				// Names that are valid in expr are valid source names.
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("loaded %v, want an error", r)
			}
			var re *RuleError
			if !errors.As(err, &re) || re.File != "rules.yaml" {
				t.Errorf("error %T does not carry a *RuleError for rules.yaml: %v", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

// Rules with expressions are shared by concurrent requests too: each Map
// has its own expression environment and machine.
func TestMap_ConcurrentFeatures(t *testing.T) {
	r := mustLoad(t, "complete/consignment.outbound.yaml")
	in, err := os.ReadFile("testdata/complete/consignment.json")
	if err != nil {
		t.Fatal(err)
	}
	want := mapBytes(t, r, in)
	done := make(chan error)
	for range 4 {
		go func() {
			for range 20 {
				out, err := r.MapExplain(in)
				if err == nil {
					var got []byte
					if got, err = out.Bytes(); err == nil && string(got) != string(want) {
						err = errors.New("concurrent output differs")
					}
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
