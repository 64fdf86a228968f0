package legacysim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	// The formats write local times of American zones; the simulators must
	// work in minimal containers without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Format is one legacy system's native certificate format.
type Format interface {
	// Country is the ISO 3166-1 alpha-2 code of the legacy system.
	Country() string
	// ContentType is the media type the legacy system sends and expects.
	ContentType() string
	// Encode writes c in the native format. It fails on content the format
	// cannot express (e.g. a country missing from its code list).
	Encode(Certificate) ([]byte, error)
	// Decode reads a native payload strictly: unknown fields, unknown codes,
	// malformed dates or numbers, and missing mandatory content are errors.
	Decode([]byte) (Certificate, error)
}

// acknowledger is what a Format adds to answer like its legacy system.
type acknowledger interface {
	// ack is the body of a successful reception of certificate id.
	ack(id string, at time.Time) []byte
	// nack is the body of a refusal.
	nack(reason string, at time.Time) []byte
}

var formats = map[string]Format{"CL": clFormat{}, "CO": coFormat{}, "MX": mxFormat{}, "PE": peFormat{}}

// Countries lists the countries with a simulated legacy VUCE, sorted.
func Countries() []string { return []string{"CL", "CO", "MX", "PE"} }

// FormatFor returns a country's native format:
//
//	CL  nested JSON, Spanish names, RFC 3339 UTC times, ISO alpha-2, Rec. 20/21 codes
//	CO  flat JSON, short keys, ISO numeric countries, ICA numeric codes, "yyyyMMddHHmm" Bogotá time
//	MX  XML without namespace, Spanish names, countries and units as Spanish words, "yyyy-MM-dd HH:mm" Mexico City time
//	PE  JSON, abbreviated English names, ISO alpha-3, "dd/MM/yyyy HH:mm" Lima time
func FormatFor(country string) (Format, error) {
	if f, ok := formats[country]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("legacysim: no simulated legacy VUCE for %q (have %v and the hub members %v)", country, Countries(), HubCountries())
}

// OutboundPath is where a country's legacy VUCE posts the certificates it
// sends abroad — the URL that, with vucelink, points at the local node.
func OutboundPath(country string) string {
	return map[string]string{
		"CL": "/api/v1/certificados-fitosanitarios",
		"CO": "/vuce/fito/enviar",
		"MX": "/ventanilla/fitosanitario/exportacion",
		"PE": "/vuce/api/phyto/outbound",
	}[country]
}

// InboundPath is where a country's legacy VUCE receives certificates from
// abroad (Server listens there).
func InboundPath(country string) string {
	if p := hubInboundPath(country); p != "" {
		return p
	}
	return map[string]string{
		"CL": "/api/v1/recepcion/fitosanitarios",
		"CO": "/vuce/fito/recibir",
		"MX": "/ventanilla/fitosanitario/importacion",
		"PE": "/vuce/api/phyto/inbound",
	}[country]
}

// codes is a two-way code list: standard code (ISO, Rec. 19/20/21, …) ↔
// what a legacy format writes.
type codes struct {
	what     string
	fwd, rev map[string]string
}

