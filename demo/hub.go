package demo

// The IPPC ePhyto Hub in the demo: a simulated hub (demo/hubsim) on
// loopback, with every country of the network as a member, each calling it
// with its own client certificate; the hub's associated states (HubMembers)
// are national systems of their own (demo/nationalsim) in formats unlike
// the Alliance's, and the Alliance nodes reach them through the hub:
// certificates for them leave through the same route as D13B, as SPS 17A
// (routes[].hub), and what they send is pulled by each node's hub poller.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/demo/hubsim"
	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/demo/nationalsim"
	"github.com/vucelink/vucelink/hub"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/wire"
)

// HubMembers are the hub's associated states the full demo simulates.
var HubMembers = legacysim.HubCountries()

// HubPKI is the development PKI directory of the simulated hub (its CA
// and server certificate), under Network.PKI.
const HubPKI = "UN"

// Hub is the simulated hub of a network and its members' national systems.
type Hub struct {
	Sim     *hubsim.Server
	URL     string
	Members map[string]*nationalsim.System
	stop    context.CancelFunc
	server  *http.Server
}

// hubSpec is what a node's configuration says about the hub.
type hubSpec struct {
	URL       string
	Countries []string
}

// startHub brings up the simulated hub for the network's countries and the
// national systems of members; nothing when members is empty.
func (n *Network) startHub(countries, members []string) error {
	if len(members) == 0 {
		return nil
	}
	if err := devpki.Init(n.PKI, append([]string{HubPKI}, members...)); err != nil {
		return fmt.Errorf("development PKI of the hub and its members: %w", err)
	}
	server, err := tls.LoadX509KeyPair(filepath.Join(n.PKI, HubPKI, "server.pem"), filepath.Join(n.PKI, HubPKI, "server.key"))
	if err != nil {
		return fmt.Errorf("hub server certificate: %w", err)
	}
	hubCA, err := certs.LoadPool(filepath.Join(n.PKI, HubPKI, "ca.pem"))
	if err != nil {
		return err
	}
	sim := hubsim.New()
	for _, cc := range append(append([]string(nil), countries...), members...) {
		ca, err := certs.LoadCertificates(filepath.Join(n.PKI, cc, "ca.pem"))
		if err != nil {
			return err
		}
		off, err := certs.LoadCertificates(filepath.Join(n.PKI, cc, "official.pem"))
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		pool.AddCert(ca[0])
		sim.AddMember(hubsim.Member{Country: cc, ClientCAs: pool, Signing: off[:1]})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{server}, ClientAuth: tls.RequireAnyClientCert}}
	go hs.ServeTLS(ln, "", "")
	h := &Hub{Sim: sim, URL: "https://" + ln.Addr().String() + "/hub/DeliveryService", Members: map[string]*nationalsim.System{}, server: hs}
	n.Hub = h
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	for _, cc := range members {
		client, err := tls.LoadX509KeyPair(filepath.Join(n.PKI, cc, "client.pem"), filepath.Join(n.PKI, cc, "client.key"))
		if err != nil {
			return err
		}
		signer, err := certs.LoadSigner(filepath.Join(n.PKI, cc, "official.key"), filepath.Join(n.PKI, cc, "official.pem"))
		if err != nil {
			return err
		}
		sys, err := nationalsim.New(cc, &hub.Client{URL: h.URL,
			HTTP: hub.NewHTTPClient(hubCA, func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &client, nil }, 10*time.Second)}, signer)
		if err != nil {
			return fmt.Errorf("national system %s: %w", cc, err)
		}
		sys.Recorder = n.Events
		h.Members[cc] = sys
		n.Legacy[cc] = sys.Legacy
		go sys.Run(ctx, 100*time.Millisecond)
	}
	return nil
}

// hubSpecFor is a node's hub section (nil without a hub).
func (n *Network) hubSpecFor() *hubSpec {
	if n.Hub == nil {
		return nil
	}
	s := &hubSpec{URL: n.Hub.URL}
	for cc := range n.Hub.Members {
		s.Countries = append(s.Countries, cc)
	}
	sort.Strings(s.Countries)
	return s
}

// closeHub stops the national systems and the hub.
func (n *Network) closeHub(ctx context.Context) error {
	if n.Hub == nil {
		return nil
	}
	n.Hub.stop()
	return n.Hub.server.Shutdown(ctx)
}

