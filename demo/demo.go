// Package demo runs the four-country demonstration network on loopback:
// a development PKI, one vucelink node per country configured through an
// ordinary configuration file, and beside each node a simulated legacy VUCE
// speaking its own native format (package legacysim).
//
// It is scaffolding for people and tests, not part of the production path:
// nothing outside cmd/vucelink and tests imports it.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/node"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/track"
	"github.com/vucelink/vucelink/wire"
)

// Countries of the demo network.
var Countries = []string{"CL", "CO", "MX", "PE"}

// Options configure a demo network.
type Options struct {
	// Dir receives the PKI and the node configurations. Empty means a
	// temporary directory removed by Close.
	Dir string
	// Countries to start; nil means all four.
	Countries []string
	// Out receives the hop-by-hop trace; nil discards it.
	Out io.Writer
	// Logger receives the nodes' own logs; nil discards them.
	Logger *slog.Logger
	// InflightPerPartner, ReadTimeout and MaxConnections, when set,
	// override limits.max_inflight_per_partner, listen.timeouts.read and
	// listen.max_connections (the security tests make them small).
	// AdminTLS serves each admin listener over TLS with the country's
	// server certificate, and accepts client certificates of its CA: the
	// client "ops-robot" (operator) has one, written to <PKI>/<CC>/ops-robot.pem
	// and .key.
	AdminTLS bool
	// LegacyCharset, per country, makes its legacy system read the
	// certificates it receives in that encoding (ISO-8859-1, …): its
	// node writes them so.
	LegacyCharset map[string]string
	// LegacyTLS serves each legacy listener over TLS with the country's
	// server certificate, and accepts client certificates of its CA: the
	// legacy VUCE's, "vuce-legacy" (role legacy, on every route beside
	// the route's password), written to <PKI>/<CC>/vuce-legacy.pem and .key.
	LegacyTLS          bool
	InflightPerPartner int
	ReadTimeout        time.Duration
	MaxConnections     int
	// NoWait makes legacy answers come as soon as a document is committed,
	// instead of waiting (up to 10 s) for the partner's verdict.
	NoWait bool
	// GiveUpAfter is the outbox's give-up horizon; zero means 1h.
	GiveUpAfter time.Duration
	// OutboxWorkers is outbox.concurrency, delivery workers per partner;
	// zero means 4.
	OutboxWorkers int
	// CryptoEngine is every node's crypto.engine (auto, openssl or go);
	// empty leaves the default, auto.
	CryptoEngine string
	// External writes the PKI and configurations and starts the legacy
	// simulators, but leaves the nodes to be run as separate processes
	// ("vucelink run --config", see Configs and Addrs).
	External bool
	// SMTP, host:port of a plain SMTP relay on loopback, turns on email
	// notifications (operators ops@<cc>.vucelink.example, exporters from
	// the certificates).
	SMTP string
	// UnreachableAfter is how long deliveries must fail before a partner
	// counts as unreachable; zero means 2s.
	UnreachableAfter time.Duration
	// HubMembers, when set, starts a simulated IPPC ePhyto Hub (hub.go)
	// with these associated states (of HubMembers) as members, each a
	// national system of its own; every node then reaches them through
	// the hub.
	HubMembers []string
}

// Network is a running demo network.
type Network struct {
	Dir     string
	PKI     string
	Nodes   map[string]*node.Node
	Legacy  map[string]*legacysim.Server
	Configs map[string]string            // country → configuration file
	Addrs   map[string]map[string]string // country → listener name → address
	Events  *track.Memory
	// ConsolePassword logs in to every node's console as "operator" or
	// "viewer"; random per network.
	ConsolePassword string
	// Tokens of the API clients every node has (access.clients): an
	// operator's tool, a viewer (monitoring) and the legacy VUCE.
	OperatorToken, ViewerToken, LegacyToken string
	// RouteUser and RoutePassword are the legacy VUCE's basic credentials
	// on its routes (LegacyOutboundURL and ForwardProxyURL carry them).
	RouteUser, RoutePassword string

	// Hub is the simulated IPPC ePhyto Hub and its members' national
	// systems (nil without Options.HubMembers).
	Hub *Hub

	adminTLS  bool
	legacyTLS bool
	extra     []*extraDocument // document types beyond sps, from the rules
	legacyURL map[string]string
	servers   []*http.Server
	ownDir    bool
	// out takes the hop trace, written from the nodes' goroutines, and
	// Run's narration: one lock for both.
	out *lockedWriter
}

