package outbox

import (
	"testing"
	"time"
)

func TestBackoff_GrowsWithJitterWithinBounds(t *testing.T) {
	o := New("CL", nil, nil, Options{BackoffMin: time.Second, BackoffMax: time.Minute}, nil, nil)
	for _, tt := range []struct {
		attempt int
		lo, hi  time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{7, 30 * time.Second, time.Minute},
		{200, 30 * time.Second, time.Minute},
	} {
		distinct := map[time.Duration]bool{}
		for range 40 {
			d := o.backoff(tt.attempt)
			if d < tt.lo || d > tt.hi {
				t.Errorf("attempt %d: %s outside [%s, %s]", tt.attempt, d, tt.lo, tt.hi)
			}
			distinct[d] = true
		}
		if len(distinct) < 2 {
			t.Errorf("attempt %d: no jitter", tt.attempt)
		}
	}
}
