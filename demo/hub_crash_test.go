package demo

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/hub"
)

// SIGKILL between hand-over and acknowledgement, with a real process:
// Peru's node (vucelink run) pulls New Zealand's certificate from the hub
// and hands it over to Peru's legacy VUCE; the hub holds its
// acknowledgement, and the node is killed with SIGKILL while it waits.
// The acknowledgement never took effect, so the hub lists the envelope
// again; the restarted node finds its verdict and only acknowledges: the
// legacy VUCE gets the certificate once, with no second hand-over, not
// even a redelivery.
func TestHubCrash_NoSecondHandOver(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs real processes; skipped in -short mode")
	}
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := Start(ctx, Options{Dir: t.TempDir(), Countries: []string{"PE"}, HubMembers: []string{"NZ"}, NoWait: true, External: true})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	logf, _ := os.Create(filepath.Join(n.Dir, "PE.log"))
	defer logf.Close()
	pe := &process{t: t, bin: bin, config: n.Configs["PE"], addr: n.Addrs["PE"]["legacy"], log: logf}
	pe.start()
	defer pe.stop()

	release := n.Hub.Sim.HoldAcks()
	defer release()
	sent := legacysim.Sample("NZ", "PE", 1, 3)
	id, err := n.Hub.Members["NZ"].Send(ctx, sent)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(n.Dir, "PE.log"))
			t.Logf("PE's log:\n%s", b)
		}
	}()
	waitFor(t, 30*time.Second, "the hand-over and the held acknowledgement", func() bool {
		return len(n.Legacy["PE"].Received()) == 1 && n.Hub.Sim.Count("AcknowledgeEnvelopeReceipt") >= 1
	})
	pe.kill9()
	if e, _ := n.Hub.Sim.Envelope(id); e.HUBTrackingInfo != hub.PendingDelivery || len(e.Acks) != 0 {
		t.Fatalf("after the kill the hub has %s, acks %v; want the acknowledgement lost", e.HUBTrackingInfo, e.Acks)
	}
	release()
	pe.start()
	waitFor(t, 30*time.Second, "the envelope acknowledged after the restart", func() bool {
		e, _ := n.Hub.Sim.Envelope(id)
		return e.HUBTrackingInfo == hub.Delivered
	})
	time.Sleep(1500 * time.Millisecond) // a further poll: nothing more may happen

	got := n.Legacy["PE"].Received()
	if len(got) != 1 || len(n.Legacy["PE"].Refused()) != 0 {
		t.Fatalf("PE's legacy VUCE: %d received, %d repeats (duplicates %v); want exactly one hand-over", len(got), len(n.Legacy["PE"].Refused()), n.Legacy["PE"].Duplicates())
	}
	if ok, diff := sent.Equal(got[0].Certificate); !ok {
		t.Errorf("arrived changed: %v", diff)
	}
	if e, _ := n.Hub.Sim.Envelope(id); len(e.Acks) != 1 || e.Acks[0] != "ack" {
		t.Errorf("the hub recorded acknowledgements %v, want one", e.Acks)
	}
	// The API of the restarted node: received correctly, and the hub's
	// envelope and state.
	resp, err := n.AdminRequest(ctx, "PE", "GET", "/api/v1/documents/"+hub.TrackingID("NZ", id), n.ViewerToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var doc struct {
		State      string
		DocumentID string `json:"document_id"`
		Hub        *hub.Status
	}
	json.Unmarshal(body, &doc)
	if doc.State != "received-correctly" || doc.DocumentID != sent.ID || doc.Hub == nil || doc.Hub.Envelope != id || doc.Hub.Status != hub.Delivered {
		t.Errorf("PE's API: %s", body)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
