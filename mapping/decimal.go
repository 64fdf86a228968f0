package mapping

import (
	"fmt"
	"strings"

	// Exact decimal arithmetic for unit conversions (tonnes ⇄ kilograms,
	// pounds …). Chosen over shopspring/decimal deliberately: apd
	// implements the General Decimal Arithmetic specification with an
	// explicit context (precision, rounding) per operation and reports
	// Inexact as a condition, so a division that does not terminate is
	// refused instead of being rounded silently; shopspring/decimal divides
	// to a package-global DivisionPrecision and rounds without telling.
	// apd is CockroachDB's, maintained, and has no dependencies of its own.
	"github.com/cockroachdb/apd/v3"
)

// decimalCtx is the context of every operation: 34 significant digits
// (IEEE 754 decimal128), far beyond any weight or amount a certificate
// carries, and traps that turn an inexact or out-of-range result into an
// error rather than a rounded number.
var decimalCtx = func() *apd.Context {
	c := apd.BaseContext.WithPrecision(34)
	c.Traps = apd.DefaultTraps | apd.Inexact
	c.Rounding = apd.RoundHalfUp // half away from zero, as fixed() and number:
	return c
}()

// decimalHelpers are the expression functions of exact arithmetic on
// decimal text: dmul(a, b), ddiv(a, b) (exact, or an error) and ddiv(a, b,
// n) (rounded half away from zero to n decimals), dadd(a, b), dsub(a, b).
// Arguments are numbers written as text ("1250.50", as sources read) or
// expression numbers; results are text without exponent or trailing
// zeros ("1500", not "1500.000").
var decimalHelpers = []string{"dmul", "ddiv", "dadd", "dsub"}

func parseDecimal(fn string, x any) (*apd.Decimal, error) {
	var text string
	switch v := x.(type) {
	case string:
		text = strings.TrimSpace(v)
	case int:
		return apd.New(int64(v), 0), nil
	case float64:
		// An expression's own number literal (1000, 0.001): through its
		// shortest text, so 0.001 is exactly 0.001.
		text = fmt.Sprint(v)
	case nil:
		return nil, fmt.Errorf("%w: %s(): a value is missing", ErrBadValue, fn)
	default:
		text = fmt.Sprint(v)
	}
	d, _, err := apd.NewFromString(text)
	if err != nil || d.Form != apd.Finite {
		return nil, fmt.Errorf("%w: %s(): %q is not a decimal number", ErrBadValue, fn, text)
	}
	return d, nil
}

// decimalText writes d without exponent and without trailing zeros.
func decimalText(d *apd.Decimal) string {
	var r apd.Decimal
	r.Reduce(d)
	if r.IsZero() {
		return "0"
	}
	return r.Text('f')
}

func decimalOp(fn string, op func(z, x, y *apd.Decimal) (apd.Condition, error)) func(p ...any) (any, error) {
	return func(p ...any) (any, error) {
		x, err := parseDecimal(fn, p[0])
		if err != nil {
			return nil, err
		}
		y, err := parseDecimal(fn, p[1])
		if err != nil {
			return nil, err
		}
		var z apd.Decimal
		if _, err := op(&z, x, y); err != nil {
			return nil, fmt.Errorf("%w: %s(%s, %s): %v", ErrBadValue, fn, x, y, err)
		}
		return decimalText(&z), nil
	}
}

var (
	exprDmul = decimalOp("dmul", decimalCtx.Mul)
	exprDadd = decimalOp("dadd", decimalCtx.Add)
	exprDsub = decimalOp("dsub", decimalCtx.Sub)
)

// exprDdiv is ddiv(a, b) — exact, or an error saying to round — and
// ddiv(a, b, n), rounded half away from zero to n decimals.
func exprDdiv(p ...any) (any, error) {
	if len(p) != 2 && len(p) != 3 {
		return nil, fmt.Errorf("%w: ddiv(a, b) or ddiv(a, b, decimals)", ErrBadValue)
	}
	x, err := parseDecimal("ddiv", p[0])
	if err != nil {
		return nil, err
	}
	y, err := parseDecimal("ddiv", p[1])
	if err != nil {
		return nil, err
	}
	if y.IsZero() {
		return nil, fmt.Errorf("%w: ddiv(%s, 0): division by zero", ErrBadValue, x)
	}
	var z apd.Decimal
	if len(p) == 2 {
		if _, err := decimalCtx.Quo(&z, x, y); err != nil {
			return nil, fmt.Errorf("%w: ddiv(%s, %s) has no exact decimal result; give the decimals to round to: ddiv(a, b, n)", ErrBadValue, x, y)
		}
		return decimalText(&z), nil
	}
	n, ok := p[2].(int)
	if !ok || n < 0 || n > 18 {
		return nil, fmt.Errorf("%w: ddiv(a, b, n): n must be 0 to 18", ErrBadValue)
	}
	c := *decimalCtx
	c.Traps = apd.DefaultTraps // rounding is what was asked for
	if _, err := c.Quo(&z, x, y); err != nil {
		return nil, fmt.Errorf("%w: ddiv(%s, %s): %v", ErrBadValue, x, y, err)
	}
	var r apd.Decimal
	if _, err := c.Quantize(&r, &z, int32(-n)); err != nil {
		return nil, fmt.Errorf("%w: ddiv(%s, %s, %d): %v", ErrBadValue, x, y, n, err)
	}
	return r.Text('f'), nil // exactly n decimals, as asked
}
