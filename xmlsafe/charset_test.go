package xmlsafe

import (
	"bytes"
	"strings"
	"testing"
)

func TestToUTF8(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		same           bool // returned as it is
	}{
		{"Latin-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a n=\"Ni\xf1o\">Caf\xe9 \xd1and\xfa</a>",
			`<?xml version="1.0" encoding="UTF-8"?><a n="Niño">Café Ñandú</a>`, false},
		{"Latin-1, single quotes and spaces", "<?xml version='1.0' encoding = 'latin1' standalone='yes'?>\n<a>\xe1</a>",
			"<?xml version='1.0' encoding = 'UTF-8' standalone='yes'?>\n<a>á</a>", false},
		{"Windows-1252: the euro and curly quotes", "<?xml version=\"1.0\" encoding=\"windows-1252\"?><a>\x80 \x93x\x94</a>",
			`<?xml version="1.0" encoding="UTF-8"?><a>€ “x”</a>`, false},
		{"ISO-8859-15: the euro where Latin-1 has the currency sign", "<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?><a>\xa4</a>",
			`<?xml version="1.0" encoding="UTF-8"?><a>€</a>`, false},
		{"UTF-8", `<?xml version="1.0" encoding="UTF-8"?><a>Café</a>`, "", true},
		{"no declaration", `<a>Café</a>`, "", true},
		{"another encoding: left to Parse to refuse", `<?xml version="1.0" encoding="Shift_JIS"?><a/>`, "", true},
		{"a declaration further in is not one", "\n<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9</a>", "", true},
		{"mismatched quotes", "<?xml version=\"1.0\" encoding=\"ISO-8859-1'?><a>\xe9</a>", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ToUTF8([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if tc.same {
				if !bytes.Equal(got, []byte(tc.in)) {
					t.Fatalf("changed: %q", got)
				}
				return
			}
			if string(got) != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
			doc, err := Parse(got, Limits{})
			if err != nil {
				t.Fatalf("the translation does not parse: %v", err)
			}
			if doc.Root() == nil || doc.Root().Tag != "a" {
				t.Fatalf("root %v", doc.Root())
			}
		})
	}
	// What is not translated is refused by name, as before.
	if _, err := Parse([]byte(`<?xml version="1.0" encoding="Shift_JIS"?><a/>`), Limits{}); err == nil || !strings.Contains(err.Error(), "Shift_JIS") {
		t.Fatalf("Shift_JIS: %v", err)
	}
}

func TestFromUTF8(t *testing.T) {
	doc := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<a nombre="Begoña Núñez">12 € · 東京 &amp; más</a>`
	for _, tc := range []struct {
		charset string
		want    string
	}{
		{"ISO-8859-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<a nombre=\"Bego\xf1a N\xfa\xf1ez\">12 &#x20AC; \xb7 &#x6771;&#x4EAC; &amp; m\xe1s</a>"},
		{"windows-1252", "<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<a nombre=\"Bego\xf1a N\xfa\xf1ez\">12 \x80 \xb7 &#x6771;&#x4EAC; &amp; m\xe1s</a>"},
		{"ISO-8859-15", "<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>\n<a nombre=\"Bego\xf1a N\xfa\xf1ez\">12 \xa4 \xb7 &#x6771;&#x4EAC; &amp; m\xe1s</a>"},
	} {
		t.Run(tc.charset, func(t *testing.T) {
			got, err := FromUTF8([]byte(doc), tc.charset)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
			// Read back as a legacy system would: the same text.
			back, err := ToUTF8(got)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := Parse(back, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if a := parsed.Root(); a.SelectAttrValue("nombre", "") != "Begoña Núñez" || a.Text() != "12 € · 東京 & más" {
				t.Fatalf("read back: %q %q", a.SelectAttrValue("nombre", ""), a.Text())
			}
		})
	}
	if got, err := FromUTF8([]byte(`<a>ñ</a>`), "ISO-8859-1"); err != nil || string(got) != "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<a>\xf1</a>" {
		t.Fatalf("no declaration: %q %v", got, err)
	}
	for _, bad := range []struct{ doc, charset, says string }{
		{`<a/>`, "Shift_JIS", "Shift_JIS"},
		{"<a>\xf1</a>", "ISO-8859-1", "not UTF-8"},
		{`<?xml version="1.0"?><a/>`, "ISO-8859-1", "no encoding"},
	} {
		if _, err := FromUTF8([]byte(bad.doc), bad.charset); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%q in %s: %v", bad.doc, bad.charset, err)
		}
	}
}