// consolePassword makes the network's console password and returns its
// hash.
func (n *Network) consolePassword() (string, error) {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	n.ConsolePassword = "demo-" + base64.RawURLEncoding.EncodeToString(b[:])
	h, err := bcrypt.GenerateFromPassword([]byte(n.ConsolePassword), bcrypt.MinCost)
	return string(h), err
}

// ConsoleURL is the address of a node's console.
func (n *Network) ConsoleURL(country string) string {
	return n.AdminURL(country) + "/console/"
}

// AdminURL is the base URL of a node's admin listener (console, API,
// metrics).
func (n *Network) AdminURL(country string) string {
	if n.adminTLS {
		return "https://" + n.Addrs[country]["admin"]
	}
	return "http://" + n.Addrs[country]["admin"]
}

// clientCertificate issues a client certificate of country cc's CA to
// name (an operators' tool on the admin listener, the legacy VUCE on the
// legacy listener), writes it to <PKI>/<cc>/<name>.pem and .key, and
// returns its subject.
func (n *Network) clientCertificate(cc, name string) (string, error) {
	ca, err := devpki.LoadCA(n.PKI, cc)
	if err != nil {
		return "", err
	}
	kp, err := ca.IssueClient(name, devpki.Options{})
	if err != nil {
		return "", err
	}
	dir := filepath.Join(n.PKI, cc)
	if err := os.WriteFile(filepath.Join(dir, name+".pem"), kp.CertPEM, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".key"), kp.KeyPEM, 0o600); err != nil {
		return "", err
	}
	return kp.Cert.Subject.String(), nil
}

// RouteURL is the URL of a route of country's node, with the legacy
// VUCE's credentials in it (Go's client sends them as basic auth).
func (n *Network) RouteURL(country, path string) string {
	scheme := "http"
	if n.legacyTLS {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: n.Addrs[country]["legacy"], Path: path, User: url.UserPassword(n.RouteUser, n.RoutePassword)}
	return u.String()
}

// routeSecret is the legacy VUCE's route password and its bcrypt hash at
// the production cost, made once per process: hashing at cost 12 takes a
// quarter of a second, which each of the test suite's networks would
// otherwise pay four times.
var routeSecret = sync.OnceValues(func() ([2]string, error) {
	var b [12]byte
	rand.Read(b[:])
	pw := "route-" + base64.RawURLEncoding.EncodeToString(b[:])
	h, err := bcrypt.GenerateFromPassword([]byte(pw), productionCost)
	return [2]string{pw, string(h)}, err
})

// insideCredentials makes the network's route password and API tokens.
func (n *Network) insideCredentials() (routeHash string, tokenHashes [3]string, err error) {
	secret, err := routeSecret()
	if err != nil {
		return "", tokenHashes, err
	}
	n.RouteUser, n.RoutePassword = "vuce", secret[0]
	for i, dst := range []*string{&n.OperatorToken, &n.ViewerToken, &n.LegacyToken} {
		*dst, tokenHashes[i] = access.NewToken()
	}
	return secret[1], tokenHashes, nil
}

// ForwardHost is the host a legacy system addresses through the forward
// proxy: the partner integration endpoint it used before vucelink.
func ForwardHost(country string) string {
	return "interop.vuce." + strings.ToLower(country) + ".example"
}

