package rules_test

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/rulestest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	nsRSM = "urn:un:unece:uncefact:data:standard:SPSCertificate:11"
	nsRAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:14"
	nsUDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15"
)

func load(t testing.TB, name string) *mapping.Rules {
	t.Helper()
	r, err := mapping.Load(rules.FS, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

func format(t testing.TB, cc string) legacysim.Format {
	t.Helper()
	f, err := legacysim.FormatFor(cc)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// outbound maps a certificate, encoded in cc's native format, with cc's
// outbound rules, and returns the SPS document as sent on the wire.
func outbound(t testing.TB, cc string, c legacysim.Certificate) []byte {
	t.Helper()
	native, err := format(t, cc).Encode(c)
	if err != nil {
		t.Fatalf("%s encode: %v", cc, err)
	}
	out, err := load(t, cc+"/sps.outbound.yaml").Map(native)
	if err != nil {
		t.Fatalf("%s outbound: %v", cc, err)
	}
	b, err := out.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parse reads an SPS document the way a receiving node does: from bytes.
func parse(t testing.TB, b []byte) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatalf("SPS is not well-formed XML: %v", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "SPSCertificate" || root.NamespaceURI() != nsRSM {
		t.Fatalf("SPS root is not rsm:SPSCertificate")
	}
	return root
}

// text returns the text of the element at a path of ram: (or rsm:/udt:)
// local names below root, matched by namespace URI.
func text(root *etree.Element, steps ...string) (string, bool) {
	e := root
	for _, s := range steps {
		prefix, local, _ := strings.Cut(s, ":")
		uri := map[string]string{"rsm": nsRSM, "ram": nsRAM, "udt": nsUDT}[prefix]
		var next *etree.Element
		for _, c := range e.ChildElements() {
			if c.Tag == local && c.NamespaceURI() == uri {
				next = c
				break
			}
		}
		if next == nil {
			return "", false
		}
		e = next
	}
	return e.Text(), true
}

func TestRules_AllLoad(t *testing.T) {
	files, err := fs.Glob(rules.FS, "*/sps.*.yaml")
	if err != nil || len(files) != 2*len(legacysim.Countries()) {
		t.Fatalf("rule files %v (%v), want an outbound and an inbound file per demo country", files, err)
	}
	for _, name := range files {
		r := load(t, name)
		if want := strings.Split(path.Base(name), ".")[1]; r.Direction() != want || r.Document() != "sps" {
			t.Errorf("%s: document %q direction %q", name, r.Document(), r.Direction())
		}
	}
}

// Every ordered pair of demo countries, with 1, 10 and 1,000 line items:
// origin native → origin outbound rules → SPS (bytes, as on the wire) →
// destination inbound rules → destination native, read by the
// destination's own codec, is the certificate that was sent.
func TestRules_AllPairsRoundtrip(t *testing.T) {
	countries := legacysim.Countries()
	sizes := []struct{ items, seq int }{{1, 1}, {10, 2}, {1000, 3}} // seq varies treatment, transport and time
	for _, from := range countries {
		out := load(t, from+"/sps.outbound.yaml")
		fFrom := format(t, from)
		for _, to := range countries {
			if from == to {
				continue
			}
			in := load(t, to+"/sps.inbound.yaml")
			fTo := format(t, to)
			for _, size := range sizes {
				t.Run(fmt.Sprintf("%s→%s/%d", from, to, size.items), func(t *testing.T) {
					want := legacysim.Sample(from, to, size.seq, size.items)
					native, err := fFrom.Encode(want)
					if err != nil {
						t.Fatal(err)
					}
					sps, err := out.Map(native)
					if err != nil {
						t.Fatalf("outbound: %v", err)
					}
					wire, err := sps.Bytes()
					if err != nil {
						t.Fatal(err)
					}
					root := parse(t, wire)
					for _, c := range []struct {
						path []string
						want string
					}{
						{[]string{"rsm:SPSExchangedDocument", "ram:ID"}, want.ID},
						{[]string{"rsm:SPSConsignment", "ram:ImportSPSCountry", "ram:ID"}, to},
						{[]string{"rsm:SPSConsignment", "ram:ExportSPSCountry", "ram:ID"}, from},
					} {
						if got, _ := text(root, c.path...); got != c.want {
							t.Errorf("%s = %q, want %q", strings.Join(c.path, "/"), got, c.want)
						}
					}
					back, err := in.MapElement(root)
					if err != nil {
						t.Fatalf("inbound: %v", err)
					}
					b, err := back.Bytes()
					if err != nil {
						t.Fatal(err)
					}
					got, err := fTo.Decode(b)
					if err != nil {
						t.Fatalf("%s codec cannot read the mapped payload: %v", to, err)
					}
					if ok, diffs := want.Equal(got); !ok {
						t.Errorf("content changed on the way:\n%s", strings.Join(diffs, "\n"))
					}
				})
			}
		}
	}
}

// The four outbound rule sets produce the same SPS document for the same
// content, whichever native format it started in; only the issuing
// agency's name (a constant of each rule file) differs.
func TestOutbound_SameCanonicalDocument(t *testing.T) {
	for _, c := range []legacysim.Certificate{legacysim.Sample("PE", "CL", 1, 7), legacysim.Sample("MX", "CO", 2, 3)} {
		var first []byte
		for _, cc := range legacysim.Countries() {
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(outbound(t, cc, c)); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"rsm:SPSExchangedDocument/ram:IssuerSPSParty/ram:Name",
				"rsm:SPSExchangedDocument/ram:SignatorySPSAuthentication/ram:ProviderSPSParty/ram:Name"} {
				e := doc.Root().FindElement(p)
				if e == nil || e.Text() == "" {
					t.Fatalf("%s: %s missing", cc, p)
				}
				e.SetText("(agency)")
			}
			doc.Indent(1)
			b, _ := doc.WriteToBytes()
			if first == nil {
				first = b
				continue
			}
			if !bytes.Equal(b, first) {
				t.Errorf("%s outbound differs from %s outbound for %s:\n%s", cc, legacysim.Countries()[0], c.ID, lineDiff(first, b))
			}
		}
	}
}

// lineDiff shows the first differing line of two documents.
func lineDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n  %s\n  %s", i+1, strings.TrimSpace(la[i]), strings.TrimSpace(lb[i]))
		}
	}
	return fmt.Sprintf("%d lines against %d", len(la), len(lb))
}

