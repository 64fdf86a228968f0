package node

import (
	"testing"

	"github.com/vucelink/vucelink/config"
)

// TestFirstOfficial: receipts are signed by the first official, never an
// exporter's key; with none, the signer is a nil interface — not a typed
// nil pointer, which passes `!= nil` and panicked on the first verified
// document when the first signing entry was an exporter's.
func TestFirstOfficial(t *testing.T) {
	official := &signer{}
	tests := []struct {
		name    string
		signing []config.Signing
		signers map[string]*signer
		want    *signer
	}{
		{"exporter listed first", []config.Signing{{Role: "exporter", Documents: []string{"cod"}}, {Role: "official", Documents: []string{"sps", "cod"}}},
			map[string]*signer{"sps": official, "cod": official}, official},
		{"only an exporter", []config.Signing{{Role: "exporter", Documents: []string{"cod"}}}, map[string]*signer{}, nil},
		{"official whose key did not load", []config.Signing{{Role: "official", Documents: []string{"sps"}}}, map[string]*signer{}, nil},
		{"nothing", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := firstOfficial(&config.Config{Signing: tt.signing}, tt.signers)
			if tt.want == nil {
				if got != nil {
					t.Fatalf("got %#v, want a nil interface", got)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("got %#v, want the official", got)
			}
		})
	}
}

// TestHubCarries: through the hub only SPS 17A; partners reached
// directly take anything; without a hub, no check at all.
func TestHubCarries(t *testing.T) {
	if hubCarries(&config.Config{}) != nil {
		t.Fatal("a check without a hub")
	}
	carries := hubCarries(&config.Config{Hub: &config.Hub{Countries: []string{"AU", "NZ"}}})
	for _, tt := range []struct {
		partner, doc string
		ok           bool
	}{{"AU", "sps17a", true}, {"AU", "sps", false}, {"NZ", "cod", false}, {"PE", "cod", true}, {"PE", "sps", true}} {
		err := carries(tt.partner, tt.doc)
		if (err == nil) != tt.ok {
			t.Errorf("%s %s: %v", tt.partner, tt.doc, err)
		}
	}
}
