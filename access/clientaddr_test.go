package access

import (
	"net/http"
	"strings"
	"testing"
)

func TestClientAddr(t *testing.T) {
	ca, err := NewClientAddr("public.trusted_proxies", []string{"10.0.0.0/8", "192.0.2.10", "2001:db8:f::/48"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, peer, xff, want string
	}{
		{"direct client", "198.51.100.7:5000", "", "198.51.100.7"},
		{"direct client claiming another address", "198.51.100.7:5000", "203.0.113.9", "198.51.100.7"},
		{"through the proxy", "10.1.2.3:443", "203.0.113.9", "203.0.113.9"},
		{"through the proxy, the client's own claim on the left", "10.1.2.3:443", "1.1.1.1, 203.0.113.9", "203.0.113.9"},
		{"through two trusted proxies", "10.1.2.3:443", "203.0.113.9, 192.0.2.10", "203.0.113.9"},
		{"IPv6 proxy, IPv6 client", "[2001:db8:f::1]:443", "2001:db8:1::5", "2001:db8:1::5"},
		{"IPv4-mapped proxy", "[::ffff:10.9.9.9]:443", "203.0.113.9", "203.0.113.9"},
		{"proxy forwarding nothing", "10.1.2.3:443", "", "10.1.2.3"},
		{"proxy forwarding garbage", "10.1.2.3:443", "not-an-address", "10.1.2.3"},
		{"proxy forwarding only proxies", "10.1.2.3:443", "10.4.4.4", "10.1.2.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.peer, Header: http.Header{}}
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := ca.Of(r); got != tc.want {
				t.Fatalf("Of = %q, want %q", got, tc.want)
			}
		})
	}
	var none *ClientAddr
	if got := none.Of(&http.Request{RemoteAddr: "10.1.2.3:1", Header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}}); got != "10.1.2.3" {
		t.Fatalf("no trusted proxies: %q", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.org", "fe80::1%eth0"} {
		if _, err := NewClientAddr("public.trusted_proxies", []string{"10.0.0.1", bad}); err == nil || !strings.Contains(err.Error(), "public.trusted_proxies[1]") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
