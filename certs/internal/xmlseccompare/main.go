// Command xmlseccompare measures vucelink's XMLDSIG signing and
// verification beside libxmlsec1 (C, through Debian's python3-xmlsec) and
// bare RSA-2048 signatures, on the same generated SPS certificates and the
// same keys, in one run, and prints the ratios. vucelink signs twice:
// with the key in crypto/rsa (config crypto.engine go) and in OpenSSL's
// libcrypto (engine openssl, the default where it loads), each beside its
// own bare RSA baseline. docs/performance.md
// describes the method and records results.
//
//	taskset -c 1 go run ./certs/internal/xmlseccompare [-items 10,100,1000] [-rounds 3] [-time 1s]
//
// Everything runs on the cores the process may use: run it under taskset
// with one core, and the Python child inherits it. Within a round, the
// five measurements of a size (libxmlsec1 sign and verify, vucelink sign
// and verify, bare RSA) take turns in slices of a twentieth of -time, so
// that load from elsewhere on a shared machine falls on all of them alike;
// the figure kept is the median of the rounds.
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
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
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
	"github.com/vucelink/vucelink/certs/opensslkey"
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
	// The same key in OpenSSL; nil where libcrypto does not load.
	var osslSigner *certs.Signer
	var osslKey crypto.Signer
	if version, err := opensslkey.Open(""); err != nil {
		log.Printf("OpenSSL columns left out: %v", err)
	} else {
		if osslKey, err = opensslkey.New(official.Key); err != nil {
			log.Fatal(err)
		}
		if osslSigner, err = certs.NewSigner(osslKey, official.Cert); err != nil {
			log.Fatal(err)
		}
		log.Printf("engine openssl: %s", version)
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
		osSign, osRSA                           []float64
		signAlloc, verifyAlloc                  int64
	}
	results := map[int]*result{}
	for _, n := range sizes {
		results[n] = &result{}
	}
	cpus := runtime.GOMAXPROCS(0)
	digest := sha256.Sum256([]byte("baseline"))
	for r := range *rounds {
		for _, n := range sizes {
			res := results[n]
			d := byN[n]
			py, err := startPython(*python, script, keyFile, certFile, caFile,
				filepath.Join(dir, fmt.Sprintf("template-%d.xml", n)),
				filepath.Join(dir, fmt.Sprintf("signed-%d.xml", n)))
			if err != nil {
				log.Fatalf("python3-xmlsec (%d items): %v", n, err)
			}
			// The five measurements take turns in slices of a twentieth of
			// -time, so that load from elsewhere falls on all of them alike.
			var xs, xv, gs, gv, rsa, ossl, osRSA rate
			slice := *per / 20
			for range 20 {
				xs.add(py.run("sign", slice))
				gs.add(measure(slice, func() {
					if _, err := signer.Sign(d.unsigned); err != nil {
						log.Fatal(err)
					}
				}))
				rsa.add(measure(slice, func() {
					if _, err := official.Key.Sign(nil, digest[:], crypto.SHA256); err != nil {
						log.Fatal(err)
					}
				}))
				if osslSigner != nil {
					ossl.add(measure(slice, func() {
						if _, err := osslSigner.Sign(d.unsigned); err != nil {
							log.Fatal(err)
						}
					}))
					osRSA.add(measure(slice, func() {
						if _, err := osslKey.Sign(nil, digest[:], crypto.SHA256); err != nil {
							log.Fatal(err)
						}
					}))
				}
				xv.add(py.run("verify", slice))
				gv.add(measure(slice, func() {
					if _, err := verifier.Verify(context.Background(), d.signed); err != nil {
						log.Fatal(err)
					}
				}))
			}
			py.close()
			res.xsSign = append(res.xsSign, xs.perSecond())
			res.xsVerify = append(res.xsVerify, xv.perSecond())
			res.goSign = append(res.goSign, gs.perSecond())
			res.goVerify = append(res.goVerify, gv.perSecond())
			res.rsa = append(res.rsa, rsa.perSecond())
			if osslSigner != nil {
				res.osSign = append(res.osSign, ossl.perSecond())
				res.osRSA = append(res.osRSA, osRSA.perSecond())
			}
			if r == 0 {
				res.signAlloc = allocPerOp(func() { signer.Sign(d.unsigned) })
				res.verifyAlloc = allocPerOp(func() { verifier.Verify(context.Background(), d.signed) })
			}
		}
	}

	fmt.Printf("vucelink vs libxmlsec1 (python3-xmlsec), RSA-2048, exclusive C14N, SHA-256, enveloped; GOMAXPROCS %d; median of %d rounds of %s\n\n", cpus, *rounds, *per)
	fmt.Println("| items | bytes | libxmlsec1 sign/s | verify/s | vucelink sign/s (crypto/rsa) | verify/s | sign ratio | verify ratio | bare crypto/rsa sign/s | sign / bare crypto/rsa | alloc sign ÷ bytes | alloc verify ÷ bytes |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range sizes {
		res := results[n]
		xs, xv, gs, gv, rsa := median(res.xsSign), median(res.xsVerify), median(res.goSign), median(res.goVerify), median(res.rsa)
		size := len(byN[n].unsigned)
		fmt.Printf("| %d | %d | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %.0f | %.2f | %.1f | %.1f |\n",
			n, size, xs, xv, gs, gv, gs/xs, gv/xv, rsa, gs/rsa,
			float64(res.signAlloc)/float64(size), float64(res.verifyAlloc)/float64(len(byN[n].signed)))
	}
	if osslSigner == nil {
		return
	}
	fmt.Println()
	fmt.Println("| items | libxmlsec1 sign/s | vucelink sign/s (OpenSSL) | sign ratio | bare OpenSSL sign/s | sign / bare OpenSSL | sign / bare crypto/rsa |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, n := range sizes {
		res := results[n]
		xs, ossl, osRSA, rsa := median(res.xsSign), median(res.osSign), median(res.osRSA), median(res.rsa)
		fmt.Printf("| %d | %.0f | %.0f | %.2f | %.0f | %.2f | %.2f |\n", n, xs, ossl, ossl/xs, osRSA, ossl/osRSA, ossl/rsa)
	}
}

