package node

import (
	"crypto/rsa"
	"os"
	"testing"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/certs/opensslkey"
)

// The engine moves a signer's key into OpenSSL, keeps the certificate,
// and leaves it to crypto/rsa under engine go.
func TestSigningEngine_Rekey(t *testing.T) {
	if _, err := opensslkey.Open(""); err != nil {
		if os.Getenv("VUCELINK_REQUIRE_OPENSSL") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ca, err := devpki.NewCA("CL")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.IssueOfficial("Ana Pérez Soto", "SAG", devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := certs.NewSigner(kp.Key, kp.Cert)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		engine  signingEngine
		openssl bool
	}{{signingEngine{name: "go"}, false}, {signingEngine{name: "openssl"}, true}} {
		r, err := tc.engine.rekey(s)
		if err != nil {
			t.Fatal(err)
		}
		_, isOpenSSL := r.Key().(*opensslkey.Key)
		_, isGo := r.Key().(*rsa.PrivateKey)
		if isOpenSSL != tc.openssl || isGo == tc.openssl {
			t.Errorf("engine %s: key is %T", tc.engine.name, r.Key())
		}
		if !r.Certificate().Equal(kp.Cert) {
			t.Errorf("engine %s: the certificate changed", tc.engine.name)
		}
	}
}