// HubTrips go between Alliance countries and the hub's associated states,
// both ways: out through the origin node's usual route (the certificate
// leaves as SPS 17A because its destination is a hub country), in through
// the destination node's hub poller.
var HubTrips = []Trip{
	{"CL", "AU", false, 3},
	{"AU", "PE", false, 4},
	{"MX", "NZ", true, 2},
	{"NZ", "CL", false, 3},
	{"PE", "SG", false, 5},
	{"SG", "MX", false, 2},
	{"CO", "CA", false, 1},
	{"CA", "CO", false, 3},
}

// SendViaHub sends one trip of HubTrips: from an Alliance node's legacy
// VUCE (Send, with the node's route choosing 17A), or from a member's
// national system; either way it checks what the destination's system
// received, field by field, and that the hub's tracking says delivered.
func (n *Network) SendViaHub(ctx context.Context, t Trip, seq int) Result {
	if n.Nodes[t.From] != nil {
		res := n.Send(ctx, t.From, t.To, seq, t.Items, t.Forward)
		res.Type, res.Via = "sps17a", res.Via+"→hub"
		if res.Intact {
			res.Outcome, res.Problems = n.hubVerdict(ctx, t.From, res.TrackingID)
			res.Intact = len(res.Problems) == 0
		}
		return res
	}
	res := Result{From: t.From, To: t.To, Type: "sps17a", Via: "hub→poller", Items: t.Items}
	sys, dest := n.Hub.Members[t.From], n.Legacy[t.To]
	if sys == nil || n.Nodes[t.To] == nil {
		res.Problems = append(res.Problems, fmt.Sprintf("%s→%s: a hub member sends to an Alliance node of the network", t.From, t.To))
		return res
	}
	cert := legacysim.Sample(t.From, t.To, seq, t.Items)
	res.DocumentID = cert.ID
	before := len(dest.Received())
	start := time.Now()
	id, err := sys.Send(ctx, cert)
	if err != nil {
		res.Outcome, res.Problems = "not sent", []string{err.Error()}
		return res
	}
	res.TrackingID = hub.TrackingID(t.From, id)
	// The node's poller takes it (hub.poll_interval), hands it over, and
	// acknowledges: the sender's tracking then says Delivered.
	var h hub.Header
	for {
		if h, err = sys.Tracking(ctx, id); err == nil && h.HUBTrackingInfo != hub.PendingDelivery {
			break
		}
		select {
		case <-ctx.Done():
			res.Outcome, res.Problems = "pending at the hub", []string{fmt.Sprintf("envelope %s not taken by %s's node: %v", id, t.To, ctx.Err())}
			return res
		case <-time.After(50 * time.Millisecond):
		}
	}
	res.Elapsed = time.Since(start)
	if h.HUBTrackingInfo != hub.Delivered {
		res.Outcome, res.Problems = h.HUBTrackingInfo, []string{h.HubDeliveryError}
		return res
	}
	got := dest.Received()
	if len(got) != before+1 {
		res.Outcome = "not handed over"
		res.Problems = append(res.Problems, fmt.Sprintf("%s legacy VUCE received %d new documents, want 1", t.To, len(got)-before))
		return res
	}
	last := got[len(got)-1]
	if last.Err != nil {
		res.Outcome, res.Problems = "undecodable", []string{last.Err.Error()}
		return res
	}
	res.Outcome = string(wire.ReceivedCorrectly)
	res.Intact, res.Problems = cert.Equal(last.Certificate)
	return res
}

// hubVerdict reads how the origin node settled a document it sent through
// the hub: received correctly, with the hub's envelope acknowledged by the
// destination's national system.
func (n *Network) hubVerdict(ctx context.Context, from, trackingID string) (string, []string) {
	d, err := n.Nodes[from].Store.Get(ctx, trackingID)
	if err != nil {
		return "unknown", []string{err.Error()}
	}
	if d.State != lifecycle.ReceivedCorrectly {
		return string(d.State), []string{fmt.Sprintf("%s's node has %s in state %s (%s)", from, trackingID, d.State, d.LastError)}
	}
	if d.Type != "sps17a" {
		return string(d.State), []string{fmt.Sprintf("%s left as %s, not as SPS 17A", trackingID, d.Type)}
	}
	return string(d.State), nil
}
