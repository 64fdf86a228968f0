package certs

import (
	"net/http"
	"testing"
)

// TestRevocation_DefaultClientIgnoresProxyEnvironment: CRLs and OCSP
// answers are fetched directly. A proxy taken from HTTP_PROXY would be one
// more party able to withhold or delay revocation verdicts; a sidecar's
// environment (where HTTP_PROXY often points at vucelink's own forward
// proxy) is not its configuration.
func TestRevocation_DefaultClientIgnoresProxyEnvironment(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://proxy.invalid:3128")
	t.Setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
	c := (&Revocation{}).client()
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport %T, want *http.Transport", c.Transport)
	}
	if tr.Proxy != nil {
		req, _ := http.NewRequest("GET", "http://crl.example.org/ca.crl", nil)
		if u, _ := tr.Proxy(req); u != nil {
			t.Fatalf("the revocation client goes through %s", u)
		}
	}
	if c.Timeout <= 0 {
		t.Error("the revocation client has no timeout")
	}
}