// canonical is the element order of the canonical SPS document, by
// parent: the order of the UN/CEFACT schema's sequences, limited to the
// elements vucelink writes. README.md shows the same structure.
var canonical = map[string][]string{
	"SPSCertificate":                   {"SPSExchangedDocument", "SPSConsignment"},
	"SPSExchangedDocument":             {"Name", "ID", "TypeCode", "StatusCode", "IssueDateTime", "IssuerSPSParty", "IncludedSPSNote", "SignatorySPSAuthentication"},
	"IssueDateTime":                    {"DateTimeString"},
	"ActualDateTime":                   {"DateTimeString"},
	"IssuerSPSParty":                   {"Name"},
	"IncludedSPSNote":                  {"Subject", "Content"},
	"SignatorySPSAuthentication":       {"ActualDateTime", "IssueSPSLocation", "ProviderSPSParty", "IncludedSPSClause"},
	"IssueSPSLocation":                 {"Name"},
	"ProviderSPSParty":                 {"Name", "SpecifiedSPSPerson"},
	"SpecifiedSPSPerson":               {"Name"},
	"IncludedSPSClause":                {"ID", "Content"},
	"SPSConsignment":                   {"ConsignorSPSParty", "ConsigneeSPSParty", "ExportSPSCountry", "ImportSPSCountry", "UnloadingBaseportSPSLocation", "ExaminationSPSEvent", "MainCarriageSPSTransportMovement", "IncludedSPSConsignmentItem"},
	"ConsignorSPSParty":                {"Name", "SpecifiedSPSAddress"},
	"ConsigneeSPSParty":                {"Name", "SpecifiedSPSAddress"},
	"SpecifiedSPSAddress":              {"LineOne", "CountryID"},
	"ExportSPSCountry":                 {"ID"},
	"ImportSPSCountry":                 {"ID"},
	"UnloadingBaseportSPSLocation":     {"Name"},
	"ExaminationSPSEvent":              {"OccurrenceSPSLocation"},
	"OccurrenceSPSLocation":            {"Name"},
	"MainCarriageSPSTransportMovement": {"ModeCode", "UsedSPSTransportMeans"},
	"UsedSPSTransportMeans":            {"Name"},
	"IncludedSPSConsignmentItem":       {"IncludedSPSTradeLineItem"},
	"IncludedSPSTradeLineItem":         {"SequenceNumeric", "Description", "CommonName", "ScientificName", "NetWeightMeasure", "PhysicalSPSPackage", "OriginSPSCountry"},
	"PhysicalSPSPackage":               {"LevelCode", "TypeCode", "ItemQuantity"},
	"OriginSPSCountry":                 {"ID"},
}

