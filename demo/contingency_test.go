package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/lifecycle"
)

func operator(t *testing.T, n *Network, country, path string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"reason": "contingency drill"})
	resp, err := n.AdminRequest(context.Background(), country, "POST", path, n.OperatorToken, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func sendNative(t *testing.T, n *Network, seq int) string {
	t.Helper()
	f, _ := legacysim.FormatFor("CL")
	status, body, err := legacysim.Send(context.Background(), http.DefaultClient, n.LegacyOutboundURL("CL"), f, legacysim.Sample("CL", "MX", seq, 1))
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("status %d err %v %s", status, err, body)
	}
	var m map[string]any
	json.Unmarshal(body, &m)
	return fmt.Sprint(m["codigoSeguimiento"])
}

// Contingency: a paused partner keeps its documents queued untouched until
// resumed; documents given up while a partner was down are resent in bulk
// once it is back. Every action is audited.
func TestContingency_PauseResumeAndBulkResend(t *testing.T) {
	n := startNetworkWith(t, Options{Countries: []string{"CL", "MX"}, NoWait: true, GiveUpAfter: 500 * time.Millisecond})
	ctx := context.Background()
	st := n.Nodes["CL"].Store

	operator(t, n, "CL", "/api/v1/partners/MX/pause")
	queued := sendNative(t, n, 1)
	time.Sleep(700 * time.Millisecond)
	d, _ := st.Get(ctx, queued)
	if d.State != lifecycle.Accepted || d.Attempts != 0 {
		t.Fatalf("while paused: %s with %d attempts", d.State, d.Attempts)
	}
	operator(t, n, "CL", "/api/v1/partners/MX/resume")
	waitState(t, n, "CL", queued, lifecycle.ReceivedCorrectly)

	// MX goes down long enough for CL to give up.
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := n.Stop(sctx, "MX"); err != nil {
		t.Fatal(err)
	}
	a, b := sendNative(t, n, 2), sendNative(t, n, 3)
	waitState(t, n, "CL", a, lifecycle.Incomplete)
	waitState(t, n, "CL", b, lifecycle.Incomplete)
	if err := n.Restart("MX", nil); err != nil {
		t.Fatal(err)
	}
	if got := operator(t, n, "CL", "/api/v1/partners/MX/resend"); got["resent"] != float64(2) {
		t.Fatalf("resend answered %v", got)
	}
	waitState(t, n, "CL", a, lifecycle.ReceivedCorrectly)
	waitState(t, n, "CL", b, lifecycle.ReceivedCorrectly)

	hist, _ := st.History(ctx, a)
	var path []string
	for _, h := range hist {
		path = append(path, string(h.To)+"@"+h.Actor)
	}
	if want := "[accepted@legacy sent@outbox incomplete@outbox sent@operator:ops-tool received-correctly@partner:MX]"; fmt.Sprint(path) != want {
		t.Errorf("history %v, want %s", path, want)
	}
	events, _ := st.PartnerEvents(ctx, "MX")
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action+"@"+e.Actor)
	}
	if fmt.Sprint(actions) != "[pause@operator:ops-tool resume@operator:ops-tool resend@operator:ops-tool]" {
		t.Errorf("partner audit trail %v", actions)
	}
}
