// Command xmlseccompare measures vucelink's XMLDSIG signing and
// verification beside libxmlsec1 (C, through Debian's python3-xmlsec) and
// bare RSA-2048 signatures, on the same generated SPS certificates and the
// same keys, in one run, and prints the ratios. docs/performance.md
// describes the method and records results.
//
//	taskset -c 1 go run ./certs/internal/xmlseccompare [-items 10,100,1000] [-rounds 3] [-time 1s]
//
// Everything runs on the cores the process may use: run it under taskset
// with one core, and the Python child inherits it. Each round measures
// each size on both sides one after the other (libxmlsec1 first, then
// vucelink), and the figure kept is the median of the rounds, so that
// load from elsewhere on a shared machine hits both sides alike.
//
// What each side does per operation, end to end from bytes to bytes:
//
//   - sign: parse the unsigned document, sign it (exclusive C14N,
//     SHA-256, RSA-SHA256, enveloped, the certificate in KeyInfo),
//     serialize. libxmlsec1 fills a signature template already in the
//     document (that is how its API signs); vucelink adds the signature.
//   - verify: parse the signed document (vucelink's signature, the same
//     bytes for both), check the certificate against the CA, the digest and
//     the signature value. vucelink also refuses DTDs, bounds the parse and
//     checks the algorithm policy, the reference, the signer's key usage
//     and validity; its chain verdict is cached (certs/chaincache.go) as it
//     is in production.
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
)

func main() {
	itemsFlag := flag.String("items", "10,100,1000", "line items per document, comma-separated")
	rounds := flag.Int("rounds", 3, "rounds; each measures every size on both sides")
	per := flag.Duration("time", time.Second, "time per measurement")
	python := flag.String("python", "/usr/bin/python3", "a Python 3 with Debian's python3-xmlsec and python3-lxml")
	flag.Parse()
	log.SetFlags(0)

	var sizes []int
	for _, s := range strings.Split(*itemsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			log.Fatalf("-items: %v", err)
		}
		sizes = append(sizes, n)
	}
	dir, err := os.MkdirTemp("", "xmlseccompare")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ca, err := devpki.NewCA("CL")
	if err != nil {
		log.Fatal(err)
	}
	official, err := ca.IssueOfficial("Ana Pérez", "SAG", devpki.Options{})
	if err != nil {
		log.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			log.Fatal(err)
		}
		return p
	}
	caFile := write("ca.pem", ca.CertPEM)
	keyFile := write("key.pem", official.KeyPEM)
	certFile := write("cert.pem", official.CertPEM)
	script := write("xmlsec_bench.py", []byte(pythonBench))

	signer, err := certs.NewSigner(official.Key, official.Cert)
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	verifier := &certs.Verifier{Roots: roots}

	type docs struct{ unsigned, template, signed []byte }
	byN := map[int]docs{}
	for _, n := range sizes {
		d := docs{unsigned: spsDocument(n)}
		d.template = withTemplate(d.unsigned)
		if d.signed, err = signer.Sign(d.unsigned); err != nil {
			log.Fatal(err)
		}
		write(fmt.Sprintf("template-%d.xml", n), d.template)
		write(fmt.Sprintf("signed-%d.xml", n), d.signed)
		byN[n] = d
	}

	type result struct {
		xsSign, xsVerify, goSign, goVerify, rsa []float64
		signAlloc, verifyAlloc                  int64
	}
	results := map[int]*result{}
	for _, n := range sizes {
		results[n] = &result{}
	}
	cpus := runtime.GOMAXPROCS(0)
	for r := range *rounds {
		for _, n := range sizes {
			res := results[n]
			out, err := exec.Command(*python, script, keyFile, certFile, caFile,
				filepath.Join(dir, fmt.Sprintf("template-%d.xml", n)),
				filepath.Join(dir, fmt.Sprintf("signed-%d.xml", n)),
				strconv.FormatFloat(per.Seconds(), 'f', 3, 64)).Output()
			if err != nil {
				log.Fatalf("python3-xmlsec (%d items): %v\n%s", n, err, out)
			}
			var py struct{ Sign, Verify float64 }
			if err := json.Unmarshal(out, &py); err != nil {
				log.Fatalf("python3-xmlsec output %q: %v", out, err)
			}
			res.xsSign = append(res.xsSign, py.Sign)
			res.xsVerify = append(res.xsVerify, py.Verify)

			d := byN[n]
			sign := measure(*per, func() {
				if _, err := signer.Sign(d.unsigned); err != nil {
					log.Fatal(err)
				}
			})
			verify := measure(*per, func() {
				if _, err := verifier.Verify(context.Background(), d.signed); err != nil {
					log.Fatal(err)
				}
			})
			digest := sha256.Sum256([]byte("baseline"))
			bare := measure(*per, func() {
				if _, err := official.Key.Sign(nil, digest[:], crypto.SHA256); err != nil {
					log.Fatal(err)
				}
			})
			res.goSign = append(res.goSign, sign)
			res.goVerify = append(res.goVerify, verify)
			res.rsa = append(res.rsa, bare)
			if r == 0 {
				res.signAlloc = allocPerOp(func() { signer.Sign(d.unsigned) })
				res.verifyAlloc = allocPerOp(func() { verifier.Verify(context.Background(), d.signed) })
			}
		}
	}

	fmt.Printf("vucelink vs libxmlsec1 (python3-xmlsec), RSA-2048, exclusive C14N, SHA-256, enveloped; GOMAXPROCS %d; median of %d rounds of %s\n\n", cpus, *rounds, *per)
	fmt.Println("| items | bytes | libxmlsec1 sign/s | verify/s | vucelink sign/s | verify/s | sign ratio | verify ratio | bare RSA sign/s | sign / bare RSA | alloc sign ÷ bytes | alloc verify ÷ bytes |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range sizes {
		res := results[n]
		xs, xv, gs, gv, rsa := median(res.xsSign), median(res.xsVerify), median(res.goSign), median(res.goVerify), median(res.rsa)
		size := len(byN[n].unsigned)
		fmt.Printf("| %d | %d | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %.0f | %.2f | %.1f | %.1f |\n",
			n, size, xs, xv, gs, gv, gs/xs, gv/xv, rsa, gs/rsa,
			float64(res.signAlloc)/float64(size), float64(res.verifyAlloc)/float64(len(byN[n].signed)))
	}
}

