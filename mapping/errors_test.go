package mapping

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vucelink/vucelink/xmlsafe"
)

// Every load-time check, each reported as file:line: rule <target>: msg.
// The headers are four lines long, so the first rule under "fields:" is on
// line 6.
func TestLoad_Errors(t *testing.T) {
	xmlSource := "document: d\ndirection: inbound\nsource: {format: xml, namespaces: {x: urn:x}}\ntarget: {format: json}\n"
	tests := []struct {
		name, body string
		want       []string // each must appear in the error
	}{
		// File level.
		{"empty file", "", []string{"rules.yaml:1: the file is empty"}},
		{"YAML syntax names the line", jsonToXML + "fields:\n  - {target: x:A[+], source: a}\n", []string{"rules.yaml:6: YAML syntax", "quote values"}},
		{"YAML syntax on the first line", "document: {a: b[+], c: d}\n", []string{"rules.yaml:1: YAML syntax"}},
		{"YAML scanner error", jsonToXML + "fields:\n  - target: x:A\n    source: a: b\n", []string{"rules.yaml:7: YAML syntax: mapping values are not allowed"}},
		{"not a mapping", "- a\n- b\n", []string{"rules.yaml:1: ", "must be a mapping"}},
		{"unknown top-level key", jsonToXML + "colour: red\nfields: [{target: x:A, value: v}]\n", []string{`rules.yaml:5: unknown key "colour"`}},
		{"missing document, direction and fields", "source: {format: json}\ntarget: {format: json}\n",
			[]string{"rules.yaml:1: document: is required", "rules.yaml:1: direction: must be outbound or inbound", "rules.yaml:1: fields: at least one rule"}},
		{"bad direction", strings.Replace(jsonToXML, "outbound", "sideways", 1) + "fields: [{target: x:A, value: v}]\n", []string{`rules.yaml:2: direction: must be outbound or inbound, got "sideways"`}},
		{"missing source and target", "document: d\ndirection: inbound\nfields: [{target: a, value: v}]\n", []string{"source: is required", "target: is required"}},
		{"bad formats", "document: d\ndirection: inbound\nsource: {format: csv}\ntarget: {format: yaml}\nfields: [{target: a, value: v}]\n",
			[]string{`rules.yaml:3: source.format: must be json or xml, got "csv"`, `rules.yaml:4: target.format: must be xml or json, got "yaml"`}},
		{"unknown source key", "document: d\ndirection: inbound\nsource: {format: json, rot: x}\ntarget: {format: json}\nfields: [{target: a, value: v}]\n", []string{`rules.yaml:3: source: unknown key "rot"`}},
		{"XML options on JSON", "document: d\ndirection: inbound\nsource: {format: json, root: a}\ntarget: {format: json, namespaces: {a: urn:a}}\nfields: [{target: a, value: v}]\n",
			[]string{"source: root applies to XML sources only", "target: root and namespaces apply to XML targets only"}},
		{"XML target without root", "document: d\ndirection: inbound\nsource: {format: json}\ntarget: {format: xml}\nfields: [{target: a, value: v}]\n", []string{"target.root: is required"}},
		{"undeclared root prefix", "document: d\ndirection: inbound\nsource: {format: xml, root: q:R}\ntarget: {format: xml, root: z:R}\nfields: [{target: a, value: v}]\n",
			[]string{`rules.yaml:3: source.root: prefix "q" is not declared`, `rules.yaml:4: target.root: prefix "z" is not declared`}},
		{"default namespace in source", "document: d\ndirection: inbound\nsource: {format: xml, namespaces: {\"\": urn:x}}\ntarget: {format: json}\nfields: [{target: a, value: v}]\n", []string{"rules.yaml:3: source.namespaces: give the default namespace"}},
		{"reserved target prefix", "document: d\ndirection: inbound\nsource: {format: json}\ntarget: {format: xml, root: R, namespaces: {xmlns: urn:x}}\nfields: [{target: a, value: v}]\n", []string{`"xmlns" cannot be declared`}},

		// Rules.
		{"unknown rule key names the rule and the key's line", jsonToXML + "fields:\n  - target: x:A\n    source: a\n    requird: true\n", []string{`rules.yaml:8: rule x:A: unknown key "requird"`}},
		{"every unknown key, not just the first", jsonToXML + "fields:\n  - {target: x:A, source: a, bogus: 1}\n  - {target: x:B, source: b, other: 1}\n",
			[]string{`rules.yaml:6: rule x:A: unknown key "bogus"`, `rules.yaml:7: rule x:B: unknown key "other"`}},
		{"a key twice", jsonToXML + "fields:\n  - {target: x:A, source: a, source: b}\n", []string{`rules.yaml:6: rule x:A: key "source" appears twice`}},
		{"a rule that is not a mapping", jsonToXML + "fields:\n  - x:A\n", []string{"rules.yaml:6: a rule must be a mapping"}},
		{"fields not a list", jsonToXML + "fields: {target: x:A}\n", []string{"rules.yaml:5: fields: must be a list"}},
		{"missing target", jsonToXML + "fields:\n  - {source: a}\n", []string{"rules.yaml:6: rule #6: target: is required"}},
		{"source and value", jsonToXML + "fields:\n  - {target: x:A, source: a, value: b}\n", []string{"rules.yaml:6: rule x:A: set one of source, value, expr, concat or copy, not several"}},
		{"neither source nor value", jsonToXML + "fields:\n  - {target: x:A}\n", []string{"rules.yaml:6: rule x:A: source, value, expr, concat or copy is required"}},
		{"empty value", jsonToXML + "fields:\n  - {target: x:A, value: \"\"}\n", []string{"rules.yaml:6: rule x:A: value: is empty"}},
		{"not a boolean", jsonToXML + "fields:\n  - {target: x:A, source: a, required: always}\n", []string{`rules.yaml:6: rule x:A: required: must be true or false, got "always"`}},
		{"undeclared target prefix", jsonToXML + "fields:\n  - {target: y:A, source: a}\n", []string{`rules.yaml:6: rule y:A: target: prefix "y" is not declared in namespaces`}},
		{"undeclared source prefix", xmlSource + "fields:\n  - {target: a, source: x:A/q:B}\n", []string{`rules.yaml:6: rule a: source: prefix "q" is not declared`}},
		{"undeclared prefix in when", xmlSource + "fields:\n  - {target: a, value: v, when: q:B}\n", []string{`rules.yaml:6: rule a: when: prefix "q" is not declared`}},
		{"invalid XML name", jsonToXML + "fields:\n  - {target: x:A/x:1B, source: a}\n", []string{`rules.yaml:6: rule x:A/x:1B: target: "1B" is not a valid XML name`}},
		{"attribute in the middle", jsonToXML + "fields:\n  - {target: x:A/@b/x:C, source: a}\n", []string{"rule x:A/@b/x:C: target: attribute \"@b\" must be the last step"}},
		{"empty JSON key", jsonToJSON + "fields:\n  - {target: a..b, source: a}\n", []string{`rules.yaml:6: rule a..b: target: empty key in "a..b"`}},
		{"unknown variable", jsonToXML + "fields:\n  - {target: x:A, source: $idx}\n  - {target: x:B, value: v, when: $index}\n",
			[]string{"rules.yaml:6: rule x:A: source: \"$idx\": unknown variable $idx", "rules.yaml:7: rule x:B: when: \"$index\": $index is a position"}},
		{"$index outside a group", jsonToXML + "fields:\n  - {target: x:A, source: $index}\n", []string{"rules.yaml:6: rule x:A: source: $index is a position in a group"}},
		{"unknown table", jsonToXML + "fields:\n  - {target: x:A, source: a, table: nope}\n", []string{`rules.yaml:6: rule x:A: table: "nope" is not declared under tables`}},
		{"reverse without table", jsonToXML + "fields:\n  - {target: x:A, source: a, reverse: true}\n", []string{"rules.yaml:6: rule x:A: reverse: only applies with a table"}},
		{"bad case", jsonToXML + "fields:\n  - {target: x:A, source: a, case: title}\n", []string{`rules.yaml:6: rule x:A: case: must be upper or lower, got "title"`}},
		{"unknown type", jsonToJSON + "fields:\n  - {target: a, source: a, type: float}\n", []string{`rules.yaml:6: rule a: type: must be string, number, integer or boolean, got "float"`}},
		{"type on an XML target", jsonToXML + "fields:\n  - {target: x:A, source: a, type: number}\n", []string{"rules.yaml:6: rule x:A: type: number applies to JSON targets only"}},

		// Dates.
		{"bad date pattern", jsonToXML + "fields:\n  - {target: x:A, source: a, date: {from: yyyy-QQ, to: yyyy}}\n", []string{`rules.yaml:6: rule x:A: date: from: unsupported pattern letters "QQ"`}},
		{"date without to", jsonToXML + "fields:\n  - {target: x:A, source: a, date: {from: yyyy}}\n", []string{"rule x:A: date: from and to are both required"}},
		{"unknown date key", jsonToXML + "fields:\n  - {target: x:A, source: a, date: {from: yyyy, to: yyyy, tz: UTC}}\n", []string{`rules.yaml:6: rule x:A: date: unknown key "tz"`}},
		{"bad zone", jsonToXML + "fields:\n  - {target: x:A, source: a, date: {from: yyyy, to: yyyy, zone: Mars/Olympus}}\n", []string{`rules.yaml:6: rule x:A: date: zone: unknown time zone "Mars/Olympus"`}},
		{"ambiguous literal", jsonToXML + "fields:\n  - {target: x:A, source: a, date: {from: \"yyyy'Mon'\", to: yyyy}}\n", []string{"rule x:A: date: from: pattern \"yyyy'Mon'\" is ambiguous"}},

		// Groups.
		{"group without fields", jsonToXML + "fields:\n  - {group: items, target: x:Items}\n", []string{"rules.yaml:6: rule x:Items: fields: a group needs at least one rule"}},
		{"group with field keys", jsonToXML + "fields:\n  - {group: items, target: x:I, table: t, fields: [{target: x:V, source: v}]}\n", []string{"rule x:I: table: does not apply to a group"}},
		{"group onto an attribute", jsonToXML + "fields:\n  - {group: items, target: x:I/@a, fields: [{target: x:V, source: v}]}\n", []string{"rule x:I/@a: target: a group's target must be an element"}},
		{"group of an attribute", xmlSource + "fields:\n  - {group: x:A/@b, target: l, fields: [{target: v, source: .}]}\n", []string{"rules.yaml:6: rule l: group: a group repeats elements, not an attribute"}},
		{"fields without group: a section takes no value", jsonToXML + "fields:\n  - {target: x:I, source: a, fields: [{target: x:V, source: v}]}\n", []string{"rules.yaml:6: rule x:I: source: does not apply to a section (fields: without group:); a section takes target, when, fields, note"}},
		{"errors inside nested groups", jsonToXML + "fields:\n  - group: a\n    target: x:A\n    fields:\n      - group: b\n        target: x:B\n        fields:\n          - {target: x:C, source: c, case: title}\n",
			[]string{"rules.yaml:12: rule x:C: case: must be upper or lower"}},

		// Shapes.
		{"JSON key both value and object", jsonToJSON + "fields:\n  - {target: a, source: a}\n  - {target: a.b, source: b}\n", []string{"rules.yaml:7: rule a.b: target: a is already a value (rule on line 6)"}},
		{"JSON key both object and value", jsonToJSON + "fields:\n  - {target: a.b, source: b}\n  - {target: a, source: a}\n", []string{"rules.yaml:7: rule a: target: a already holds nested values (rule on line 6)"}},
		{"XML mixed content", jsonToXML + "fields:\n  - {target: x:A, source: a}\n  - {target: x:A/x:B, source: b}\n", []string{"rules.yaml:7: rule x:A/x:B: target: x:A is already a value"}},
		{"JSON . outside a group", jsonToJSON + "fields:\n  - {target: ., source: a}\n", []string{"rules.yaml:6: rule .: target: \".\" is the item itself"}},
		{". with keys", jsonToJSON + "fields:\n  - {group: l, target: l, fields: [{target: ., source: a}, {target: b, source: b}]}\n", []string{"rule .: target: \".\" cannot be combined"}},

		// Tables.
		{"table with file and values", jsonToXML + "tables:\n  t: {file: x.yaml, values: {a: b}}\nfields:\n  - {target: x:A, source: a, table: t}\n", []string{"rules.yaml:6: tables.t: set file or values, not both"}},
		{"table with neither", jsonToXML + "tables:\n  t: {}\nfields:\n  - {target: x:A, source: a, table: t}\n", []string{"rules.yaml:6: tables.t: needs file: or values:"}},
		{"empty inline table", jsonToXML + "tables:\n  t: {values: {}}\nfields:\n  - {target: x:A, source: a, table: t}\n", []string{"rules.yaml:6: tables.t: has no values"}},
		{"nested inline value", jsonToXML + "tables:\n  t: {values: {a: [b]}}\nfields:\n  - {target: x:A, source: a, table: t}\n", []string{`tables.t.values: "a" must map to a plain value`}},
		{"unknown table key", jsonToXML + "tables:\n  t: {file: x.yaml, sheet: 2}\nfields:\n  - {target: x:A, source: a, table: t}\n", []string{`rules.yaml:6: tables.t: unknown key "sheet"`}},
		{"missing table file", jsonToXML + "tables:\n  t: {file: none.yaml}\nfields:\n  - {target: x:A, source: a, table: t}\n", []string{"rules.yaml:6: tables.t: table file: open none.yaml: file does not exist"}},
		{"table file outside the rules", jsonToXML + "tables:\n  t: {file: ../../etc/units.yaml}\nfields:\n  - {target: x:A, source: a, table: t}\n", []string{`tables.t: table file "../../etc/units.yaml" is outside the rules directory`}},
		{"table file without values", jsonToXML + "tables:\n  t: {file: bad/tables/no-values.yaml}\nfields:\n  - {target: x:A, source: a, table: t}\n", []string{"rules.yaml:6: tables.t: table file bad/tables/no-values.yaml has no values"}},
		{"table file with an unknown key", jsonToXML + "tables:\n  t: {file: bad/tables/unknown-key.yaml}\nfields:\n  - {target: x:A, source: a, table: t}\n", []string{`tables.t: table file bad/tables/unknown-key.yaml:2: unknown key "valuez"`}},
		{"table file with a syntax error", jsonToXML + "tables:\n  t: {file: bad/tables/syntax.yaml}\nfields:\n  - {target: x:A, source: a, table: t}\n", []string{"tables.t: table file bad/tables/syntax.yaml:3: YAML syntax: did not find expected ',' or ']'"}},
		{"table file with a nested value", jsonToXML + "tables:\n  t: {file: bad/tables/nested.yaml}\nfields:\n  - {target: x:A, source: a, table: t}\n", []string{`table file bad/tables/nested.yaml:2: values: "kg" must map to a plain value`}},
		{"a table declared twice", jsonToXML + "tables:\n  t: {values: {a: b}}\n  t: {values: {a: c}}\nfields:\n  - {target: x:A, source: a, table: t}\n", []string{`rules.yaml:7: tables: "t" is declared twice`}},

		{"several problems at once, in file order", jsonToXML + "fields:\n  - {target: x:A}\n  - {target: x:B, source: b, case: title}\n",
			[]string{"rules.yaml:6: rule x:A: source, value, expr, concat or copy is required\nrules.yaml:7: rule x:B: case:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"rules.yaml": {Data: []byte(tt.body)}}
			for _, f := range []string{"no-values", "unknown-key", "syntax", "nested"} {
				data, err := os.ReadFile(filepath.Join("testdata/bad/tables", f+".yaml"))
				if err != nil {
					t.Fatal(err)
				}
				fsys["bad/tables/"+f+".yaml"] = &fstest.MapFile{Data: data}
			}
			r, err := Load(fsys, "rules.yaml")
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

func TestLoad_RuleErrorFields(t *testing.T) {
	_, err := Load(inline(jsonToXML+"fields:\n  - {target: x:A, source: a, value: b}\n  - {target: x:B, source: b, case: title}\n"), "rules.yaml")
	var res RuleErrors
	if !errors.As(err, &res) || len(res) != 2 {
		t.Fatalf("got %T %v, want two RuleErrors", err, err)
	}
	want := RuleError{File: "rules.yaml", Line: 7, Rule: "x:B", Msg: `case: must be upper or lower, got "title"`}
	if *res[1] != want {
		t.Errorf("got %+v, want %+v", *res[1], want)
	}
	if _, err := Load(inline(jsonToXML), "missing.yaml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing rule file: %v", err)
	}
}

// Map-time failures: the sentinel, and a message naming the target, the
// source (with group positions) and the rule's line.
func TestMap_FieldErrors(t *testing.T) {
	tests := []struct {
		name, rules, input string
		is                 error
		want               string // the FieldError's message
	}{
		{"required missing", jsonToXML + "fields:\n  - {target: x:A, source: a.b, required: true}\n", `{}`, ErrRequired,
			"x:A (from a.b, rule line 6): required value is missing"},
		{"required blank after trim", jsonToXML + "fields:\n  - {target: x:A, source: a, required: true, trim: true}\n", `{"a":"  "}`, ErrRequired,
			"x:A (from a, rule line 6): required value is missing"},
		{"required group without items", jsonToXML + "fields:\n  - {group: l, target: x:L, required: true, fields: [{target: x:V, source: v}]}\n", `{"l":[]}`, ErrRequired,
			"x:L (from l, rule line 6): required value is missing: at least one item"},
		{"required inside a group names the item", jsonToXML + "fields:\n  - group: l\n    target: x:Ls/x:L\n    fields:\n      - {target: x:V, source: v, required: true}\n",
			`{"l":[{"v":"a"},{}]}`, ErrRequired, "x:Ls/x:L[2]/x:V (from l[2]/v, rule line 9): required value is missing"},
		{"unknown code names table and value", jsonToXML + "tables: {unit: {file: tables/units.yaml}}\nfields:\n  - {target: x:A, source: u, table: unit}\n", `{"u":"lb"}`, ErrUnknownCode,
			`x:A (from u, rule line 7): value not in code table: "lb" is not in table unit`},
		{"unknown code in reverse", jsonToXML + "tables: {unit: {file: tables/units.yaml}}\nfields:\n  - {target: x:A, source: u, table: unit, reverse: true}\n", `{"u":"kg"}`, ErrUnknownCode,
			`"kg" is not in table unit`},
		{"bad date", jsonToXML + "fields:\n  - {target: x:A, source: d, date: {from: dd/MM/yyyy, to: yyyy-MM-dd}}\n", `{"d":"2026-11-25"}`, ErrBadValue,
			`x:A (from d, rule line 6): invalid value: "2026-11-25" does not match the date pattern dd/MM/yyyy`},
		{"impossible date", jsonToXML + "fields:\n  - {target: x:A, source: d, date: {from: dd/MM/yyyy, to: yyyy-MM-dd}}\n", `{"d":"31/02/2026"}`, ErrBadValue, "does not match the date pattern"},
		{"object where a value is expected", jsonToXML + "fields:\n  - {target: x:A, source: a}\n", `{"a":{"b":1}}`, ErrBadValue, "found a JSON object, want a plain value"},
		{"array where a value is expected", jsonToXML + "fields:\n  - {target: x:A, source: a}\n", `{"a":[1]}`, ErrBadValue, "found a JSON array"},
		{"not a number", jsonToJSON + "fields:\n  - {target: n, source: n, type: number}\n", `{"n":"12,5"}`, ErrBadValue, `n (from n, rule line 6): invalid value: "12,5" is not a number`},
		{"not JSON's number grammar", jsonToJSON + "fields:\n  - {target: n, source: n, type: number}\n", `{"n":"+1"}`, ErrBadValue, "is not a number"},
		{"not an integer", jsonToJSON + "fields:\n  - {target: n, source: n, type: integer}\n", `{"n":"1.5"}`, ErrBadValue, `"1.5" is not an integer`},
		{"leading zero", jsonToJSON + "fields:\n  - {target: n, source: n, type: integer}\n", `{"n":"007"}`, ErrBadValue, "is not an integer"},
		{"not a boolean", jsonToJSON + "fields:\n  - {target: b, source: b, type: boolean}\n", `{"b":"si"}`, ErrBadValue, `"si" is not a boolean`},
		{"element with children", xmlToJSON + "fields:\n  - {target: a, source: x:A}\n", `<x:R xmlns:x="urn:x"><x:A><x:B/></x:A></x:R>`, ErrBadValue, "<x:A> has child elements, want text"},
		{"character XML cannot carry", jsonToXML + "fields:\n  - {target: x:A, source: a}\n", `{"a":"bell\u0007"}`, ErrBadValue, "character U+0007 is not allowed in XML"},
		{"constant reported as such", jsonToXML + "fields:\n  - {target: x:A, source: a, table: t}\n  - {target: x:B, value: z, table: t}\ntables: {t: {values: {a: b}}}\n", `{}`, ErrUnknownCode,
			`x:B (from (constant), rule line 7)`},
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
			if !errors.Is(fe[0], tt.is) || !errors.Is(err, tt.is) {
				t.Errorf("%v is not %v", fe[0], tt.is)
			}
			if !strings.Contains(fe[0].Error(), tt.want) {
				t.Errorf("got  %v\nwant %s", fe[0], tt.want)
			}
		})
	}
}

// Map reports every failing field at once, in rule and item order, and
// produces nothing.
func TestMap_AllFieldErrorsAtOnce(t *testing.T) {
	r := mustLoad(t, "sps/cert.outbound.yaml")
	out, err := r.Map([]byte(`{"certificado":{"fechaEmision":"2026-11-25","paisOrigen":"Narnia"},
		"productos":[{"descripcion":"a","unidad":"lb","peso":1},{},{"descripcion":"c","bultos":[{"tipo":"x"}]}]}`))
	if out != nil {
		t.Fatalf("output despite errors: %v", out)
	}
	var fe Errors
	if !errors.As(err, &fe) {
		t.Fatalf("err %T %v", err, err)
	}
	want := []struct {
		target, source string
		line           int
		is             error
	}{
		{"rsm:SPSExchangedDocument/ram:ID", "certificado.numero", 19, ErrRequired},
		{"rsm:SPSExchangedDocument/ram:IssueDateTime/udt:DateTimeString", "certificado.fechaEmision", 21, ErrBadValue},
		{"rsm:SPSConsignment/ram:ConsignorSPSParty/ram:Name", "exportador.nombre", 31, ErrRequired},
		{"rsm:SPSConsignment/ram:ExportSPSCountry/ram:ID", "certificado.paisOrigen", 33, ErrUnknownCode},
		{"rsm:SPSConsignment/ram:ImportSPSCountry/ram:ID", "certificado.paisDestino", 34, ErrRequired},
		{"rsm:SPSConsignment/ram:IncludedSPSConsignmentItem/ram:IncludedSPSTradeLineItem[1]/ram:NetWeightMeasure/@unitCode", "productos[1]/unidad", 43, ErrUnknownCode},
		{"rsm:SPSConsignment/ram:IncludedSPSConsignmentItem/ram:IncludedSPSTradeLineItem[2]/ram:Description", "productos[2]/descripcion", 40, ErrRequired},
	}
	if len(fe) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(fe), len(want), strings.ReplaceAll(err.Error(), "; ", "\n"))
	}
	for i, w := range want {
		if fe[i].Target != w.target || fe[i].Source != w.source || fe[i].Line != w.line || !errors.Is(fe[i], w.is) {
			t.Errorf("error %d: got %+v\nwant %+v", i, *fe[i], w)
		}
	}
	if !strings.HasPrefix(err.Error(), "7 field(s) failed: ") {
		t.Errorf("summary: %v", err)
	}
}

