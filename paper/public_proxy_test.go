package paper

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/store"
)

// Behind a reverse proxy (net/http/httputil's, which appends the visitor's
// address to X-Forwarded-For), each visitor has its own limit when the
// proxy is trusted, where untrusted every visitor shares the proxy's.
// Visitors are loopback addresses of their own (127.0.0.2, .3, .4). A
// visitor claiming an address in the header gains nothing, through the
// proxy or reaching the page directly.
func TestPublic_BehindAReverseProxy(t *testing.T) {
	d := sampleDoc()
	st := &memStore{docs: map[string]*store.Document{d.TrackingID: d}}
	page := "/p/" + d.TrackingID + "/" + Key(d.Digest)
	from := func(ip string) *http.Client {
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}}
	}
	get := func(t *testing.T, c *http.Client, base, claim string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", base+page, nil)
		if claim != "" {
			req.Header.Set("X-Forwarded-For", claim)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	a, b, direct := from("127.0.0.2"), from("127.0.0.3"), from("127.0.0.4")
	for _, tc := range []struct {
		name     string
		trusted  []string
		separate bool
	}{
		{"proxy trusted", []string{"127.0.0.1"}, true},
		{"proxy not trusted", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clients, err := access.NewClientAddr("public.trusted_proxies", tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			pub := NewPublic(PublicOptions{Country: "CL", Store: st, PerMinute: 30, Burst: 3, Total: 6000, ClientAddr: clients.Of,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }})
			origin := httptest.NewServer(pub)
			defer origin.Close()
			u, _ := url.Parse(origin.URL)
			front := httptest.NewServer(httputil.NewSingleHostReverseProxy(u))
			defer front.Close()

			for i := range 3 { // A's burst, claiming other addresses on the way
				if c := get(t, a, front.URL, "198.51.100."+string(rune('1'+i))); c != http.StatusOK {
					t.Fatalf("visitor A, request %d: %d", i+1, c)
				}
			}
			if c := get(t, a, front.URL, "198.51.100.9"); c != http.StatusTooManyRequests {
				t.Fatalf("visitor A past its burst: %d, want 429", c)
			}
			want := http.StatusTooManyRequests
			if tc.separate {
				want = http.StatusOK
			}
			if c := get(t, b, front.URL, ""); c != want {
				t.Fatalf("visitor B after A's burst: %d, want %d", c, want)
			}
			if !tc.separate {
				return
			}
			for i := range 4 { // straight to the page, a new claim each time
				c := get(t, direct, origin.URL, "203.0.113."+string(rune('1'+i)))
				if i < 3 && c != http.StatusOK || i == 3 && c != http.StatusTooManyRequests {
					t.Fatalf("direct visitor, request %d: %d", i+1, c)
				}
			}
		})
	}
}
