package rules_test

import (
	"bytes"
	"io/fs"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/vucelink/vucelink/rules"
)

// Mexico's legacy system writes XML. Written in Latin-1 or Windows-1252
// and declared so, as legacy systems often do, its certificate maps to
// the very document its UTF-8 form maps to: accents, ñ and all.
func TestLegacyXML_LatinEncodings(t *testing.T) {
	native, err := fs.ReadFile(rules.FS, "MX/examples/sps/sample.native.xml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(native, []byte("María")) {
		t.Fatal("the sample has no accented text to carry")
	}
	r := load(t, "MX/sps.outbound.yaml")
	want, err := r.Map(native)
	if err != nil {
		t.Fatal(err)
	}
	wantXML, _ := want.XML.WriteToString()
	for _, tc := range []struct {
		name string
		enc  *charmap.Charmap
	}{{"ISO-8859-1", charmap.ISO8859_1}, {"windows-1252", charmap.Windows1252}} {
		t.Run(tc.name, func(t *testing.T) {
			latin, err := tc.enc.NewEncoder().Bytes(bytes.Replace(native, []byte(`encoding="UTF-8"`), []byte(`encoding="`+tc.name+`"`), 1))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(latin, []byte("María")) {
				t.Fatal("the sample is still UTF-8")
			}
			got, err := r.Map(latin)
			if err != nil {
				t.Fatal(err)
			}
			if gotXML, _ := got.XML.WriteToString(); gotXML != wantXML {
				t.Fatalf("mapped differently from the UTF-8 form:\n%s\nwant\n%s", gotXML, wantXML)
			}
		})
	}
}