func TestMap_BadInput(t *testing.T) {
	tests := []struct {
		rules, input, want string
	}{
		{"orders.outbound.yaml", `not json`, "orders.outbound.yaml: input is not valid JSON"},
		{"orders.outbound.yaml", ``, "input is not valid JSON"},
		{"orders.outbound.yaml", `[1,2]`, "input must be a JSON object"},
		{"orders.outbound.yaml", `"s"`, "input must be a JSON object"},
		{"orders.outbound.yaml", `{"id":"1"} {"id":"2"}`, "input has data after the JSON value"},
		{"orders.outbound.yaml", `{"id":"1"}]`, "input has data after the JSON value"},
		{"orders.inbound.yaml", `<o:Order xmlns:o="urn:example:order">`, "orders.inbound.yaml: input: malformed XML"},
		{"orders.inbound.yaml", `{"json":"instead"}`, "orders.inbound.yaml: input:"},
		{"orders.inbound.yaml", `<Order/>`, "root element is {}Order, want {urn:example:order}Order"},
	}
	for _, tt := range tests {
		out, err := mustLoad(t, tt.rules).Map([]byte(tt.input))
		if err == nil || out != nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s on %q: err %v, want %q", tt.rules, tt.input, err, tt.want)
		}
	}
}

// Hostile XML, one document per file in testdata/hostile/: any DTD or
// entity declaration is refused before a tree is built.
func TestMap_RejectsHostileXML(t *testing.T) {
	r := mustLoadInline(t, strings.Replace(xmlToJSON, "format: xml,", "format: xml, root: x:R,", 1)+"fields:\n  - {target: a, source: x:A}\n")
	files, err := filepath.Glob("testdata/hostile/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no hostile fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out, err := r.Map(data)
			if out != nil {
				t.Fatalf("mapped a hostile document: %s", out.JSON)
			}
			if !errors.Is(err, xmlsafe.ErrDTD) && !errors.Is(err, xmlsafe.ErrEntity) {
				t.Errorf("err %v, want a DTD or entity refusal", err)
			}
		})
	}
}

