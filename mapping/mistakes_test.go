package mapping

import (
	"strings"
	"testing"
)

// orderedSchema is fakeSchema that also knows the order of children and
// which occur once, as schema.Targets does.
type orderedSchema struct {
	*fakeSchema
	kids map[string][]string // parent (x: prefixes) → children in order; "*" suffix: repeats
}

func (s orderedSchema) Children(p string) ([]string, []bool, bool) {
	kids, ok := s.kids[strings.ReplaceAll(p, "{urn:x}", "x:")]
	if !ok {
		return nil, nil, false
	}
	names, many := make([]string, len(kids)), make([]bool, len(kids))
	for i, k := range kids {
		names[i], many[i] = toClark(strings.TrimSuffix(k, "*")), strings.HasSuffix(k, "*")
	}
	return names, many, true
}

func newOrderedSchema() orderedSchema {
	return orderedSchema{
		fakeSchema: newFakeSchema([]string{"x:R/x:Doc", "x:R/x:Doc/x:ID", "x:R/x:Doc/x:Date", "x:R/x:Doc/x:Note", "x:R/x:Doc/x:Note/@lang",
			"x:R/x:Lines", "x:R/x:Lines/x:Line", "x:R/x:Lines/x:Line/x:Seq", "x:R/x:Lines/x:Line/x:Qty"}),
		kids: map[string][]string{
			"x:R":                 {"x:Doc", "x:Lines"},
			"x:R/x:Doc":           {"x:ID", "x:Date", "x:Note*"},
			"x:R/x:Lines":         {"x:Line*"},
			"x:R/x:Lines/x:Line":  {"x:Seq", "x:Qty"},
			"x:R/x:Doc/x:Note":    {},
			"x:R/x:Lines/x:Line/": {},
		},
	}
}

