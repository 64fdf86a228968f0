package mapping

import (
	"errors"
	"testing"
)

// TestLanguageAdditions: what issue 14 added to the rule language, each
// as it is written in README.md.
func TestLanguageAdditions(t *testing.T) {
	tests := []struct{ name, rules, in, want string }{
		{"several predicates on one step, all must hold", jsonToJSON + `fields: [{target: n, source: "partes[tipo='exportador'][email].nombre"}]`,
			`{"partes":[{"tipo":"exportador","nombre":"sin correo"},{"tipo":"importador","email":"i@x","nombre":"imp"},{"tipo":"exportador","email":"e@x","nombre":"exp"}]}`, `{"n":"exp"}`},
		{"and inside a predicate", jsonToJSON + `fields: [{target: n, source: "partes[tipo='exportador' and pais!='CL'].nombre"}]`,
			`{"partes":[{"tipo":"exportador","pais":"CL","nombre":"cl"},{"tipo":"exportador","pais":"PE","nombre":"pe"}]}`, `{"n":"pe"}`},
		{"or inside a predicate", jsonToJSON + `fields: [{target: n, source: "partes[tipo='agente' or tipo='exportador'].nombre", join: ", "}]`,
			`{"partes":[{"tipo":"agente","nombre":"a"},{"tipo":"banco","nombre":"b"},{"tipo":"exportador","nombre":"e"}]}`, `{"n":"a, e"}`},
		{"and binds tighter than or", jsonToJSON + `fields: [{target: n, source: "p[a='1' and b='1' or c].v", join: ","}]`,
			`{"p":[{"a":"1","b":"1","v":"ab"},{"a":"1","v":"a"},{"c":"x","v":"c"}]}`, `{"n":"ab,c"}`},
		{"a position counts what the other predicates kept", jsonToJSON + `fields: [{target: n, source: "p[t='x'][2].v"}]`,
			`{"p":[{"t":"x","v":"1"},{"t":"y","v":"2"},{"t":"x","v":"3"}]}`, `{"n":"3"}`},
		{"XML: and / or and a position", xmlToJSON + `fields: [{target: n, source: "x:P[@t='a' or @t='b'][x:Q and x:R!='0'][1]/x:V"}]`,
			`<x:D xmlns:x="urn:x"><x:P t="c"><x:Q>1</x:Q><x:V>c</x:V></x:P><x:P t="a"><x:R>1</x:R><x:V>no Q</x:V></x:P><x:P t="b"><x:Q>1</x:Q><x:R>2</x:R><x:V>b</x:V></x:P></x:D>`, `{"n":"b"}`},
		{"a date with an offset keeps its day east of Greenwich", jsonToJSON + `fields: [{target: d, source: f, date: {from: dd/MM/yyyy, to: yyyy-MM-ddXXX, zone: Australia/Melbourne}}]`,
			`{"f":"25/11/2026"}`, `{"d":"2026-11-25+11:00"}`},
		{"and west of it", jsonToJSON + `fields: [{target: d, source: f, date: {from: dd/MM/yyyy, to: yyyy-MM-ddXXX, zone: America/Lima}}]`,
			`{"f":"25/11/2026"}`, `{"d":"2026-11-25-05:00"}`},
		{"a date given with its offset keeps it", jsonToJSON + `fields: [{target: d, source: f, date: {from: "yyyy-MM-dd'T'HH:mmXXX", to: yyyy-MM-ddXXX, zone: America/Lima}}]`,
			`{"f":"2026-11-25T23:30+11:00"}`, `{"d":"2026-11-25+11:00"}`},
		{"a date-time with an offset is still written in UTC", jsonToJSON + `fields: [{target: d, source: f, date: {from: "dd/MM/yyyy HH:mm", to: "yyyy-MM-dd'T'HH:mm:ssXXX", zone: Australia/Melbourne}}]`,
			`{"f":"25/11/2026 09:30"}`, `{"d":"2026-11-24T22:30:00Z"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(mapBytes(t, mustLoadInline(t, tc.rules), []byte(tc.in))); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestMessage_RuleDefinedError: a rule's message: is what its failure
// says, and the failure still is what it is for errors.Is.
func TestMessage_RuleDefinedError(t *testing.T) {
	r := mustLoadInline(t, jsonToJSON+`fields:
  - target: kg
    expr: 'u == "t" ? dmul(p, 1000) : (u == "kg" ? p : nil)'
    required: true
    message: "unit must be kg or t (the native format's peso.unidad)"
`)
	_, err := r.Map([]byte(`{"p":"2","u":"lb"}`))
	want := "1 field(s) failed: kg (from expr: u == \"t\" ? dmul(p, 1000) : (u == \"kg\" ? p : nil), rule line 6): unit must be kg or t (the native format's peso.unidad)"
	if err == nil || err.Error() != want || !errors.Is(err, ErrRequired) {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	if _, err := Load(inline(jsonToJSON+"fields: [{target: a, source: a, message: \"\"}]\n"), "rules.yaml"); err == nil ||
		err.Error() != "rules.yaml:5: rule a: message: is empty (the text a failing value reports instead of the engine's)" {
		t.Errorf("empty message: %v", err)
	}
}
