package demo

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/vucelink/vucelink/demo/legacysim"
)

// Trip is one certificate the demo sends.
type Trip struct {
	From, To string
	Forward  bool // through the origin's forward proxy instead of its reverse side
	Items    int
}

// Trips covers every country as sender and receiver and both ways into the
// sidecar.
var Trips = []Trip{
	{"CL", "MX", false, 3},
	{"MX", "PE", false, 5},
	{"PE", "CO", true, 2},
	{"CO", "CL", false, 4},
	{"CL", "PE", true, 12},
	{"MX", "CO", true, 1},
	{"PE", "MX", false, 3},
	{"CO", "PE", false, 2},
}

// Run starts the network, sends every trip, prints the trace and a summary,
// and returns an error if any document did not arrive intact. With serve it
// then keeps the network up until ctx ends.
func Run(ctx context.Context, o Options, serve bool) error {
	if o.HubMembers == nil && o.Countries == nil {
		o.HubMembers = HubMembers // the full network: eight countries
	}
	net, err := Start(ctx, o)
	if err != nil {
		return err
	}
	defer net.Close()
	out := net.out // shared with the nodes' hop trace

	fmt.Fprintf(out, "vucelink demo: %d nodes on loopback; PKI and configurations in %s\n\n", len(net.Nodes), net.Dir)
	for _, cc := range Countries {
		nd, ok := net.Nodes[cc]
		if !ok {
			continue
		}
		f, _ := legacysim.FormatFor(cc)
		fmt.Fprintf(out, "  %s  legacy→vucelink http://%s  forward proxy http://%s  admin %s  partners https://%s  legacy VUCE %s (%s)\n",
			cc, nd.Addr("legacy"), nd.Addr("forward_proxy"), net.AdminURL(cc), nd.Addr("partners"), net.legacyURL[cc], f.ContentType())
	}
	if h := net.Hub; h != nil {
		fmt.Fprintf(out, "  IPPC ePhyto Hub (simulated) %s: every country a member with its own client certificate\n", h.URL)
		for _, cc := range HubMembers {
			if h.Members[cc] != nil {
				f, _ := legacysim.FormatFor(cc)
				fmt.Fprintf(out, "  %s  national system on the hub (%s), no vucelink node\n", cc, f.ContentType())
			}
		}
	}
	fmt.Fprintln(out)

	var results []Result
	for i, t := range Trips {
		if net.Nodes[t.From] == nil || net.Nodes[t.To] == nil {
			continue
		}
		via := "reverse proxy"
		if t.Forward {
			via = "forward proxy (HTTP_PROXY)"
		}
		fmt.Fprintf(out, "%s legacy VUCE sends certificate #%d to %s with %d line items, via the %s\n", t.From, i+1, t.To, t.Items, via)
		results = append(results, net.Send(ctx, t.From, t.To, i+1, t.Items, t.Forward))
		fmt.Fprintln(out)
	}
	nodes := map[string]bool{}
	for cc := range net.Nodes {
		nodes[cc] = true
	}
	for _, t := range exampleTrips(net.extra, nodes) {
		fmt.Fprintf(out, "%s legacy VUCE sends a %s document (rules/%s), via the reverse proxy\n", t.From, t.Doc.Name, t.File)
		results = append(results, net.SendExample(ctx, t.Doc, t.From, t.File))
		fmt.Fprintln(out)
	}
	for i, t := range HubTrips {
		if net.Hub == nil || (net.Nodes[t.From] == nil && net.Hub.Members[t.From] == nil) || (net.Nodes[t.To] == nil && net.Hub.Members[t.To] == nil) {
			continue
		}
		if net.Nodes[t.From] != nil {
			fmt.Fprintf(out, "%s legacy VUCE sends certificate #%d to %s with %d line items through the IPPC ePhyto Hub (its usual route; leaves as SPS 17A)\n", t.From, 100+i, t.To, t.Items)
		} else {
			fmt.Fprintf(out, "%s national system sends certificate #%d to %s with %d line items through the IPPC ePhyto Hub (%s's node polls it)\n", t.From, 100+i, t.To, t.Items, t.To)
		}
		results = append(results, net.SendViaHub(ctx, t, 100+i))
		fmt.Fprintln(out)
	}
	fmt.Fprintln(out, "Summary")
	sumErr := Summary(out, results)
	if !serve || sumErr != nil {
		return sumErr
	}

	cc, to := "CL", "MX"
	fmt.Fprintf(out, `
The network keeps running (Ctrl-C to stop). Send a certificate by hand, as %s's legacy VUCE would:

  go run ./cmd/vucelink demo-sample --from %s --to %s > cert.json
  curl -sS -X POST -H 'Content-Type: application/json' --data-binary @cert.json %s

and watch it arrive at %s's legacy VUCE (%s). Node configurations: %s/<CC>/config.yaml

The route takes the legacy VUCE's credentials (user %s, in the URL above) or its token.
API and /metrics on each admin listener (Authorization: Bearer TOKEN):
  operator %s
  viewer   %s
  legacy   %s

Operators' consoles (user "operator" or "viewer", password %s):
`, cc, cc, to, net.LegacyOutboundURL(cc), to, net.legacyURL[to], net.Dir, net.RouteUser, net.OperatorToken, net.ViewerToken, net.LegacyToken, net.ConsolePassword)
	for _, c := range sortedCountries(net) {
		fmt.Fprintf(out, "  %s  %s\n", c, net.ConsoleURL(c))
	}
	<-ctx.Done()
	return nil
}

// lockedWriter serializes writes: Run's narration and the nodes' hop
// trace, each line one Write.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
