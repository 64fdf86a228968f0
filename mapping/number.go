package mapping

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// numFormat is how one side writes a decimal number.
type numFormat struct {
	decimal   string // the decimal separator: one character
	thousands string // the grouping separator, or "" for none
	decimals  int    // output only: fixed number of decimals; -1 keeps them as given
}

// numberConv rewrites a decimal number from one notation to another
// ("1.234,50" ↔ "1234.50"). It works on the digits as text, never through
// a float, so no amount gains or loses a cent on the way.
type numberConv struct {
	from, to numFormat
}

func newNumFormat(decimal, thousands string, decimals int) (numFormat, error) {
	f := numFormat{decimal: decimal, thousands: thousands, decimals: decimals}
	if f.decimal == "" {
		f.decimal = "."
	}
	for _, s := range []struct{ what, v string }{{"decimal", f.decimal}, {"thousands", f.thousands}} {
		if s.v == "" {
			continue
		}
		r, size := utf8.DecodeRuneInString(s.v)
		if size != len(s.v) || r == utf8.RuneError {
			return f, fmt.Errorf("%s: must be one character, got %q", s.what, s.v)
		}
		if r >= '0' && r <= '9' || r == '-' || r == '+' {
			return f, fmt.Errorf("%s: %q cannot be a separator", s.what, s.v)
		}
	}
	if f.decimal == f.thousands {
		return f, fmt.Errorf("decimal and thousands separators are both %q", f.decimal)
	}
	if decimals < -1 || decimals > 18 {
		return f, fmt.Errorf("decimals: must be between 0 and 18, got %d", decimals)
	}
	return f, nil
}

// convert reads v in the from notation and writes it in the to notation.
// Surrounding space is ignored; an empty value stays empty.
func (n *numberConv) convert(v string) (string, error) {
	s := strings.TrimSpace(v)
	if s == "" {
		return "", nil
	}
	neg, intPart, frac, ok := n.from.parse(s)
	if !ok {
		sep := "none"
		if n.from.thousands != "" {
			sep = fmt.Sprintf("%q", n.from.thousands)
		}
		return "", fmt.Errorf("%w: %q is not a number with decimal separator %q and thousands separator %s", ErrBadValue, v, n.from.decimal, sep)
	}
	return n.to.format(neg, intPart, frac), nil
}

// parse splits s into sign, integer digits and fraction digits. With a
// thousands separator, groups after the first must have three digits, so
// "1.234,5" read with decimal "," is accepted and "12.34,5" is not: a
// misplaced separator usually means the notation is not the one declared.
func (f numFormat) parse(s string) (neg bool, intPart, frac string, ok bool) {
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, f.decimal)
	if hasFrac && (frac == "" || !allDigits(frac)) {
		return false, "", "", false
	}
	if f.thousands != "" && strings.Contains(intPart, f.thousands) {
		groups := strings.Split(intPart, f.thousands)
		if len(groups[0]) < 1 || len(groups[0]) > 3 || !allDigits(groups[0]) {
			return false, "", "", false
		}
		for _, g := range groups[1:] {
			if len(g) != 3 || !allDigits(g) {
				return false, "", "", false
			}
		}
		intPart = strings.Join(groups, "")
	}
	if intPart == "" || !allDigits(intPart) {
		return false, "", "", false
	}
	return neg, intPart, frac, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// format writes a parsed number, rounding half away from zero when it has
// more decimals than asked for.
func (f numFormat) format(neg bool, intPart, frac string) string {
	intPart = strings.TrimLeft(intPart, "0")
	if f.decimals >= 0 {
		if len(frac) > f.decimals {
			up := frac[f.decimals] >= '5'
			frac = frac[:f.decimals]
			if up {
				digits := incrementDigits(intPart + frac)
				intPart, frac = digits[:len(digits)-len(frac)], digits[len(digits)-len(frac):]
			}
		}
		for len(frac) < f.decimals {
			frac += "0"
		}
	}
	if intPart == "" {
		intPart = "0"
	}
	if strings.Trim(intPart+frac, "0") == "" {
		neg = false // no "-0.00"
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if f.thousands == "" {
		b.WriteString(intPart)
	} else {
		for i := 0; i < len(intPart); i++ {
			if i > 0 && (len(intPart)-i)%3 == 0 {
				b.WriteString(f.thousands)
			}
			b.WriteByte(intPart[i])
		}
	}
	if frac != "" {
		b.WriteString(f.decimal)
		b.WriteString(frac)
	}
	return b.String()
}

// incrementDigits adds one to a string of decimal digits ("" is 0).
func incrementDigits(d string) string {
	b := []byte(d)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return "1" + string(b)
}
