package demo

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"testing"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/rules"
)

// The pipeline benchmarks measure what the XML work costs on top of the
// cryptography: compare each figure with BenchmarkPipeline/rsa2048-sign,
// measured in the same run. A realistic certificate from CL to MX, native
// JSON → SPS D13B → signed (outbound), and signed SPS → verified → MX's
// native XML (inbound).
func BenchmarkPipeline(b *testing.B) {
	ca, err := devpki.NewCA("CL")
	if err != nil {
		b.Fatal(err)
	}
	official, err := ca.IssueOfficial("Ana Pérez", "SAG", devpki.Options{})
	if err != nil {
		b.Fatal(err)
	}
	signer, err := certs.NewSigner(official.Key, official.Cert)
	if err != nil {
		b.Fatal(err)
	}
	officials := certs.NewOfficials()
	officials.Add(official.Cert, "sps")
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	verifier := &certs.Verifier{Roots: roots, Authorize: func(c *x509.Certificate) error { return officials.Authorize(c, "sps") }}
	outRules, err := mapping.Load(rules.FS, "CL/sps.outbound.yaml")
	if err != nil {
		b.Fatal(err)
	}
	inRules, err := mapping.Load(rules.FS, "MX/sps.inbound.yaml")
	if err != nil {
		b.Fatal(err)
	}
	clFormat, _ := legacysim.FormatFor("CL")

	b.Run("rsa2048-sign", func(b *testing.B) {
		digest := sha256.Sum256([]byte("baseline"))
		for b.Loop() {
			if _, err := official.Key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, items := range []int{10, 1000} {
		native, err := clFormat.Encode(legacysim.Sample("CL", "MX", 1, items))
		if err != nil {
			b.Fatal(err)
		}
		out, err := outRules.Map(native)
		if err != nil {
			b.Fatal(err)
		}
		signedRoot, err := signer.SignElement(out.XML.Root())
		if err != nil {
			b.Fatal(err)
		}
		out.XML.SetRoot(signedRoot)
		signed, err := out.Bytes()
		if err != nil {
			b.Fatal(err)
		}

		b.Run(fmt.Sprintf("outbound-map-sign/items=%d", items), func(b *testing.B) {
			b.SetBytes(int64(len(native)))
			for b.Loop() {
				o, err := outRules.Map(native)
				if err != nil {
					b.Fatal(err)
				}
				root, err := signer.SignElement(o.XML.Root())
				if err != nil {
					b.Fatal(err)
				}
				o.XML.SetRoot(root)
				if _, err := o.Bytes(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("inbound-verify-map/items=%d", items), func(b *testing.B) {
			b.SetBytes(int64(len(signed)))
			for b.Loop() {
				v, err := verifier.Verify(context.Background(), signed)
				if err != nil {
					b.Fatal(err)
				}
				o, err := inRules.MapElement(v.Element)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := o.Bytes(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
