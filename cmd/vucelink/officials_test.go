package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/registry"
)

// runOfficials runs the officials command directly (run() learns of it
// when main.go registers it).
func runOfficials(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := cmdOfficials(context.Background(), args, &out, &errb)
	return out.String() + errb.String(), err
}

func TestOfficials(t *testing.T) {
	dir := t.TempDir()
	ca, err := devpki.NewCA("CL")
	if err != nil {
		t.Fatal(err)
	}
	other, err := devpki.NewCA("MX")
	if err != nil {
		t.Fatal(err)
	}
	ana, err := ca.IssueOfficial("Ana Pérez Soto", "SAG", devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	jorge, err := ca.IssueOfficial("Jorge Soto", "SAG", devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caPEM, caKey := write("ca.pem", ca.CertPEM), write("ca.key", ca.KeyPEM)
	mxPEM := write("mx-ca.pem", other.CertPEM)
	anaPEM := write("certs/ana.pem", ana.CertPEM)
	jorgePEM := write("certs/jorge.pem", jorge.CertPEM)
	reg := filepath.Join(dir, "officials.yaml")
	list := filepath.Join(dir, "officials.xml")

	ok := func(args ...string) string {
		t.Helper()
		out, err := runOfficials(t, args...)
		if err != nil {
			t.Fatalf("officials %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	fails := func(want error, contains string, args ...string) {
		t.Helper()
		out, err := runOfficials(t, args...)
		if err == nil || (want != nil && !errors.Is(err, want)) || !strings.Contains(err.Error(), contains) {
			t.Errorf("officials %s: %v, want %v containing %q\n%s", strings.Join(args, " "), err, want, contains, out)
		}
	}

	// A new registry takes its country from the first certificate.
	ok("add", "--registry", reg, "--cert", anaPEM, "--name", "Ana Pérez Soto", "--agency", "SAG", "--documents", "sps,cod", "--id", "CL-SAG-1", "--from", "2026-01-01")
	ok("add", "--registry", reg, "--cert", jorgePEM, "--name", "Jorge Soto", "--agency", "SAG", "--documents", "sps")
	src, err := registry.LoadSource(reg)
	if err != nil {
		t.Fatal(err)
	}
	if src.Country != "CL" || len(src.Officials) != 2 || src.Officials[0].Cert != filepath.Join("certs", "ana.pem") ||
		!src.Officials[0].From.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("registry: %+v", src)
	}
	jorgeID := src.Officials[1].ID

	tests := []struct {
		name     string
		want     error
		contains string
		args     []string
	}{
		{"no subcommand", errUsage, "subcommand", nil},
		{"unknown subcommand", errUsage, "frobnicate", []string{"frobnicate"}},
		{"add without --name", errUsage, "--name", []string{"add", "--registry", reg, "--cert", anaPEM, "--agency", "SAG", "--documents", "sps"}},
		{"add twice", nil, "already", []string{"add", "--registry", reg, "--cert", anaPEM, "--name", "Ana", "--agency", "SAG", "--documents", "sps"}},
		{"add, bad date", errUsage, "RFC 3339", []string{"add", "--registry", reg, "--cert", anaPEM, "--name", "A", "--agency", "SAG", "--documents", "sps", "--from", "yesterday"}},
		{"add, another country", nil, "not MX", []string{"add", "--registry", reg, "--country", "MX", "--cert", anaPEM, "--name", "A", "--agency", "SAG", "--documents", "sps"}},
		{"revoke without --id or --cert", errUsage, "--id", []string{"revoke", "--registry", reg}},
		{"revoke unknown", nil, "CL-NOBODY", []string{"revoke", "--registry", reg, "--id", "CL-NOBODY"}},
		{"publish without --out", errUsage, "--out", []string{"publish", "--registry", reg, "--key", caKey, "--cert", caPEM}},
		{"publish with an official's key", nil, "not a CA's", []string{"publish", "--registry", reg, "--key", write("ana.key", ana.KeyPEM), "--cert", anaPEM, "--out", list}},
		{"publish with a key that is not the certificate's", nil, "does not match", []string{"publish", "--registry", reg, "--key", filepath.Join(dir, "ana.key"), "--cert", caPEM, "--out", list}},
		{"list --ca without --list", errUsage, "--list", []string{"list", "--registry", reg, "--ca", caPEM}},
		{"list a missing registry", nil, "absent.yaml", []string{"list", "--registry", filepath.Join(dir, "absent.yaml")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { fails(tt.want, tt.contains, tt.args...) })
	}

	out := ok("list", "--registry", reg)
	t.Logf("officials list:\n%s", out)
	for _, want := range []string{"officials of CL, last published sequence 0", "CL-SAG-1", "Ana Pérez Soto", "sps,cod", "2026-01-01", "authorized", jorgeID} {
		if !strings.Contains(out, want) {
			t.Errorf("list does not show %q:\n%s", want, out)
		}
	}

	out = ok("publish", "--registry", reg, "--key", caKey, "--cert", caPEM, "--out", list)
	if !strings.Contains(out, "sequence 1, 2 officials") {
		t.Errorf("publish: %s", out)
	}
	out = ok("list", "--list", list, "--ca", caPEM)
	if !strings.Contains(out, "sequence 1") || !strings.Contains(out, "verified against") || !strings.Contains(out, "Jorge Soto") {
		t.Errorf("list --list --ca:\n%s", out)
	}
	out = ok("list", "--list", list)
	if !strings.Contains(out, "NOT checked against a trusted root") {
		t.Errorf("list --list:\n%s", out)
	}
	fails(nil, "not one of the configured root certificates", "list", "--list", list, "--ca", mxPEM)

	// Revoke Ana, schedule Jorge's revocation, republish: partners see both.
	ok("revoke", "--registry", reg, "--id", "CL-SAG-1", "--reason", "key compromise")
	ok("revoke", "--registry", reg, "--cert", jorgePEM, "--reason", "retires", "--at", "2099-01-01T00:00:00Z")
	out = ok("list", "--registry", reg)
	if !strings.Contains(out, "(key compromise)") || !strings.Contains(out, "authorized, revocation at 2099-01-01T00:00:00Z (retires)") {
		t.Errorf("list after revoking:\n%s", out)
	}
	ok("publish", "--registry", reg, "--key", caKey, "--cert", caPEM, "--out", list)
	l := verifyList(t, list, ca.Cert, 2)
	if err := l.Authorize(ana.Cert, "sps", time.Now()); !errors.Is(err, registry.ErrRevoked) {
		t.Errorf("Ana after revocation: %v", err)
	}
	if err := l.Authorize(jorge.Cert, "sps", time.Now()); err != nil {
		t.Errorf("Jorge before his revocation: %v", err)
	}

	// A registry restored from an old copy does not take the sequence back.
	src, err = registry.LoadSource(reg)
	if err != nil {
		t.Fatal(err)
	}
	src.Sequence = 0
	if err := src.Save(); err != nil {
		t.Fatal(err)
	}
	ok("publish", "--registry", reg, "--key", caKey, "--cert", caPEM, "--out", list, "--valid-for", "48h")
	l = verifyList(t, list, ca.Cert, 3)
	if l.NextUpdate.Sub(l.IssuedAt) != 48*time.Hour {
		t.Errorf("--valid-for 48h: next update %s after issue", l.NextUpdate.Sub(l.IssuedAt))
	}

	// The root CA's key as PKCS#12, the same file as key and certificate.
	p12, err := pkcs12.Modern.Encode(ca.Key, ca.Cert, nil, "root-pass")
	if err != nil {
		t.Fatal(err)
	}
	p12File := write("ca.p12", p12)
	t.Setenv(certs.PKCS12PasswordEnv, "root-pass")
	ok("publish", "--registry", reg, "--key", p12File, "--cert", p12File, "--out", list)
	verifyList(t, list, ca.Cert, 4)
	t.Setenv(certs.PKCS12PasswordEnv, "wrong")
	fails(nil, certs.PKCS12PasswordEnv, "publish", "--registry", reg, "--key", p12File, "--cert", p12File, "--out", list)
	verifyList(t, list, ca.Cert, 4)
}

func verifyList(t *testing.T, file string, root *x509.Certificate, seq uint64) *registry.List {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	l, err := registry.Verify(data, []*x509.Certificate{root}, registry.VerifyOptions{Country: "CL"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Sequence != seq {
		t.Fatalf("sequence %d, want %d", l.Sequence, seq)
	}
	return l
}
