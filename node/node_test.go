package node_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/demo"
)

func serverSerial(t *testing.T, addr string, roots *x509.CertPool) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// A replaced certificate is served from the next handshake on, without a
// restart, and documents keep flowing.
func TestNode_RotatesTLSCertificate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := demo.Start(ctx, demo.Options{Dir: t.TempDir(), Countries: []string{"CL", "MX"}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ca, err := devpki.LoadCA(n.PKI, "MX")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	addr := n.Nodes["MX"].Addr("partners")
	before := serverSerial(t, addr, roots)

	kp, err := ca.IssueServer(devpki.Options{}, "127.0.0.1", "::1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(n.PKI, "MX")
	for name, data := range map[string][]byte{"server.key": kp.KeyPEM, "server.pem": kp.CertPEM} {
		tmp := filepath.Join(dir, name+".new")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	want := kp.Cert.SerialNumber.String()
	deadline := time.Now().Add(10 * time.Second)
	for serverSerial(t, addr, roots) != want {
		if time.Now().After(deadline) {
			t.Fatalf("still serving the old certificate %s after 10s", before)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if res := n.Send(ctx, "CL", "MX", 1, 2, false); !res.Intact {
		t.Fatalf("delivery after rotation: %v", res.Problems)
	}
}
