package access

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"github.com/realclientip/realclientip-go"
)

// ClientAddr finds the address a request comes from, for rate limits and
// logs: the socket peer, or — only when the peer is one of the proxies the
// node was told to trust — the address they forwarded. Of the addresses in
// X-Forwarded-For it takes the rightmost that is not itself a trusted
// proxy: entries left of it are whatever the client claimed. A client
// connecting directly cannot choose its address by sending the header.
//
// The header's parsing is realclientip-go's, the reference implementation
// of the rightmost-trusted-range strategy (it handles Forwarded-style
// quirks, ports, zones and malformed entries); the trust gate on the peer
// is ours, since that strategy looks at the header alone.
type ClientAddr struct {
	trusted []netip.Prefix
	header  realclientip.RightmostTrustedRangeStrategy
}

// NewClientAddr trusts the proxies in the given addresses and CIDR
// ranges (none: every request is its socket peer). key names the
// configuration key in errors.
func NewClientAddr(key string, trusted []string) (*ClientAddr, error) {
	c := &ClientAddr{}
	var nets []net.IPNet
	for i, s := range trusted {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%s[%d]: %q is neither an IP address nor a CIDR range", key, i, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		p = p.Masked()
		c.trusted = append(c.trusted, p)
		nets = append(nets, net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())})
	}
	var err error
	if c.header, err = realclientip.NewRightmostTrustedRangeStrategy("X-Forwarded-For", nets); err != nil {
		return nil, err
	}
	return c, nil
}

// Of is r's client address (without port). A nil ClientAddr trusts no
// proxy.
func (c *ClientAddr) Of(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if c == nil || len(c.trusted) == 0 {
		return host
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !c.trusts(peer.Unmap()) {
		return host
	}
	if fwd := c.header.ClientIP(r.Header, r.RemoteAddr); fwd != "" {
		if a, err := netip.ParseAddr(fwd); err == nil {
			return a.WithZone("").Unmap().String()
		}
	}
	// A trusted proxy that forwarded nothing usable: the request is its.
	return host
}

func (c *ClientAddr) trusts(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
