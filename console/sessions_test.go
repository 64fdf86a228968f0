package console

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/ops"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/store/storetest"
)

// Two replicas of a node, each with its own console, share the store: an
// operator logged in through one is served by the other (page and CSRF
// checked action), idle time counts across both, and logging out through
// one ends the session everywhere. Run on SQLite (one store, two consoles)
// and on PostgreSQL (two connections, as two processes have).
func TestSessions_AnyReplicaServesTheOperator(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			a, b := storetest.Pair(t, kind)
			clk := &clock{t: time.Now()}
			replica := func(st store.Store) string { return serveReplica(t, st, clk, nil) }
			one, two := replica(a), replica(b)
			// Both listen on 127.0.0.1; cookies do not care about ports, as
			// a load balancer's one address would not either.
			br := (&fixture{srv: &httptest.Server{URL: one}}).browser(t)
			csrf := br.login("ana", "operator-secret")

			br.base = two
			if r := br.do("GET", "/console/", nil); r.status != http.StatusOK {
				t.Fatalf("the other replica: %d, want the page", r.status)
			}
			if r := br.do("POST", "/console/partners/MX/pause", url.Values{"csrf": {csrf}, "reason": {"maintenance"}}); r.status != http.StatusSeeOther {
				t.Fatalf("an action through the other replica with the session's CSRF token: %d\n%s", r.status, r.body)
			}
			if paused, _ := a.Paused(context.Background()); !paused["MX"] {
				t.Fatal("the action was not recorded")
			}

			// Idle time counts a request to either replica.
			for _, base := range []string{one, two, one} {
				clk.add(14 * time.Minute)
				br.base = base
				if r := br.do("GET", "/console/", nil); r.status != http.StatusOK {
					t.Fatalf("active session through %s: %d", base, r.status)
				}
			}

			br.base = two
			br.do("POST", "/console/logout", url.Values{"csrf": {csrf}})
			br.base = one
			if r := br.do("GET", "/console/", nil); r.status != http.StatusSeeOther {
				t.Fatalf("after logging out through the other replica: %d, want a redirect to the login", r.status)
			}

			// Idle past the limit: ended on both.
			br.base = one
			br.login("ana", "operator-secret")
			clk.add(16 * time.Minute)
			br.base = two
			if r := br.do("GET", "/console/", nil); r.status != http.StatusSeeOther {
				t.Fatalf("after 16 idle minutes: %d", r.status)
			}
		})
	}
}

// The store keeps a hash of the session's token, never the token a
// browser presents.
func TestSessions_StoreHoldsNoToken(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := newSessions(st, 15*time.Minute, 8*time.Hour, time.Now)
	ctx := context.Background()
	token, _, err := s.create(ctx, "ana", Operator)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Value(ctx, sessionKind, token); err == nil {
		t.Fatal("the store holds the token itself")
	}
	if got, err := s.get(ctx, token); err != nil || got == nil || got.user != "ana" || got.csrf == "" {
		t.Fatalf("session %+v, %v", got, err)
	}
}

// serveReplica serves the console of one replica of a node on st, with
// one operator (ana, operator-secret), and returns its URL.
func serveReplica(t *testing.T, st store.Store, clk *clock, clientAddr func(*http.Request) string) string {
	t.Helper()
	c, err := New(Options{
		Country: "CL", Partners: []string{"MX"}, Store: st, Sessions: st, ClientAddr: clientAddr,
		Ops:             &ops.Service{Store: st, Partners: []string{"MX"}, Now: clk.now},
		Users:           []User{{Name: "ana", Role: Operator, PasswordHash: hash(t, "operator-secret")}},
		InsecureCookies: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Failed logins count across replicas: ten wrong passwords split between
// two replicas' consoles lock the source out of both, as ten through one
// would; after the window, either lets the right password in.
func TestLogin_LimitSharedByReplicas(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			a, b := storetest.Pair(t, kind)
			clk := &clock{t: time.Now()}
			replica := func(st store.Store) string { return serveReplica(t, st, clk, nil) }
			bases := []string{replica(a), replica(b)}
			br := (&fixture{srv: &httptest.Server{URL: bases[0]}}).browser(t)
			attempt := func(base, password string) int {
				br.base = base
				tok := csrfOf(t, br.do("GET", "/console/login", nil).body)
				return br.do("POST", "/console/login", url.Values{"csrf": {tok}, "username": {"ana"}, "password": {password}}).status
			}
			for i := range 10 {
				if s := attempt(bases[i%2], "guess"); s != http.StatusUnauthorized {
					t.Fatalf("attempt %d: %d", i+1, s)
				}
			}
			for i, base := range bases {
				if s := attempt(base, "operator-secret"); s != http.StatusTooManyRequests {
					t.Fatalf("replica %d after ten failures split between two: %d, want 429", i+1, s)
				}
			}
			clk.add(61 * time.Second)
			if s := attempt(bases[1], "operator-secret"); s != http.StatusSeeOther {
				t.Fatalf("after the window: %d, want the login", s)
			}
		})
	}
}

// An IPv6 subscriber holds a whole /64: its addresses count as one
// source, or a guesser would rotate through them.
func TestSource(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.7:51000":                  "192.0.2.7",
		"[::ffff:192.0.2.7]:51000":         "192.0.2.7",
		"[2001:db8:1:2::1]:443":            "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:0:0:9]:443":    "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:443":            "2001:db8:1:3::/64",
		"not an address, kept as it comes": "not an address, kept as it comes",
	} {
		if got := source(&http.Request{RemoteAddr: remote}, (*access.ClientAddr)(nil).Of); got != want {
			t.Errorf("%s: %q, want %q", remote, got, want)
		}
	}
}

// Behind a trusted reverse proxy, failed logins count against the visitor
// the proxy names, not the proxy: one guesser locked out does not lock
// out everyone else.
func TestLogin_BehindAReverseProxy(t *testing.T) {
	clients, err := access.NewClientAddr("console.trusted_proxies", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := storetest.Pair(t, "sqlite")
	u, _ := url.Parse(serveReplica(t, st, &clock{t: time.Now()}, clients.Of))
	front := httptest.NewServer(httputil.NewSingleHostReverseProxy(u))
	defer front.Close()
	visitor := func(ip string) *browser {
		jar, _ := cookiejar.New(nil)
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		return &browser{t: t, base: front.URL, client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
			Transport:     &http.Transport{DialContext: dialer.DialContext},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	}
	attempt := func(b *browser, password string) int {
		tok := csrfOf(t, b.do("GET", "/console/login", nil).body)
		return b.do("POST", "/console/login", url.Values{"csrf": {tok}, "username": {"ana"}, "password": {password}}).status
	}
	guesser, operator := visitor("127.0.0.2"), visitor("127.0.0.3")
	for i := range 10 {
		if s := attempt(guesser, "guess"); s != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i+1, s)
		}
	}
	if s := attempt(guesser, "operator-secret"); s != http.StatusTooManyRequests {
		t.Fatalf("the guesser after ten failures: %d, want 429", s)
	}
	if s := attempt(operator, "operator-secret"); s != http.StatusSeeOther {
		t.Fatalf("another visitor through the same proxy: %d, want the login", s)
	}
}
