package mapping

import (
	"errors"
	"testing"
)

func TestNumberConv(t *testing.T) {
	latin := numFormat{decimal: ",", thousands: ".", decimals: -1}
	plain := numFormat{decimal: ".", decimals: -1}
	tests := []struct {
		from, to numFormat
		in, want string // want "" with a non-empty in: an error
	}{
		{latin, plain, "1.234,50", "1234.50"},
		{latin, plain, "1234,5", "1234.5"},
		{latin, plain, "-1.234.567,000", "-1234567.000"},
		{latin, plain, "+12", "12"},
		{latin, plain, "007", "7"},
		{latin, plain, "0,5", "0.5"},
		{latin, plain, " 12 ", "12"},
		{plain, latin, "1234567.891", "1.234.567,891"},
		{plain, latin, "123", "123"},
		{plain, latin, "-1234", "-1.234"},
		{plain, numFormat{decimal: ".", decimals: 2}, "1.005", "1.01"},
		{plain, numFormat{decimal: ".", decimals: 2}, "9.995", "10.00"},
		{plain, numFormat{decimal: ".", decimals: 0}, "0.5", "1"},
		{plain, numFormat{decimal: ".", decimals: 0}, "-0.4", "0"},
		{plain, numFormat{decimal: ".", decimals: 3}, "2", "2.000"},
		{plain, numFormat{decimal: ",", thousands: "\u00a0", decimals: 2}, "1234567", "1\u00a0234\u00a0567,00"},
		{numFormat{decimal: ".", thousands: "'"}, plain, "1'234.5", "1234.5"},
		// Not in the declared notation.
		{latin, plain, "1,234.50", ""},
		{latin, plain, "12.34", ""},
		{latin, plain, "1.2345", ""},
		{latin, plain, ".234", ""},
		{latin, plain, "1,", ""},
		{latin, plain, ",5", ""},
		{latin, plain, "1,2,3", ""},
		{latin, plain, "1e3", ""},
		{latin, plain, "--1", ""},
		{latin, plain, "abc", ""},
		{plain, plain, "1,000", ""},
	}
	for _, tt := range tests {
		n := &numberConv{from: tt.from, to: tt.to}
		got, err := n.convert(tt.in)
		if tt.want == "" {
			if err == nil || !errors.Is(err, ErrBadValue) {
				t.Errorf("%q: got %q, %v; want ErrBadValue", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if got, err := (&numberConv{from: latin, to: plain}).convert("  "); got != "" || err != nil {
		t.Errorf("blank: %q %v", got, err)
	}
}

func TestNewNumFormat(t *testing.T) {
	for _, bad := range []struct {
		dec, th string
		n       int
	}{{",,", "", -1}, {"", "..", -1}, {".", ".", -1}, {"1", "", -1}, {".", "-", -1}, {".", "", 19}, {".", "", -2}} {
		if _, err := newNumFormat(bad.dec, bad.th, bad.n); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	if f, err := newNumFormat("", "", -1); err != nil || f.decimal != "." {
		t.Errorf("default decimal: %+v %v", f, err)
	}
}

// A when: is a path when it reads like one, else an expression.
func TestIsPathLike(t *testing.T) {
	for s, want := range map[string]bool{
		"peso": true, "a.b.c": true, "x:A/@on": true, ".": true, "$root.a": true, "fecha-emision": true, "nombreComún": true,
		"l[k='x y']": true, "x:N[x:S='a == b']/x:C": true, "l[2]": true,
		"a == 'x'": false, "!a": false, "len(l) > 0": false, "a && b": false, "a+b": false, "'x'": false, "a b": false, "a\u00a0b": false,
	} {
		if got := isPathLike(s); got != want {
			t.Errorf("isPathLike(%q) = %v, want %v", s, got, want)
		}
	}
}
