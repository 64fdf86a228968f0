package access

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
)

// Permit decides whether an authenticated identity may make a request; a
// non-nil error is the reason it may not (403).
type Permit func(id Identity, r *http.Request) error

// ErrForbidden is what Permit functions wrap.
var ErrForbidden = errors.New("forbidden")

// Protect serves h only to authenticated callers that permit allows, with
// the identity in the request's context (FromContext). In order:
//   - a write (anything but GET, HEAD, OPTIONS) from another site —
//     Sec-Fetch-Site cross-site or same-site, or an Origin that is not this
//     host — is refused with 403 before anything else: a browser holding a
//     client certificate would otherwise lend it to any page;
//   - a write whose body is not application/json gets 415: an HTML form
//     cannot send JSON across sites without a CORS preflight, which this
//     server never grants;
//   - no or unrecognized credentials get 401;
//   - a caller permit refuses gets 403.
//
// Refusals are RFC 9457 problem documents naming what was wrong.
func (a *Authenticator) Protect(h http.Handler, permit Permit) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsWrite(r) {
			if err := SameOrigin(r); err != nil {
				Problem(w, http.StatusForbidden, err.Error())
				return
			}
			if err := JSONBody(r); err != nil {
				Problem(w, http.StatusUnsupportedMediaType, err.Error())
				return
			}
		}
		id, err := a.Authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vucelink"`)
			Problem(w, http.StatusUnauthorized, "authentication required: "+err.Error()+
				" (send Authorization: Bearer <token from `vucelink token new`>, or a client certificate the admin listener trusts)")
			return
		}
		if permit != nil {
			if err := permit(id, r); err != nil {
				Problem(w, http.StatusForbidden, fmt.Sprintf("%s (%s) may not %s %s: %v", id.Name, id.Role, r.Method, r.URL.Path, err))
				return
			}
		}
		h.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
	})
}

// IsWrite reports whether r may change something.
func IsWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// SameOrigin refuses a request a browser made on behalf of another site.
// Browsers send Sec-Fetch-Site (all current ones) and Origin (on every
// cross-origin POST); clients that are not browsers send neither, and are
// judged by their credentials alone.
func SameOrigin(r *http.Request) error {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return fmt.Errorf("cross-site request refused (Sec-Fetch-Site: %s)", site)
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" || u.Host != r.Host {
			return fmt.Errorf("cross-site request refused (Origin %q is not %s)", origin, r.Host)
		}
	}
	return nil
}

// JSONBody requires an application/json body.
func JSONBody(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		if ct == "" {
			ct = "none"
		}
		return fmt.Errorf("Content-Type must be application/json (got %s); send {} when there is nothing to say", ct)
	}
	return nil
}

// Problem answers with an RFC 9457 problem document.
func Problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"title": http.StatusText(status), "status": status, "detail": detail})
}
