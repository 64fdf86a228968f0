package access

import (
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Basic checks HTTP basic credentials: one username, and a password kept
// as a bcrypt hash (or, for development, in plain text).
//
// bcrypt at a production cost takes a few hundred milliseconds of CPU,
// which is its point against guessing, but paid on every request it caps a
// node at a handful of documents per second. So once the right password
// has been seen, Basic remembers its SHA-256 (with the username) for TTL
// and later requests compare against that, in constant time. Only the
// verdict for the one right password is kept: a wrong password always
// costs the full bcrypt, so the cache makes guessing no cheaper. A new
// Basic (a credential change) starts with nothing remembered.
//
// Requests that present the same credentials while their bcrypt check is
// running wait for its verdict instead of each running their own: a
// partner's eight delivery workers, at start and each time the verdict
// expires, cost one bcrypt rather than eight (and their latency with it).
type Basic struct {
	Username string
	// PasswordHash is a bcrypt hash; when empty, Password is compared in
	// constant time instead.
	PasswordHash []byte
	Password     string
	// TTL is how long a verified password is remembered; zero means 10
	// minutes.
	TTL time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	good     [sha256.Size]byte
	until    time.Time
	cached   bool
	checking map[[sha256.Size]byte]*verdict // bcrypt checks running, by fingerprint

	// compare is bcrypt.CompareHashAndPassword; tests count its calls.
	compare func(hash, password []byte) error
}

// verdict is the outcome of one bcrypt check, for those waiting on it.
type verdict struct {
	done chan struct{}
	ok   bool
}

// Check reports whether user and pass are the configured credentials.
// The username and password are both always checked, so the time taken
// does not tell which one was wrong.
func (b *Basic) Check(user, pass string) bool {
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(b.Username)) == 1
	if len(b.PasswordHash) == 0 {
		return subtle.ConstantTimeCompare([]byte(pass), []byte(b.Password)) == 1 && userOK
	}
	sum := fingerprint(user, pass)
	now := b.now()
	b.mu.Lock()
	if b.cached && now.Before(b.until) && subtle.ConstantTimeCompare(sum[:], b.good[:]) == 1 {
		b.mu.Unlock()
		return true
	}
	if v, ok := b.checking[sum]; ok {
		// The same credentials are being checked: wait for that verdict.
		// (The map holds an entry only while its check runs, one per
		// distinct credentials presented at once.)
		b.mu.Unlock()
		<-v.done
		return v.ok
	}
	v := &verdict{done: make(chan struct{})}
	if b.checking == nil {
		b.checking = map[[sha256.Size]byte]*verdict{}
	}
	b.checking[sum] = v
	b.mu.Unlock()

	compare := b.compare
	if compare == nil {
		compare = bcrypt.CompareHashAndPassword
	}
	v.ok = compare(b.PasswordHash, []byte(pass)) == nil && userOK
	ttl := b.TTL
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	b.mu.Lock()
	delete(b.checking, sum)
	if v.ok {
		b.good, b.until, b.cached = sum, now.Add(ttl), true
	}
	b.mu.Unlock()
	close(v.done)
	return v.ok
}

// fingerprint binds the username and the password (length-prefixed, so
// that no two pairs share one).
func fingerprint(user, pass string) [sha256.Size]byte {
	h := sha256.New()
	n := len(user)
	h.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	h.Write([]byte(user))
	h.Write([]byte(pass))
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

func (b *Basic) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}
