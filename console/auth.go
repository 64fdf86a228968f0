package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

const (
	sessionCookie = "vucelink_session"
	// loginCookie carries the CSRF token of the login form, before there
	// is a session (so nobody can log a victim into an attacker's account).
	loginCookie = "vucelink_login"
	csrfField   = "csrf"
)

type session struct {
	user     string
	role     Role
	csrf     string
	created  time.Time
	lastSeen time.Time
}

// sessions are kept in memory: a restart logs everyone out, which is the
// safe side for a console that changes what crosses borders.
type sessions struct {
	mu        sync.Mutex
	byToken   map[string]*session
	idle, max time.Duration
	now       func() time.Time
}

func newSessions(idle, max time.Duration, now func() time.Time) *sessions {
	return &sessions{byToken: map[string]*session{}, idle: idle, max: max, now: now}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics if the OS source does)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) create(user string, role Role) (string, *session) {
	now := s.now()
	token := randomToken()
	sess := &session{user: user, role: role, csrf: randomToken(), created: now, lastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Forget expired sessions here rather than in a goroutine.
	for t, old := range s.byToken {
		if s.expired(old, now) {
			delete(s.byToken, t)
		}
	}
	s.byToken[token] = sess
	return token, sess
}

func (s *sessions) expired(sess *session, now time.Time) bool {
	return now.Sub(sess.lastSeen) > s.idle || now.Sub(sess.created) > s.max
}

// get returns the live session for token and marks it used.
func (s *sessions) get(token string) *session {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byToken[token]
	if !ok {
		return nil
	}
	if s.expired(sess, now) {
		delete(s.byToken, token)
		return nil
	}
	sess.lastSeen = now
	return sess
}

func (s *sessions) delete(token string) {
	s.mu.Lock()
	delete(s.byToken, token)
	s.mu.Unlock()
}

// limiter counts failed logins per source address in a fixed window.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	fails  map[string][]time.Time
}

func newLimiter(max int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, window: window, now: now, fails: map[string][]time.Time{}}
}

func (l *limiter) recent(src string, now time.Time) []time.Time {
	kept := l.fails[src][:0]
	for _, t := range l.fails[src] {
		if now.Sub(t) < l.window {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(l.fails, src)
		return nil
	}
	l.fails[src] = kept
	return kept
}

func (l *limiter) blocked(src string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(src, l.now())) >= l.max
}

func (l *limiter) fail(src string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.fails[src] = append(l.recent(src, now), now)
}

func source(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (c *Console) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/console/", MaxAge: maxAge,
		HttpOnly: true, Secure: !c.opts.InsecureCookies, SameSite: http.SameSiteStrictMode}
}

// dummyHash is compared against when the user is unknown, so a wrong name
// costs as much time as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost)

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.renderLogin(w, r, http.StatusOK, "")
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	token := randomToken()
	http.SetCookie(w, c.cookie(loginCookie, token, 600))
	next := r.FormValue("next")
	if !localPath(next) {
		next = ""
	}
	c.render(w, r, status, "login", map[string]any{"Title": c.tr(r).T("login.title"), "CSRF": token, "Error": msg, "Next": next, "Country": c.opts.Country})
}

// localPath accepts only paths inside the console as a redirect target
// after login (no open redirect).
func localPath(p string) bool {
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, Prefix) && !strings.HasPrefix(p, "//")
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	src := source(r)
	if c.logins.blocked(src) {
		c.opts.Logger.Warn("console login refused: too many failures", "source", src)
		c.renderLogin(w, r, http.StatusTooManyRequests, c.tr(r).T("login.tooMany"))
		return
	}
	ck, err := r.Cookie(loginCookie)
	if err != nil || !equal(ck.Value, r.PostFormValue(csrfField)) {
		c.renderLogin(w, r, http.StatusForbidden, c.tr(r).T("login.expired"))
		return
	}
	name, password := r.PostFormValue("username"), r.PostFormValue("password")
	var user *User
	for i := range c.opts.Users {
		if subtle.ConstantTimeCompare([]byte(c.opts.Users[i].Name), []byte(name)) == 1 {
			user = &c.opts.Users[i]
		}
	}
	hash := dummyHash
	if user != nil {
		hash = user.PasswordHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || user == nil {
		c.logins.fail(src)
		// The name is logged, never the password.
		c.opts.Logger.Warn("console login failed", "user", name, "source", src)
		c.renderLogin(w, r, http.StatusUnauthorized, c.tr(r).T("login.wrong"))
		return
	}
	token, _ := c.sessions.create(user.Name, user.Role)
	http.SetCookie(w, c.cookie(sessionCookie, token, int(c.opts.SessionMax.Seconds())))
	http.SetCookie(w, c.cookie(loginCookie, "", -1))
	c.opts.Logger.Info("console login", "user", user.Name, "role", user.Role, "source", src)
	next := r.PostFormValue("next")
	if !localPath(next) {
		next = Prefix
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		c.sessions.delete(ck.Value)
	}
	http.SetCookie(w, c.cookie(sessionCookie, "", -1))
	c.opts.Logger.Info("console logout", "user", s.user)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

type authedHandler func(http.ResponseWriter, *http.Request, *session)

// authed requires a live session with at least role; on POST it also
// requires the session's CSRF token.
func (c *Console) authed(role Role, h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s *session
		if ck, err := r.Cookie(sessionCookie); err == nil {
			s = c.sessions.get(ck.Value)
		}
		if s == nil {
			if r.Method != http.MethodGet {
				http.Error(w, "your session has ended; log in again", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
			if !equal(s.csrf, r.PostFormValue(csrfField)) {
				c.opts.Logger.Warn("console request refused: bad CSRF token", "user", s.user, "path", r.URL.Path, "source", source(r))
				http.Error(w, "this form did not come from your console session; reload the page and try again", http.StatusForbidden)
				return
			}
		}
		if role == Operator && s.role != Operator {
			http.Error(w, "your role ("+string(s.role)+") may look but not act; ask an operator", http.StatusForbidden)
			return
		}
		h(w, r, s)
	}
}
