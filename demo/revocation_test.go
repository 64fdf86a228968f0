package demo

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/wire"
)

// Revocation through the proxy: Chile's CA runs a real CRL distribution
// point and OCSP responder on loopback; an authorized Chilean official and
// a Chilean node client certificate are revoked mid-test, and Mexico's node
// then refuses both — without its legacy VUCE ever seeing the document.
func TestInbound_RevokedSignerAndClientCertificate(t *testing.T) {
	n := startNetwork(t, "CL", "MX")
	clCA := loadCA(t, n.PKI, "CL")
	responder := devpki.NewResponder(clCA)
	// Answers expire at once, so MX's checker asks again on every request
	// and sees a revocation as soon as it is made.
	responder.Validity = time.Second
	srv := httptest.NewServer(responder)
	t.Cleanup(srv.Close)

	official, err := clCA.IssueOfficial("Revocable Official", "SAG", devpki.Options{CRL: srv.URL + "/crl"})
	if err != nil {
		t.Fatal(err)
	}
	client, err := clCA.IssueClient("vucelink CL (second)", devpki.Options{OCSP: srv.URL + "/ocsp"})
	if err != nil {
		t.Fatal(err)
	}
	// CL authorizes the new official in its published list; MX fetches it.
	officialPEM := n.PKI + "/CL/revocable-official.pem"
	if err := os.WriteFile(officialPEM, official.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := n.AddOfficial("CL", officialPEM, "sps"); err != nil {
		t.Fatal(err)
	}
	if err := n.Nodes["MX"].RefreshOfficials(context.Background()); err != nil {
		t.Fatal(err)
	}

	clCfg, err := config.Load(n.Configs["CL"])
	if err != nil {
		t.Fatal(err)
	}
	signer := mustSigner(t, official)
	tlsClient := client.TLS()
	mxCA := mustPool(t, n.PKI+"/MX/ca.pem")
	endpoint := "https://" + n.Nodes["MX"].Addr("partners") + wire.DocumentsPath + "sps"
	unsigned := mapSample(t, "CL", "MX")
	call := func(tracking string, body []byte) inboundCall {
		return inboundCall{cert: &tlsClient, user: "CL", password: clCfg.Partners["MX"].OutboundAuth.Password,
			sender: "CL", tracking: tracking, body: body}
	}

	// Before any revocation both are good: the document is handed over.
	before := len(n.Legacy["MX"].Received())
	first := mustSign(t, signer, unsigned)
	if status, rc := postInbound(t, endpoint, mxCA, call("CL-REV-1", first)); status != 200 || rc.Outcome != wire.ReceivedCorrectly {
		t.Fatalf("before revocation: %d %+v", status, rc)
	}
	if got := len(n.Legacy["MX"].Received()); got != before+1 {
		t.Fatalf("handed over %d times", got-before)
	}

	tests := []struct {
		name   string
		revoke func()
		status int
		code   string
	}{
		{"signer revoked (CRL)", func() { responder.Revoke(official.Cert.SerialNumber) }, 422, "signature.revoked"},
		{"client certificate revoked (OCSP)", func() { responder.Revoke(client.Cert.SerialNumber) }, 403, "auth.client-certificate-revoked"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.revoke()
			time.Sleep(1100 * time.Millisecond) // let MX's cached answer expire
			// A new document (another ID), so no earlier verdict applies.
			body := mustSign(t, signer, []byte(strings.Replace(string(unsigned), "CL-FITO-", "CL-REVOKED-"+string(rune('A'+i))+"-", 1)))
			before := len(n.Legacy["MX"].Received())
			status, rc := postInbound(t, endpoint, mxCA, call("CL-REV-"+string(rune('B'+i)), body))
			if status != tt.status || len(rc.Reasons) == 0 || rc.Reasons[0].Code != tt.code {
				t.Fatalf("status %d receipt %+v, want %d %s", status, rc, tt.status, tt.code)
			}
			if after := len(n.Legacy["MX"].Received()); after != before {
				t.Error("a document from a revoked certificate reached MX's legacy VUCE")
			}
		})
	}
}
