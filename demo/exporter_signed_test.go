package demo

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/track"
)

// A certificate of origin the exporter signed itself — with xmlsec1,
// inclusive C14N with comments, ALADI's ns1/ns2 prefixes, as exporters'
// software does — travels from Chile's legacy VUCE (base64 in its JSON)
// with that very signature: CL verifies it against its exporters' CA and
// adds only the official's; PE verifies both and hands the certificate
// over; xmlsec1 verifies both in what PE stored. A signed part changed by
// one character, or signed by an exporter CL does not trust, is refused
// with 422 and never queued.
func TestCOD_ExporterSignatureKept(t *testing.T) {
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		if os.Getenv("VUCELINK_REQUIRE_XMLSEC1") != "" {
			t.Fatal("xmlsec1 not found")
		}
		t.Skip("xmlsec1 not found")
	}
	n := startNetwork(t, "CL", "PE")
	pki := filepath.Join(n.PKI, "CL")
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// The exporter's document, re-signed by the network's CL exporter.
	signedPart, err := os.ReadFile("../rules/testdata/exporter-signed/signed-CL.xml")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := regexp.MustCompile(`(?s)<ns2:(DigestValue|SignatureValue|X509Certificate)>.*?</ns2:(DigestValue|SignatureValue|X509Certificate)>`).
		ReplaceAll(signedPart, []byte("<ns2:$1/>"))
	// SHA-256: the partner (PE) does not accept SHA-1 from CL.
	tmpl = bytes.ReplaceAll(tmpl, []byte("http://www.w3.org/2000/09/xmldsig#rsa-sha1"), []byte("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"))
	tmpl = bytes.ReplaceAll(tmpl, []byte("http://www.w3.org/2000/09/xmldsig#sha1"), []byte("http://www.w3.org/2001/04/xmlenc#sha256"))
	// sign fills in the template as country cc's demo exporter.
	sign := func(cc string) []byte {
		pki := filepath.Join(n.PKI, cc)
		out := filepath.Join(dir, cc+"-exporter-signed.xml")
		if msg, err := exec.Command(bin, "--sign", "--privkey-pem", filepath.Join(pki, "exporter.key")+","+filepath.Join(pki, "exporter.pem"),
			"--id-attr:id", "COD", "--enabled-reference-uris", "same-doc", "--output", out, write("template.xml", tmpl)).CombinedOutput(); err != nil {
			t.Fatalf("xmlsec1 --sign: %v\n%s", err, msg)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mine := sign("CL")
	signatureValue := regexp.MustCompile(`(?s)<ns2:SignatureValue>(.*?)</ns2:SignatureValue>`).FindSubmatch(mine)[1]

	example, err := rules.FS.ReadFile("CL/examples/cod/exporter-signed.native.json")
	if err != nil {
		t.Fatal(err)
	}
	payload := func(id string, part []byte) []byte {
		var p map[string]map[string]string
		if err := json.Unmarshal(example, &p); err != nil {
			t.Fatal(err)
		}
		p["certificado"]["numero"] = id
		p["certificado"]["codFirmadoExportador"] = base64.StdEncoding.EncodeToString(part)
		b, _ := json.Marshal(p)
		return b
	}
	post := func(body []byte) (int, string) {
		resp, err := http.Post(n.RouteURL("CL", RoutePath("cod")), "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	t.Run("kept, and verified on both sides", func(t *testing.T) {
		const id = "CL004CA1260000418302"
		if status, answer := post(payload(id, mine)); status/100 != 2 {
			t.Fatalf("status %d: %s", status, answer)
		}
		var state lifecycle.State
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			d, err := n.Nodes["CL"].Store.Find(t.Context(), "outbound", "PE", "cod", id)
			if err == nil {
				if state = d.State; state == lifecycle.ReceivedCorrectly || state == lifecycle.ReceivedWithErrors {
					break
				}
			}
		}
		if state != lifecycle.ReceivedCorrectly {
			t.Fatalf("at CL: %q, want received-correctly", state)
		}
		in, err := n.Nodes["PE"].Store.Find(t.Context(), "inbound", "CL", "cod", id)
		if err != nil {
			t.Fatal(err)
		}
		// The exporter's own signature, not one the node made.
		if got := regexp.MustCompile(`(?s)<ns2:SignatureValue>(.*?)</ns2:SignatureValue>`).FindSubmatch(in.Body); got == nil || !bytes.Equal(got[1], signatureValue) {
			t.Errorf("the exporter's signature was not kept:\n%s", in.Body)
		}
		if strings.Count(string(in.Body), "</ns2:Signature>") != 1 || strings.Count(string(in.Body), "</ds:Signature>") != 1 {
			t.Errorf("want the exporter's and the official's signatures:\n%s", in.Body)
		}
		// The track tells the operator whose exporter's signature this is.
		var signedDetail string
		for _, e := range n.Events.Events(trackingIDOf(n.Events, "CL", id)) {
			if e.Step == track.Signed {
				signedDetail = e.Detail
			}
		}
		if !strings.Contains(signedDetail, "exporter's signature kept from the payload (verified; Exportadora Demo CL, serial ") {
			t.Errorf("CL's signed step says %q, want the exporter's signature kept", signedDetail)
		}
		stored := write("stored.xml", in.Body)
		ca := filepath.Join(pki, "ca.pem")
		for id, xpath := range map[string]string{
			"COD":   `//*[local-name()='CODExporter']/*[local-name()='Signature']`,
			"CODEH": `//*[local-name()='CertOrigin']/*[local-name()='Signature']`,
		} {
			msg, err := exec.Command(bin, "--verify", "--trusted-pem", ca, "--id-attr:id", "COD", "--id-attr:id", "CODEH",
				"--enabled-reference-uris", "same-doc", "--node-xpath", xpath, stored).CombinedOutput()
			if err != nil || !regexp.MustCompile(`(?m)^OK$`).Match(msg) {
				t.Errorf("xmlsec1 --verify #%s: %v\n%s", id, err, msg)
			}
		}
		found := false
		for _, got := range n.Legacy["PE"].Documents("cod") {
			found = found || bytes.Contains(got.Body, []byte(id))
		}
		if !found {
			t.Error("PE's legacy VUCE did not receive the certificate")
		}
	})

	refused := []struct {
		name, id string
		part     []byte
		want     string
	}{
		{"a character changed in the signed COD", "CL004CA1260000418303",
			bytes.Replace(mine, []byte("<GoodsItemWeightAmount>21840.0<"), []byte("<GoodsItemWeightAmount>21840.5<"), 1),
			"the exporter's signature it carries: COD exporter: signer \\\"CN=Exportadora Demo CL,O=exporter,C=CL\\\": #COD: signature does not match the document"},
		{"an exporter CL does not trust: Peru's", "CL004CA1260000418304", sign("PE"),
			"the exporter's signature it carries: COD exporter: signer \\\"CN=Exportadora Demo PE,O=exporter,C=PE\\\": certificate not trusted: issued by \\\"CN=PE Root CA (development),O=vucelink dev,C=PE\\\""},
		{"RSA-SHA1, which CL's exporters.accept_sha1 does not allow", "CL004CA1260000418305", signedPart,
			"the exporter's signature it carries: COD exporter: signer \\\"CN=Exportadora Ejemplo CL,O=Exportadora Ejemplo,C=CL\\\": #COD: algorithm not allowed"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if bytes.Equal(tc.part, mine) {
				t.Fatal("nothing changed")
			}
			status, answer := post(payload(tc.id, tc.part))
			if status != http.StatusUnprocessableEntity || !strings.Contains(answer, tc.want) {
				t.Errorf("status %d, answer %s\nwant 422 naming %q", status, answer, tc.want)
			}
			if d, err := n.Nodes["CL"].Store.Find(t.Context(), "outbound", "PE", "cod", tc.id); err == nil {
				t.Errorf("queued as %s", d.State)
			}
		})
	}
}