// Without the D13B ram schema module (not in ../shared), the schema's
// sequence order is checked here: every element is one vucelink means to
// write, under the right parent, in the right order, in the right
// namespace.
func TestOutbound_CanonicalElementOrder(t *testing.T) {
	for _, cc := range legacysim.Countries() {
		t.Run(cc, func(t *testing.T) {
			root := parse(t, outbound(t, cc, legacysim.Sample(cc, "AR", 1, 3)))
			var walk func(e *etree.Element, at string)
			walk = func(e *etree.Element, at string) {
				seq, ok := canonical[e.Tag]
				if !ok {
					if len(e.ChildElements()) > 0 {
						t.Errorf("%s has children, none expected", at)
					}
					return
				}
				last := -1
				for _, c := range e.ChildElements() {
					here := at + "/" + c.Tag
					want := nsRAM
					switch {
					case e.Tag == "SPSCertificate":
						want = nsRSM
					case c.Tag == "DateTimeString":
						want = nsUDT
					}
					if c.NamespaceURI() != want {
						t.Errorf("%s is in namespace %q, want %q", here, c.NamespaceURI(), want)
					}
					i := indexOf(seq, c.Tag)
					switch {
					case i < 0:
						t.Errorf("%s is not part of the canonical structure", here)
					case i < last:
						t.Errorf("%s comes after %s, against the schema's order", here, seq[last])
					}
					last = max(last, i)
					walk(c, here)
				}
			}
			walk(root, "SPSCertificate")
		})
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// Golden SPS output per country documents the canonical structure.
func TestOutbound_Golden(t *testing.T) {
	for _, cc := range legacysim.Countries() {
		t.Run(cc, func(t *testing.T) {
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(outbound(t, cc, legacysim.Sample(cc, "AR", 1, 3))); err != nil {
				t.Fatal(err)
			}
			doc.Indent(2)
			got, _ := doc.WriteToBytes()
			golden := filepath.Join("testdata", cc+".sps.xml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s outbound differs from %s (run go test -update and review the diff):\n%s", cc, golden, lineDiff(want, got))
			}
		})
	}
}

// An independent parser accepts what the outbound rules produce. (Schema
// validation needs the D13B ram module, which ../shared does not have.)
func TestOutbound_XmllintWellFormed(t *testing.T) {
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not found")
	}
	for _, cc := range legacysim.Countries() {
		p := filepath.Join(t.TempDir(), cc+".sps.xml")
		if err := os.WriteFile(p, outbound(t, cc, legacysim.Sample(cc, "CL", 3, 1000)), 0o600); err != nil {
			t.Fatal(err)
		}
		if o, err := exec.Command(bin, "--noout", "--nonet", p).CombinedOutput(); err != nil {
			t.Errorf("%s: xmllint: %v\n%s", cc, err, o)
		}
	}
}

