package rules_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/rules"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func load(t testing.TB, name string) *mapping.Rules {
	t.Helper()
	r, err := mapping.Load(rules.FS, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// Every ordered pair of demo countries, with 1, 10 and 1,000 line items:
// origin native → origin outbound rules → SPS → destination inbound rules
// → destination native, decoded by the destination's own codec, equals
// what was sent.
func TestRules_AllPairsRoundtrip(t *testing.T) {
	countries := legacysim.Countries()
	for _, from := range countries {
		out := load(t, from+"/sps.outbound.yaml")
		for _, to := range countries {
			if from == to {
				continue
			}
			in := load(t, to+"/sps.inbound.yaml")
			for _, items := range []int{1, 10, 1000} {
				t.Run(fmt.Sprintf("%s→%s/%d", from, to, items), func(t *testing.T) {
					want := legacysim.Sample(from, to, 5, items)
					fFrom, _ := legacysim.FormatFor(from)
					fTo, _ := legacysim.FormatFor(to)
					native, err := fFrom.Encode(want)
					if err != nil {
						t.Fatal(err)
					}
					sps, err := out.Map(native)
					if err != nil {
						t.Fatalf("outbound: %v", err)
					}
					root := sps.XML.Root()
					if id := root.FindElement("rsm:SPSExchangedDocument/ram:ID"); id == nil || id.Text() != want.ID {
						t.Errorf("SPS ID missing or wrong")
					}
					if dest := root.FindElement("rsm:SPSConsignment/ram:ImportSPSCountry/ram:ID"); dest == nil || dest.Text() != to {
						t.Errorf("SPS destination missing or wrong")
					}
					back, err := in.MapElement(root)
					if err != nil {
						t.Fatalf("inbound: %v", err)
					}
					b, _ := back.Bytes()
					got, err := fTo.Decode(b)
					if err != nil {
						t.Fatalf("%s codec cannot read the mapped payload: %v\n%s", to, err, b)
					}
					if ok, diffs := want.Equal(got); !ok {
						t.Errorf("content changed: %v", diffs)
					}
				})
			}
		}
	}
}

// Golden SPS output per country documents the canonical structure; all
// four outbound rule sets must produce the same document for the same
// content (apart from the issuing agency's name).
func TestRules_GoldenSPS(t *testing.T) {
	for _, cc := range legacysim.Countries() {
		f, _ := legacysim.FormatFor(cc)
		native, err := f.Encode(legacysim.Sample(cc, "AR", 1, 2))
		if err != nil {
			t.Fatal(err)
		}
		out, err := load(t, cc+"/sps.outbound.yaml").Map(native)
		if err != nil {
			t.Fatal(err)
		}
		out.XML.Indent(2)
		got, _ := out.Bytes()
		golden := filepath.Join("testdata", cc+".sps.xml")
		if *update {
			os.MkdirAll("testdata", 0o755)
			os.WriteFile(golden, got, 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s outbound differs from %s; run go test -update and review the diff", cc, golden)
		}
	}
}

// The mapped documents are well-formed for an independent parser.
func TestRules_XmllintWellFormed(t *testing.T) {
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not found")
	}
	for _, cc := range legacysim.Countries() {
		f, _ := legacysim.FormatFor(cc)
		native, _ := f.Encode(legacysim.Sample(cc, "CL", 2, 3))
		out, err := load(t, cc+"/sps.outbound.yaml").Map(native)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := out.Bytes()
		p := filepath.Join(t.TempDir(), "sps.xml")
		os.WriteFile(p, b, 0o600)
		if o, err := exec.Command(bin, "--noout", p).CombinedOutput(); err != nil {
			t.Errorf("%s: xmllint: %v\n%s", cc, err, o)
		}
	}
}
