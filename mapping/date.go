package mapping

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	// Zones must resolve in minimal containers without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// dateConv converts a date/time from one pattern to another. Patterns are
// written the way analysts know them (Java's DateTimeFormatter letters) and
// converted to Go layouts once, at load.
type dateConv struct {
	fromPattern string // as written, for messages
	from, to    string // Go layouts
	fromZoned   bool   // from carries an offset
	toZoned     bool   // to carries an offset
	toDateOnly  bool   // to has no time of day: a date is written in its own zone
	zone        *time.Location
}

func newDateConv(from, to, zone string) (*dateConv, error) {
	if from == "" || to == "" {
		return nil, fmt.Errorf("from and to are both required")
	}
	d := &dateConv{fromPattern: from, zone: time.UTC}
	var err error
	if d.from, d.fromZoned, err = goLayout(from); err != nil {
		return nil, fmt.Errorf("from: %v", err)
	}
	if d.to, d.toZoned, err = goLayout(to); err != nil {
		return nil, fmt.Errorf("to: %v", err)
	}
	d.toDateOnly = !patternHas(to, "HhKkmsSa")
	if zone != "" {
		// LoadLocation("") and ("Local") would silently mean UTC or the
		// host's zone; a rule must name a real place.
		if zone == "Local" {
			return nil, fmt.Errorf("zone: name an IANA zone (America/Lima), not Local")
		}
		if d.zone, err = time.LoadLocation(zone); err != nil {
			return nil, fmt.Errorf("zone: unknown time zone %q", zone)
		}
	}
	return d, nil
}

// describe says how the conversion reads a value, for an explanation:
// "dd/MM/yyyy HH:mm" in America/Lima.
func (d *dateConv) describe() string {
	if d.fromZoned {
		return strconv.Quote(d.fromPattern)
	}
	return strconv.Quote(d.fromPattern) + " in " + d.zone.String()
}

// convert reads v with the from pattern — in the rule's zone when the
// pattern has no offset — and writes it with the to pattern: in UTC when
// that pattern has an offset (the standard documents' convention, so the
// same instant always reads the same), else as local time in the zone.
func (d *dateConv) convert(v string) (string, error) {
	var t time.Time
	var err error
	if d.fromZoned {
		t, err = time.Parse(d.from, v)
	} else {
		t, err = time.ParseInLocation(d.from, v, d.zone)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %q does not match the date pattern %s", ErrBadValue, v, d.fromPattern)
	}
	switch {
	case d.toZoned && d.toDateOnly:
		// A date with an offset (yyyy-MM-ddXXX) is that day where it is:
		// in UTC, a date read at midnight east of Greenwich would be the
		// day before. Written in the zone, the day never shifts.
		// A value read with its own offset keeps it: that is its day.
		if !d.fromZoned {
			t = t.In(d.zone)
		}
	case d.toZoned:
		t = t.UTC()
	default:
		t = t.In(d.zone)
	}
	return t.Format(d.to), nil
}

