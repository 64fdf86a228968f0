package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/registry"
	"github.com/vucelink/vucelink/track"
)

// waitOfficials waits until node `at` has put in force list sequence seq
// of country cc.
func waitOfficials(t *testing.T, n *Network, at, cc string, seq uint64) registry.Status {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := n.Nodes[at].RefreshOfficials(context.Background()); err != nil {
			t.Logf("refresh: %v", err)
		}
		for _, s := range n.Nodes[at].Officials() {
			if s.Country == cc && s.Sequence >= seq {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never put %s's list %d in force: %+v", at, cc, seq, n.Nodes[at].Officials())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The officials list round trip between two nodes: Chile publishes its
// list; Mexico fetches and verifies it and accepts a certificate signed by
// a newly listed Chilean official; Chile revokes that official and
// publishes again; Mexico fetches the new list and refuses the next
// certificate that official signs. The revocation travels only through the
// signed list: the official's X.509 certificate stays valid, unrevoked.
func TestOfficials_PublishFetchRevoke(t *testing.T) {
	n := startNetwork(t, "CL", "MX")
	ctx := context.Background()

	first := waitOfficials(t, n, "MX", "CL", 1)
	if first.Officials != 1 || first.LastError != "" {
		t.Fatalf("MX's view of CL's list: %+v", first)
	}

	// A second Chilean official, authorized only through the list (MX's
	// configuration does not name it).
	ca, err := devpki.LoadCA(n.PKI, "CL")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.IssueOfficial("Carla Rojas Muñoz", "SAG", devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(n.PKI, "CL", "official2.pem")
	keyFile := filepath.Join(n.PKI, "CL", "official2.key")
	if err := os.WriteFile(certFile, kp.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, kp.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := n.AddOfficial("CL", certFile, "sps"); err != nil {
		t.Fatal(err)
	}
	waitOfficials(t, n, "MX", "CL", 2)

	// CL's node now signs with the new official: its configuration names
	// the new key, and the node restarts.
	cfgPath := n.Configs["CL"]
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(cfg), n.PKI+"/CL/official.key", keyFile, 1)
	edited = strings.Replace(edited, n.PKI+"/CL/official.pem\n", certFile+"\n", 1)
	if edited == string(cfg) {
		t.Fatal("could not point CL's signing at the new official")
	}
	if err := os.WriteFile(cfgPath, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := n.Stop(sctx, "CL"); err != nil {
		t.Fatal(err)
	}
	if err := n.Restart("CL", nil); err != nil {
		t.Fatal(err)
	}
	accepted := sendNative(t, n, 1)
	waitState(t, n, "CL", accepted, lifecycle.ReceivedCorrectly)

	// Revoked in CL's list; MX fetches it.
	if err := n.RevokeOfficial("CL", kp.Cert, "left the service"); err != nil {
		t.Fatal(err)
	}
	third := waitOfficials(t, n, "MX", "CL", 3)
	if third.LastError != "" {
		t.Fatalf("MX's view after the revocation: %+v", third)
	}
	// MX refuses it, naming the revocation, in a signed receipt: CL takes
	// the verdict at once (no retries) and tells its legacy VUCE.
	f, _ := legacysim.FormatFor("CL")
	status, body, err := legacysim.Send(context.Background(), http.DefaultClient, n.LegacyOutboundURL("CL"), f, legacysim.Sample("CL", "MX", 2, 1))
	if err != nil || status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "signature.not-authorized") || !strings.Contains(string(body), "left the service") {
		t.Fatalf("CL's answer to its legacy VUCE: %d %v %s", status, err, body)
	}
	var answer map[string]any
	json.Unmarshal(body, &answer)
	refused := fmt.Sprint(answer["codigoSeguimiento"])
	d, err := n.Nodes["CL"].Store.Get(ctx, refused)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != lifecycle.ReceivedWithErrors {
		t.Errorf("CL recorded %s, want received-with-errors", d.State)
	}
	var verdict string
	deadline := time.Now().Add(15 * time.Second)
	for verdict == "" && time.Now().Before(deadline) {
		for _, e := range n.Events.Events("") {
			if e.Node == "MX" && e.DocumentID == d.DocumentID && e.Step == track.Failed {
				verdict = e.Err
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(verdict, "signature.not-authorized") || !strings.Contains(verdict, "revoked") || !strings.Contains(verdict, "left the service") {
		t.Fatalf("MX's verdict on %s: %q, want signature.not-authorized naming the revocation", d.DocumentID, verdict)
	}
	if d, _ := n.Nodes["CL"].Store.Get(ctx, refused); d.State == lifecycle.ReceivedCorrectly {
		t.Fatal("a certificate signed by a revoked official was received correctly")
	}
	for _, c := range n.Legacy["MX"].Received() {
		if c.Certificate.ID == d.DocumentID {
			t.Fatal("the certificate signed by a revoked official reached MX's legacy VUCE")
		}
	}

	// A tampered list is refused and the last good one stays in force.
	_, published := n.officialsFiles("CL")
	good, err := os.ReadFile(published)
	if err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(string(good), "left the service", "never mind", 1)
	if tampered == string(good) {
		t.Fatal("the published list does not carry the revocation reason")
	}
	if err := os.WriteFile(published, []byte(tampered), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := n.Nodes["MX"].RefreshOfficials(ctx); err == nil {
		t.Fatal("MX accepted a tampered list")
	}
	for _, s := range n.Nodes["MX"].Officials() {
		if s.Country == "CL" && (s.Sequence != 3 || s.LastError == "") {
			t.Fatalf("after a bad fetch: %+v, want sequence 3 kept and the error reported", s)
		}
	}
}
