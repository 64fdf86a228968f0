package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/vucelink/vucelink/xmlsafe"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func jsonMarshal(t *testing.T, v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// stripSignature removes the enveloped signature, for re-signing.
func stripSignature(t *testing.T, b []byte) []byte {
	doc, err := xmlsafe.Parse(b, xmlsafe.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Root().ChildElements() {
		if c.Tag == "Signature" {
			doc.Root().RemoveChild(c)
		}
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}
