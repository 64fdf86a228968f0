package certs

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// FuzzVerify mutates the hostile corpus and a freshly signed document. The
// properties: Verify never panics; an error comes alone, wrapping exactly
// one sentinel; and a success hands over an element without any
// ds:Signature, from a signer whose chain ends at the trusted root.
//
//	go test -run xxx -fuzz FuzzVerify -fuzztime 30s ./certs/
func FuzzVerify(f *testing.F) {
	pki := loadHostilePKI(f)
	v := pki.verifier()
	files, err := filepath.Glob(filepath.Join(hostileDir, "*.xml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no corpus in %s: %v", hostileDir, err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	base, err := os.ReadFile("testdata/sps.xml")
	if err != nil {
		f.Fatal(err)
	}
	signer, err := NewSigner(pki.official.key, pki.official.cert)
	if err != nil {
		f.Fatal(err)
	}
	signed, err := signer.Sign(base)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)

	roots := x509.NewCertPool()
	roots.AddCert(pki.ca.cert)

	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := v.Verify(context.Background(), data)
		if err != nil {
			if got != nil {
				t.Fatalf("error %v returned together with a verified element", err)
			}
			if n := sentinelsIn(err); n != 1 {
				t.Fatalf("error %v wraps %d sentinels, want exactly one", err, n)
			}
			return
		}
		if got == nil || got.Element == nil || got.Signer == nil || len(got.Chain) == 0 {
			t.Fatalf("no error but an incomplete result %+v", got)
		}
		if hasSignatureElement(got.Element) {
			t.Fatal("the verified element carries a ds:Signature")
		}
		inter := x509.NewCertPool()
		for _, c := range got.Chain[1:] {
			inter.AddCert(c)
		}
		if _, err := got.Signer.Verify(x509.VerifyOptions{
			Roots: roots, Intermediates: inter, CurrentTime: hostileNow,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		}); err != nil {
			t.Fatalf("accepted signer %q does not chain to the root: %v", got.Signer.Subject, err)
		}
		if !got.Chain[0].Equal(got.Signer) || !got.Chain[len(got.Chain)-1].Equal(pki.ca.cert) {
			t.Fatal("the returned chain does not run from the signer to the root")
		}
	})
}