// Inbound rules match by namespace URI: a partner's SPS with other
// prefixes, or indentation, maps to the same native payload.
func TestInbound_IndependentOfPrefixesAndIndentation(t *testing.T) {
	compact := outbound(t, "PE", legacysim.Sample("PE", "CL", 1, 4))
	renamed := compact
	for _, r := range [][2]string{{"rsm", "cert"}, {"ram", "r"}, {"udt", "u"}} {
		for _, f := range []string{"<%s:", "</%s:", "xmlns:%s="} {
			renamed = bytes.ReplaceAll(renamed, []byte(fmt.Sprintf(f, r[0])), []byte(fmt.Sprintf(f, r[1])))
		}
	}
	indented := etree.NewDocument()
	if err := indented.ReadFromBytes(renamed); err != nil {
		t.Fatal(err)
	}
	indented.Indent(4)
	other, _ := indented.WriteToBytes()
	if bytes.Contains(other, []byte("ram:")) {
		t.Fatal("prefixes not renamed")
	}
	for _, cc := range legacysim.Countries() {
		in := load(t, cc+"/sps.inbound.yaml")
		var results [][]byte
		for _, b := range [][]byte{compact, other} {
			out, err := in.MapElement(parse(t, b))
			if err != nil {
				t.Fatalf("%s inbound: %v", cc, err)
			}
			nb, _ := out.Bytes()
			results = append(results, nb)
		}
		if !bytes.Equal(results[0], results[1]) {
			t.Errorf("%s: prefixes or indentation changed the native payload:\n%s", cc, lineDiff(results[0], results[1]))
		}
	}
}

// Inbound rules refuse an SPS document that lacks what the legacy system
// needs, or carries codes it has no word for, rather than hand over a
// partial certificate.
func TestInbound_RefusesIncompleteOrUnknownContent(t *testing.T) {
	cases := []struct {
		name   string
		ccs    []string // inbound rule sets expected to refuse
		change func(root *etree.Element)
		want   string
	}{
		{"no document ID", []string{"CL", "CO", "MX", "PE"}, func(r *etree.Element) {
			remove(r, "rsm:SPSExchangedDocument/ram:ID")
		}, "ram:ID"},
		{"no line items", []string{"CL", "CO", "MX", "PE"}, func(r *etree.Element) {
			remove(r, "rsm:SPSConsignment/ram:IncludedSPSConsignmentItem")
		}, "at least one item"},
		{"unparseable issue time", []string{"CL", "CO", "MX", "PE"}, func(r *etree.Element) {
			r.FindElement("rsm:SPSExchangedDocument/ram:IssueDateTime/udt:DateTimeString").SetText("25/11/2026")
		}, "date pattern"},
		{"note subject nobody knows", []string{"CL", "CO", "MX", "PE"}, func(r *etree.Element) {
			r.FindElement("rsm:SPSExchangedDocument/ram:IncludedSPSNote/ram:Subject").SetText("ADIPEDL")
		}, "ADIPEDL"},
		{"country outside the code list", []string{"CO", "MX", "PE"}, func(r *etree.Element) {
			r.FindElement("rsm:SPSConsignment/ram:ImportSPSCountry/ram:ID").SetText("ZZ")
		}, "ZZ"},
		{"unit outside the code list", []string{"CO", "MX"}, func(r *etree.Element) {
			r.FindElement(".//ram:NetWeightMeasure").CreateAttr("unitCode", "LBR")
		}, "LBR"},
		{"transport mode outside the code list", []string{"CL", "CO", "MX", "PE"}, func(r *etree.Element) {
			r.FindElement(".//ram:ModeCode").SetText("8")
		}, `"8"`},
	}
	good := outbound(t, "CL", legacysim.Sample("CL", "PE", 1, 2))
	for _, tc := range cases {
		for _, cc := range tc.ccs {
			t.Run(cc+"/"+tc.name, func(t *testing.T) {
				doc := etree.NewDocument()
				if err := doc.ReadFromBytes(good); err != nil {
					t.Fatal(err)
				}
				tc.change(doc.Root())
				_, err := load(t, cc+"/sps.inbound.yaml").MapElement(doc.Root())
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("MapElement error = %v, want one containing %q", err, tc.want)
				}
			})
		}
	}
}

func remove(root *etree.Element, p string) {
	if e := root.FindElement(p); e != nil {
		e.Parent().RemoveChild(e)
	}
}

// Every shipped rule set runs its example pairs (<CC>/examples/), both
// directions, as `vucelink rules test rules` does.
func TestExamples_Golden(t *testing.T) {
	results, err := rulestest.Run(".", *update)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.Example[:2]+" "+r.Direction] = true
		if !r.OK() && !r.Updated {
			t.Error(r)
		}
	}
	for _, cc := range legacysim.Countries() {
		for _, dir := range []string{"outbound", "inbound"} {
			if !seen[cc+" "+dir] {
				t.Errorf("%s has no %s example", cc, dir)
			}
		}
	}
}
