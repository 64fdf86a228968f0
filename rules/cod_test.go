package rules

// Tests of the certificate of origin rule sets (document type cod): the
// documents/cod.yaml fragment, the four countries' outbound files against
// ALADI's cod_ver_1.8.2 schemas, round trips through CODEH (the element the
// official signs and the receiving node maps), ALADI's unsigned 1.8.0
// samples through every inbound file, and unknown codes.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/beevik/etree"
	"go.yaml.in/yaml/v3"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/proxy"
	"github.com/vucelink/vucelink/xmlsafe"
)

var codCountries = []string{"CL", "CO", "MX", "PE"}

// codStandards is ../shared/standards of the repository's parent, relative
// to this package's directory (where go test runs).
var codStandards = filepath.Join("..", "..", "shared", "standards")

// codLocalOnly are the native fields each outbound file keeps on the node
// (local: values) and never writes to the COD, so no inbound file can give
// them back: JSON paths, or for Mexico element paths with @attributes.
var codLocalOnly = map[string][]string{
	"CL": {"exportador.correo", "certificado.funcionario"},
	"CO": {"exp_email", "funcionario"},
	"MX": {"exportador/correo", "certificacion/@funcionario"},
	"PE": {"shipper.email", "officer"},
}

// codEmail is where each native format keeps the exporter's email, which
// the outbound file must hand to the node as local:exporter_email.
var codEmail = map[string]string{"CL": "exportador.correo", "CO": "exp_email", "MX": "exportador/correo", "PE": "shipper.email"}

