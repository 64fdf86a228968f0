package mapping

import (
	"errors"
	"strings"
	"testing"
)

func TestDateConv(t *testing.T) {
	tests := []struct {
		from, to, zone string
		in, want       string
	}{
		// An offset in the output pattern means UTC.
		{"yyyy-MM-dd'T'HH:mm:ssXXX", "yyyy-MM-dd'T'HH:mm:ssXXX", "", "2026-11-25T09:30:00-05:00", "2026-11-25T14:30:00Z"},
		{"yyyy-MM-dd'T'HH:mm:ssXXX", "yyyy-MM-dd'T'HH:mm:ssXXX", "America/Lima", "2026-11-25T14:30:00Z", "2026-11-25T14:30:00Z"},
		// A zone-less input is read in the zone; a zone-less output is written in it.
		{"dd/MM/yyyy HH:mm", "yyyy-MM-dd'T'HH:mm:ssXXX", "America/Lima", "25/11/2026 09:30", "2026-11-25T14:30:00Z"},
		{"yyyy-MM-dd'T'HH:mm:ssXXX", "yyyyMMddHHmm", "America/Bogota", "2026-11-25T14:30:00Z", "202611250930"},
		{"yyyy-MM-dd'T'HH:mm:ssXXX", "yyyy-MM-dd HH:mm", "America/Santiago", "2026-01-15T12:00:00Z", "2026-01-15 09:00"}, // summer time
		{"yyyy-MM-dd HH:mm", "dd.MM.yy", "America/Mexico_City", "2026-01-02 23:59", "02.01.26"},
		// Local Santiago time to UTC, in summer (-03:00) and winter (-04:00),
		// and to an explicit offset pattern (written in UTC).
		{"dd/MM/yyyy HH:mm", "yyyy-MM-dd'T'HH:mm:ssXXX", "America/Santiago", "25/11/2026 09:30", "2026-11-25T12:30:00Z"},
		{"dd/MM/yyyy HH:mm", "yyyy-MM-dd'T'HH:mm:ssXXX", "America/Santiago", "15/07/2026 09:30", "2026-07-15T13:30:00Z"},
		{"dd/MM/yyyy HH:mm", "yyyy-MM-dd'T'HH:mm:ssxxx", "America/Santiago", "15/07/2026 22:30", "2026-07-16T02:30:00+00:00"},
		{"yyyyMMdd", "yyyy-MM-dd", "", "20261125", "2026-11-25"},
		{"yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm:ssXXX", "America/Lima", "2026-11-25", "2026-11-25T05:00:00Z"},
		// Fractions, other offset styles, quotes.
		{"yyyy-MM-dd'T'HH:mm:ss.SSSZ", "yyyy-MM-dd'T'HH:mm:ssXXX", "", "2026-11-25T14:30:00.123+0100", "2026-11-25T13:30:00Z"},
		{"yyyy-MM-dd'T'HH:mm:ss.SSSSSSXX", "yyyy-MM-dd'T'HH:mm:ss.SSSxxx", "", "2026-11-25T14:30:00.123456-0300", "2026-11-25T17:30:00.123+00:00"},
		{"yyyy-MM-dd HH:mmX", "HH:mm 'o''clock'", "", "2026-11-25 14:30-03", "17:30 o'clock"},
		// Names and 12-hour clocks.
		{"d MMM yyyy h:mm a", "EEE, dd MMMM yyyy HH:mm", "", "5 Jan 2026 2:07 PM", "Mon, 05 January 2026 14:07"},
		{"EEEE d/M/yyyy hh:mm:ss a", "yyyy-MM-dd'T'HH:mm:ss", "", "Monday 5/1/2026 12:00:01 AM", "2026-01-05T00:00:01"},
		{"yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'H'h'", "", "2026-01-05T09:00", ""}, // H is not supported: see TestGoLayout_Errors
	}
	for _, tt := range tests {
		t.Run(tt.from+"→"+tt.to, func(t *testing.T) {
			d, err := newDateConv(tt.from, tt.to, tt.zone)
			if tt.want == "" {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.convert(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("convert(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDateConv_RejectsInput(t *testing.T) {
	d, err := newDateConv("dd/MM/yyyy HH:mm", "yyyy-MM-dd'T'HH:mm:ssXXX", "America/Lima")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"2026-11-25T09:30", "25/11/2026", "25/11/2026 09:30 ", "32/11/2026 09:30", "25/13/2026 09:30", "25/11/2026 24:30"} {
		if out, err := d.convert(in); !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), "dd/MM/yyyy HH:mm") {
			t.Errorf("convert(%q) = %q, %v; want ErrBadValue naming the pattern", in, out, err)
		}
	}
}

func TestGoLayout_Errors(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"yyyy-QQ", `unsupported pattern letters "QQ"`},
		{"yyy", `unsupported pattern letters "yyy"`},
		{"HH:mm H", `unsupported pattern letters "H"`},
		{"yyyy-MM-dd'T", "unterminated quote"},
		{"ssSSS", "must follow . or ,"},
		{"ss.SSSSSSSSSS", "at most 9"},
		{"XXX Z", "two zone offsets"},
		{"yyyy'Mon'", "ambiguous"},
		{"yyyy 2006", "ambiguous"},
		{"yyyy_d", "ambiguous"},
		{"", "empty pattern"},
	}
	for _, tt := range tests {
		if layout, _, err := goLayout(tt.pattern); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("goLayout(%q) = %q, %v; want %q", tt.pattern, layout, err, tt.want)
		}
	}
	if _, err := newDateConv("yyyy", "yyyy", "Local"); err == nil {
		t.Error("zone Local accepted")
	}
}
