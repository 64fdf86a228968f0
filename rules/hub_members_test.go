package rules_test

import (
	"testing"

	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/xmlsafe"
)

// The hub's associated states (AU, CA, NZ, SG: the demo's simulated
// national systems, each in its own format) exchange 17A with every
// Alliance country and with each other: each certificate leaves valid
// against the 17A profile and arrives, decoded by the receiver's own
// codec (not by the rules), equal field by field.
func TestSPS17A_HubMembersRoundtrip(t *testing.T) {
	s := sps17aSchema(t)
	all := append(legacysim.HubCountries(), legacysim.Countries()...)
	for _, from := range all {
		out := load(t, from+"/sps17a.outbound.yaml")
		for _, to := range all {
			if from == to || (!isHub(from) && !isHub(to)) {
				continue // Alliance pairs: TestSPS17A_RoundtripEveryPair
			}
			for seq := 1; seq <= 2; seq++ { // odd: with a treatment; even: without
				sent := legacysim.Sample(from, to, seq, 4)
				native, err := format(t, from).Encode(sent)
				if err != nil {
					t.Fatal(err)
				}
				o, err := out.Map(native)
				if err != nil {
					t.Fatalf("%s → %s outbound: %v\n%s", from, to, err, native)
				}
				if got := o.Local["exporter_email"]; got != sent.ExporterEmail {
					t.Errorf("%s: exporter_email %q, want %q", from, got, sent.ExporterEmail)
				}
				b, _ := o.Bytes()
				doc, err := xmlsafe.Parse(b, xmlsafe.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.ValidateElement(doc.Root()); err != nil {
					t.Fatalf("%s → %s: not valid against the 17A profile: %v\n%s", from, to, err, b)
				}
				in, err := load(t, to+"/sps17a.inbound.yaml").MapElement(doc.Root())
				if err != nil {
					t.Fatalf("%s → %s inbound: %v", from, to, err)
				}
				nb, _ := in.Bytes()
				got, err := format(t, to).Decode(nb)
				if err != nil {
					t.Fatalf("%s → %s decode: %v\n%s", from, to, err, nb)
				}
				if ok, diff := sent.Equal(got); !ok {
					t.Errorf("%s → %s via 17A: %v", from, to, diff)
				}
			}
		}
	}
}

func isHub(cc string) bool {
	for _, h := range legacysim.HubCountries() {
		if h == cc {
			return true
		}
	}
	return false
}
