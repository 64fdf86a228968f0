package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/statusmsg"
)

// xmlsec1Bin is Debian's xmlsec1, which signs the certificates of origin
// here as exporters' and certifying entities' software does. Missing, the
// test skips, unless VUCELINK_REQUIRE_XMLSEC1 is set (CI).
func xmlsec1Bin(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("xmlsec1")
	if err != nil {
		if os.Getenv("VUCELINK_REQUIRE_XMLSEC1") != "" {
			t.Fatal("xmlsec1 not found but VUCELINK_REQUIRE_XMLSEC1 is set")
		}
		t.Skip("xmlsec1 not found (apt-get install xmlsec1)")
	}
	return path
}

// The COD's two signatures, as xmlsec1 is pointed at each.
var codSignatureXPath = map[string]string{
	"COD":   `//*[local-name()='CODExporter']/*[local-name()='Signature' and namespace-uri()='http://www.w3.org/2000/09/xmldsig#']`,
	"CODEH": `//*[local-name()='CertOrigin']/*[local-name()='Signature' and namespace-uri()='http://www.w3.org/2000/09/xmldsig#']`,
}

// xmlsec1Sign fills in the signature template over #id of the COD in file
// with key and cert, and returns the signed file.
func xmlsec1Sign(t *testing.T, bin, key, cert, file, id string) string {
	t.Helper()
	out := strings.TrimSuffix(file, ".xml") + "+" + id + ".xml"
	msg, err := exec.Command(bin, "--sign", "--privkey-pem", key+","+cert,
		"--id-attr:id", "COD", "--id-attr:id", "CODEH", "--enabled-reference-uris", "same-doc",
		"--node-xpath", codSignatureXPath[id], "--output", out, file).CombinedOutput()
	if err != nil {
		t.Fatalf("xmlsec1 --sign #%s: %v\n%s", id, err, msg)
	}
	return out
}

// newExportersCA is a CA of exporters' certificates, apart from the
// officials' (as a country's accredited CAs are), with a name of its own.
func newExportersCA(t *testing.T) *devpki.CA {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(4711),
		Subject:               pkix.Name{CommonName: "AC Exportadores Ejemplo", Organization: []string{"Autoridad Certificadora de Ejemplo"}, Country: []string{"CL"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &devpki.CA{Country: "CL", KeyPair: devpki.KeyPair{
		Cert: cert, Key: key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}}
}

func writeTestFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tampered writes a copy of file with old replaced by new, once.
func tampered(t *testing.T, file, name, old, new string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(b, []byte(old), []byte(new), 1)
	if bytes.Equal(changed, b) {
		t.Fatalf("%q not found in %s", old, file)
	}
	return writeTestFile(t, filepath.Dir(file), name, changed)
}

// verifyCase is one run of `vucelink verify` and what it must say: on
// stdout when it exits 0, on stderr (one line) otherwise.
type verifyCase struct {
	name    string
	args    []string
	code    int
	want    []string
	notWant []string
}

func (tc verifyCase) run(t *testing.T) {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"verify"}, tc.args...)...)
	if code != tc.code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
	}
	t.Logf("exit %d\n%s%s", code, stdout, stderr)
	got := stdout
	if code != 0 {
		got = stderr
		if strings.Count(strings.TrimSpace(stderr), "\n") != 0 && code == 1 {
			t.Errorf("reason is not one line: %q", stderr)
		}
	}
	for _, w := range tc.want {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
	for _, w := range tc.notWant {
		if strings.Contains(got, w) {
			t.Errorf("output has %q:\n%s", w, got)
		}
	}
}

