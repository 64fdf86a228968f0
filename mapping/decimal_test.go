package mapping

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cockroachdb/apd/v3"
)

// TestDecimal_TonnesKilogramsRoundTrip: a weight in tonnes, converted to
// kilograms by one rule file and back by another, is the same number —
// for 1,000 random decimal weights, each checked exactly (no float is
// involved anywhere).
func TestDecimal_TonnesKilogramsRoundTrip(t *testing.T) {
	out := mustLoadInline(t, jsonToJSON+"fields:\n  - {target: kg, expr: 'dmul(t, 1000)'}\n")
	back := mustLoadInline(t, jsonToJSON+"fields:\n  - {target: t, expr: 'ddiv(kg, \"1000\")'}\n")
	rng := rand.New(rand.NewPCG(14, 2026))
	for i := range 1000 {
		// Up to 9 integer digits and 0 to 9 decimals: 123456789.123456789 t.
		w := fmt.Sprintf("%d", rng.Int64N(1_000_000_000))
		if d := rng.IntN(10); d > 0 {
			w += "." + fmt.Sprintf("%0*d", d, rng.Int64N(pow10(d)))
		}
		kg := jsonField(t, mapBytes(t, out, []byte(`{"t":"`+w+`"}`)), "kg")
		got := jsonField(t, mapBytes(t, back, []byte(`{"kg":"`+kg+`"}`)), "t")
		a, _, _ := apd.NewFromString(w)
		b, _, err := apd.NewFromString(got)
		if err != nil || a.Cmp(b) != 0 {
			t.Fatalf("#%d: %s t → %s kg → %s t", i, w, kg, got)
		}
		wantKG, _, _ := apd.NewFromString(w)
		wantKG.Exponent += 3
		if k, _, _ := apd.NewFromString(kg); k.Cmp(wantKG) != 0 || strings.ContainsAny(kg, "eE") {
			t.Fatalf("#%d: %s t → %s kg", i, w, kg)
		}
	}
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

func jsonField(t *testing.T, doc []byte, key string) string {
	t.Helper()
	s := string(doc)
	i := strings.Index(s, `"`+key+`":"`)
	if i < 0 {
		t.Fatalf("no %s in %s", key, s)
	}
	s = s[i+len(key)+4:]
	return s[:strings.IndexByte(s, '"')]
}

func TestDecimal_Helpers(t *testing.T) {
	tests := []struct{ expr, in, want string }{
		{`dmul(v, 1000)`, `{"v":"1.5"}`, `{"r":"1500"}`},
		{`dmul(v, "0.001")`, `{"v":"1250.50"}`, `{"r":"1.2505"}`},
		{`ddiv(v, 1000)`, `{"v":"1500"}`, `{"r":"1.5"}`},
		{`ddiv(v, 3, 2)`, `{"v":"1"}`, `{"r":"0.33"}`},
		{`ddiv(v, 8, 2)`, `{"v":"1"}`, `{"r":"0.13"}`},
		{`dadd(v, "0.2")`, `{"v":"0.1"}`, `{"r":"0.3"}`},
		{`dsub(v, "0.1")`, `{"v":"0.1"}`, `{"r":"0"}`},
		{`dmul(v, "2.20462")`, `{"v":100}`, `{"r":"220.462"}`},
	}
	for _, tc := range tests {
		r := mustLoadInline(t, jsonToJSON+"fields:\n  - {target: r, expr: '"+strings.ReplaceAll(tc.expr, "'", "''")+"'}\n")
		if got := string(mapBytes(t, r, []byte(tc.in))); got != tc.want {
			t.Errorf("%s on %s = %s, want %s", tc.expr, tc.in, got, tc.want)
		}
	}
	r := mustLoadInline(t, jsonToJSON+"fields:\n  - {target: r, expr: 'ddiv(v, 3)'}\n")
	_, err := r.Map([]byte(`{"v":"1"}`))
	if err == nil || !strings.Contains(err.Error(), "ddiv(1, 3) has no exact decimal result; give the decimals to round to: ddiv(a, b, n)") {
		t.Errorf("inexact division: %v", err)
	}
}
