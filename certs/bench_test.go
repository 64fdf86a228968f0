package certs

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
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

var benchItems = []int{10, 1000}

// BenchmarkRSA2048Sign is the baseline: one bare RSA-2048 PKCS#1 v1.5
// signature over a SHA-256 digest, the floor under every Sign.
func BenchmarkRSA2048Sign(b *testing.B) {
	f := newFixture(b)
	digest := sha256.Sum256([]byte("vucelink"))
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(nil, f.official.Key, crypto.SHA256, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	f := newFixture(b)
	for _, n := range benchItems {
		doc := spsDocument(n)
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if _, err := f.signer.Sign(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	for _, n := range benchItems {
		signed, err := f.signer.Sign(spsDocument(n))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(signed)))
			for b.Loop() {
				if _, err := f.verifier.Verify(context.Background(), signed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