// rate accumulates operations and the time they took.
type rate struct {
	ops     int
	elapsed time.Duration
}

func (r *rate) add(ops int, d time.Duration) { r.ops += ops; r.elapsed += d }
func (r *rate) perSecond() float64           { return float64(r.ops) / r.elapsed.Seconds() }

// measure runs f for about d and returns how many times it ran and for
// how long.
func measure(d time.Duration, f func()) (int, time.Duration) {
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		f()
		n++
	}
	return n, time.Since(start)
}

// python is the libxmlsec1 side, a Python process that signs or verifies
// for as long as it is told to, one slice at a time.
type python struct {
	cmd *exec.Cmd
	in  *bufio.Writer
	out *bufio.Scanner
}

func startPython(bin string, args ...string) (*python, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &python{cmd: cmd, in: bufio.NewWriter(in), out: bufio.NewScanner(out)}
	p.run("sign", 0) // warm up, and wait until it is ready
	p.run("verify", 0)
	return p, nil
}

func (p *python) run(op string, d time.Duration) (int, time.Duration) {
	fmt.Fprintf(p.in, "%s %f\n", op, d.Seconds())
	if err := p.in.Flush(); err != nil {
		log.Fatal(err)
	}
	if !p.out.Scan() {
		log.Fatalf("python3-xmlsec stopped: %v", p.out.Err())
	}
	var n int
	var secs float64
	if _, err := fmt.Sscanf(p.out.Text(), "%d %f", &n, &secs); err != nil {
		log.Fatalf("python3-xmlsec said %q: %v", p.out.Text(), err)
	}
	return n, time.Duration(secs * float64(time.Second))
}

func (p *python) close() {
	p.in.Flush()
	p.cmd.Process.Kill()
	p.cmd.Wait()
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

// pythonBench signs the template or verifies the signed document with
// libxmlsec1, for the time each line of its input says ("sign 0.05"),
// and answers each line with the operations done and the time taken.
// Verification trusts only the CA: libxmlsec1 verifies the certificate in
// KeyInfo against it (OpenSSL), every time.
const pythonBench = `
import json, sys, time
import xmlsec
from lxml import etree

key_file, cert_file, ca_file, template_file, signed_file = sys.argv[1:6]
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

ops = {"sign": sign, "verify": verify}
for line in sys.stdin:
    op, secs = line.split()
    f, secs = ops[op], float(secs)
    f()  # at least once: a slice of 0 s warms up
    n, start = 1, time.perf_counter()
    while time.perf_counter() - start < secs:
        f()
        n += 1
    print(n, time.perf_counter() - start, flush=True)
`
