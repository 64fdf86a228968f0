package demo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/hub"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/notify/mailtest"
	"github.com/vucelink/vucelink/wire"
)

// sendVia makes from's legacy VUCE post one certificate to its usual route
// and returns the tracking ID.
func sendVia(t *testing.T, n *Network, from, to string, seq int) string {
	t.Helper()
	f, _ := legacysim.FormatFor(from)
	status, body, err := legacysim.Send(context.Background(), http.DefaultClient, n.LegacyOutboundURL(from), f, legacysim.Sample(from, to, seq, 2))
	if err != nil || status/100 != 2 {
		t.Fatalf("%s→%s #%d: status %d, %v: %s", from, to, seq, status, err, body)
	}
	tid := trackingIDOf(n.Events, from, legacysim.Sample(from, to, seq, 1).ID)
	if tid == "" {
		t.Fatalf("%s→%s #%d: no tracking ID in the trace", from, to, seq)
	}
	return tid
}

// envelopesFrom are the hub's envelopes from one NPPO to another.
func envelopesFrom(n *Network, from, to string) int {
	c := 0
	for _, e := range n.Hub.Sim.Envelopes() {
		if e.From == from && e.To == to {
			c++
		}
	}
	return c
}

// Both directions through real nodes: Chile's legacy VUCE posts to its
// usual route, and the certificate for Australia leaves as SPS 17A through
// the hub while the one for Peru leaves as D13B to Peru's node;
// Australia's national system pulls it. New Zealand's national system
// sends to Peru: Peru's node's poller pulls it and hands it over. Every
// certificate arrives equal field by field, once.
func TestHub_EndToEnd_BothDirections(t *testing.T) {
	n := startNetworkWith(t, Options{Countries: []string{"CL", "PE"}, HubMembers: []string{"AU", "NZ"}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	results := []Result{
		n.SendViaHub(ctx, Trip{"CL", "AU", false, 4}, 1),
		n.SendViaHub(ctx, Trip{"CL", "AU", true, 2}, 2), // through the forward proxy too
		n.SendViaHub(ctx, Trip{"NZ", "PE", false, 3}, 3),
		n.Send(ctx, "CL", "PE", 4, 2, false),
	}
	for _, r := range results {
		if !r.Intact {
			t.Errorf("%s→%s %s via %s: %s %v", r.From, r.To, r.DocumentID, r.Via, r.Outcome, r.Problems)
		}
	}
	st := n.Nodes["CL"].Store
	for i, want := range []string{"sps17a", "sps17a", "", "sps"} {
		if want == "" {
			continue
		}
		d, err := st.Get(ctx, results[i].TrackingID)
		if err != nil || d.Type != want {
			t.Errorf("%s: type %v, want %s (%v)", results[i].TrackingID, d, want, err)
		}
	}
	if got := envelopesFrom(n, "CL", "AU"); got != 2 {
		t.Errorf("%d envelopes CL→AU at the hub, want 2", got)
	}
	for _, e := range n.Hub.Sim.Envelopes() {
		if len(e.Acks) != 1 || e.Acks[0] != "ack" || e.HUBTrackingInfo != hub.Delivered {
			t.Errorf("envelope %s %s→%s: %s, acks %v", e.HubDeliveryNumber, e.From, e.To, e.HUBTrackingInfo, e.Acks)
		}
		if !strings.Contains(e.Content, "urn:un:unece:uncefact:data:standard:SPSCertificate:17") {
			t.Errorf("envelope %s carries no SPS 17A certificate", e.HubDeliveryNumber)
		}
	}
	// Peru's node keeps NZ's certificate under the envelope's tracking ID.
	d, err := n.Nodes["PE"].Store.Get(ctx, results[2].TrackingID)
	if err != nil || d.State != lifecycle.ReceivedCorrectly || d.DocumentID != results[2].DocumentID || d.Partner != "NZ" {
		t.Errorf("PE ledger: %+v %v", d, err)
	}
	for _, cc := range []string{"AU", "PE"} {
		if dup := n.Legacy[cc].Duplicates(); len(dup) != 0 {
			t.Errorf("%s received duplicates: %v", cc, dup)
		}
	}
}

// The hub is down for a while: Chile's documents for Australia wait in the
// outbox (sent, never incomplete), retry, and each arrives once when the
// hub is back — one envelope each.
func TestHub_DownThroughTheNode(t *testing.T) {
	n := startNetworkWith(t, Options{Countries: []string{"CL"}, HubMembers: []string{"AU"}, NoWait: true})
	ctx := context.Background()
	n.Hub.Sim.SetDown(true)
	var tids []string
	for seq := 1; seq <= 3; seq++ {
		tids = append(tids, sendVia(t, n, "CL", "AU", seq))
	}
	time.Sleep(2 * time.Second)
	for _, tid := range tids {
		d, err := n.Nodes["CL"].Store.Get(ctx, tid)
		if err != nil || d.Attempts < 2 || (d.State != lifecycle.Accepted && d.State != lifecycle.Sent) {
			t.Fatalf("%s while the hub is down: %+v %v", tid, d, err)
		}
	}
	if len(n.Hub.Sim.Envelopes()) != 0 || len(n.Legacy["AU"].Received()) != 0 {
		t.Fatal("something went through a hub that is down")
	}
	n.Hub.Sim.SetDown(false)
	for _, tid := range tids {
		waitState(t, n, "CL", tid, lifecycle.ReceivedCorrectly)
	}
	if got := envelopesFrom(n, "CL", "AU"); got != 3 {
		t.Errorf("%d envelopes at the hub, want 3", got)
	}
	if got, dup := n.Legacy["AU"].Received(), n.Legacy["AU"].Duplicates(); len(got) != 3 || len(dup) != 0 {
		t.Errorf("AU received %d (duplicates %v), want 3 once each", len(got), dup)
	}
}

// Australia's national system refuses a certificate: the hub reports
// FailedDelivery with its words, and Chile's node says so in the
// document's history, its API and console, and an e-mail to both sides'
// operators.
func TestHub_FailedDeliveryIsReported(t *testing.T) {
	mail, err := mailtest.NewServer("127.0.0.1:0", "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mail.Close() })
	n := startNetworkWith(t, Options{Countries: []string{"CL"}, HubMembers: []string{"AU"}, NoWait: true, SMTP: mail.Addr()})
	ctx := context.Background()
	n.Legacy["AU"].Fail(http.StatusUnprocessableEntity, "importer AU-IMP-77 is not registered")
	tid := sendVia(t, n, "CL", "AU", 1)
	waitState(t, n, "CL", tid, lifecycle.ReceivedWithErrors)

	d, _ := n.Nodes["CL"].Store.Get(ctx, tid)
	if d.Receipt == nil || d.Receipt.Outcome != wire.ReceivedWithErrors || len(d.Receipt.Reasons) == 0 ||
		d.Receipt.Reasons[0].Code != "hub.failed-delivery" || !strings.Contains(d.Receipt.Reasons[0].Message, "AU-IMP-77 is not registered") {
		t.Fatalf("receipt: %+v", d.Receipt)
	}
	resp, err := n.AdminRequest(ctx, "CL", "GET", "/api/v1/documents/"+tid, n.ViewerToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "hub.failed-delivery") || !strings.Contains(string(body), "AU-IMP-77 is not registered") {
		t.Errorf("API history does not say why:\n%s", body)
	}
	var doc struct {
		Hub *struct{ Envelope, Status string } `json:"hub"`
	}
	json.Unmarshal(body, &doc)
	if doc.Hub == nil || doc.Hub.Status != hub.FailedDelivery || doc.Hub.Envelope == "" {
		t.Errorf("API: hub envelope and status %+v", doc.Hub)
	}
	page := consolePage(t, n, "CL", "/console/documents/"+tid)
	for _, want := range []string{"AU-IMP-77 is not registered", hub.FailedDelivery, doc.Hub.Envelope} {
		if want != "" && !strings.Contains(page, want) {
			t.Errorf("console page lacks %q", want)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got []mailtest.Message
		for _, m := range mail.Messages() {
			if strings.Contains(m.Subject, "Document refused at its destination") && strings.Contains(m.Text, "AU-IMP-77 is not registered") {
				got = append(got, m)
			}
		}
		if len(got) == 1 && strings.Contains(strings.Join(got[0].To, ","), "ops@cl.vucelink.example") &&
			strings.Contains(strings.Join(got[0].To, ","), "ephyto-helpdesk@hub.vucelink.example") && strings.Contains(got[0].Text, tid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refusal mail with the hub's words to both sides' operators: %v", subjects(mail.Messages()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consolePage logs in to a node's console as the viewer and returns a
// page's HTML.
func consolePage(t *testing.T, n *Network, country, path string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	base := n.AdminURL(country)
	get := func(p string) string {
		resp, err := c.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	m := csrfField.FindStringSubmatch(get("/console/login"))
	if m == nil {
		t.Fatal("no CSRF token on the console's login page")
	}
	resp, err := c.PostForm(base+"/console/login", url.Values{"csrf": {m[1]}, "username": {"viewer"}, "password": {n.ConsolePassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return get(path)
}
