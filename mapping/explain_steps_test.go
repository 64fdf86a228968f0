package mapping

import (
	"errors"
	"strings"
	"testing"
)

// TestMapExplain_Steps: each value's line shows what was read and every
// step that turned it into what was written.
func TestMapExplain_Steps(t *testing.T) {
	r := mustLoadInline(t, jsonToJSON+`tables:
  hs: {values: {FRT-APPLE: "080810"}, ignore_case: true}
fields:
  - {target: hs, source: codigo, trim: true, table: hs}
  - {target: fecha, source: emitido, date: {from: "dd/MM/yyyy HH:mm", to: "yyyy-MM-dd'T'HH:mm:ssXXX", zone: Australia/Melbourne}}
  - target: bultos
    expr: |
      let n = len(b);
      n == 1 ? "1 bulto" : string(n) + " bultos"
`)
	out, err := r.MapExplain([]byte(`{"codigo":" frt-apple","emitido":"25/11/2026 14:30","b":[1,2]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `hs = "080810" <- codigo " frt-apple" | trim: " frt-apple" → "frt-apple" | table hs: "frt-apple" → "080810" (rules.yaml:8)
fecha = "2026-11-25T03:30:00Z" <- emitido "25/11/2026 14:30" | date "dd/MM/yyyy HH:mm" in Australia/Melbourne: "25/11/2026 14:30" → "2026-11-25T03:30:00Z" (rules.yaml:9)
bultos = "2 bultos" <- expr: let n = len(b); n == 1 ? "1 bulto" : string(n) + " bultos" (rules.yaml:10)
`
	if got := string(explainText(out.Explain)); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}

// TestMapExplain_FailureTrace: a mapping that fails, explained, gives the
// values written up to the failing rule, and that rule's steps.
func TestMapExplain_FailureTrace(t *testing.T) {
	r := mustLoadInline(t, jsonToJSON+`tables:
  unit: {values: {kg: KGM}}
fields:
  - {target: id, source: n}
  - {target: unidad, source: u, trim: true, case: lower, table: unit}
  - {target: despues, value: x}
`)
	_, err := r.MapExplain([]byte(`{"n":"A-1","u":" LB "}`))
	var xe *ExplainedError
	if !errors.As(err, &xe) || !errors.Is(err, ErrUnknownCode) {
		t.Fatalf("err = %v", err)
	}
	var b strings.Builder
	for _, o := range xe.Trace {
		b.WriteString(o.String() + "\n")
	}
	b.WriteString("FAILED " + xe.Failing.String())
	want := `id = "A-1" <- n (rules.yaml:8)
FAILED unidad = "" <- u " LB " | trim: " LB " → "LB" (rules.yaml:9)`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestTable_IgnoreCase: a table declared ignore_case finds a value in any
// case, forwards and in reverse; keys that differ only in case and give
// different codes are refused at load.
func TestTable_IgnoreCase(t *testing.T) {
	r := mustLoadInline(t, jsonToJSON+"tables:\n  pk: {values: {box: BX, Bin: BI}, ignore_case: true}\nfields:\n  - {target: a, source: a, table: pk}\n  - {target: b, source: b, table: pk, reverse: true}\n")
	if got := string(mapBytes(t, r, []byte(`{"a":"BOX","b":"bi"}`))); got != `{"a":"BX","b":"Bin"}` {
		t.Errorf("got %s", got)
	}
	_, err := Load(inline(jsonToJSON+"tables:\n  pk: {values: {box: BX, BOX: CT}, ignore_case: true}\nfields:\n  - {target: a, source: a, table: pk}\n"), "rules.yaml")
	if err == nil || err.Error() != `rules.yaml:6: tables.pk: ignore_case: keys "box" and "BOX" differ only in case but give "BX" and "CT"` {
		t.Errorf("err = %v", err)
	}
}
