package access

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// counted is a Basic whose bcrypt checks are counted, on a clock the test
// moves.
func counted(t *testing.T) (*Basic, *atomic.Int32, func(time.Duration)) {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("right"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	var mu sync.Mutex
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	b := &Basic{Username: "cl", PasswordHash: h, TTL: time.Minute,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }}
	b.compare = func(hash, pw []byte) error {
		n.Add(1)
		time.Sleep(20 * time.Millisecond) // long enough for the others to arrive
		return bcrypt.CompareHashAndPassword(hash, pw)
	}
	return b, &n, func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
}

func TestBasic_RemembersOnlyTheRightPasswordForItsTTL(t *testing.T) {
	b, n, advance := counted(t)
	for range 3 {
		if !b.Check("cl", "right") {
			t.Fatal("right password refused")
		}
	}
	if got := n.Load(); got != 1 {
		t.Fatalf("%d bcrypt checks for three requests, want 1", got)
	}
	for _, c := range [][2]string{{"cl", "wrong"}, {"cl", "wrong"}, {"mx", "right"}, {"mx", "right"}, {"cl", "wrong"}, {"cl", "wrong"}} {
		if b.Check(c[0], c[1]) {
			t.Fatalf("wrong credentials %v accepted", c)
		}
	}
	if got := n.Load(); got != 7 {
		t.Fatalf("%d bcrypt checks, want 1 + 6: a wrong password is never remembered", got)
	}
	advance(time.Minute)
	if !b.Check("cl", "right") || n.Load() != 8 {
		t.Fatalf("after the TTL: %d bcrypt checks, want a fresh one", n.Load())
	}
	fresh, m, _ := counted(t) // a credential change is a new Basic
	fresh.PasswordHash = b.PasswordHash
	if !fresh.Check("cl", "right") || m.Load() != 1 {
		t.Fatal("a new Basic remembered a verdict it never made")
	}
}

// Concurrent requests with the same credentials share one bcrypt check;
// different credentials do not wait for each other's.
func TestBasic_ConcurrentChecksShareOneBcrypt(t *testing.T) {
	b, n, _ := counted(t)
	var wg sync.WaitGroup
	var refused atomic.Int32
	for i := range 16 {
		pw := "right"
		if i%2 == 1 {
			pw = "wrong"
		}
		wg.Go(func() {
			if b.Check("cl", pw) != (pw == "right") {
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	if refused.Load() != 0 {
		t.Fatal("a verdict went to the wrong request")
	}
	if got := n.Load(); got != 2 {
		t.Fatalf("%d bcrypt checks for 8 right and 8 identical wrong passwords at once, want 2", got)
	}
	if len(b.checking) != 0 {
		t.Fatalf("%d checks still recorded as running", len(b.checking))
	}
}
