package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/vucelink/vucelink/certs/opensslkey"
	"github.com/vucelink/vucelink/demo/legacysim"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// The shipped config.yaml is complete and valid once its PKI exists.
func TestCheck_ShippedConfig(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "pki", "init", "--dir", dir); code != 0 {
		t.Fatalf("pki init: %d %s", code, stderr)
	}
	for _, cc := range []string{"CL", "CO", "MX", "PE"} {
		for _, f := range []string{"ca.pem", "official.pem", "official.key"} {
			if _, err := os.Stat(filepath.Join(dir, cc, f)); err != nil {
				t.Errorf("pki init did not write %s/%s: %v", cc, f, err)
			}
		}
	}
	t.Setenv("VUCELINK_PKI_DIR", dir)
	code, stdout, stderr := runCLI(t, "check", "--config", "../../config.yaml")
	if code != 0 || !strings.Contains(stdout, "OK") {
		t.Fatalf("check config.yaml: exit %d\n%s%s", code, stdout, stderr)
	}
	// Which engine will sign: OpenSSL where libcrypto loads (CI requires
	// it), crypto/rsa otherwise.
	want := "signing: crypto.engine auto → openssl (OpenSSL 3"
	if _, err := opensslkey.Open(""); err != nil {
		if os.Getenv("VUCELINK_REQUIRE_OPENSSL") != "" {
			t.Fatal(err)
		}
		want = "signing: crypto.engine auto → go ("
	}
	if !strings.Contains(stdout, want) {
		t.Errorf("check does not say which engine signs (want %q):\n%s", want, stdout)
	}
}

func TestCheck_NamesTheKey(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("node:\n  country: CL\n  colour: red\n"), 0o600)
	code, _, stderr := runCLI(t, "check", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, `c.yaml:3: unknown key "colour"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestSignVerifyMap(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "pki", "init", "--dir", dir, "--countries", "CL,PE"); code != 0 {
		t.Fatalf("pki init: %s", stderr)
	}
	f, _ := legacysim.FormatFor("CL")
	native, _ := f.Encode(legacysim.Sample("CL", "MX", 1, 2))
	in := filepath.Join(dir, "cert.json")
	os.WriteFile(in, native, 0o600)
	sps := filepath.Join(dir, "sps.xml")
	if code, _, stderr := runCLI(t, "map", "--rules", "../../rules/CL/sps.outbound.yaml", "--out", sps, in); code != 0 {
		t.Fatalf("map: %s", stderr)
	}
	signed := filepath.Join(dir, "signed.xml")
	cl := filepath.Join(dir, "CL")
	if code, _, stderr := runCLI(t, "sign", "--key", filepath.Join(cl, "official.key"), "--cert", filepath.Join(cl, "official.pem"), "--out", signed, sps); code != 0 {
		t.Fatalf("sign: %s", stderr)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"valid", []string{"verify", "--ca", filepath.Join(cl, "ca.pem"), signed}, 0, ""},
		{"flags after file", []string{"verify", signed, "--ca", filepath.Join(cl, "ca.pem")}, 0, ""},
		{"several CAs", []string{"verify", "--ca", filepath.Join(dir, "PE", "ca.pem") + "," + filepath.Join(cl, "ca.pem"), signed}, 0, ""},
		{"wrong CA", []string{"verify", "--ca", filepath.Join(dir, "PE", "ca.pem"), signed}, 1, "signed.xml: "},
		{"unsigned", []string{"verify", "--ca", filepath.Join(cl, "ca.pem"), sps}, 1, "sps.xml: "},
		{"missing --ca", []string{"verify", signed}, 2, "--ca"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, stderr)
			}
			if tt.code == 1 && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("reason is not one line: %q", stderr)
			}
			if !strings.Contains(stderr, tt.contains) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.contains)
			}
		})
	}
}

func TestMap_ReportsFieldErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "empty.json")
	os.WriteFile(in, []byte(`{}`), 0o600)
	code, _, stderr := runCLI(t, "map", "--rules", "../../rules/CL/sps.outbound.yaml", in)
	if code != 1 || !strings.Contains(stderr, "required") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestHashPassword(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		code     int
	}{
		{"good", "correct horse battery\n", 0},
		{"too short", "short\n", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stdin = strings.NewReader(tt.in)
			t.Cleanup(func() { stdin = os.Stdin })
			code, out, errOut := runCLI(t, "hash-password", "--cost", "10")
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errOut)
			}
			if code == 0 {
				if err := bcrypt.CompareHashAndPassword([]byte(strings.TrimSpace(out)), []byte("correct horse battery")); err != nil {
					t.Fatalf("hash %q does not match: %v", out, err)
				}
			}
		})
	}
	if code, _, _ := runCLI(t, "hash-password", "secret-on-the-command-line"); code != 2 {
		t.Errorf("a password argument: exit %d, want 2", code)
	}
}

func TestMapExplainAndRulesTest(t *testing.T) {
	code, out, errOut := runCLI(t, "map", "--explain", "--rules", "../../rules/CL/sps.outbound.yaml", "../../rules/CL/examples/sps/sample.native.json")
	if code != 0 {
		t.Fatalf("map --explain: %d %s", code, errOut)
	}
	for _, want := range []string{
		"<rsm:SPSCertificate",
		"/rsm:SPSCertificate/rsm:SPSExchangedDocument/ram:ID = \"CL-FITO-2026-000100\" <- certificado.numero (",
		"exporter_email = \"exportaciones+100@cl.exporter.example\"",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("map --explain output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runCLI(t, "rules", "test", "../../rules")
	if code != 0 || !strings.Contains(out, " examples passed") || strings.Contains(out, "FAIL") {
		t.Fatalf("rules test: %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "rules", "test", t.TempDir()); code != 1 || !strings.Contains(errOut, "no examples") {
		t.Errorf("rules test on an empty directory: %d %s", code, errOut)
	}
}

// crypto.engine openssl without libcrypto: the node does not start, and
// says which key. (Whether this process has loaded libcrypto already or
// not, asking for another library is refused.)
func TestCheck_OpenSSLEngineWithoutLibcrypto(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "pki", "init", "--dir", dir); code != 0 {
		t.Fatalf("pki init: %d %s", code, stderr)
	}
	t.Setenv("VUCELINK_PKI_DIR", dir)
	shipped, err := os.ReadFile("../../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const engine = "crypto:\n  engine: auto\n"
	if !strings.Contains(string(shipped), engine) {
		t.Fatalf("config.yaml has no %q to change", engine)
	}
	cfg := filepath.Join(dir, "openssl.yaml")
	edited := strings.Replace(string(shipped), engine, "crypto:\n  engine: openssl\n  library: /nonexistent/libcrypto.so.3\n", 1)
	if err := os.WriteFile(cfg, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "check", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "crypto.library: engine openssl:") || !strings.Contains(stderr, "/nonexistent/libcrypto.so.3") {
		t.Fatalf("exit %d, want 1 naming crypto.library and the file:\n%s%s", code, stdout, stderr)
	}
}
