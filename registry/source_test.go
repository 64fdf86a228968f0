package registry

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSource_AddRevokeSaveLoad(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	src := p.clSource(t, dir)
	writeFile(t, filepath.Join(dir, "ca.pem"), p.cl.CertPEM)
	writeFile(t, filepath.Join(dir, "maria.pem"), p.mxOfficial.CertPEM)
	writeFile(t, filepath.Join(dir, "ana-again.pem"), p.ana.CertPEM)
	writeFile(t, filepath.Join(dir, "new.pem"), certPEM(p.cheapOfficial(t, "New Official")))

	// Defaults: the ID from the fingerprint, the period from the certificate.
	added, err := src.Add(SourceOfficial{Cert: "maria.pem", Name: "María", Agency: "SENASICA", Documents: []string{"sps"}})
	if err != nil {
		t.Fatal(err)
	}
	if added.ID != "CL-"+Fingerprint(p.mxOfficial.Cert)[:12] || !added.From.Equal(p.mxOfficial.Cert.NotBefore) || !added.Until.Equal(p.mxOfficial.Cert.NotAfter) {
		t.Errorf("defaults: %+v", added)
	}

	refused := []struct {
		name string
		o    SourceOfficial
		want string
	}{
		{"a CA certificate", SourceOfficial{Cert: "ca.pem", Name: "Root", Agency: "SAG", Documents: []string{"sps"}}, "CA certificate"},
		{"a listed certificate", SourceOfficial{Cert: "ana-again.pem", Name: "Ana", Agency: "SAG", Documents: []string{"sps"}}, "already official CL-SAG-1"},
		{"a listed ID", SourceOfficial{ID: "CL-SAG-1", Cert: "maria.pem", Name: "M", Agency: "SAG", Documents: []string{"sps"}}, "already in the registry"},
		{"no document types", SourceOfficial{ID: "X", Cert: "new.pem", Name: "J", Agency: "SAG"}, "no document types"},
		{"until before from", SourceOfficial{ID: "Y", Cert: "new.pem", Name: "J", Agency: "SAG", Documents: []string{"sps"}, From: time.Now(), Until: time.Now().Add(-time.Hour)}, "not after"},
		{"a missing file", SourceOfficial{Cert: "absent.pem", Name: "A", Agency: "SAG", Documents: []string{"sps"}}, "absent.pem"},
	}
	for _, tt := range refused {
		if _, err := src.Add(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("add %s: %v, want %q", tt.name, err, tt.want)
		}
	}
	if len(src.Officials) != 3 {
		t.Fatalf("%d officials after refusals", len(src.Officials))
	}

	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if _, err := src.Revoke("", p.jorge.Cert, at, "left the agency"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Revoke("CL-SAG-2", nil, at, "again"); err == nil || !strings.Contains(err.Error(), "already revoked") {
		t.Errorf("revoke twice: %v", err)
	}
	if _, err := src.Revoke("CL-NOBODY", nil, at, ""); err == nil {
		t.Error("revoked an unknown ID")
	}
	src.ValidFor = 48 * time.Hour
	src.Sequence = 4
	if err := src.Save(); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadSource(src.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(loaded, src) {
		t.Errorf("saved and loaded differ:\n%+v\n%+v", loaded, src)
	}
	text, _ := os.ReadFile(src.Path())
	if !strings.Contains(string(text), "valid_for: 48h0m0s") || !strings.Contains(string(text), "documents: [sps, cod]") {
		t.Errorf("saved source:\n%s", text)
	}

	l, err := loaded.Build(5, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if l.NextUpdate.Sub(l.IssuedAt) != 48*time.Hour || l.Officials[1].Revoked == nil || !l.Officials[1].Revoked.At.Equal(at) {
		t.Errorf("built: %+v", l)
	}

	// Strict: a misspelt key is an error, not a silently missing value.
	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), []byte("country: CL\nofficials:\n  - id: A\n    revoke: {at: 2026-01-01T00:00:00Z}\n"))
	if _, err := LoadSource(bad); err == nil || !strings.Contains(err.Error(), "revoke") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestPublish_Refuses(t *testing.T) {
	p := newPKI(t)
	src := p.clSource(t, t.TempDir())
	if _, _, err := Publish(src, p.mxSigner, time.Now()); err == nil || !strings.Contains(err.Error(), "not of CL") {
		t.Errorf("signed by MX's root: %v", err)
	}
	if _, _, err := Publish(src, p.anaSigner, time.Now()); err == nil || !strings.Contains(err.Error(), "not a CA's") {
		t.Errorf("signed by an official: %v", err)
	}
	if src.Sequence != 0 {
		t.Errorf("a refused publication raised the sequence to %d", src.Sequence)
	}
	src.Officials[0].Documents = []string{"sps", "sps"}
	if _, _, err := Publish(src, p.clSigner, time.Now()); !errors.Is(err, ErrInvalidList) {
		t.Errorf("repeated document type: %v", err)
	}
}

// xmlsec1 (libxml2 and OpenSSL) verifies a published list against the root
// alone, and refuses a tampered one.
func TestXmlsec1_VerifiesPublishedList(t *testing.T) {
	xmlsec1, err := exec.LookPath("xmlsec1")
	if err != nil {
		if os.Getenv("VUCELINK_REQUIRE_XMLSEC1") != "" {
			t.Fatal("xmlsec1 not found but VUCELINK_REQUIRE_XMLSEC1 is set")
		}
		t.Skip("xmlsec1 not found (apt-get install xmlsec1)")
	}
	p := newPKI(t)
	dir := t.TempDir()
	signed := p.publish(t, p.clSource(t, dir))
	root := writeFile(t, filepath.Join(dir, "root.pem"), p.cl.CertPEM)
	for _, tt := range []struct {
		name string
		data []byte
		ok   bool
	}{
		{"published", signed, true},
		{"tampered", []byte(strings.Replace(string(signed), "Jorge Soto", "Jorge Sotx", 1)), false},
	} {
		file := writeFile(t, filepath.Join(dir, tt.name+".xml"), tt.data)
		out, err := exec.Command(xmlsec1, "--verify", "--trusted-pem", root, file).CombinedOutput()
		if (err == nil) != tt.ok {
			t.Errorf("%s: xmlsec1: %v\n%s", tt.name, err, out)
		}
	}
}
