package devpki

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestInit_WritesVerifiableChains(t *testing.T) {
	dir := t.TempDir()
	if err := Init(dir, []string{"CL", "MX"}); err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(dir, "CL")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	tests := []struct {
		file  string
		usage x509.ExtKeyUsage
		dns   string
	}{
		{"official.pem", x509.ExtKeyUsageAny, ""},
		{"server.pem", x509.ExtKeyUsageServerAuth, "127.0.0.1"},
		{"client.pem", x509.ExtKeyUsageClientAuth, ""},
	}
	for _, tt := range tests {
		data, err := os.ReadFile(filepath.Join(dir, "CL", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		cert := parsePEM(t, data)
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: tt.dns, KeyUsages: []x509.ExtKeyUsage{tt.usage}}); err != nil {
			t.Errorf("%s does not verify against CL's CA: %v", tt.file, err)
		}
		mx, _ := LoadCA(dir, "MX")
		other := x509.NewCertPool()
		other.AddCert(mx.Cert)
		if _, err := cert.Verify(x509.VerifyOptions{Roots: other, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
			t.Errorf("%s verifies against MX's CA", tt.file)
		}
	}
	if st, _ := os.Stat(filepath.Join(dir, "CL", "official.key")); st.Mode().Perm() != 0o600 {
		t.Errorf("official.key mode %v, want 0600", st.Mode().Perm())
	}
}

func TestInit_Idempotent(t *testing.T) {
	dir := t.TempDir()
	if err := Init(dir, []string{"PE"}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "PE", "ca.pem"))
	if err := Init(dir, []string{"PE"}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "PE", "ca.pem"))
	if string(before) != string(after) {
		t.Error("second Init replaced an existing CA")
	}
	if err := Init(dir, []string{"peru"}); err == nil {
		t.Error("accepted a bad country code")
	}
}

func TestIssueOfficial_Validity(t *testing.T) {
	ca, err := NewCA("CO")
	if err != nil {
		t.Fatal(err)
	}
	nb, na := time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	kp, err := ca.IssueOfficial("X", "ICA", Options{NotBefore: nb, NotAfter: na})
	if err != nil {
		t.Fatal(err)
	}
	if !kp.Cert.NotAfter.Equal(na.Truncate(time.Second)) && kp.Cert.NotAfter.Sub(na).Abs() > time.Second {
		t.Errorf("NotAfter %s, want %s", kp.Cert.NotAfter, na)
	}
}

func parsePEM(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