// Start brings up the network and returns once every listener is open.
func Start(ctx context.Context, o Options) (_ *Network, err error) {
	countries := o.Countries
	if countries == nil {
		countries = Countries
	}
	n := &Network{
		Dir: o.Dir, Nodes: map[string]*node.Node{}, Legacy: map[string]*legacysim.Server{},
		Configs: map[string]string{}, Addrs: map[string]map[string]string{}, legacyURL: map[string]string{}, out: &lockedWriter{w: o.Out},
	}
	if o.Out == nil {
		n.out.w = io.Discard
	}
	n.Events = track.NewMemory(n.printEvent)
	if n.Dir == "" {
		if n.Dir, err = os.MkdirTemp("", "vucelink-demo-"); err != nil {
			return nil, err
		}
		n.ownDir = true
	}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	n.PKI = filepath.Join(n.Dir, "pki")
	if err := devpki.Init(n.PKI, countries); err != nil {
		return nil, fmt.Errorf("development PKI: %w", err)
	}
	if err := n.startHub(countries, o.HubMembers); err != nil {
		return nil, err
	}

	// Open every listener first, so each configuration can name its
	// partners' real addresses.
	listeners := map[string]map[string]net.Listener{}
	for _, cc := range countries {
		listeners[cc] = map[string]net.Listener{}
		for _, name := range []string{"legacy", "admin", "partners", "forward_proxy", "public", "sim"} {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return nil, err
			}
			listeners[cc][name] = ln
		}
	}
	addr := func(cc, name string) string { return listeners[cc][name].Addr().String() }
	for _, cc := range countries {
		n.Addrs[cc] = map[string]string{}
		for name, ln := range listeners[cc] {
			n.Addrs[cc][name] = ln.Addr().String()
		}
	}

	plain, hashed, err := credentials(countries)
	if err != nil {
		return nil, err
	}
	if n.extra, err = extraDocuments(rules.FS); err != nil {
		return nil, err
	}
	for _, cc := range countries {
		for _, d := range n.extra {
			if d.Spec.Signature == "aladi-cod" {
				if err := exporterKey(n.PKI, cc); err != nil {
					return nil, err
				}
			}
		}
		if err := n.publishOfficials(cc); err != nil {
			return nil, err
		}
	}
	consoleHash, err := n.consolePassword()
	if err != nil {
		return nil, err
	}
	routeHash, tokenHashes, err := n.insideCredentials()
	if err != nil {
		return nil, err
	}
	for _, cc := range countries {
		sim := legacysim.NewServer(cc)
		hs := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(listeners[cc]["sim"])
		n.servers = append(n.servers, hs)
		n.Legacy[cc] = sim
		n.legacyURL[cc] = "http://" + addr(cc, "sim")

		spec := nodeSpec{
			Country: cc, PKI: n.PKI, Dir: n.Dir, Wait: "10s", GiveUpAfter: "1h", OutboxWorkers: 4,
			Legacy: addr(cc, "legacy"), Admin: addr(cc, "admin"), Partners: addr(cc, "partners"), ForwardProxy: addr(cc, "forward_proxy"), Public: addr(cc, "public"),
			LegacyURL: n.legacyURL[cc], ForwardHost: ForwardHost(cc), ConsoleHash: consoleHash,
			RouteUser: n.RouteUser, RouteHash: routeHash,
			OperatorHash: tokenHashes[0], ViewerHash: tokenHashes[1], LegacyTokenHash: tokenHashes[2],
			UnreachableAfter: "2s",
			Hub:              n.hubSpecFor(),
		}
		for _, d := range n.extra {
			es, err := d.spec(cc)
			if err != nil {
				return nil, err
			}
			spec.Extra = append(spec.Extra, es)
			spec.DocTypes = append(spec.DocTypes, d.Name)
			if es.Exporter {
				spec.ExporterDocs = append(spec.ExporterDocs, d.Name)
			}
		}
		if o.SMTP != "" {
			host, port, err := net.SplitHostPort(o.SMTP)
			if err != nil {
				return nil, fmt.Errorf("SMTP: %w", err)
			}
			spec.SMTPHost = host
			if spec.SMTPPort, err = strconv.Atoi(port); err != nil {
				return nil, fmt.Errorf("SMTP port: %w", err)
			}
		}
		if o.UnreachableAfter > 0 {
			spec.UnreachableAfter = o.UnreachableAfter.String()
		}
		if o.NoWait {
			spec.Wait = "0s"
		}
		spec.Inflight, spec.MaxConnections = o.InflightPerPartner, o.MaxConnections
		if o.AdminTLS {
			if spec.OpsRobotSubject, err = n.clientCertificate(cc, "ops-robot"); err != nil {
				return nil, err
			}
			n.adminTLS = true
		}
		spec.Charset = o.LegacyCharset[cc]
		if o.LegacyTLS {
			if spec.LegacyClientSubject, err = n.clientCertificate(cc, "vuce-legacy"); err != nil {
				return nil, err
			}
			n.legacyTLS = true
		}
		if o.ReadTimeout > 0 {
			spec.ReadTimeout = o.ReadTimeout.String()
		}
		if o.GiveUpAfter > 0 {
			spec.GiveUpAfter = o.GiveUpAfter.String()
		}
		if o.OutboxWorkers > 0 {
			spec.OutboxWorkers = o.OutboxWorkers
		}
		spec.CryptoEngine = o.CryptoEngine
		for _, p := range countries {
			if p == cc {
				continue
			}
			spec.Peers = append(spec.Peers, peerSpec{
				Country: p, URL: "https://" + addr(p, "partners"),
				OutUser: cc, OutPassword: plain[[2]string{cc, p}],
				InUser: p, InPasswdHash: hashed[[2]string{p, cc}],
			})
		}
		path, err := writeConfig(n.Dir, spec)
		if err != nil {
			return nil, err
		}
		n.Configs[cc] = path
	}

	if o.External {
		// Free the nodes' addresses for the processes that will run them.
		for _, cc := range countries {
			for _, name := range []string{"legacy", "admin", "partners", "forward_proxy", "public"} {
				listeners[cc][name].Close()
			}
		}
		return n, nil
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	for _, cc := range countries {
		cfg, err := config.Load(n.Configs[cc])
		if err != nil {
			return nil, err
		}
		nd, err := node.New(cfg, node.Options{
			Logger: logger, Recorder: n.Events,
			Listeners: map[string]net.Listener{
				"legacy": listeners[cc]["legacy"], "admin": listeners[cc]["admin"], "partners": listeners[cc]["partners"], "forward_proxy": listeners[cc]["forward_proxy"],
				"public": listeners[cc]["public"],
			},
		})
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", cc, err)
		}
		if err := nd.Start(); err != nil {
			return nil, fmt.Errorf("node %s: %w", cc, err)
		}
		n.Nodes[cc] = nd
	}
	return n, nil
}

