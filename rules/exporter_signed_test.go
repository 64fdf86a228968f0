package rules

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vucelink/vucelink/certs"
)

// The exporter-signed examples carry a certificate of origin the exporter
// signed with its own software (testdata/exporter-signed/make.sh: xmlsec1,
// RSA-SHA1, C14N with comments, ALADI's ns1/ns2 prefixes). Mapped, the
// exporter's signature must still verify in the certificate the rules
// build — for vucelink's verifier and for xmlsec1 —, and a changed
// character must break it.
func TestCOD_ExporterSignedExamples(t *testing.T) {
	caPEM, err := os.ReadFile("testdata/exporter-signed/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	cas, err := certs.LoadCertificates("testdata/exporter-signed/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	verifier := &certs.CODVerifier{Exporters: &certs.Verifier{Roots: pool, AllowSHA1: true}, AllowSHA1: true}
	strict := &certs.CODVerifier{Exporters: &certs.Verifier{Roots: pool}}

	for _, tc := range []struct{ cc, native string }{
		{"CL", "CL/examples/cod/exporter-signed.native.json"},
		{"MX", "MX/examples/cod/exporter-signed.native.xml"},
	} {
		t.Run(tc.cc, func(t *testing.T) {
			rules := codRules(t, tc.cc+"/cod.outbound.yaml")
			native := readFS(t, tc.native)
			out, err := rules.Map(native)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := out.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			got, err := verifier.VerifyExporter(context.Background(), doc)
			if err != nil {
				t.Fatalf("the exporter's signature does not verify in the mapped certificate: %v\n%s", err, doc)
			}
			if cn := got.Signer.Subject.CommonName; cn != "Exportadora Ejemplo "+tc.cc {
				t.Errorf("signer %q", cn)
			}
			// SHA-1 only where the policy allows it.
			if _, err := strict.VerifyExporter(context.Background(), doc); !errors.Is(err, certs.ErrAlgorithm) {
				t.Errorf("without AllowSHA1: %v, want ErrAlgorithm", err)
			}
			xmlsec1VerifiesExporter(t, caPEM, doc, true)

			// One character of the COD changed in the payload: the copy is
			// faithful, so the signature breaks.
			tampered := tamperSignedPart(t, tc.cc, native)
			out, err = rules.Map(tampered)
			if err != nil {
				t.Fatal(err)
			}
			bad, _ := out.Bytes()
			if _, err := verifier.VerifyExporter(context.Background(), bad); !errors.Is(err, certs.ErrBadSignature) {
				t.Errorf("tampered: %v, want ErrBadSignature", err)
			}
			xmlsec1VerifiesExporter(t, caPEM, bad, false)
		})
	}
}

// tamperSignedPart changes the goods' weight inside the exporter's signed
// document a payload carries.
func tamperSignedPart(t *testing.T, cc string, native []byte) []byte {
	t.Helper()
	const from, to = "<GoodsItemWeightAmount>21840.0<", "<GoodsItemWeightAmount>21840.5<"
	if cc == "MX" {
		out := bytes.Replace(native, []byte(">8200.00<"), []byte(">8200.50<"), 1)
		if bytes.Equal(out, native) {
			t.Fatal("MX: weight not found")
		}
		return out
	}
	var p map[string]map[string]string
	if err := json.Unmarshal(native, &p); err != nil {
		t.Fatal(err)
	}
	signed, err := base64.StdEncoding.DecodeString(p["certificado"]["codFirmadoExportador"])
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(signed, []byte(from), []byte(to), 1)
	if bytes.Equal(changed, signed) {
		t.Fatal("CL: weight not found")
	}
	p["certificado"]["codFirmadoExportador"] = base64.StdEncoding.EncodeToString(changed)
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// xmlsec1VerifiesExporter runs xmlsec1 on the exporter's signature (#COD)
// of doc, when xmlsec1 is installed (required with VUCELINK_REQUIRE_XMLSEC1).
func xmlsec1VerifiesExporter(t *testing.T, caPEM, doc []byte, want bool) {
	t.Helper()
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		if os.Getenv("VUCELINK_REQUIRE_XMLSEC1") != "" {
			t.Fatal("xmlsec1 not found")
		}
		t.Log("xmlsec1 not found: its check is skipped")
		return
	}
	dir := t.TempDir()
	ca, file := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cod.xml")
	if err := os.WriteFile(ca, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	msg, err := exec.Command(bin, "--verify", "--trusted-pem", ca, "--id-attr:id", "COD", "--enabled-reference-uris", "same-doc",
		"--node-xpath", `//*[local-name()='CODExporter']/*[local-name()='Signature']`, file).CombinedOutput()
	ok := err == nil && regexp.MustCompile(`(?m)^OK$`).Match(msg)
	if ok != want {
		t.Errorf("xmlsec1 --verify #COD: %v, want OK=%v\n%s", err, want, strings.TrimSpace(string(msg)))
	}
}
