package registry

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// memLists is Lists shared by the fetchers of one test, as replicas share
// their node's store.
type memLists struct {
	mu    sync.Mutex
	lists map[string][]byte
}

func (m *memLists) Load(_ context.Context, cc string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lists[cc], nil
}

func (m *memLists) Save(_ context.Context, cc string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists[cc] = data
	return nil
}

// Two replicas share the kept lists: the one holding the fetch role
// fetches a revocation, the other never fetches and still refuses the
// revoked official within its follow interval; a replica restarting takes
// the kept list before any fetch; an older list one replica fetched late
// never replaces what the other kept.
func TestFetch_ReplicasShareLists(t *testing.T) {
	p := newPKI(t)
	clDir := t.TempDir()
	src := p.clSource(t, clDir)
	ls := newListServer(t, p, filepath.Join(clDir, "officials.xml"))
	v1 := p.publish(t, src)
	ls.serve(t, v1)
	kept := &memLists{lists: map[string][]byte{}}
	replica := func() (*Registry, *Fetcher) {
		t.Helper()
		reg, err := New("CL", []*x509.Certificate{p.cl.Cert}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		f, err := NewFetcher(FetcherOptions{Client: mxClient(t, p), Lists: kept, FollowInterval: 20 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler), Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Add(ls.url(), reg, nil); err != nil {
			t.Fatal(err)
		}
		return reg, f
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	regA, fetcherA := replica()
	regB, followerB := replica()
	if err := fetcherA.FetchAll(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { followerB.Follow(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("B to take the first list", func() bool { l := regB.List(); return l != nil && l.Sequence == 1 })

	if _, err := src.Revoke("CL-SAG-1", nil, time.Now().Add(-time.Second), "key compromise"); err != nil {
		t.Fatal(err)
	}
	ls.serve(t, p.publish(t, src))
	if err := fetcherA.Fetch(ctx, "CL"); err != nil {
		t.Fatal(err)
	}
	if err := regA.Authorize(p.ana.Cert, "sps", time.Now()); !errors.Is(err, ErrRevoked) {
		t.Fatalf("A after its fetch: %v", err)
	}
	waitFor("B to refuse the revoked official", func() bool {
		return errors.Is(regB.Authorize(p.ana.Cert, "sps", time.Now()), ErrRevoked)
	})
	if st := followerB.Status(); st[0].Sequence != 2 {
		t.Errorf("B's status %+v", st[0])
	}

	// A third replica, before loading anything, fetches while CL serves
	// the old list again (a stale cache in front of it): what the others
	// kept is the floor.
	regC, fetcherC := replica()
	ls.serve(t, v1)
	if err := fetcherC.Fetch(ctx, "CL"); !errors.Is(err, ErrRollback) {
		t.Fatalf("an older list after the kept one: %v", err)
	}
	if regC.List().Sequence != 2 {
		t.Fatalf("C trusts sequence %d", regC.List().Sequence)
	}
	if l, _ := kept.Load(ctx, "CL"); !bytesEqual(l, regA.Bytes()) {
		t.Fatal("the kept list was replaced by an older one")
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }
