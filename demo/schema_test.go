package demo

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/wire"
)

// A certificate of origin that breaks the ALADI schema is refused on both
// sides: by the sending node before it is signed (the legacy VUCE hears
// which element), and — signed by hand with the exporter's and the
// official's real keys, so both signatures verify — by the receiving node
// before its legacy VUCE sees it (the sender's receipt names the element).
func TestSchema_CertificateOfOrigin(t *testing.T) {
	n := startNetwork(t, "CL", "CO")
	const good, bad = "CL004CA1260000418200", "CL-0418200"

	t.Run("outbound, before signing", func(t *testing.T) {
		native, err := rules.FS.ReadFile("CL/examples/cod/sample.native.json")
		if err != nil {
			t.Fatal(err)
		}
		native = bytes.Replace(native, []byte(good), []byte(bad), 1)
		resp, err := http.Post(n.RouteURL("CL", RoutePath("cod")), "application/json", bytes.NewReader(native))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		detail := string(body)
		if resp.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(detail, "/cod:Envelope/cod:CertOrigin/CODEH/CertificationEH/CertificateID") ||
			!strings.Contains(detail, "The value 'CL-0418200' is not accepted by the pattern") {
			t.Errorf("status %d, answer %s", resp.StatusCode, body)
		}
		if queued, err := n.Nodes["CL"].Store.Find(t.Context(), "outbound", "CO", "cod", bad); err == nil {
			t.Errorf("the invalid certificate was queued: %+v", queued.State)
		}
	})

	t.Run("inbound, after verification", func(t *testing.T) {
		std, err := rules.FS.ReadFile("CL/examples/cod/sample.standard.xml")
		if err != nil {
			t.Fatal(err)
		}
		std = bytes.Replace(std, []byte(good), []byte(bad), 1)
		exporter, err := certs.LoadSigner(filepath.Join(n.PKI, "CL", "exporter.key"), filepath.Join(n.PKI, "CL", "exporter.pem"))
		if err != nil {
			t.Fatal(err)
		}
		official, err := certs.LoadSigner(filepath.Join(n.PKI, "CL", "official.key"), filepath.Join(n.PKI, "CL", "official.pem"))
		if err != nil {
			t.Fatal(err)
		}
		signed, err := exporter.SignCODExporter(std)
		if err != nil {
			t.Fatal(err)
		}
		if signed, err = official.SignCODOfficial(signed); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(n.Configs["CL"])
		if err != nil {
			t.Fatal(err)
		}
		client := mustKeyPair(t, filepath.Join(n.PKI, "CL", "client.pem"), filepath.Join(n.PKI, "CL", "client.key"))
		before := len(n.Legacy["CO"].Received())
		status, rc := postInbound(t, "https://"+n.Nodes["CO"].Addr("partners")+wire.DocumentsPath+"cod",
			mustPool(t, filepath.Join(n.PKI, "CO", "ca.pem")),
			inboundCall{cert: &client, user: "CL", password: cfg.Partners["CO"].OutboundAuth.Password, sender: "CL", tracking: "CL-COD-SCHEMA-1", body: signed})
		if status != http.StatusUnprocessableEntity || rc.Outcome != wire.ReceivedWithErrors || len(rc.Reasons) != 1 {
			t.Fatalf("status %d, receipt %+v", status, rc)
		}
		r := rc.Reasons[0]
		if r.Code != "schema.invalid" || r.Field != "/cod:Envelope/cod:CertOrigin/CODEH/CertificationEH/CertificateID" ||
			!strings.Contains(r.Message, "The value 'CL-0418200' is not accepted by the pattern") {
			t.Errorf("reason %+v", r)
		}
		if after := len(n.Legacy["CO"].Received()); after != before {
			t.Error("the invalid certificate reached CO's legacy VUCE")
		}
		// Recorded, with its verdict, never handed over.
		d, err := n.Nodes["CO"].Store.Find(t.Context(), "inbound", "CL", "cod", bad)
		if err != nil {
			t.Fatalf("the rejected certificate was not recorded: %v", err)
		}
		if d.Receipt == nil || d.Receipt.Outcome != wire.ReceivedWithErrors {
			t.Errorf("recorded as %s with receipt %+v", d.State, d.Receipt)
		}
	})
}