// Close shuts every node and simulator down and removes a temporary Dir.
func (n *Network) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for _, nd := range n.Nodes {
		errs = append(errs, nd.Shutdown(ctx))
	}
	for _, s := range n.servers {
		errs = append(errs, s.Shutdown(ctx))
	}
	errs = append(errs, n.closeHub(ctx))
	if n.ownDir {
		errs = append(errs, os.RemoveAll(n.Dir))
	}
	return errors.Join(errs...)
}

// Stop shuts one country's node down (its legacy simulator stays up), as
// an outage of that node.
func (n *Network) Stop(ctx context.Context, country string) error {
	return n.Nodes[country].Shutdown(ctx)
}

// Restart starts a stopped country's node again from its configuration
// file and store, on the same addresses.
func (n *Network) Restart(country string, logger *slog.Logger) error {
	cfg, err := config.Load(n.Configs[country])
	if err != nil {
		return err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	nd, err := node.New(cfg, node.Options{Logger: logger, Recorder: n.Events})
	if err != nil {
		return err
	}
	if err := nd.Start(); err != nil {
		return err
	}
	n.Nodes[country] = nd
	return nil
}

// LegacyOutboundURL is where country's legacy VUCE posts outbound documents
// (the reverse side of its node).
func (n *Network) LegacyOutboundURL(country string) string {
	return n.RouteURL(country, legacysim.OutboundPath(country))
}

// ForwardProxyURL is country's forward proxy, for HTTP_PROXY, with the
// legacy VUCE's route credentials (sent as Proxy-Authorization).
func (n *Network) ForwardProxyURL(country string) string {
	u := url.URL{Scheme: "http", Host: n.Addrs[country]["forward_proxy"], User: url.UserPassword(n.RouteUser, n.RoutePassword)}
	return u.String()
}

// Result is what happened to one demo certificate.
type Result struct {
	From, To   string
	Type       string // document type; "" means sps
	Via        string // "reverse" or "forward"
	DocumentID string
	TrackingID string
	Items      int
	Status     int    // HTTP status the origin legacy system received
	Outcome    string // what arrived: "received-correctly" or the failure
	Intact     bool
	Problems   []string
	Elapsed    time.Duration
}

// Send makes the origin's legacy VUCE send one certificate to dest, the way
// it always did (reverse side) or through its HTTP proxy (forward side), and
// checks what dest's legacy VUCE received against what was sent.
func (n *Network) Send(ctx context.Context, from, to string, seq, items int, forward bool) Result {
	res := Result{From: from, To: to, Via: "reverse", Items: items}
	cert := legacysim.Sample(from, to, seq, items)
	res.DocumentID = cert.ID
	if n.Nodes[from] == nil || n.Legacy[to] == nil {
		res.Problems = append(res.Problems, fmt.Sprintf("%s→%s: both countries must be in the network", from, to))
		return res
	}
	f, err := legacysim.FormatFor(from)
	if err != nil {
		res.Problems = append(res.Problems, err.Error())
		return res
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{Proxy: nil}}
	target := n.LegacyOutboundURL(from)
	if forward {
		res.Via = "forward"
		pu, _ := url.Parse(n.ForwardProxyURL(from))
		client.Transport = &http.Transport{Proxy: http.ProxyURL(pu)}
		target = "http://" + ForwardHost(from) + legacysim.OutboundPath(from)
	}
	before := len(n.Legacy[to].Received())
	start := time.Now()
	status, body, err := legacysim.Send(ctx, client, target, f, cert)
	res.Elapsed = time.Since(start)
	res.Status = status
	if err != nil {
		res.Outcome = "not sent"
		res.Problems = append(res.Problems, err.Error())
		return res
	}
	res.TrackingID = trackingIDOf(n.Events, from, cert.ID)
	if status < 200 || status > 299 {
		res.Outcome = fmt.Sprintf("HTTP %d", status)
		res.Problems = append(res.Problems, strings.TrimSpace(string(body)))
		return res
	}
	// The answer waited up to response.wait for the partner's verdict; on
	// a loaded machine delivery can take longer (the answer then says
	// "sent" and the outbox goes on), so look for the certificate for a
	// bounded while. Matched by its number, so a late arrival of an
	// earlier one is not taken for this one, and counted, so a second
	// hand-over shows.
	var copies []legacysim.Received
	for deadline := time.Now().Add(60 * time.Second); ; {
		copies = copies[:0]
		for _, r := range since(n.Legacy[to].Received(), before) {
			if r.Err == nil && r.Certificate.ID == cert.ID {
				copies = append(copies, r)
			}
		}
		if len(copies) > 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	if len(copies) != 1 {
		res.Outcome = "not handed over"
		if len(copies) > 1 {
			res.Outcome = "handed over twice"
		}
		var undecodable []string
		for _, r := range since(n.Legacy[to].Received(), before) {
			if r.Err != nil {
				undecodable = append(undecodable, r.Err.Error())
			}
		}
		res.Problems = append(res.Problems, fmt.Sprintf("%s legacy VUCE received certificate %s %d times, want 1", to, cert.ID, len(copies)))
		res.Problems = append(res.Problems, undecodable...)
		return res
	}
	last := copies[0]
	res.Outcome = string(wire.ReceivedCorrectly)
	res.Intact, res.Problems = cert.Equal(last.Certificate)
	return res
}

// since is what a legacy VUCE received after the first n (all of it if
// it was reset in between).
func since(got []legacysim.Received, n int) []legacysim.Received {
	if n > len(got) {
		return got
	}
	return got[n:]
}

func trackingIDOf(m *track.Memory, origin, docID string) string {
	for _, e := range m.Events("") {
		if e.Node == origin && e.Direction == track.Outbound && e.DocumentID == docID {
			return e.TrackingID
		}
	}
	return ""
}

// printEvent writes one hop of the trace.
func (n *Network) printEvent(e track.Event) {
	from, to := e.Node, e.Partner
	if e.Direction == track.Inbound {
		from, to = e.Partner, e.Node
	}
	detail := e.Detail
	if e.Duration > 0 {
		detail += fmt.Sprintf(" (%s)", e.Duration.Round(10*time.Microsecond))
	}
	if e.Err != "" {
		detail = "ERROR " + e.Err
	}
	if to == "" {
		to = "…"
	}
	fmt.Fprintf(n.out, "  [%s→%s] %-12s at %s  %-11s %s\n", from, to, short(e.TrackingID), e.Node, e.Step, detail)
}

func short(id string) string {
	if len(id) > 20 {
		return id[:20] + "…"
	}
	return id
}

// Summary writes the results as a table and returns an error naming every
// document that did not arrive intact.
func Summary(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tTYPE\tFROM\tTO\tVIA\tDOCUMENT\tTRACKING ID\tITEMS\tOUTCOME\tCONTENT\tTIME")
	var bad []string
	for i, r := range results {
		content := "intact"
		if !r.Intact {
			content = "DIFFERENT"
			bad = append(bad, fmt.Sprintf("%s→%s %s: %s: %s", r.From, r.To, r.DocumentID, r.Outcome, strings.Join(r.Problems, "; ")))
		}
		typ, items := r.Type, fmt.Sprint(r.Items)
		if typ == "" {
			typ = "sps"
		}
		if r.Items == 0 {
			items = "—"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, typ, r.From, r.To, r.Via, r.DocumentID,
			r.TrackingID, items, r.Outcome, content, r.Elapsed.Round(time.Millisecond))
	}
	tw.Flush()
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("%d of %d documents did not arrive intact:\n  %s", len(bad), len(results), strings.Join(bad, "\n  "))
	}
	fmt.Fprintf(w, "\nall %d documents arrived intact\n", len(results))
	return nil
}

// sortedCountries are the network's countries in order.
func sortedCountries(n *Network) []string {
	out := make([]string, 0, len(n.Addrs))
	for cc := range n.Addrs {
		out = append(out, cc)
	}
	sort.Strings(out)
	return out
}

// AdminRequest makes a request to country's admin listener as the holder
// of token (one of the network's tokens), with a JSON body if body is
// non-nil.
func (n *Network) AdminRequest(ctx context.Context, country, method, path, token string, body []byte) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, n.AdminURL(country)+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return http.DefaultClient.Do(req)
}