// patternToken is one run of pattern letters: its Go layout element and how
// to render it, which checks the translation (see goLayout).
type patternToken struct {
	layout string
	zoned  bool
	render func(time.Time) string
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func offset(colon, zulu bool, hoursOnly bool) func(time.Time) string {
	return func(t time.Time) string {
		_, off := t.Zone()
		if off == 0 && zulu {
			return "Z"
		}
		sign := "+"
		if off < 0 {
			sign, off = "-", -off
		}
		s := sign + pad(off/3600, 2)
		if hoursOnly {
			return s
		}
		if colon {
			s += ":"
		}
		return s + pad(off%3600/60, 2)
	}
}

var patternTokens = map[string]patternToken{
	"yyyy": {layout: "2006", render: func(t time.Time) string { return pad(t.Year(), 4) }},
	"yy":   {layout: "06", render: func(t time.Time) string { return pad(t.Year()%100, 2) }},
	"MMMM": {layout: "January", render: func(t time.Time) string { return t.Month().String() }},
	"MMM":  {layout: "Jan", render: func(t time.Time) string { return t.Month().String()[:3] }},
	"MM":   {layout: "01", render: func(t time.Time) string { return pad(int(t.Month()), 2) }},
	"M":    {layout: "1", render: func(t time.Time) string { return strconv.Itoa(int(t.Month())) }},
	"dd":   {layout: "02", render: func(t time.Time) string { return pad(t.Day(), 2) }},
	"d":    {layout: "2", render: func(t time.Time) string { return strconv.Itoa(t.Day()) }},
	"EEEE": {layout: "Monday", render: func(t time.Time) string { return t.Weekday().String() }},
	"EEE":  {layout: "Mon", render: func(t time.Time) string { return t.Weekday().String()[:3] }},
	"HH":   {layout: "15", render: func(t time.Time) string { return pad(t.Hour(), 2) }},
	"hh":   {layout: "03", render: func(t time.Time) string { return pad((t.Hour()+11)%12+1, 2) }},
	"h":    {layout: "3", render: func(t time.Time) string { return strconv.Itoa((t.Hour()+11)%12 + 1) }},
	"a": {layout: "PM", render: func(t time.Time) string {
		if t.Hour() < 12 {
			return "AM"
		}
		return "PM"
	}},
	"mm":  {layout: "04", render: func(t time.Time) string { return pad(t.Minute(), 2) }},
	"m":   {layout: "4", render: func(t time.Time) string { return strconv.Itoa(t.Minute()) }},
	"ss":  {layout: "05", render: func(t time.Time) string { return pad(t.Second(), 2) }},
	"s":   {layout: "5", render: func(t time.Time) string { return strconv.Itoa(t.Second()) }},
	"XXX": {layout: "Z07:00", zoned: true, render: offset(true, true, false)},
	"XX":  {layout: "Z0700", zoned: true, render: offset(false, true, false)},
	"X":   {layout: "Z07", zoned: true, render: offset(false, true, true)},
	"xxx": {layout: "-07:00", zoned: true, render: offset(true, false, false)},
	"xx":  {layout: "-0700", zoned: true, render: offset(false, false, false)},
	"x":   {layout: "-07", zoned: true, render: offset(false, false, true)},
	"Z":   {layout: "-0700", zoned: true, render: offset(false, false, false)},
}

const supportedLetters = "yyyy yy MMMM MMM MM M dd d EEE EEEE HH hh h a mm m ss s S…S (after . or ,) XXX XX X xxx xx x Z, 'quoted text'"

// goLayout converts a Java-style pattern (yyyy-MM-dd'T'HH:mm:ssXXX) to a Go
// layout and reports whether it carries a zone offset.
//
// Go layouts are made of reference values, so literal text can collide with
// them ('Mon', "_2", a digit next to a field). Rather than guess every
// collision, the converted layout is checked: a reference time formatted by
// Go must equal the same time rendered token by token from the pattern.
func goLayout(p string) (string, bool, error) {
	var b strings.Builder
	var renders []func(time.Time) string
	zoned := false
	lit := func(s string) {
		b.WriteString(s)
		renders = append(renders, func(time.Time) string { return s })
	}
	for i := 0; i < len(p); {
		ch := p[i]
		switch {
		case ch == '\'':
			// 'text' is literal; '' is a quote, inside or outside text.
			if strings.HasPrefix(p[i:], "''") {
				lit("'")
				i += 2
				continue
			}
			var text strings.Builder
			j := i + 1
			for {
				if j >= len(p) {
					return "", false, fmt.Errorf("unterminated quote in %q", p)
				}
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' {
						text.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				text.WriteByte(p[j])
				j++
			}
			lit(text.String())
			i = j + 1
		case ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z':
			j := i
			for j < len(p) && p[j] == ch {
				j++
			}
			run := p[i:j]
			if ch == 'S' {
				// Fractions of a second: Go only knows them after a
				// separator, and only up to nanoseconds.
				if i == 0 || (p[i-1] != '.' && p[i-1] != ',') || len(run) > 9 {
					return "", false, fmt.Errorf("%q: fractions of a second (S…S, at most 9) must follow . or , in %q", run, p)
				}
				n := len(run)
				b.WriteString(strings.Repeat("0", n))
				renders = append(renders, func(t time.Time) string { return pad(t.Nanosecond(), 9)[:n] })
				i = j
				continue
			}
			if hint, ok := likelyWrong[run]; ok {
				return "", false, fmt.Errorf("%q in %q %s", run, p, hint)
			}
			tok, ok := patternTokens[run]
			if !ok {
				return "", false, fmt.Errorf("unsupported pattern letters %q in %q (use %s)", run, p, supportedLetters)
			}
			if tok.zoned && zoned {
				return "", false, fmt.Errorf("two zone offsets in %q", p)
			}
			zoned = zoned || tok.zoned
			b.WriteString(tok.layout)
			renders = append(renders, tok.render)
			i = j
		default:
			lit(string(ch))
			i++
		}
	}
	layout := b.String()
	if layout == "" {
		return "", false, fmt.Errorf("empty pattern")
	}
	// Two reference instants, so that day/month, 12/24 h and zone signs
	// all differ between fields.
	for _, ref := range []time.Time{
		time.Date(2034, time.November, 27, 19, 48, 53, 123456789, time.FixedZone("", 5*3600+30*60)),
		time.Date(2007, time.March, 4, 8, 9, 7, 900000000, time.FixedZone("", -3*3600)),
	} {
		var want strings.Builder
		for _, r := range renders {
			want.WriteString(r(ref))
		}
		if got := ref.Format(layout); got != want.String() {
			return "", false, fmt.Errorf("pattern %q is ambiguous (literal text reads as a date field); quote literals or separate the fields", p)
		}
	}
	if err := checkFields(p); err != nil {
		return "", false, err
	}
	return layout, zoned, nil
}

// likelyWrong are pattern letters that are valid somewhere (Java knows
// them) but almost never what a rule means.
var likelyWrong = map[string]string{
	"DD":   "is the day of the year (001–366); the day of the month is dd",
	"D":    "is the day of the year; the day of the month is d",
	"DDD":  "is the day of the year; the day of the month is dd",
	"YYYY": "is the week-based year, which differs from the calendar year around New Year; the year is yyyy",
	"YY":   "is the week-based year; the year is yy",
	"Y":    "is the week-based year; the year is yyyy",
}

// checkFields refuses patterns that parse but are almost certainly wrong:
// minutes without an hour (dd/mm/yyyy: mm is minutes, 01/11/2026 would be
// read as 1 January, 00:11), or a day and a year with no month.
func checkFields(p string) error {
	has := func(letter byte) bool { return patternHas(p, string(letter)) }
	switch {
	case has('m') && !has('H') && !has('h'):
		return fmt.Errorf("%q has minutes (mm) but no hour (HH): for the month write MM", p)
	case has('d') && has('y') && !has('M'):
		return fmt.Errorf("%q has a day and a year but no month (MM)", p)
	}
	return nil
}

// patternHas reports whether a pattern uses any of the letters as a field,
// outside 'quoted text'.
func patternHas(p, letters string) bool {
	inQuote := false
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '\'':
			inQuote = !inQuote
		case !inQuote && strings.IndexByte(letters, p[i]) >= 0:
			return true
		}
	}
	return false
}