// A certificate of origin with its two signatures, both made by xmlsec1:
// the exporter's over #COD (exporters' CA), then the certifying official's
// over #CODEH (the country's CA). vucelink verify detects the profile from
// the root, verifies each against its trust, and names the one that fails.
func TestVerify_COD(t *testing.T) {
	bin := xmlsec1Bin(t)
	dir := t.TempDir()
	if err := devpki.Init(dir, []string{"CL"}); err != nil {
		t.Fatal(err)
	}
	cl := filepath.Join(dir, "CL")
	officialCA, officialKey, officialCert := filepath.Join(cl, "ca.pem"), filepath.Join(cl, "official.key"), filepath.Join(cl, "official.pem")
	eca := newExportersCA(t)
	exp, err := eca.IssueOfficial("Exportadora Ejemplo CL", "Viña y Frutícola El Huique Ltda.", devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	exportersCA := writeTestFile(t, dir, "exporters-ca.pem", eca.CertPEM)
	exporterKey := writeTestFile(t, dir, "exporter.key", exp.KeyPEM)
	exporterCert := writeTestFile(t, dir, "exporter.pem", exp.CertPEM)
	// Another country's CA, which issued neither.
	if err := devpki.Init(dir, []string{"PE"}); err != nil {
		t.Fatal(err)
	}
	strangerCA := filepath.Join(dir, "PE", "ca.pem")

	// As in circulation: the exporter's RSA-SHA1, the official's SHA-256.
	sha1Tmpl, err := os.ReadFile("testdata/verify/cod-template.xml")
	if err != nil {
		t.Fatal(err)
	}
	// The exporter's in SHA-256 too.
	sha256Tmpl := bytes.ReplaceAll(sha1Tmpl, []byte("http://www.w3.org/2000/09/xmldsig#rsa-sha1"), []byte("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"))
	sha256Tmpl = bytes.ReplaceAll(sha256Tmpl, []byte("http://www.w3.org/2000/09/xmldsig#sha1"), []byte("http://www.w3.org/2001/04/xmlenc#sha256"))
	// Before the certifying entity: no official's signature, no EH.
	exporterOnlyTmpl := regexp.MustCompile(`(?s)\s*<EH>.*</CertificationEH>`).ReplaceAll(sha256Tmpl, nil)
	exporterOnlyTmpl = regexp.MustCompile(`(?s)(</CODEH>)\s*<ds:Signature.*?</ds:Signature>`).ReplaceAll(exporterOnlyTmpl, []byte("$1"))

	both := func(name string, tmpl []byte) string {
		f := xmlsec1Sign(t, bin, exporterKey, exporterCert, writeTestFile(t, dir, name, tmpl), "COD")
		return xmlsec1Sign(t, bin, officialKey, officialCert, f, "CODEH")
	}
	signed := both("cod.xml", sha256Tmpl)
	signedSHA1 := both("cod-sha1.xml", sha1Tmpl)
	exporterSigned := xmlsec1Sign(t, bin, exporterKey, exporterCert, writeTestFile(t, dir, "cod-exporter.xml", exporterOnlyTmpl), "COD")
	// One character in the COD, which both signatures cover: the
	// exporter's, checked first, is the one named.
	tamperedCOD := tampered(t, signed, "tampered-cod.xml", "<GoodsItemWeightAmount>21840.0<", "<GoodsItemWeightAmount>21841.0<")
	// One character of the certifying entity's part, outside the COD.
	tamperedCODEH := tampered(t, signed, "tampered-codeh.xml", "<CertificateID>CL004CA1260000418300<", "<CertificateID>CL004CA1260000418301<")

	const (
		exporterSubject = `signer "CN=Exportadora Ejemplo CL,O=Viña y Frutícola El Huique Ltda.,C=CL"`
		officialSubject = `signer "CN=Ana Pérez Soto,O=SAG,C=CL"`
		exporterRoot    = `chain to root "CN=AC Exportadores Ejemplo,O=Autoridad Certificadora de Ejemplo,C=CL" serial 12:67`
		officialRoot    = `chain to root "CN=CL Root CA (development),O=vucelink dev,C=CL"`
	)
	for _, tc := range []verifyCase{
		{
			name: "both signatures, profile from the root",
			args: []string{"--ca", officialCA, "--exporters-ca", exportersCA, signed},
			want: []string{
				"cod+COD+CODEH.xml: exporter's signature over #COD: valid, " + exporterSubject + " serial ",
				exporterRoot,
				"cod+COD+CODEH.xml: certifying official's signature over #CODEH: valid, " + officialSubject + " serial ",
				officialRoot,
			},
		},
		{
			name: "profile given, flags after the file",
			args: []string{signed, "--profile", "aladi-cod", "--exporters-ca", exportersCA, "--ca", officialCA},
			want: []string{"exporter's signature over #COD: valid", "certifying official's signature over #CODEH: valid"},
		},
		{
			name: "exporters trusted through --ca",
			args: []string{"--ca", officialCA + "," + exportersCA, signed},
			want: []string{"exporter's signature over #COD: valid, " + exporterSubject, exporterRoot},
		},
		{
			name:    "the exporter's part tampered",
			args:    []string{"--ca", officialCA, "--exporters-ca", exportersCA, tamperedCOD},
			code:    1,
			want:    []string{"tampered-cod.xml: exporter's signature over #COD: ", "signature does not match the document", "Exportadora Ejemplo CL"},
			notWant: []string{"certifying official's", "COD exporter"},
		},
		{
			name:    "the certifying entity's part tampered",
			args:    []string{"--ca", officialCA, "--exporters-ca", exportersCA, tamperedCODEH},
			code:    1,
			want:    []string{"tampered-codeh.xml: certifying official's signature over #CODEH: ", "signature does not match the document", "Ana Pérez Soto"},
			notWant: []string{"exporter's signature", "COD certifying official"},
		},
		{
			name:    "exporter's CA not trusted",
			args:    []string{"--ca", officialCA, "--exporters-ca", strangerCA, signed},
			code:    1,
			want:    []string{"exporter's signature over #COD: ", "certificate not trusted", `issued by "CN=AC Exportadores Ejemplo`},
			notWant: []string{"certifying official's"},
		},
		{
			name: "exporters default to --ca, which does not certify them",
			args: []string{"--ca", officialCA, signed},
			code: 1,
			want: []string{"exporter's signature over #COD: ", "certificate not trusted"},
		},
		{
			name:    "official's CA not trusted: exporters' trust is not officials'",
			args:    []string{"--ca", exportersCA, "--exporters-ca", exportersCA, signed},
			code:    1,
			want:    []string{"certifying official's signature over #CODEH: ", "certificate not trusted", "Ana Pérez Soto"},
			notWant: []string{"exporter's signature"},
		},
		{
			name:    "exporter's RSA-SHA1 refused by default",
			args:    []string{"--ca", officialCA, "--exporters-ca", exportersCA, signedSHA1},
			code:    1,
			want:    []string{"exporter's signature over #COD: ", "algorithm not allowed", "rsa-sha1"},
			notWant: []string{"certifying official's"},
		},
		{
			name: "exporter's RSA-SHA1 with --accept-sha1",
			args: []string{"--ca", officialCA, "--exporters-ca", exportersCA, "--accept-sha1", signedSHA1},
			want: []string{"exporter's signature over #COD: valid, " + exporterSubject, "certifying official's signature over #CODEH: valid, " + officialSubject},
		},
		{
			name: "the exporter's alone is not a complete COD",
			args: []string{"--ca", officialCA, "--exporters-ca", exportersCA, exporterSigned},
			code: 1,
			want: []string{"certifying official's signature over #CODEH: ", "no signature", "--exporter-only"},
		},
		{
			name: "--exporter-only",
			args: []string{"--ca", officialCA, "--exporters-ca", exportersCA, "--exporter-only", exporterSigned},
			want: []string{"exporter's signature over #COD: valid, " + exporterSubject, "certifying official's signature over #CODEH: not verified (--exporter-only)"},
		},
		{
			name: "--exporter-only still checks the exporter's",
			args: []string{"--ca", officialCA, "--exporters-ca", exportersCA, "--exporter-only", tamperedCOD},
			code: 1,
			want: []string{"exporter's signature over #COD: ", "signature does not match the document"},
		},
		{
			name: "--profile enveloped on a COD",
			args: []string{"--ca", officialCA, "--profile", "enveloped", signed},
			code: 1,
			want: []string{"enveloped signature: ", "more than one signature"},
		},
		{
			name: "unknown profile",
			args: []string{"--ca", officialCA, "--profile", "xades", signed},
			code: 2,
			want: []string{`--profile "xades"`},
		},
	} {
		t.Run(tc.name, tc.run)
	}
}

// Documents with one enveloped signature (an SPS certificate, a status
// message), signed by `vucelink sign`: the profile detected is enveloped.
func TestVerify_Enveloped(t *testing.T) {
	dir := t.TempDir()
	if err := devpki.Init(dir, []string{"CL", "PE"}); err != nil {
		t.Fatal(err)
	}
	cl := filepath.Join(dir, "CL")
	ca := filepath.Join(cl, "ca.pem")
	status := (&statusmsg.Message{
		DocumentType: "sps", DocumentID: "CL-FITO-2026-000100", State: lifecycle.ReceivedCorrectly,
		Time: time.Date(2026, 12, 2, 20, 5, 0, 0, time.UTC),
	}).Element()
	b, err := status.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	sign := func(in string) string {
		t.Helper()
		out := filepath.Join(dir, "signed-"+filepath.Base(in))
		if code, _, stderr := runCLI(t, "sign", "--key", filepath.Join(cl, "official.key"), "--cert", filepath.Join(cl, "official.pem"), "--out", out, in); code != 0 {
			t.Fatalf("sign %s: %s", in, stderr)
		}
		return out
	}
	sps := sign("../../rules/CL/examples/sps/sample.standard.xml")
	msg := sign(writeTestFile(t, dir, "status.xml", b))
	for _, tc := range []verifyCase{
		{
			name: "SPS",
			args: []string{"--ca", ca, sps},
			want: []string{"signed-sample.standard.xml: enveloped signature: valid, " + `signer "CN=Ana Pérez Soto,O=SAG,C=CL" serial `, `chain to root "CN=CL Root CA (development),O=vucelink dev,C=CL" serial `},
		},
		{
			name: "status message",
			args: []string{msg, "--ca", ca},
			want: []string{"signed-status.xml: enveloped signature: valid, "},
		},
		{
			name: "SPS, profile given",
			args: []string{"--ca", ca, "--profile", "enveloped", sps},
			want: []string{"enveloped signature: valid"},
		},
		{
			name: "another country's CA",
			args: []string{"--ca", filepath.Join(dir, "PE", "ca.pem"), sps},
			code: 1,
			want: []string{"enveloped signature: ", "certificate not trusted"},
		},
		{
			name: "SPS as a COD",
			args: []string{"--ca", ca, "--profile", "aladi-cod", sps},
			code: 1,
			want: []string{"certificate of origin: ", "not an ALADI COD"},
		},
		{
			name: "exporters' trust on an enveloped signature",
			args: []string{"--ca", ca, "--exporters-ca", ca, sps},
			code: 2,
			want: []string{"--exporters-ca"},
		},
	} {
		t.Run(tc.name, tc.run)
	}
}
