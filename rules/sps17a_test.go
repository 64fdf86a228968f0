package rules_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/schema"
	"github.com/vucelink/vucelink/xmlsafe"
)

// The 17A profile and the Alliance's 17A rule files: what a node sends to,
// and reads from, the IPPC ePhyto Hub.

func sps17aSchema(t testing.TB) *schema.Schema {
	t.Helper()
	s, err := schema.Load(rules.FS, "documents/sps-17a/SPSCertificate_17p0.xsd")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Every Alliance country's certificate leaves as 17A valid against the
// profile, and comes back through every Alliance country's 17A inbound
// rules to the same certificate.
func TestSPS17A_RoundtripEveryPair(t *testing.T) {
	s := sps17aSchema(t)
	for _, from := range legacysim.Countries() {
		out := load(t, from+"/sps17a.outbound.yaml")
		for _, to := range legacysim.Countries() {
			sent := legacysim.Sample(from, to, 7, 3)
			native, err := format(t, from).Encode(sent)
			if err != nil {
				t.Fatal(err)
			}
			o, err := out.Map(native)
			if err != nil {
				t.Fatalf("%s → %s outbound: %v", from, to, err)
			}
			b, _ := o.Bytes()
			doc, err := xmlsafe.Parse(b, xmlsafe.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.ValidateElement(doc.Root()); err != nil {
				t.Fatalf("%s → %s: not valid against the 17A profile: %v", from, to, err)
			}
			in, err := load(t, to+"/sps17a.inbound.yaml").MapElement(doc.Root())
			if err != nil {
				t.Fatalf("%s → %s inbound: %v", from, to, err)
			}
			nb, _ := in.Bytes()
			got, err := format(t, to).Decode(nb)
			if err != nil {
				t.Fatalf("%s → %s decode: %v", from, to, err)
			}
			if ok, diff := sent.Equal(got); !ok {
				t.Errorf("%s → %s via 17A: %v", from, to, diff)
			}
		}
	}
}

// The real certificate from the hub (testdata, copied from
// ../shared/standards/samples) is valid against the profile, and each
// Alliance format either carries it or refuses it naming everything it
// cannot carry.
func TestSPS17A_RealSample(t *testing.T) {
	b, err := os.ReadFile("testdata/sps17a/ephyto-17a-spscertificate.xml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := xmlsafe.Parse(b, xmlsafe.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sps17aSchema(t).ValidateElement(doc.Root()); err != nil {
		t.Fatalf("the real hub certificate is not valid against the 17A profile: %v", err)
	}
	for _, cc := range legacysim.Countries() {
		// None of the four formats carries the hub's remark codes (SPSFL,
		// ADEDL, …: the Alliance's formats know additional declarations and
		// treatments only) nor a line without a weight; the refusal lists
		// every one, not the first.
		_, err := load(t, cc+"/sps17a.inbound.yaml").MapElement(doc.Root())
		var fe mapping.Errors
		if !errors.As(err, &fe) {
			t.Fatalf("%s: want a refusal listing what the format cannot carry, got %v", cc, err)
		}
		if len(fe) < 16 {
			t.Errorf("%s: %d fields refused, want the complete list (16 or more): %v", cc, len(fe), err)
		}
		for _, want := range []string{`"SPSFL"`, `"DMCL"`, "IncludedSPSTradeLineItem[2]/ram:NetWeightMeasure"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: refusal does not name %s: %v", cc, want, err)
			}
		}
	}
}
