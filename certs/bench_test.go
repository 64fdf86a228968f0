package certs

import (
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/vucelink/vucelink/certs/opensslkey"
)

// spsDocument is a synthetic SPS certificate with n trade line items, the
// shape the node signs and verifies most.
func spsDocument(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rsm:SPSCertificate xmlns:rsm="urn:un:unece:uncefact:data:standard:SPSCertificate:11" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:14" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15">
  <rsm:SPSExchangedDocument>
    <ram:Name>Phytosanitary Certificate</ram:Name>
    <ram:ID>CL-2026-000123</ram:ID>
    <ram:TypeCode>851</ram:TypeCode>
    <ram:StatusCode>70</ram:StatusCode>
    <ram:IssueDateTime><udt:DateTimeString format="205">2026-11-25T14:30:00Z</udt:DateTimeString></ram:IssueDateTime>
  </rsm:SPSExchangedDocument>
  <rsm:SPSConsignment>
    <ram:ConsignorSPSParty><ram:Name>Exportadora Andes SpA</ram:Name></ram:ConsignorSPSParty>
    <ram:ConsigneeSPSParty><ram:Name>Frutas del Norte S.A. de C.V.</ram:Name></ram:ConsigneeSPSParty>
    <ram:ExportSPSCountry><ram:ID>CL</ram:ID></ram:ExportSPSCountry>
    <ram:ImportSPSCountry><ram:ID>MX</ram:ID></ram:ImportSPSCountry>
    <ram:IncludedSPSConsignmentItem>
`)
	for i := range n {
		fmt.Fprintf(&sb, `      <ram:IncludedSPSTradeLineItem>
        <ram:SequenceNumeric>%d</ram:SequenceNumeric>
        <ram:Description languageID="es">Uva de mesa &amp; cerezas, lote %d</ram:Description>
        <ram:CommonName languageID="es">Uva</ram:CommonName>
        <ram:ScientificName>Vitis vinifera</ram:ScientificName>
        <ram:NetWeightMeasure unitCode="KGM">12500.5</ram:NetWeightMeasure>
        <ram:OriginSPSCountry><ram:ID>CL</ram:ID></ram:OriginSPSCountry>
      </ram:IncludedSPSTradeLineItem>
`, i+1, i+1)
	}
	sb.WriteString(`    </ram:IncludedSPSConsignmentItem>
  </rsm:SPSConsignment>
</rsm:SPSCertificate>
`)
	return []byte(sb.String())
}

var benchItems = []int{10, 100, 1000}

// BenchmarkRSA2048Sign is the baseline: one bare RSA-2048 PKCS#1 v1.5
// signature over a SHA-256 digest, the floor under every Sign.
// With crypto/rsa, and with the same key in OpenSSL (crypto.engine).
func BenchmarkRSA2048Sign(b *testing.B) {
	f := newFixture(b)
	digest := sha256.Sum256([]byte("vucelink"))
	keys := []struct {
		name string
		key  crypto.Signer
	}{{"crypto-rsa", f.official.Key}}
	if k := benchOpenSSLKey(b, f); k != nil {
		keys = append(keys, struct {
			name string
			key  crypto.Signer
		}{"openssl", k})
	}
	for _, k := range keys {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := k.key.Sign(nil, digest[:], crypto.SHA256); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchOpenSSLKey is the fixture's official key in OpenSSL, or nil where
// libcrypto does not load.
func benchOpenSSLKey(b *testing.B, f *fixture) crypto.Signer {
	if _, err := opensslkey.Open(""); err != nil {
		return nil
	}
	k, err := opensslkey.New(f.official.Key)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

// BenchmarkSign signs with Signer ("one-pass"), the same with the key in
// OpenSSL ("one-pass-openssl", crypto.engine openssl), and as Signer did
// before its own canonicalization ("goxmldsig"), in the same run. Each
// reports its allocation per byte of the document.
func BenchmarkSign(b *testing.B) {
	f := newFixture(b)
	paths := []struct {
		name string
		sign func([]byte) ([]byte, error)
	}{
		{"one-pass", f.signer.Sign},
		{"goxmldsig", func(d []byte) ([]byte, error) { return goxmldsigSign(f.signer, d) }},
	}
	if k := benchOpenSSLKey(b, f); k != nil {
		s, err := NewSigner(k, f.official.Cert)
		if err != nil {
			b.Fatal(err)
		}
		paths = append(paths, struct {
			name string
			sign func([]byte) ([]byte, error)
		}{"one-pass-openssl", s.Sign})
	}
	for _, n := range benchItems {
		doc := spsDocument(n)
		for _, path := range paths {
			b.Run(fmt.Sprintf("items=%d/%s", n, path.name), func(b *testing.B) {
				b.SetBytes(int64(len(doc)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := path.sign(doc); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkVerify verifies on the one-pass path and on goxmldsig's, in the
// same run, the chain cached on both.
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	legacy := *f.verifier
	legacy.viaGoxmldsig = true
	for _, n := range benchItems {
		signed, err := f.signer.Sign(spsDocument(n))
		if err != nil {
			b.Fatal(err)
		}
		for _, path := range []struct {
			name string
			v    *Verifier
		}{{"one-pass", f.verifier}, {"goxmldsig", &legacy}} {
			b.Run(fmt.Sprintf("items=%d/%s", n, path.name), func(b *testing.B) {
				b.SetBytes(int64(len(signed)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := path.v.Verify(context.Background(), signed); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
