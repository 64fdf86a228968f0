package schema

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/rules"
)

// spsEntry is the SPS profile's entry schema in the shipped rules.
const spsEntry = "documents/sps-d13b/SPSCertificate_11p0.xsd"

// The SPS schema as a node loads it: from the shipped rules.
var (
	spsOnce   sync.Once
	spsSchema *Schema
	spsErr    error
)

func sps(tb testing.TB) *Schema {
	tb.Helper()
	spsOnce.Do(func() {
		spsSchema, spsErr = Load(rules.FS, spsEntry)
	})
	if spsErr != nil {
		tb.Fatal(spsErr)
	}
	return spsSchema
}

// mapSample maps a simulated legacy VUCE's native certificate with the
// shipped outbound rules, as a node does before signing (demo/e2e_test.go).
func mapSample(tb testing.TB, from, to string, seq, items int) []byte {
	tb.Helper()
	r := outboundRules(tb, from)
	f, err := legacysim.FormatFor(from)
	if err != nil {
		tb.Fatal(err)
	}
	native, err := f.Encode(legacysim.Sample(from, to, seq, items))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := r.Map(native)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := out.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var (
	rulesMu    sync.Mutex
	rulesCache = map[string]*mapping.Rules{}
)

func outboundRules(tb testing.TB, cc string) *mapping.Rules {
	tb.Helper()
	rulesMu.Lock()
	defer rulesMu.Unlock()
	if r, ok := rulesCache[cc]; ok {
		return r
	}
	r, err := mapping.Load(rules.FS, cc+"/sps.outbound.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	rulesCache[cc] = r
	return r
}

// partner is where each country's sample goes: another member.
func partner(cc string) string {
	cs := legacysim.Countries()
	for i, c := range cs {
		if c == cc {
			return cs[(i+1)%len(cs)]
		}
	}
	return "CL"
}

// indent re-serializes doc one element per line, so that fixtures have
// line numbers worth checking.
func indent(tb testing.TB, doc []byte) []byte {
	tb.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		tb.Fatal(err)
	}
	d.Indent(2)
	b, err := d.WriteToBytes()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// xmllint is Debian's xmllint with the shipped catalog, or a skip (a
// failure with VUCELINK_REQUIRE_XMLSEC1 set: CI installs it).
type xmllintRunner struct{ bin, xsd, catalog string }

func xmllint(t *testing.T) *xmllintRunner {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("VUCELINK_REQUIRE_XMLSEC1") != "" {
			t.Fatal("xmllint not found but VUCELINK_REQUIRE_XMLSEC1 is set")
		}
		t.Skip("xmllint not found")
	}
	dir, err := filepath.Abs(filepath.Join("..", "rules", "documents", "sps-d13b"))
	if err != nil {
		t.Fatal(err)
	}
	return &xmllintRunner{bin, filepath.Join(dir, "SPSCertificate_11p0.xsd"), filepath.Join(dir, "catalog.xml")}
}

// valid runs xmllint on doc, never touching the network; the official
// schemaLocations resolve through the same catalog.xml the loader reads.
func (x *xmllintRunner) valid(t *testing.T, doc []byte) (bool, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(p, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(x.bin, "--nonet", "--noout", "--schema", x.xsd, p)
	cmd.Env = append(os.Environ(), "XML_CATALOG_FILES="+x.catalog)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		if bytes.Contains(out, []byte("warning")) {
			t.Errorf("xmllint warns: %s", out)
		}
		return true, string(out)
	case errors.As(err, &exit) && exit.ExitCode() == 3: // XMLLINT_ERR_VALID
		return false, string(out)
	}
	t.Fatalf("xmllint: %v\n%s", err, out)
	return false, ""
}

// Every country's certificate, mapped by the shipped rules from its
// simulated legacy VUCE, is valid — with 1, 3 and 1,000 line items — and
// xmllint agrees.
func TestValidate_MappedCertificatesAreValid(t *testing.T) {
	s := sps(t)
	x := xmllint(t)
	for _, cc := range legacysim.Countries() {
		for _, items := range []int{1, 3, 1000} {
			for _, seq := range []int{1, 2} { // with and without a treatment note, sea and air
				t.Run(fmt.Sprintf("%s/items=%d/seq=%d", cc, items, seq), func(t *testing.T) {
					doc := mapSample(t, cc, partner(cc), seq, items)
					if err := s.Validate(doc); err != nil {
						t.Fatalf("%v\n%s", err, head(doc))
					}
					if ok, out := x.valid(t, doc); !ok {
						t.Errorf("xmllint disagrees: invalid\n%s", out)
					}
				})
			}
		}
	}
}

// The golden outputs of the rules package, and each country's example,
// are valid too: the canonical structure of rules/README.md.
func TestValidate_CanonicalExamples(t *testing.T) {
	s := sps(t)
	files, err := filepathGlob("../rules/testdata/*.sps.xml", "../rules/*/examples/sps/*.standard.xml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d SPS examples in ../rules, want at least 4", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(b); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func filepathGlob(patterns ...string) ([]string, error) {
	var out []string
	for _, p := range patterns {
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	return out, nil
}

func head(b []byte) []byte {
	if len(b) > 2000 {
		return b[:2000]
	}
	return b
}

const (
	pExchanged   = "/rsm:SPSCertificate/rsm:SPSExchangedDocument"
	pConsignment = "/rsm:SPSCertificate/rsm:SPSConsignment"
	pItem        = pConsignment + "/ram:IncludedSPSConsignmentItem/ram:IncludedSPSTradeLineItem"
)

// invalidCases are edits to a valid, indented certificate (CL to MX, three
// line items: the base below), each breaking the schema in one way.
var invalidCases = []struct {
	name     string
	old, new string // the edit: first occurrence of old becomes new
	path     string // the violation's path
	at       string // the violation is on the line of the first occurrence of this, in the edited document
	message  string // a fragment of the message
}{
	{"missing required element", "    <ram:ID>CL-FITO-2026-000001</ram:ID>\n", "",
		pExchanged + "/ram:TypeCode", "<ram:TypeCode>", "This element is not expected. Expected is ( ram:ID )."},
	{"missing required only child", "<ram:Name>Ana Pérez Soto</ram:Name>", "",
		pExchanged + "/ram:SignatorySPSAuthentication/ram:ProviderSPSParty/ram:SpecifiedSPSPerson", "<ram:SpecifiedSPSPerson>", "Missing child element(s). Expected is ( ram:Name )."},
	{"missing required attribute", `<ram:NetWeightMeasure unitCode="KGM">`, `<ram:NetWeightMeasure>`,
		pItem + "[1]/ram:NetWeightMeasure", "<ram:NetWeightMeasure>", "The attribute 'unitCode' is required but missing."},
	{"wrong order", "<ram:ExportSPSCountry>\n      <ram:ID>CL</ram:ID>\n    </ram:ExportSPSCountry>\n    <ram:ImportSPSCountry>\n      <ram:ID>MX</ram:ID>\n    </ram:ImportSPSCountry>",
		"<ram:ImportSPSCountry>\n      <ram:ID>MX</ram:ID>\n    </ram:ImportSPSCountry>\n    <ram:ExportSPSCountry>\n      <ram:ID>CL</ram:ID>\n    </ram:ExportSPSCountry>",
		pConsignment + "/ram:ImportSPSCountry", "<ram:ImportSPSCountry>", "This element is not expected. Expected is ( ram:ExportSPSCountry )."},
	{"wrong order in a line item", `<ram:ScientificName>Prunus avium</ram:ScientificName>`, `<ram:Description languageID="es">Otra</ram:Description>`,
		pItem + "[2]/ram:Description[2]", `<ram:Description languageID="es">Otra`, "This element is not expected. Expected is one of ( ram:CommonName, ram:ScientificName, ram:IntendedUse"},
	{"unknown element", `<ram:ScientificName>Prunus avium</ram:ScientificName>`, `<ram:ScientificName>Prunus avium</ram:ScientificName><ram:Colour>rojo</ram:Colour>`,
		pItem + "[2]/ram:Colour", "<ram:Colour>", "This element is not expected. Expected is one of ( ram:ScientificName, ram:IntendedUse, ram:NetWeightMeasure"},
	{"bad date format", "<udt:DateTimeString>2026-11-25T18:07:00Z</udt:DateTimeString>", "<udt:DateTimeString>25/11/2026 18:07</udt:DateTimeString>",
		pExchanged + "/ram:IssueDateTime/udt:DateTimeString", "25/11/2026", "'25/11/2026 18:07' is not a valid value of the atomic type 'udt:ProfileISO8601DateTimeContentType'."},
	{"date without a zone", "<udt:DateTimeString>2026-11-25T18:07:00Z</udt:DateTimeString>", "<udt:DateTimeString>2026-11-25T18:07:00</udt:DateTimeString>",
		pExchanged + "/ram:IssueDateTime/udt:DateTimeString", "2026-11-25T18:07:00<", "[facet 'pattern'] The value '2026-11-25T18:07:00' is not accepted by the pattern"},
	{"impossible date", "<udt:DateTimeString>2026-11-25T18:07:00Z</udt:DateTimeString>", "<udt:DateTimeString>2026-02-30T18:07:00Z</udt:DateTimeString>",
		pExchanged + "/ram:IssueDateTime/udt:DateTimeString", "2026-02-30", "'2026-02-30T18:07:00Z' is not a valid value of the atomic type"},
	{"element in the wrong namespace", "<ram:Name>Phytosanitary Certificate</ram:Name>", "<rsm:Name>Phytosanitary Certificate</rsm:Name>",
		pExchanged + "/rsm:Name", "<rsm:Name>", "This element is not expected. Expected is one of ( ram:Name, ram:ID )."},
	{"date in the wrong namespace", "<udt:DateTimeString>2026-11-25T18:07:00Z</udt:DateTimeString>", "<ram:DateTimeString>2026-11-25T18:07:00Z</ram:DateTimeString>",
		pExchanged + "/ram:IssueDateTime/ram:DateTimeString", "<ram:DateTimeString>", "This element is not expected. Expected is ( udt:DateTimeString )."},
	{"text in an element that takes children", "<ram:ConsignorSPSParty>", "<ram:ConsignorSPSParty>Exportadora",
		pConsignment + "/ram:ConsignorSPSParty", "<ram:ConsignorSPSParty>", "Character content other than whitespace is not allowed because the content type is 'element-only'."},
	{"country code not alpha-2", "<ram:ID>MX</ram:ID>", "<ram:ID>MEX</ram:ID>",
		pConsignment + "/ram:ImportSPSCountry/ram:ID", "<ram:ID>MEX", "[facet 'enumeration'] The value 'MEX' is not an element of the set {'AD', 'AE', 'AF', 'AG', 'AI', …, 'ZW'} (249 values)."},
	{"number with a decimal comma", `unitCode="KGM">831.0<`, `unitCode="KGM">1.234,5<`,
		pItem + "[1]/ram:NetWeightMeasure", "1.234,5", "'1.234,5' is not a valid value of the local atomic type."},
	{"unit code in lower case", `unitCode="KGM"`, `unitCode="kg"`,
		pItem + "[1]/ram:NetWeightMeasure", `unitCode="kg"`, "attribute 'unitCode': [facet 'enumeration'] The value 'kg' is not an element of the set {'KGM', 'TNE'}."},
	{"transport mode not Rec. 19", "<ram:ModeCode>4</ram:ModeCode>", "<ram:ModeCode>AEREO</ram:ModeCode>",
		pConsignment + "/ram:MainCarriageSPSTransportMovement/ram:ModeCode", "AEREO", "[facet 'enumeration'] The value 'AEREO' is not an element of the set {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9'}."},
	{"another standard's root", "urn:un:unece:uncefact:data:standard:SPSCertificate:11", "urn:un:unece:uncefact:data:standard:SPSCertificate:17",
		"/rsm:SPSCertificate", "<rsm:SPSCertificate", "No matching global declaration available for the validation root."},
}

func invalidBase(tb testing.TB) []byte {
	return indent(tb, mapSample(tb, "CL", "MX", 1, 3))
}

func lineOf(doc []byte, s string) int {
	i := bytes.Index(doc, []byte(s))
	if i < 0 {
		return -1
	}
	return bytes.Count(doc[:i], []byte("\n")) + 1
}

// Each kind of violation names the element's path, its line and what the
// schema expected; xmllint finds the same documents invalid.
func TestValidate_Violations(t *testing.T) {
	s := sps(t)
	x := xmllint(t)
	base := invalidBase(t)
	for _, c := range invalidCases {
		t.Run(c.name, func(t *testing.T) {
			doc := bytes.Replace(base, []byte(c.old), []byte(c.new), 1)
			if bytes.Equal(doc, base) {
				t.Fatalf("the edit does not apply: %q not in the base document", c.old)
			}
			err := s.Validate(doc)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			v := ve.Errors[0]
			if v.Path != c.path {
				t.Errorf("path %q, want %q", v.Path, c.path)
			}
			if !strings.Contains(v.Message, c.message) {
				t.Errorf("message %q, want it to contain %q", v.Message, c.message)
			}
			if want := lineOf(doc, c.at); v.Line != want {
				t.Errorf("line %d, want %d (the line of %q)", v.Line, want, c.at)
			}
			if !strings.Contains(err.Error(), "\n"+c.path+": ") {
				t.Errorf("Error() does not list %q on a line of its own:\n%v", c.path, err)
			}
			if ok, out := x.valid(t, doc); ok {
				t.Errorf("xmllint disagrees: valid\n%s", out)
			} else if !strings.Contains(out, "fails to validate") {
				t.Errorf("xmllint: %s", out)
			}
		})
	}
}
