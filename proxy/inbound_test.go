package proxy

import (
	"fmt"
	"testing"
	"time"
)

// TestFailureWindow: a certificate that guessed too often stays blocked
// for its minute, whatever else fills the table; the minute passes.
func TestFailureWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	var f failureWindow
	for range 20 {
		f.add("CL\x00cert-a", t0)
	}
	if !f.blocked("CL\x00cert-a", t0, 20) {
		t.Fatal("not blocked after 20 failures")
	}
	if f.blocked("CL\x00cert-b", t0, 20) {
		t.Fatal("another certificate of the same partner is blocked")
	}
	// A flood of other keys (impossible from outside — keys need valid
	// partner certificates — but the table must hold anyway).
	for i := range 3 * maxFailureKeys {
		f.add(fmt.Sprintf("CL\x00flood-%d", i), t0.Add(time.Second))
	}
	if !f.blocked("CL\x00cert-a", t0.Add(2*time.Second), 20) {
		t.Fatal("the flood cleared a live block")
	}
	if n := len(f.byKey); n > maxFailureKeys {
		t.Errorf("table grew to %d keys", n)
	}
	if f.blocked("CL\x00cert-a", t0.Add(61*time.Second), 20) {
		t.Error("still blocked after the minute")
	}
	// Expired windows make room.
	f.add("CL\x00late", t0.Add(2*time.Minute))
	if _, ok := f.byKey["CL\x00late"]; !ok {
		t.Error("expired windows were not forgotten to make room")
	}
}