// measure returns how many times per second f runs, over about d.
func measure(d time.Duration, f func()) float64 {
	f() // warm up
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		f()
		n++
	}
	return float64(n) / time.Since(start).Seconds()
}

func allocPerOp(f func()) int64 {
	r := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f()
		}
	})
	return r.AllocedBytesPerOp()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// spsDocument is a synthetic SPS certificate with n trade line items, the
// document of the certs benchmarks (certs/bench_test.go).
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

// withTemplate puts the signature template libxmlsec1 fills in where
// vucelink puts its signature: the root's last child.
func withTemplate(doc []byte) []byte {
	const tmpl = `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
		`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
		`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
		`<ds:Reference URI=""><ds:Transforms>` +
		`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
		`<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>` +
		`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/>` +
		`</ds:Reference></ds:SignedInfo><ds:SignatureValue/>` +
		`<ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature>`
	i := bytes.LastIndex(doc, []byte("</"))
	return append(append(append([]byte{}, doc[:i]...), tmpl...), doc[i:]...)
}

// pythonBench signs the template and verifies the signed document with
// libxmlsec1 for about the given time each, and prints the rates as JSON.
// Verification trusts only the CA: libxmlsec1 verifies the certificate in
// KeyInfo against it (OpenSSL), every time.
const pythonBench = `
import json, sys, time
import xmlsec
from lxml import etree

key_file, cert_file, ca_file, template_file, signed_file, per = sys.argv[1:7]
per = float(per)
template = open(template_file, 'rb').read()
signed = open(signed_file, 'rb').read()

key = xmlsec.Key.from_file(key_file, xmlsec.constants.KeyDataFormatPem)
key.load_cert_from_file(cert_file, xmlsec.constants.KeyDataFormatPem)
manager = xmlsec.KeysManager()
manager.load_cert(ca_file, xmlsec.constants.KeyDataFormatPem, xmlsec.constants.KeyDataTypeTrusted)

def sign():
    root = etree.fromstring(template)
    node = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    ctx.sign(node)
    return etree.tostring(root)

def verify():
    root = etree.fromstring(signed)
    node = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
    ctx = xmlsec.SignatureContext(manager)
    ctx.verify(node)  # raises on failure

def rate(f):
    f()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < per:
        f()
        n += 1
    return n / (time.perf_counter() - start)

print(json.dumps({"Sign": rate(sign), "Verify": rate(verify)}))
`
