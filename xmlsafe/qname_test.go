package xmlsafe

import (
	"errors"
	"strings"
	"testing"
)

// TestParse_RefusesNamesThatAreNotQualified: names XML allows but
// Namespaces in XML does not, which readers split differently (a fuzzer
// found "<A00:/>" signed as one document and verified as another).
func TestParse_RefusesNamesThatAreNotQualified(t *testing.T) {
	for _, doc := range []string{`<A00:/>`, `<:a/>`, `<a:b:c/>`, `<r a:="1"/>`, `<r :a="1"/>`} {
		_, err := Parse([]byte(doc), Limits{})
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "is not a qualified name") {
			t.Errorf("%s: %v, want ErrMalformed naming the name", doc, err)
		}
	}
	if _, err := Parse([]byte(`<p:r xmlns:p="urn:p" p:a="1"/>`), Limits{}); err != nil {
		t.Errorf("a qualified document: %v", err)
	}
}