// newCodes takes standard, native pairs; a native value may appear once.
func newCodes(what string, pairs ...string) codes {
	c := codes{what: what, fwd: map[string]string{}, rev: map[string]string{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		std, native := pairs[i], pairs[i+1]
		if _, dup := c.rev[native]; dup {
			panic("legacysim: duplicate " + what + " " + native)
		}
		c.fwd[std], c.rev[native] = native, std
	}
	return c
}

// Countries as each legacy system writes them: only what the demo needs.
var (
	mxCountries = newCodes("país", "AR", "Argentina", "CL", "Chile", "CO", "Colombia", "MX", "México", "PE", "Perú", "US", "Estados Unidos",
		"AU", "Australia", "CA", "Canadá", "NZ", "Nueva Zelandia", "SG", "Singapur") // and the hub's associated states
	peCountries = newCodes("country", "AR", "ARG", "CL", "CHL", "CO", "COL", "MX", "MEX", "PE", "PER", "US", "USA",
		"AU", "AUS", "CA", "CAN", "NZ", "NZL", "SG", "SGP")
	coCountries = newCodes("país", "AR", "032", "CL", "152", "CO", "170", "MX", "484", "PE", "604", "US", "840",
		"AU", "036", "CA", "124", "NZ", "554", "SG", "702")
)

// conv collects the first failed code conversion, so an encoder or decoder
// can convert every field in one expression and check once.
type conv struct{ err error }

func (v *conv) to(c codes, std string) string {
	if n, ok := c.fwd[std]; ok {
		return n
	}
	v.fail(fmt.Errorf("%s %q has no native code", c.what, std))
	return ""
}

func (v *conv) from(c codes, native string) string {
	if s, ok := c.rev[native]; ok {
		return s
	}
	v.fail(fmt.Errorf("unknown %s %q", c.what, native))
	return ""
}

func (v *conv) fail(err error) {
	if v.err == nil {
		v.err = err
	}
}

// note kinds: every format keeps the additional declaration and the
// treatment as typed entries of a list of remarks, the way legacy systems
// keep free-text annotations.
const (
	noteAD        = "AD"
	noteTreatment = "TR"
)

// notesOf lists a certificate's non-empty remarks in a fixed order.
func notesOf(c Certificate) [][2]string {
	var out [][2]string
	if c.AdditionalDeclaration != "" {
		out = append(out, [2]string{noteAD, c.AdditionalDeclaration})
	}
	if c.Treatment != "" {
		out = append(out, [2]string{noteTreatment, c.Treatment})
	}
	return out
}

// setNote stores one decoded remark; each kind may appear once.
func setNote(c *Certificate, kind, text string) error {
	dst := &c.AdditionalDeclaration
	if kind == noteTreatment {
		dst = &c.Treatment
	}
	if *dst != "" {
		return fmt.Errorf("remark of kind %s appears twice", kind)
	}
	if text == "" {
		return fmt.Errorf("remark of kind %s is empty", kind)
	}
	*dst = text
	return nil
}

var decimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// validate checks what every format requires of a decoded certificate.
func validate(c Certificate) error {
	var errs []error
	need := func(field, v string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is missing", field))
		}
	}
	need("certificate number", c.ID)
	need("exporting country", c.ExportCountry)
	need("importing country", c.ImportCountry)
	need("consignor name", c.Consignor.Name)
	need("consignee name", c.Consignee.Name)
	need("transport mode", c.TransportMode)
	if c.IssuedAt.IsZero() {
		errs = append(errs, errors.New("issue date is missing"))
	}
	if len(c.Items) == 0 {
		errs = append(errs, errors.New("no line items"))
	}
	for i, it := range c.Items {
		if it.Description == "" {
			errs = append(errs, fmt.Errorf("item %d: description is missing", i+1))
		}
		if !decimal.MatchString(it.NetWeight) {
			errs = append(errs, fmt.Errorf("item %d: net weight %q is not a decimal number", i+1, it.NetWeight))
		}
		if it.Packages < 0 {
			errs = append(errs, fmt.Errorf("item %d: negative number of packages", i+1))
		}
	}
	return errors.Join(errs...)
}

// number is a JSON number kept exactly as written ("12.250" stays so). It
// refuses a quoted string: a legacy system that declares a number expects
// one, and the rule files must produce one.
type number string

func (n number) MarshalJSON() ([]byte, error) {
	if !decimal.MatchString(string(n)) {
		return nil, fmt.Errorf("%q is not a decimal number", string(n))
	}
	return []byte(n), nil
}

func (n *number) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] == '"' || !json.Valid(b) || !decimal.Match(b) {
		return fmt.Errorf("want an unsigned decimal JSON number, got %s", b)
	}
	*n = number(b)
	return nil
}

// encodeJSON writes indented JSON without HTML escaping, as a person would
// write it.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeJSON decodes strictly: a legacy system does not silently accept
// fields it does not know, nor data after the document.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON document")
	}
	return nil
}

// zone loads a zone the formats need; tzdata is embedded, so failure is a
// programming error.
func zone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}
