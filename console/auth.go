package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/vucelink/vucelink/store"
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

// SessionStore keeps console sessions where every replica of the node
// reads them: the node's store (store.Store has these methods), so an
// operator logged in through one replica is served by any. A record past
// its expiry reads as absent (store.ErrNotFound); Delete also forgets the
// kind's expired records, which is how sessions nobody logged out of go.
type SessionStore interface {
	Put(ctx context.Context, kind, key string, value []byte, expires time.Time) error
	Value(ctx context.Context, kind, key string) ([]byte, error)
	Delete(ctx context.Context, kind, key string) error
}

// sessionKind is the kind of the store's records that are sessions.
const sessionKind = "console-session"

// sessions end after idle without a request and after max in any case.
// The record is keyed by a hash of the session's token, so what the store
// holds cannot be replayed as a cookie. Its last use is written at most
// once per touch (a store write per page would cost a commit each), so a
// session may end up to touch before idle, never after.
type sessions struct {
	kv               SessionStore
	idle, max, touch time.Duration
	now              func() time.Time
}

// storedSession is a session as the store keeps it.
type storedSession struct {
	User     string    `json:"user"`
	Role     Role      `json:"role"`
	CSRF     string    `json:"csrf"`
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"last_seen"`
}

// newSessions keeps sessions in kv; nil keeps them in this process's
// memory, for tests (a node always passes its store).
func newSessions(kv SessionStore, idle, max time.Duration, now func() time.Time) *sessions {
	if kv == nil {
		kv = &memorySessions{now: now, records: map[string]memoryRecord{}}
	}
	return &sessions{kv: kv, idle: idle, max: max, touch: min(idle/10, time.Minute), now: now}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics if the OS source does)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (s *sessions) create(ctx context.Context, user string, role Role) (string, *session, error) {
	now := s.now()
	token := randomToken()
	sess := &session{user: user, role: role, csrf: randomToken(), created: now, lastSeen: now}
	if err := s.save(ctx, token, sess); err != nil {
		return "", nil, err
	}
	// Forget expired sessions here rather than in a goroutine.
	if err := s.kv.Delete(ctx, sessionKind, ""); err != nil {
		return "", nil, err
	}
	return token, sess, nil
}

func (s *sessions) save(ctx context.Context, token string, sess *session) error {
	b, err := json.Marshal(storedSession{User: sess.user, Role: sess.role, CSRF: sess.csrf, Created: sess.created, LastSeen: sess.lastSeen})
	if err != nil {
		return err
	}
	until := sess.lastSeen.Add(s.idle)
	if end := sess.created.Add(s.max); end.Before(until) {
		until = end
	}
	return s.kv.Put(ctx, sessionKind, sessionKey(token), b, until)
}

func (s *sessions) expired(sess *session, now time.Time) bool {
	return now.Sub(sess.lastSeen) > s.idle || now.Sub(sess.created) > s.max
}

// get returns the live session for token (nil if there is none) and marks
// it used.
func (s *sessions) get(ctx context.Context, token string) (*session, error) {
	now := s.now()
	b, err := s.kv.Value(ctx, sessionKind, sessionKey(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st storedSession
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("console session: %w", err)
	}
	sess := &session{user: st.User, role: st.Role, csrf: st.CSRF, created: st.Created, lastSeen: st.LastSeen}
	if s.expired(sess, now) {
		return nil, s.kv.Delete(ctx, sessionKind, sessionKey(token))
	}
	if now.Sub(sess.lastSeen) >= s.touch {
		sess.lastSeen = now
		if err := s.save(ctx, token, sess); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

func (s *sessions) delete(ctx context.Context, token string) error {
	return s.kv.Delete(ctx, sessionKind, sessionKey(token))
}

// memorySessions is a SessionStore in this process's memory (tests).
type memorySessions struct {
	mu      sync.Mutex
	now     func() time.Time
	records map[string]memoryRecord
}

type memoryRecord struct {
	value   []byte
	expires time.Time
}

func (m *memorySessions) Put(_ context.Context, kind, key string, value []byte, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[kind+"/"+key] = memoryRecord{value: value, expires: expires}
	return nil
}

func (m *memorySessions) Value(_ context.Context, kind, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[kind+"/"+key]
	if !ok || (!r.expires.IsZero() && !r.expires.After(m.now())) {
		return nil, store.ErrNotFound
	}
	return r.value, nil
}

func (m *memorySessions) Delete(_ context.Context, kind, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.records, kind+"/"+key)
	now := m.now()
	for k, r := range m.records {
		if strings.HasPrefix(k, kind+"/") && !r.expires.IsZero() && !r.expires.After(now) {
			delete(m.records, k)
		}
	}
	return nil
}

// loginFailureKind is the kind of the store's records that count failed
// logins, one record per source.
const loginFailureKind = "console-login-failures"

// limiter counts failed logins per source over a sliding window, in this
// process and in the node's store (kv), so that replicas, each with its
// own admin listener, refuse a source together: without the store, a
// node of n replicas would allow n times the limit. The shared count is
// read, changed and written without a transaction: replicas failing the
// same source at the same instant may each miss the other's failure,
// which lets a few more guesses through, never locks anyone out early.
// If the store cannot be read, this process's own count still applies.
type limiter struct {
	mu        sync.Mutex
	max       int
	window    time.Duration
	now       func() time.Time
	fails     map[string][]time.Time
	kv        SessionStore // nil: this process only
	lastPurge time.Time
	logger    *slog.Logger
}

func newLimiter(max int, window time.Duration, now func() time.Time, kv SessionStore, logger *slog.Logger) *limiter {
	return &limiter{max: max, window: window, now: now, fails: map[string][]time.Time{}, kv: kv, logger: logger}
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

// shared is the store's recent failures of src (Unix milliseconds).
func (l *limiter) shared(ctx context.Context, src string, now time.Time) ([]int64, error) {
	b, err := l.kv.Value(ctx, loginFailureKind, src)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var all, kept []int64
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("failed-login record of %s: %w", src, err)
	}
	for _, ms := range all {
		if now.Sub(time.UnixMilli(ms)) < l.window {
			kept = append(kept, ms)
		}
	}
	return kept, nil
}

func (l *limiter) blocked(ctx context.Context, src string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.recent(src, now)) >= l.max {
		return true
	}
	if l.kv == nil {
		return false
	}
	fails, err := l.shared(ctx, src, now)
	if err != nil {
		l.logger.Error("console: reading failed logins from the store; counting this replica's only", "source", src, "error", err)
		return false
	}
	return len(fails) >= l.max
}

func (l *limiter) fail(ctx context.Context, src string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.fails[src] = append(l.recent(src, now), now)
	if l.kv == nil {
		return
	}
	fails, err := l.shared(ctx, src, now)
	if err == nil {
		fails = append(fails, now.UnixMilli())
		if len(fails) > l.max {
			fails = fails[len(fails)-l.max:] // enough to refuse; bounded
		}
		b, _ := json.Marshal(fails)
		err = l.kv.Put(ctx, loginFailureKind, src, b, now.Add(l.window))
	}
	if err != nil {
		l.logger.Error("console: recording a failed login in the store; counted by this replica only", "source", src, "error", err)
	}
	// Sources that stopped failing leave expired records; Delete
	// forgets those of the kind (SessionStore), once a window.
	if now.Sub(l.lastPurge) >= l.window {
		l.lastPurge = now
		if err := l.kv.Delete(ctx, loginFailureKind, ""); err != nil {
			l.logger.Warn("console: forgetting expired failed-login records", "error", err)
		}
	}
}

// source is who a login attempt counts against: the client's address
// (addr finds it, knowing the trusted proxies), or for IPv6 its /64,
// which one subscriber usually holds whole.
func source(r *http.Request, addr func(*http.Request) string) string {
	host := addr(r)
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
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
	src := source(r, c.opts.ClientAddr)
	if c.logins.blocked(r.Context(), src) {
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
		c.logins.fail(r.Context(), src)
		// The name is logged, never the password.
		c.opts.Logger.Warn("console login failed", "user", name, "source", src)
		c.renderLogin(w, r, http.StatusUnauthorized, c.tr(r).T("login.wrong"))
		return
	}
	token, _, err := c.sessions.create(r.Context(), user.Name, user.Role)
	if err != nil {
		c.opts.Logger.Error("console login: session not kept", "user", user.Name, "error", err)
		http.Error(w, "sessions are unavailable right now; try again shortly", http.StatusServiceUnavailable)
		return
	}
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
		if err := c.sessions.delete(r.Context(), ck.Value); err != nil {
			c.opts.Logger.Error("console logout: session not ended", "user", s.user, "error", err)
			http.Error(w, "sessions are unavailable right now; try again shortly", http.StatusServiceUnavailable)
			return
		}
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
			if s, err = c.sessions.get(r.Context(), ck.Value); err != nil {
				c.opts.Logger.Error("console: reading the session failed", "path", r.URL.Path, "error", err)
				http.Error(w, "sessions are unavailable right now; try again shortly", http.StatusServiceUnavailable)
				return
			}
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
				c.opts.Logger.Warn("console request refused: bad CSRF token", "user", s.user, "path", r.URL.Path, "source", source(r, c.opts.ClientAddr))
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
