package certs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// xmlsec1 is Debian's xmlsec1, the independent XMLDSIG implementation the
// interop tests check against. CI installs it and sets
// VUCELINK_REQUIRE_XMLSEC1 so these tests cannot silently skip there.
func xmlsec1(t *testing.T) string {
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

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// xmlsec1 verifies what vucelink signs.
func TestInterop_Xmlsec1VerifiesOurSignature(t *testing.T) {
	bin := xmlsec1(t)
	f := newFixture(t)
	dir := t.TempDir()
	ca := writeFile(t, dir, "ca.pem", f.ca.CertPEM)
	signed, err := f.signer.Sign(f.doc)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		doc  []byte
		ok   bool
	}{
		{"signed", signed, true},
		{"tampered", []byte(strings.Replace(string(signed), "Frutas del Norte", "Frutas del Sur", 1)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := writeFile(t, dir, tt.name+".xml", tt.doc)
			out, err := exec.Command(bin, "--verify", "--trusted-pem", ca, in).CombinedOutput()
			if (err == nil) != tt.ok {
				t.Fatalf("xmlsec1 --verify: err=%v, want ok=%v\n%s", err, tt.ok, out)
			}
			if tt.ok && !strings.Contains(string(out), "OK") {
				t.Errorf("xmlsec1 output: %s", out)
			}
		})
	}
}

// vucelink verifies what xmlsec1 signs, with the same key and certificate.
func TestInterop_WeVerifyXmlsec1Signature(t *testing.T) {
	bin := xmlsec1(t)
	f := newFixture(t)
	dir := t.TempDir()
	key := writeFile(t, dir, "key.pem", f.official.KeyPEM)
	cert := writeFile(t, dir, "cert.pem", f.official.CertPEM)
	tmpl, err := os.ReadFile("testdata/xmlsec1-template.xml")
	if err != nil {
		t.Fatal(err)
	}
	in := writeFile(t, dir, "template.xml", tmpl)
	outFile := filepath.Join(dir, "signed.xml")
	if out, err := exec.Command(bin, "--sign", "--privkey-pem", key+","+cert, "--output", outFile, in).CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, out)
	}
	signed, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.verifier.Verify(signed)
	if err != nil {
		t.Fatalf("xmlsec1's signature rejected: %v", err)
	}
	if got := v.Element.FindElement("//ID").Text(); got != "MX-2026-000777" {
		t.Errorf("ID %q", got)
	}
	tampered := []byte(strings.Replace(string(signed), "Agrícola Andina", "Agrícola Falsa", 1))
	if _, err := f.verifier.Verify(tampered); err == nil {
		t.Error("tampered xmlsec1-signed document accepted")
	}
}
