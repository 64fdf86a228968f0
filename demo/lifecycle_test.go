package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
)

// report posts a status change to a node's local API, as its legacy VUCE
// would.
func report(t *testing.T, n *Network, country, trackingID, state, reason string, replacedBy ...string) int {
	t.Helper()
	req := map[string]string{"state": state, "reason": reason}
	if len(replacedBy) > 0 {
		req["replaced_by"] = replacedBy[0]
	}
	body, _ := json.Marshal(req)
	resp, err := n.AdminRequest(context.Background(), country, "POST", "/api/v1/documents/"+trackingID+"/status", n.LegacyToken, body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitState(t *testing.T, n *Network, country, trackingID string, want lifecycle.State) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := n.Nodes[country].Store.Get(context.Background(), trackingID)
		if err == nil && d.State == want {
			return
		}
		if time.Now().After(deadline) {
			state := "missing"
			if d != nil {
				state = string(d.State)
			}
			t.Fatalf("%s at %s is %s, want %s", trackingID, country, state, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Status changes made on one side travel to the other as signed status
// messages and move the same document there; illegal ones are refused on
// the side that tries them.
func TestLifecycle_StatusTravelsBothWays(t *testing.T) {
	n := startNetwork(t, "CL", "MX")
	ctx := context.Background()
	send := func(seq int) string {
		res := n.Send(ctx, "CL", "MX", seq, 2, false)
		if !res.Intact {
			t.Fatalf("send %d: %v", seq, res.Problems)
		}
		waitState(t, n, "CL", res.TrackingID, lifecycle.ReceivedCorrectly)
		waitState(t, n, "MX", res.TrackingID, lifecycle.ReceivedCorrectly)
		return res.TrackingID
	}

	// MX's customs use the certificate: CL learns it.
	used := send(1)
	if s := report(t, n, "MX", used, "used", "cleared at Manzanillo"); s != 200 {
		t.Fatalf("report used: %d", s)
	}
	waitState(t, n, "CL", used, lifecycle.Used)
	if s := report(t, n, "MX", used, "replacement-requested", ""); s != http.StatusConflict {
		t.Errorf("used → replacement-requested: status %d, want 409", s)
	}

	// MX asks for a replacement; CL issues a new certificate and marks the
	// old one replaced, which MX learns.
	old := send(2)
	if s := report(t, n, "MX", old, "replacement-requested", "wrong botanical name on item 2"); s != 200 {
		t.Fatalf("report replacement-requested: %d", s)
	}
	waitState(t, n, "CL", old, lifecycle.ReplacementRequested)
	if s := report(t, n, "CL", old, "replaced", "corrected", "CL-FITO-2026-000003"); s != http.StatusUnprocessableEntity {
		t.Errorf("replaced by a document not yet sent: %d, want 422", s)
	}
	send(3)
	if s := report(t, n, "CL", old, "replaced", "corrected", "CL-FITO-2026-000003"); s != 200 {
		t.Fatalf("report replaced: %d", s)
	}
	waitState(t, n, "MX", old, lifecycle.Replaced)
	mxHist, _ := n.Nodes["MX"].Store.History(ctx, old)
	if last := mxHist[len(mxHist)-1]; last.Reason != "replaced by CL-FITO-2026-000003: corrected" || last.Actor != "partner:CL" {
		t.Errorf("MX records the replacement as %+v", last)
	}

	// CL withdraws a certificate: MX learns it.
	withdrawn := send(4)
	if s := report(t, n, "CL", withdrawn, "withdrawn", "consignment cancelled"); s != 200 {
		t.Fatalf("report withdrawn: %d", s)
	}
	waitState(t, n, "MX", withdrawn, lifecycle.Withdrawn)

	// Who may say what: the origin cannot report use, the destination
	// cannot withdraw.
	if s := report(t, n, "CL", used, "used", ""); s != http.StatusUnprocessableEntity {
		t.Errorf("CL reporting use: %d, want 422", s)
	}
	if s := report(t, n, "MX", withdrawn, "withdrawn", ""); s != http.StatusUnprocessableEntity {
		t.Errorf("MX withdrawing: %d, want 422", s)
	}

	hist, err := n.Nodes["CL"].Store.History(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	var path []string
	for _, h := range hist {
		path = append(path, string(h.To)+"@"+h.Actor)
	}
	want := "[accepted@legacy sent@outbox received-correctly@partner:MX replacement-requested@partner:MX replaced@legacy:vuce]"
	if last := hist[len(hist)-1]; last.Reason != "replaced by CL-FITO-2026-000003: corrected" {
		t.Errorf("CL records the replacement as %q", last.Reason)
	}
	if fmt.Sprint(path) != want {
		t.Errorf("CL history of %s:\n got %v\nwant %s", old, path, want)
	}
}