// A document with many attributes above many children must map in linear
// time: namespace look-ups are remembered per element, not redone by
// walking every ancestor's attributes for each child.
func TestMap_WideDocument(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds documents of a few hundred KB")
	}
	// As wide as the parser admits: the most attributes one element may
	// carry (each namespace lookup below walks them) over 40,000 siblings.
	const attrs, n = 256 - 1, 40_000 // the xmlns:x declaration counts
	wide := func(attrs int) string {
		var b strings.Builder
		b.WriteString(`<R xmlns:x="urn:x"`)
		for i := range attrs {
			b.WriteString(` a` + strconv.Itoa(i) + `=""`)
		}
		b.WriteString(`>`)
		for i := range n {
			b.WriteString(`<x:I>line item number ` + strconv.Itoa(i) + ` of many</x:I>`)
		}
		b.WriteString(`<x:I>last</x:I></R>`)
		return b.String()
	}
	r := mustLoadInline(t, xmlToJSON+"fields:\n  - {group: 'x:I["+strconv.Itoa(n+1)+"]', target: i, fields: [{target: v, source: .}]}\n")
	start := time.Now()
	out, err := r.Map([]byte(wide(attrs)))
	if err != nil {
		t.Fatal(err)
	}
	if string(out.JSON) != `{"i":[{"v":"last"}]}` {
		t.Errorf("got %s", out.JSON)
	}
	t.Logf("mapped in %v", time.Since(start))
	// Wider is refused by the parser, before any tree is built.
	if _, err := r.Map([]byte(wide(100_000))); !errors.Is(err, xmlsafe.ErrTooManyAttrs) {
		t.Errorf("100,000 attributes on one element: %v, want xmlsafe.ErrTooManyAttrs", err)
	}
}
