package devpki

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// shared is one Init, read by the tests that only look at its output: key
// generation dominates their running time.
var shared struct {
	once sync.Once
	dir  string
	err  error
}

func sharedPKI(t *testing.T) string {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "devpki-test-")
		if shared.err == nil {
			shared.err = Init(shared.dir, []string{"CL", "MX", "PE", "AR"})
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no PEM certificate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestInit_WritesEveryFile(t *testing.T) {
	dir := sharedPKI(t)
	for _, cc := range []string{"CL", "MX", "PE", "AR"} {
		for _, f := range Files {
			path := filepath.Join(dir, cc, f)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Ext(f) == ".key" && st.Mode().Perm() != 0o600 {
				t.Errorf("%s mode %v, want 0600", path, st.Mode().Perm())
			}
			if filepath.Ext(f) == ".key" {
				if _, err := tls.LoadX509KeyPair(filepath.Join(dir, cc, f[:len(f)-4]+".pem"), path); err != nil {
					t.Errorf("%s does not match its certificate: %v", path, err)
				}
			}
		}
		if leftovers, _ := filepath.Glob(filepath.Join(dir, cc, ".*")); len(leftovers) > 0 {
			t.Errorf("temporary files left: %v", leftovers)
		}
	}
}

func TestInit_ChainsVerify(t *testing.T) {
	dir := sharedPKI(t)
	ca := func(cc string) *x509.CertPool {
		p := x509.NewCertPool()
		p.AddCert(readCert(t, filepath.Join(dir, cc, "ca.pem")))
		return p
	}
	tests := []struct {
		cc, file string
		usage    x509.ExtKeyUsage
		dns      string
		subject  string
	}{
		{"CL", "ca.pem", x509.ExtKeyUsageAny, "", "CN=CL Root CA (development),O=vucelink dev,C=CL"},
		{"CL", "official.pem", x509.ExtKeyUsageAny, "", "CN=Ana Pérez Soto,O=SAG,C=CL"},
		{"MX", "official.pem", x509.ExtKeyUsageAny, "", "CN=María Hernández López,O=SENASICA,C=MX"},
		{"PE", "official.pem", x509.ExtKeyUsageAny, "", "CN=Jorge Quispe Mamani,O=SENASA,C=PE"},
		{"AR", "official.pem", x509.ExtKeyUsageAny, "", "CN=Official of AR,O=NPPO AR,C=AR"},
		{"CL", "server.pem", x509.ExtKeyUsageServerAuth, "127.0.0.1", ""},
		{"CL", "server.pem", x509.ExtKeyUsageServerAuth, "::1", ""},
		{"CL", "server.pem", x509.ExtKeyUsageServerAuth, "localhost", ""},
		{"CL", "client.pem", x509.ExtKeyUsageClientAuth, "", "CN=vucelink CL,O=vucelink dev,C=CL"},
	}
	for _, tt := range tests {
		t.Run(tt.cc+"/"+tt.file+"/"+tt.dns, func(t *testing.T) {
			cert := readCert(t, filepath.Join(dir, tt.cc, tt.file))
			if tt.subject != "" && cert.Subject.String() != tt.subject {
				t.Errorf("subject %q, want %q", cert.Subject, tt.subject)
			}
			opts := x509.VerifyOptions{Roots: ca(tt.cc), DNSName: tt.dns, KeyUsages: []x509.ExtKeyUsage{tt.usage}}
			if _, err := cert.Verify(opts); err != nil {
				t.Errorf("does not verify against %s's CA: %v", tt.cc, err)
			}
			other := "PE"
			if tt.cc == "PE" {
				other = "CL"
			}
			opts.Roots = ca(other)
			if _, err := cert.Verify(opts); err == nil {
				t.Errorf("verifies against %s's CA", other)
			}
		})
	}
	official := readCert(t, filepath.Join(dir, "CL", "official.pem"))
	if want := x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment; official.KeyUsage != want {
		t.Errorf("official key usage %v, want %v", official.KeyUsage, want)
	}
	root := readCert(t, filepath.Join(dir, "CL", "ca.pem"))
	if years := root.NotAfter.Sub(root.NotBefore).Hours() / 24 / 365; years < 9.9 {
		t.Errorf("CA valid for %.1f years, want 10", years)
	}
}

func TestInit_Idempotent(t *testing.T) {
	dir := t.TempDir()
	if err := Init(dir, []string{"PE"}); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, f := range Files {
		before[f], _ = os.ReadFile(filepath.Join(dir, "PE", f))
	}
	if err := Init(dir, []string{"PE", "CO"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range Files {
		after, _ := os.ReadFile(filepath.Join(dir, "PE", f))
		if string(after) != string(before[f]) {
			t.Errorf("second Init replaced PE/%s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "CO", "official.pem")); err != nil {
		t.Errorf("CO not added: %v", err)
	}

	// An incomplete country (an Init that died half way) is generated
	// afresh, so its files belong together again.
	if err := os.Remove(filepath.Join(dir, "PE", "client.key")); err != nil {
		t.Fatal(err)
	}
	if err := Init(dir, []string{"PE"}); err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(dir, "PE")
	if err != nil {
		t.Fatal(err)
	}
	if string(ca.CertPEM) == string(before["ca.pem"]) {
		t.Error("an incomplete country kept its old CA")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := readCert(t, filepath.Join(dir, "PE", "client.pem")).Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("regenerated client does not chain to the regenerated CA: %v", err)
	}
}

func TestInit_RejectsBadCountry(t *testing.T) {
	for _, cc := range []string{"peru", "pe", "P", "", "P1", "../x"} {
		if err := Init(t.TempDir(), []string{cc}); err == nil {
			t.Errorf("accepted %q", cc)
		}
		if _, err := NewCA(cc); err == nil {
			t.Errorf("NewCA accepted %q", cc)
		}
	}
}

func TestOptions_Validity(t *testing.T) {
	ca, err := NewCA("CO")
	if err != nil {
		t.Fatal(err)
	}
	nb, na := time.Now().Add(-48*time.Hour).Truncate(time.Second), time.Now().Add(-24*time.Hour).Truncate(time.Second)
	tests := []struct {
		name   string
		o      Options
		nb, na time.Time
		slack  time.Duration
	}{
		{"explicit", Options{NotBefore: nb, NotAfter: na}, nb, na, time.Second},
		{"defaults", Options{}, time.Now().Add(-time.Hour), time.Now().AddDate(2, 0, 0), time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kp, err := ca.IssueOfficial("X", "ICA", tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if d := kp.Cert.NotBefore.Sub(tt.nb).Abs(); d > tt.slack {
				t.Errorf("NotBefore %s, want %s", kp.Cert.NotBefore, tt.nb)
			}
			if d := kp.Cert.NotAfter.Sub(tt.na).Abs(); d > tt.slack {
				t.Errorf("NotAfter %s, want %s", kp.Cert.NotAfter, tt.na)
			}
		})
	}
}

// The server and client pairs do what they are for: a mutually
// authenticated TLS handshake between two nodes.
func TestTLS_MutualHandshake(t *testing.T) {
	ca, err := NewCA("CL")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.IssueServer(Options{}, "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(server.Cert.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }) ||
		!slices.Equal(server.Cert.DNSNames, []string{"localhost"}) {
		t.Errorf("SANs %v %v", server.Cert.IPAddresses, server.Cert.DNSNames)
	}
	client, err := ca.IssueClient("vucelink CL", Options{})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	a, b := net.Pipe()
	errc := make(chan error, 1)
	go func() {
		s := tls.Server(a, &tls.Config{
			Certificates: []tls.Certificate{server.TLS()},
			ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: roots,
		})
		errc <- s.Handshake()
		s.Close()
	}()
	c := tls.Client(b, &tls.Config{Certificates: []tls.Certificate{client.TLS()}, RootCAs: roots, ServerName: "localhost"})
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if cn := c.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "vucelink CL server" {
		t.Errorf("server CN %q", cn)
	}
	c.Close()
}
