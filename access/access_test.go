package access

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestAuthenticate(t *testing.T) {
	opTok, opHash := NewToken()
	viewTok, viewHash := NewToken()
	a, err := New([]Client{
		{Name: "ana", Role: Operator, TokenHash: opHash},
		{Name: "mon", Role: Viewer, TokenHash: viewHash},
		{Name: "robot", Role: Operator, CertificateSubject: "CN=robot,O=SAG,C=CL"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cert := func(cn string) *tls.ConnectionState {
		c := &x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: []string{"SAG"}, Country: []string{"CL"}}}
		return &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{c}}}
	}
	tests := []struct {
		name   string
		auth   string
		tls    *tls.ConnectionState
		want   string // identity name, or the error's words
		wantOK bool
	}{
		{"operator token", "Bearer " + opTok, nil, "ana", true},
		{"viewer token, scheme in lower case", "bearer " + viewTok, nil, "mon", true},
		{"unknown token", "Bearer vlk_nope", nil, "credentials not recognized: bearer token", false},
		{"a hash is not a token", "Bearer " + opHash, nil, "credentials not recognized", false},
		{"basic scheme", "Basic YTpi", nil, `Authorization scheme "Basic"`, false},
		{"nothing", "", nil, "no credentials", false},
		{"configured certificate", "", cert("robot"), "robot", true},
		{"unknown certificate", "", cert("intruder"), `client certificate "CN=intruder,O=SAG,C=CL" is not a configured client`, false},
		{"wrong token beside a good certificate", "Bearer vlk_nope", cert("robot"), "credentials not recognized", false},
		{"unverified certificate", "", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Subject: pkix.Name{CommonName: "robot"}}}}, "no credentials", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v1/documents", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			r.TLS = tt.tls
			id, err := a.Authenticate(r)
			if tt.wantOK {
				if err != nil || id.Name != tt.want {
					t.Fatalf("got %+v, %v; want %s", id, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %+v, %v; want an error containing %q", id, err, tt.want)
			}
			if !errors.Is(err, ErrNoCredentials) && !errors.Is(err, ErrBadCredentials) {
				t.Errorf("error %v wraps neither sentinel", err)
			}
		})
	}
}

func TestNew_RefusesBadClients(t *testing.T) {
	_, err := New([]Client{{Name: "", Role: "admin", TokenHash: "md5:1"}, {Name: "x", Role: Viewer}, {Name: "x", Role: Viewer, TokenHash: HashToken("t")}})
	for _, want := range []string{"access.clients[0].name: required", `access.clients[0].role: "admin"`, "access.clients[0].token_hash", "access.clients[1]: give token_hash", `access.clients[2].name: "x" is listed twice`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// TestBasic_CachesOnlyTheRightPassword: the right password is checked by
// bcrypt once per TTL; a wrong one, or the right one with another user,
// is never let through by the cache.
func TestBasic_CachesOnlyTheRightPassword(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	b := &Basic{Username: "CL", PasswordHash: h, TTL: time.Minute, Now: func() time.Time { return now }}
	if b.Check("CL", "wrong") || b.cached {
		t.Fatal("a wrong password passed or was cached")
	}
	if !b.Check("CL", "s3cret-password") || !b.cached {
		t.Fatal("the right password failed or was not cached")
	}
	// While cached: the verdict comes from the cache, and only for the
	// same user and password.
	b.PasswordHash = []byte("not a bcrypt hash: bcrypt would fail now")
	if !b.Check("CL", "s3cret-password") {
		t.Error("the cached verdict was not used")
	}
	for _, c := range [][2]string{{"CL", "wrong"}, {"MX", "s3cret-password"}, {"CL", "s3cret-passwor"}, {"CLs", "3cret-password"}} {
		if b.Check(c[0], c[1]) {
			t.Errorf("%q/%q passed through the cache", c[0], c[1])
		}
	}
	// After the TTL, bcrypt decides again (here: it cannot, so no).
	now = now.Add(2 * time.Minute)
	if b.Check("CL", "s3cret-password") {
		t.Error("the cached verdict outlived its TTL")
	}
	// Plain passwords (development) compare in constant time, no cache.
	p := &Basic{Username: "CL", Password: "dev"}
	if !p.Check("CL", "dev") || p.Check("CL", "de") || p.Check("MX", "dev") {
		t.Error("plain password comparison")
	}
}

func TestTokenHash(t *testing.T) {
	tok, h := NewToken()
	if !strings.HasPrefix(tok, TokenPrefix) || len(tok) != len(TokenPrefix)+43 || HashToken(tok) != h {
		t.Fatalf("token %q hash %q", tok, h)
	}
	if _, err := ParseTokenHash(h); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "sha256:", "sha256:zz", "md5:" + h[7:], h[:len(h)-2]} {
		if _, err := ParseTokenHash(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