func codRules(t testing.TB, name string) *mapping.Rules {
	t.Helper()
	r, err := mapping.Load(FS, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// codSpec is documents/cod.yaml as a node compiles it.
func codSpec(t testing.TB) *proxy.DocumentSpec {
	t.Helper()
	b, err := fs.ReadFile(FS, "documents/cod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var d config.Document
	if err := yaml.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	s, err := proxy.NewDocumentSpec("cod", d.Root, d.Signed, d.ID, d.Destination, d.Namespaces)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// codExamples lists a country's native COD examples (paths in FS).
func codExamples(t testing.TB, cc string) []string {
	t.Helper()
	files, err := fs.Glob(FS, cc+"/examples/cod/*.native.*")
	if err != nil || len(files) < 2 {
		t.Fatalf("%s: COD examples %v (%v), want a full and a minimal one", cc, files, err)
	}
	// A payload carrying the exporter's signed COD maps to a signed part,
	// not to fields that come back: TestCOD_ExporterSignedExamples.
	return slices.DeleteFunc(files, func(f string) bool { return strings.Contains(f, "/exporter-signed.") })
}

func readFS(t testing.TB, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(FS, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// codOutbound maps a native payload with cc's outbound file and returns the
// unsigned COD as sent on to the signers, and the local values.
func codOutbound(t testing.TB, cc string, native []byte) ([]byte, map[string]string) {
	t.Helper()
	out, err := codRules(t, cc+"/cod.outbound.yaml").Map(native)
	if err != nil {
		t.Fatalf("%s outbound: %v", cc, err)
	}
	b, err := out.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b, out.Local
}

func parseXML(t testing.TB, b []byte) *etree.Element {
	t.Helper()
	doc, err := xmlsafe.Parse(b, xmlsafe.Limits{})
	if err != nil {
		t.Fatalf("not well-formed XML: %v", err)
	}
	return doc.Root()
}

// codehOf returns the signed element of a COD, found as a node finds it.
func codehOf(t testing.TB, spec *proxy.DocumentSpec, b []byte) *etree.Element {
	t.Helper()
	e, err := spec.Signed(parseXML(t, b))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestCOD_DocumentFragment(t *testing.T) {
	b := readFS(t, "documents/cod.yaml")
	var keys map[string]any
	if err := yaml.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range keys {
		got = append(got, k)
	}
	sort.Strings(got)
	if want := []string{"destination", "id", "namespaces", "root", "schema", "signature", "signed"}; !slices.Equal(got, want) {
		t.Errorf("documents/cod.yaml keys %v, want %v", got, want)
	}
	if keys["signature"] != "aladi-cod" {
		t.Errorf("signature %v, want aladi-cod", keys["signature"])
	}
	spec := codSpec(t)
	idPattern := regexp.MustCompile(`^(AR|BO|BR|CO|CU|CL|EC|MX|PA|PY|PE|UY|VE)[A-Za-z0-9]{3}[ACRHGT][A0-9][0-9]{3}[A-Za-z0-9]{8}[0-9]{2}$`)
	for _, cc := range codCountries {
		for _, f := range codExamples(t, cc) {
			t.Run(f, func(t *testing.T) {
				native := readFS(t, f)
				doc, _ := codOutbound(t, cc, native)
				root := parseXML(t, doc)
				codeh, err := spec.Signed(root)
				if err != nil {
					t.Fatal(err)
				}
				if err := spec.CheckRoot(codeh); err != nil || codeh.SelectAttrValue("id", "") != "CODEH" {
					t.Errorf("signed element: %v, id=%q", err, codeh.SelectAttrValue("id", ""))
				}
				if cod := codeh.FindElement("CODExporter/COD"); cod == nil || cod.SelectAttrValue("id", "") != "COD" {
					t.Error(`no COD id="COD" in CODExporter`)
				}
				// Unsigned, with the certifying entity's part: CODEH holds
				// what the official signs (certs.SignCODOfficial), no more.
				var tags []string
				for _, c := range codeh.ChildElements() {
					tags = append(tags, c.Tag)
				}
				if want := []string{"CODExporter", "EH", "CertificationEH"}; !slices.Equal(tags, want) {
					t.Errorf("CODEH holds %v, want %v", tags, want)
				}
				id, err := spec.ID(root)
				if err != nil || !idPattern.MatchString(id) || !bytes.Contains(native, []byte(id)) {
					t.Errorf("ID %q (%v): want the native certificate number, in ALADI's CertificateID pattern", id, err)
				}
				// The same paths from the verified CODEH, as the receiving side reads them.
				if id2, err := spec.ID(codeh); err != nil || id2 != id {
					t.Errorf("ID from CODEH %q (%v), want %q", id2, err, id)
				}
				dest, err := spec.Destination(root)
				if err != nil || dest == cc || !slices.Contains(codCountries, dest) {
					t.Errorf("destination %q (%v): want another demo country, in ISO alpha-2", dest, err)
				}
			})
		}
	}
}

// xmllint finds xmllint and the ALADI schemas, or skips the test (fails
// with VUCELINK_REQUIRE_XMLSEC1 set, as the signature tests do).
func xmllint(t *testing.T) string {
	t.Helper()
	skip := t.Skip
	if os.Getenv("VUCELINK_REQUIRE_XMLSEC1") != "" {
		skip = t.Fatal
	}
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		skip("xmllint not found")
	}
	if _, err := os.Stat(filepath.Join(codStandards, "aladi-cod", "cod_ver_1.8.2.xsd")); err != nil {
		skip("ALADI schemas not found: ", err)
	}
	return bin
}

// unsignedCertifiedXSD derives from cod_ver_1.8.2.xsd the schema of what the
// outbound rules produce: the complete COD — COD, EH, CertificationEH —
// before either signature. The published schemas have no such variant:
// cod_ver_1.8.2.xsd requires both ds:Signature elements, and
// cod_ver_1.8.2_exporter_unsigned.xsd has no EH or CertificationEH. Only
// the two signature references (and the xmldsig import, which xmllint would
// fetch) are removed; every other rule is ALADI's.
func unsignedCertifiedXSD(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(codStandards, "aladi-cod", "cod_ver_1.8.2.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if n := strings.Count(s, `<xs:element ref="ds:Signature"/>`); n != 2 {
		t.Fatalf("cod_ver_1.8.2.xsd has %d ds:Signature references, want 2 (exporter's and official's)", n)
	}
	s = strings.ReplaceAll(s, `<xs:element ref="ds:Signature"/>`, "")
	s = regexp.MustCompile(`(?s)<xs:import[^>]*xmldsig[^>]*/>`).ReplaceAllString(s, "")
	p := filepath.Join(t.TempDir(), "cod_ver_1.8.2_unsigned_certified.xsd")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func validate(t *testing.T, bin, xsd string, doc []byte, name string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if o, err := exec.Command(bin, "--noout", "--nonet", "--schema", xsd, p).CombinedOutput(); err != nil {
		t.Errorf("%s against %s: %v\n%s", name, filepath.Base(xsd), err, o)
	}
}

// Every outbound example validates: the whole unsigned document against
// cod_ver_1.8.2 without its two signatures, and the exporter's part (the
// document without EH and CertificationEH) against ALADI's
// cod_ver_1.8.2_exporter_unsigned.xsd, as the exporter signs it.
func TestCOD_OutboundValidatesAgainstXSD(t *testing.T) {
	bin := xmllint(t)
	full := unsignedCertifiedXSD(t)
	exporter := filepath.Join(codStandards, "aladi-cod", "cod_ver_1.8.2_exporter_unsigned.xsd")
	for _, cc := range codCountries {
		for _, f := range codExamples(t, cc) {
			t.Run(f, func(t *testing.T) {
				doc, _ := codOutbound(t, cc, readFS(t, f))
				validate(t, bin, full, doc, "cod.xml")
				d := etree.NewDocument()
				if err := d.ReadFromBytes(doc); err != nil {
					t.Fatal(err)
				}
				codeh := d.FindElement("//CODEH")
				for _, n := range []string{"EH", "CertificationEH"} {
					codeh.RemoveChild(codeh.SelectElement(n))
				}
				b, _ := d.WriteToBytes()
				validate(t, bin, exporter, b, "cod-exporter.xml")
			})
		}
	}
}

// Native → COD → CODEH → the same country's inbound file gives back every
// field of the native payload but the local ones; the exporter's email
// reaches the node as local:exporter_email.
func TestCOD_Roundtrip(t *testing.T) {
	spec := codSpec(t)
	for _, cc := range codCountries {
		in := codRules(t, cc+"/cod.inbound.yaml")
		for _, f := range codExamples(t, cc) {
			t.Run(f, func(t *testing.T) {
				native := readFS(t, f)
				doc, local := codOutbound(t, cc, native)
				out, err := in.MapElement(codehOf(t, spec, doc))
				if err != nil {
					t.Fatalf("inbound: %v", err)
				}
				back, err := out.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				want, got := nativeTree(t, cc, native, true), nativeTree(t, cc, back, false)
				if !reflect.DeepEqual(want, got) {
					w, _ := json.MarshalIndent(want, "", "  ")
					g, _ := json.MarshalIndent(got, "", "  ")
					t.Errorf("content changed on the way:\nsent     %s\nreceived %s", w, g)
				}
				email := lookupNative(t, cc, native, codEmail[cc])
				if local["exporter_email"] != email {
					t.Errorf("local exporter_email %q, want %q", local["exporter_email"], email)
				}
			})
		}
	}
}

// nativeTree decodes a native payload for comparison: JSON with numbers as
// written, or XML as nested maps (attributes "@name", text "#text",
// children in order under "#children"); with dropLocal, without the
// fields only the node keeps.
func nativeTree(t testing.TB, cc string, b []byte, dropLocal bool) any {
	t.Helper()
	if cc == "MX" {
		root := parseXML(t, b)
		if dropLocal {
			for _, p := range codLocalOnly[cc] {
				elem, attr, _ := strings.Cut(p, "@")
				e := root.FindElement(strings.TrimSuffix(elem, "/"))
				if e == nil {
					continue
				}
				if attr != "" {
					e.RemoveAttr(attr)
				} else {
					e.Parent().RemoveChild(e)
				}
			}
		}
		return xmlTree(root)
	}
	v := decodeJSON(t, b)
	if dropLocal {
		for _, p := range codLocalOnly[cc] {
			keys := strings.Split(p, ".")
			m, _ := v.(map[string]any)
			for _, k := range keys[:len(keys)-1] {
				m, _ = m[k].(map[string]any)
			}
			delete(m, keys[len(keys)-1])
		}
	}
	return v
}

func decodeJSON(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

func xmlTree(e *etree.Element) map[string]any {
	m := map[string]any{"#name": e.Tag}
	for _, a := range e.Attr {
		m["@"+a.Key] = a.Value
	}
	var kids []any
	for _, c := range e.ChildElements() {
		kids = append(kids, xmlTree(c))
	}
	if kids != nil {
		m["#children"] = kids
	} else if s := strings.TrimSpace(e.Text()); s != "" {
		m["#text"] = s
	}
	return m
}

// lookupNative reads one value of a native payload: a JSON path, or an
// element path below the root.
func lookupNative(t testing.TB, cc string, b []byte, p string) string {
	t.Helper()
	if cc == "MX" {
		if e := parseXML(t, b).FindElement(p); e != nil {
			return strings.TrimSpace(e.Text())
		}
		return ""
	}
	v := decodeJSON(t, b)
	for _, k := range strings.Split(p, ".") {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

// strings of a mapped native payload: every JSON string or number, every
// XML text and attribute value.
func nativeStrings(t testing.TB, b []byte) []string {
	t.Helper()
	var out []string
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '<' {
		var walk func(e *etree.Element)
		walk = func(e *etree.Element) {
			for _, a := range e.Attr {
				out = append(out, a.Value)
			}
			out = append(out, strings.TrimSpace(e.Text()))
			for _, c := range e.ChildElements() {
				walk(c)
			}
		}
		walk(parseXML(t, b))
		return out
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		case string:
			out = append(out, x)
		case json.Number:
			out = append(out, x.String())
		}
	}
	walk(decodeJSON(t, b))
	return out
}

// ALADI's unsigned 1.8.0 samples (Form A18, Form A14 with the certifying
// entity's part) map with every country's inbound file, from CODEH, and
// the certificate number and the exporter reach the native payload.
func TestCOD_UnsignedSamplesInbound(t *testing.T) {
	samples, _ := filepath.Glob(filepath.Join(codStandards, "samples", "cod-1.8.0-*.xml"))
	if len(samples) == 0 {
		if os.Getenv("VUCELINK_REQUIRE_XMLSEC1") != "" {
			t.Fatal("no ALADI COD samples in ", codStandards)
		}
		t.Skip("no ALADI COD samples in ", codStandards)
	}
	spec := codSpec(t)
	for _, s := range samples {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		codeh := codehOf(t, spec, b)
		exporter := strings.TrimSpace(codeh.FindElement(".//Exporter/ExporterBusinessName").Text())
		number := ""
		if e := codeh.FindElement("CertificationEH/CertificateID"); e != nil {
			number = strings.TrimSpace(e.Text())
		}
		for _, cc := range codCountries {
			t.Run(filepath.Base(s)+"/"+cc, func(t *testing.T) {
				out, err := codRules(t, cc+"/cod.inbound.yaml").MapElement(codeh)
				if err != nil {
					t.Fatalf("inbound: %v", err)
				}
				b, err := out.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				got := nativeStrings(t, b)
				if !slices.Contains(got, exporter) {
					t.Errorf("exporter %q missing from %s", exporter, b)
				}
				switch {
				case number != "" && !slices.Contains(got, number):
					t.Errorf("certificate number %q missing from %s", number, b)
				case number == "":
					t.Logf("%s has no CertificationEH (not yet certified): no certificate number to carry", filepath.Base(s))
				}
			})
		}
	}
}

// An unknown code in a native payload fails the mapping with the engine's
// error, naming the field, the value and the table.
func TestCOD_UnknownCodes(t *testing.T) {
	type change struct {
		path, value, table, field string
	}
	cases := map[string][]change{
		"CL": {
			{"importador.pais", "US", "country", "Importer/ImporterCountry"},
			{"mercancias.2.codigoArancelario", "08119000", "tariff", "Goods[2]/GoodsItemCode"},
			{"mercancias.1.unidad", "LBR", "unit", "Goods[1]/GoodsItemMeasureUnit"},
			{"mercancias.3.criterioOrigen", "E", "criterion", "Goods[3]/GoodsItemOriginRules"},
			{"certificado.acuerdo", "TLC_CHILE_CHINA", "agreement", "Agreement/AgreementAcronym"},
			{"transporte.medio", "DUCTO", "transport", "Transport/TransportMeans"},
		},
		"CO": {
			{"imp_pais", "840", "country", "Importer/ImporterCountry"},
			{"items.1.pa", "0901.11.90.00", "tariff", "Goods[1]/GoodsItemCode"},
			{"items.2.um", "99", "unit", "Goods[2]/GoodsItemMeasureUnit"},
			{"tip_sol", "9", "applicant", "COD/CODSubmitterType"},
			{"mon", "036", "currency", "Comments/LocalCurrency"},
		},
		"MX": {
			{"importador/pais", "Estados Unidos", "country", "Importer/ImporterCountry"},
			{"mercancias/mercancia[3]/fraccion", "2203.00.99", "tariff", "Goods[3]/GoodsItemCode"},
			{"mercancias/mercancia[2]/cantidad@unidad", "libra", "unit", "Goods[2]/GoodsItemMeasureUnit"},
			{"solicitud@acuerdo", "TLCAN", "agreement", "Agreement/AgreementAcronym"},
		},
		"PE": {
			{"buyer.ctry", "USA", "country", "Importer/ImporterCountry"},
			{"lines.3.hs", "1008.50.90.00", "tariff", "Goods[3]/GoodsItemCode"},
			{"lines.1.uom", "kg", "unit", "Goods[1]/GoodsItemMeasureUnit"},
			{"destCtry", "CHN", "country", "Transport/TransportCountryDestination"},
			{"applicant", "BROKER", "applicant", "COD/CODSubmitterType"},
		},
	}
	for _, cc := range codCountries {
		ext := "json"
		if cc == "MX" {
			ext = "xml"
		}
		sample := readFS(t, cc+"/examples/cod/sample.native."+ext)
		out := codRules(t, cc+"/cod.outbound.yaml")
		for _, c := range cases[cc] {
			t.Run(cc+"/"+c.path, func(t *testing.T) {
				_, err := out.Map(setNative(t, cc, sample, c.path, c.value))
				var fe mapping.Errors
				if !errors.Is(err, mapping.ErrUnknownCode) || !errors.As(err, &fe) {
					t.Fatalf("Map error = %v, want mapping.ErrUnknownCode", err)
				}
				for _, e := range fe {
					if strings.HasSuffix(e.Target, c.field) {
						if msg := e.Error(); errors.Is(e, mapping.ErrUnknownCode) &&
							strings.Contains(msg, strconv.Quote(c.value)) && strings.Contains(msg, "table "+c.table) {
							return
						}
					}
				}
				t.Errorf("no error naming …%s, %q and table %s in: %v", c.field, c.value, c.table, err)
			})
		}
	}
}

// setNative returns a native payload with one value changed: a JSON path
// whose numeric steps are 1-based list positions, or for Mexico an element
// path (etree, [n] 1-based) with an optional @attribute.
func setNative(t testing.TB, cc string, b []byte, p, value string) []byte {
	t.Helper()
	if cc == "MX" {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(b); err != nil {
			t.Fatal(err)
		}
		elem, attr, _ := strings.Cut(p, "@")
		e := doc.Root().FindElement(elem)
		if e == nil {
			t.Fatalf("no %s in the MX sample", elem)
		}
		if attr != "" {
			e.CreateAttr(attr, value)
		} else {
			e.SetText(value)
		}
		out, _ := doc.WriteToBytes()
		return out
	}
	root := decodeJSON(t, b)
	var parent any = root
	keys := strings.Split(p, ".")
	for i, k := range keys {
		last := i == len(keys)-1
		switch x := parent.(type) {
		case map[string]any:
			if last {
				x[k] = value
			} else {
				parent = x[k]
			}
		case []any:
			n, err := strconv.Atoi(k)
			if err != nil || n < 1 || n > len(x) {
				t.Fatalf("bad list step %q in %s", k, p)
			}
			if last {
				x[n-1] = value
			} else {
				parent = x[n-1]
			}
		default:
			t.Fatalf("no %s in the %s sample", p, cc)
		}
	}
	out, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The inbound half of the example pairs: each <name>.standard.xml, from its
// CODEH as the receiving node maps it, gives <name>.received.<ext>. (The
// shared example runner, rulestest, hands inbound files the document root;
// a COD inbound file reads CODEH and refuses the envelope.) With -update,
// the received files are rewritten from the current rules: review them.
func TestCOD_InboundExamples(t *testing.T) {
	spec := codSpec(t)
	update := false
	if f := flag.Lookup("update"); f != nil {
		update = f.Value.String() == "true"
	}
	for _, cc := range codCountries {
		in := codRules(t, cc+"/cod.inbound.yaml")
		ext := ".received.json"
		if in.TargetFormat() == "xml" {
			ext = ".received.xml"
		}
		stds, _ := fs.Glob(FS, cc+"/examples/cod/*.standard.xml")
		if len(stds) < 2 {
			t.Errorf("%s: standard examples %v: run vucelink rules test --update rules", cc, stds)
		}
		for _, std := range stds {
			t.Run(std, func(t *testing.T) {
				out, err := in.MapElement(codehOf(t, spec, readFS(t, std)))
				if err != nil {
					t.Fatalf("inbound: %v", err)
				}
				raw, err := out.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				got := normalizeExample(t, raw)
				want := strings.TrimSuffix(std, ".standard.xml") + ext
				if update {
					if err := os.WriteFile(filepath.FromSlash(want), got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				b, err := fs.ReadFile(FS, want)
				if err != nil {
					t.Fatalf("%v (go test ./rules/ -run TestCOD_InboundExamples -update, then review)", err)
				}
				if exp := normalizeExample(t, b); !bytes.Equal(got, exp) {
					t.Errorf("%s differs from what %s/cod.inbound.yaml makes of %s:\nwant %s\ngot  %s", want, cc, path.Base(std), exp, got)
				}
			})
		}
	}
}

// normalizeExample formats a payload as rulestest does: JSON with sorted
// keys and numbers as written, XML indented without whitespace-only text.
func normalizeExample(t testing.TB, b []byte) []byte {
	t.Helper()
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		out, err := json.MarshalIndent(decodeJSON(t, trimmed), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return append(out, '\n')
	}
	doc, err := xmlsafe.Parse(trimmed, xmlsafe.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var strip func(e *etree.Element)
	strip = func(e *etree.Element) {
		if len(e.ChildElements()) > 0 {
			for _, c := range e.Child {
				if cd, ok := c.(*etree.CharData); ok && strings.TrimSpace(cd.Data) == "" {
					e.RemoveChild(cd)
				}
			}
		}
		for _, c := range e.ChildElements() {
			strip(c)
		}
	}
	strip(doc.Root())
	doc.Indent(2)
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var codPKI struct {
	once               sync.Once
	exporter, official *certs.Signer
	pool               *certs.Verifier
	err                error
}

// The node's path end to end: each example mapped, signed by the exporter
// over #COD and by the official over #CODEH (certs, as node.codSigner
// does), verified as a receiving node verifies it, and the verified CODEH
// mapped by the destination country's inbound file.
func TestCOD_SignedToDestination(t *testing.T) {
	codPKI.once.Do(func() {
		ca, err := devpki.NewCA("CL")
		if err != nil {
			codPKI.err = err
			return
		}
		signer := func(name string) *certs.Signer {
			kp, err := ca.IssueOfficial(name, "vucelink test", devpki.Options{})
			if err != nil {
				codPKI.err = err
				return nil
			}
			s, err := certs.NewSigner(kp.Key, kp.Cert)
			if err != nil {
				codPKI.err = err
			}
			return s
		}
		codPKI.exporter, codPKI.official = signer("Exportadora de prueba"), signer("Funcionario de prueba")
		pool := x509.NewCertPool()
		pool.AddCert(ca.Cert)
		codPKI.pool = &certs.Verifier{Roots: pool}
	})
	if codPKI.err != nil {
		t.Fatal(codPKI.err)
	}
	spec := codSpec(t)
	v := &certs.CODVerifier{Exporters: codPKI.pool, Officials: codPKI.pool}
	for _, cc := range codCountries {
		for _, f := range codExamples(t, cc) {
			t.Run(f, func(t *testing.T) {
				doc, _ := codOutbound(t, cc, readFS(t, f))
				root := parseXML(t, doc)
				id, _ := spec.ID(root)
				dest, err := spec.Destination(root)
				if err != nil {
					t.Fatal(err)
				}
				signed, err := codPKI.exporter.SignCODExporter(doc)
				if err != nil {
					t.Fatalf("exporter's signature: %v", err)
				}
				if signed, err = codPKI.official.SignCODOfficial(signed); err != nil {
					t.Fatalf("official's signature: %v", err)
				}
				got, err := v.Verify(context.Background(), signed)
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if err := spec.CheckRoot(got.CODEH); err != nil {
					t.Fatal(err)
				}
				out, err := codRules(t, dest+"/cod.inbound.yaml").MapElement(got.CODEH)
				if err != nil {
					t.Fatalf("%s inbound: %v", dest, err)
				}
				b, _ := out.Bytes()
				exporter := strings.TrimSpace(got.CODEH.FindElement(".//Exporter/ExporterBusinessName").Text())
				strs := nativeStrings(t, b)
				if !slices.Contains(strs, id) || !slices.Contains(strs, exporter) {
					t.Errorf("%s native payload lacks %q or %q:\n%s", dest, id, exporter, b)
				}
			})
		}
	}
}