// TestLoad_AnalystMistakes: each mistake an analyst makes that used to go
// through silently is refused when the file loads, with the file, the line,
// the rule and what to do.
func TestLoad_AnalystMistakes(t *testing.T) {
	tests := []struct {
		name, body string
		schema     bool // load with the ordered schema
		want       string
	}{
		{"a second rule writing the certificate's ID", jsonToXML + `fields:
  - {target: x:Doc/x:ID, source: numero}
  - {target: x:Doc/x:Date, source: fecha}
  - {target: x:Doc/x:ID, source: otroNumero}
`, false, `rules.yaml:8: rule x:Doc/x:ID: target: also written by the rule on line 6, so one value silently replaces the other: keep one rule (a fallback is default: or coalesce()), or give both when: conditions that exclude each other (when: x and when: 'not present(x)')`},
		{"one rule with a condition does not exclude one without", jsonToJSON + `fields:
  - {target: a, value: "1"}
  - {target: a, source: b, when: b}
`, false, `rules.yaml:7: rule a: target: also written by the rule on line 6, so one value silently replaces the other: keep one rule (a fallback is default: or coalesce()), or give both when: conditions that exclude each other (when: x and when: 'not present(x)')`},
		{"two writes in one section and beside it", jsonToJSON + `fields:
  - {target: a.b, source: b}
  - target: a
    when: c
    fields:
      - {target: b, source: c}
`, false, `rules.yaml:10: rule a.b: target: also written by the rule on line 6, so one value silently replaces the other: keep one rule (a fallback is default: or coalesce()), or give both when: conditions that exclude each other (when: x and when: 'not present(x)')`},
		{"the same rule pasted twice", jsonToXML + `fields:
  - {target: x:Doc/x:ID, source: numero, required: true}
  - target: x:Doc/x:ID
    required: true
    source: numero
`, false, `rules.yaml:7: rule x:Doc/x:ID: the same rule as line 6: delete one of them`},
		{"the same rule pasted twice in a group", jsonToXML + `fields:
  - group: l
    target: x:Lines/x:Line
    fields:
      - {target: x:Qty, source: q}
      - {target: x:Qty, source: q, note: pasted}
`, false, `rules.yaml:10: rule x:Qty: the same rule as line 9: delete one of them`},
		{"an element the schema allows once, appended twice", jsonToXML + `fields:
  - {target: "x:Doc/x:ID[+]", source: a}
  - {target: "x:Doc/x:ID[+]", source: b}
`, true, `rules.yaml:7: rule x:Doc/x:ID[+]: target: appends a second x:ID, which the schema allows once (first on line 6): write it in one rule`},
		{"dd/mm/yyyy: minutes for the month", jsonToJSON + `fields:
  - target: fecha
    source: f
    date: {from: dd/mm/yyyy, to: yyyy-MM-dd}
`, false, `rules.yaml:8: rule fecha: date: from: "dd/mm/yyyy" has minutes (mm) but no hour (HH): for the month write MM`},
		{"DD: day of the year", jsonToJSON + `fields:
  - {target: fecha, source: f, date: {from: DD/MM/yyyy, to: yyyy-MM-dd}}
`, false, `rules.yaml:6: rule fecha: date: from: "DD" in "DD/MM/yyyy" is the day of the year (001–366); the day of the month is dd`},
		{"YYYY: week-based year", jsonToJSON + `fields:
  - {target: fecha, source: f, date: {from: dd/MM/yyyy, to: YYYY-MM-dd}}
`, false, `rules.yaml:6: rule fecha: date: to: "YYYY" in "YYYY-MM-dd" is the week-based year, which differs from the calendar year around New Year; the year is yyyy`},
		{"no month", jsonToJSON + `fields:
  - {target: fecha, source: f, date: {from: dd/yyyy, to: yyyy-MM-dd}}
`, false, `rules.yaml:6: rule fecha: date: from: "dd/yyyy" has a day and a year but no month (MM)`},
		{"YAML: a line indented one space too few, far below its list", jsonToJSON + `fields:
  - target: a
    source: b
  - target: c
    source: d
  - target: e
    source: f
  - target: g
   source: h
`, false, `rules.yaml:13: YAML syntax: did not find expected '-' indicator (this line is indented differently from the lines of the same list or mapping above it)`},
		{"YAML: a nested list item indented wrong", jsonToJSON + `fields:
  - group: l
    target: x
    fields:
      - target: c
        source: d
     - target: g
        source: h
`, false, `rules.yaml:11: YAML syntax: did not find expected key (this line is indented differently from the lines of the same list or mapping above it)`},
		{"YAML: [+] unquoted in a flow mapping keeps its quoting hint", jsonToXML + `fields:
  - {target: x:Doc/x:Note[+], source: n}
`, false, `rules.yaml:6: YAML syntax: did not find expected ',' or '}' (quote values containing [ ] { } , : # @ or ` + "`" + `)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts Options
			if tc.schema {
				opts.Targets = newOrderedSchema()
			}
			_, err := LoadWith(inline(tc.body), "rules.yaml", opts)
			if err == nil {
				t.Fatalf("loaded; want %s", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("got  %s\nwant %s", err, tc.want)
			}
		})
	}
}

// TestLoad_ExclusiveConditionsMayShareATarget: conditions that cannot both
// hold are how a file says "this or that" about one value.
func TestLoad_ExclusiveConditionsMayShareATarget(t *testing.T) {
	for name, pair := range map[string][2]string{
		"path and not present":   {`when: b`, `when: 'not present(b)'`},
		"present and !present":   {`when: 'present(b)'`, `when: '!present(b)'`},
		"expression and its not": {`when: 'x == "1" && len(y) > 2'`, `when: 'x == "1" && !(len(y) > 2)'`},
		"different literals":     {`when: 'tipo == "A"'`, `when: "tipo == 'B'"`},
		"in sections":            {``, ``},
	} {
		t.Run(name, func(t *testing.T) {
			body := jsonToJSON + "fields:\n  - {target: a, source: b, " + pair[0] + "}\n  - {target: a, value: x, " + pair[1] + "}\n"
			if name == "in sections" {
				body = jsonToJSON + "fields:\n  - {target: s, when: b, fields: [{target: a, source: b}]}\n  - {target: s, when: 'not present(b)', fields: [{target: a, value: x}]}\n"
			}
			if _, err := Load(inline(body), "rules.yaml"); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestMap_SchemaOrderWhateverTheRuleOrder: with the schema's order known,
// the rules write every element where the schema puts it, so listing rules
// out of order cannot make a document invalid.
func TestMap_SchemaOrderWhateverTheRuleOrder(t *testing.T) {
	body := jsonToXML + `fields:
  - group: l
    target: x:Lines/x:Line
    fields:
      - {target: x:Qty, source: q}
      - {target: x:Seq, source: $index}
  - {target: "x:Doc/x:Note[+]", source: n1}
  - {target: x:Doc/x:Note/@lang, value: es}
  - {target: "x:Doc/x:Note[+]", source: n2}
  - {target: x:Doc/x:Date, source: d}
  - {target: x:Doc/x:ID, source: id}
`
	in := `{"id":"A-1","d":"2026-11-25","n1":"one","n2":"two","l":[{"q":"1"},{"q":"2"}]}`
	want := `<?xml version="1.0" encoding="UTF-8"?><x:R xmlns:x="urn:x"><x:Doc><x:ID>A-1</x:ID><x:Date>2026-11-25</x:Date><x:Note lang="es">one</x:Note><x:Note>two</x:Note></x:Doc>` +
		`<x:Lines><x:Line><x:Seq>1</x:Seq><x:Qty>1</x:Qty></x:Line><x:Line><x:Seq>2</x:Seq><x:Qty>2</x:Qty></x:Line></x:Lines></x:R>`
	r, err := LoadWith(inline(body), "rules.yaml", Options{Targets: newOrderedSchema()})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(mapBytes(t, r, []byte(in))); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Without the schema, rule order stands (what the check above changes).
	plain := mustLoadInline(t, body)
	if got := string(mapBytes(t, plain, []byte(in))); got == want {
		t.Error("without a schema the rules' own order should show; the test proves nothing")
	}
}

// TestUnmatched_TypoInAnOptionalSource: a typo in an optional source path
// maps to nothing, silently; tried on the example payloads it is reported
// with the closest names the payloads have.
func TestUnmatched_TypoInAnOptionalSource(t *testing.T) {
	r := mustLoadInline(t, jsonToJSON+`fields:
  - {target: id, source: certificate.certificateNumbr}
  - {target: ok, source: certificate.issued}
  - group: items
    target: lines
    fields:
      - {target: w, source: weigth}
      - {target: x, concat: [weight, unit]}
`)
	payloads := [][]byte{
		[]byte(`{"certificate":{"certificateNumber":"A-1","issued":"2026-11-25"},"items":[{"weight":"1"}]}`),
		[]byte(`{"certificate":{"issued":"2026-11-26"},"items":[{"weight":"2","unit":"kg"}]}`),
	}
	var got []string
	for _, u := range r.Unmatched(payloads) {
		got = append(got, u.String())
	}
	want := []string{
		"rules.yaml:6: rule id: source certificate.certificateNumbr matches nothing in the example payloads; did you mean `certificateNumber`?",
		"rules.yaml:11: rule w: source weigth matches nothing in the example payloads; did you mean `weight`?",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
