package config

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile are values a payload or a partner can put in a response: each
// must reach the legacy caller as exactly that text, in a body that still
// parses.
var hostile = []string{
	`CL-1"x`, `"`, `\`, `\"`, "\n", "\r\n", "\t", `</x>`, `&`, `&amp;`, `<`, `>`, `'`, `]]>`,
	`<![CDATA[x]]>`, `{"a":1}`, `",\"injected\":\"1`, `{{.ID}}`, "ñandú 漢字 🙂", "\u2028\u2029",
	"\x00\x01\x1f\x7f", "\u0085\u200b\u202e", "\xff", "", " ",
}

type sample struct{ ID, E string }

// inJSON is what a JSON reader gets back: json.Marshal writes each invalid
// UTF-8 byte as U+FFFD.
func inJSON(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for an invalid byte
		i += w
	}
	return b.String()
}

// inXML is what an XML reader gets back: XML 1.0 cannot carry most control
// characters at all, so xml.EscapeText writes them (and invalid UTF-8) as
// U+FFFD.
func inXML(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		i += w
		if r == utf8.RuneError && w == 1 || !(r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

func render(t *testing.T, contentType, text string, data any) []byte {
	t.Helper()
	tmpl, err := ParseResponseTemplate("body", contentType, text)
	if err != nil {
		t.Fatalf("ParseResponseTemplate(%q): %v", text, err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		t.Fatalf("Execute(%q): %v", text, err)
	}
	return buf.Bytes()
}

func TestParseResponseTemplate_JSON(t *testing.T) {
	// Every action form a JSON template uses; each key must read back as
	// the value it printed.
	const text = `{"id":"{{.ID}}","piped":"{{.ID | printf "%s"}}","detalle":{{json .E}},"piped_json":{{.E | json}},` +
		`"xml":"{{xml .ID}}",{{if .ID}}"in_if":"{{.ID}}",{{end}}{{with .E}}"in_with":"{{.}}",{{end}}` +
		`{{$x := .ID}}"var":"{{$x}}",{{define "t"}}"{{.}}"{{end}}"tmpl":{{template "t" .ID}},` +
		`"prefixed":"CL:{{.ID}}:{{.E}}"}`
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON", "application/problem+json", "application/vnd.vuce+json;v=1"} {
		for _, v := range hostile {
			body := render(t, ct, text, sample{ID: v, E: v})
			if !json.Valid(body) {
				t.Fatalf("%s, value %q: invalid JSON: %s", ct, v, body)
			}
			var got map[string]string
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%s, value %q: %v in %s", ct, v, err, body)
			}
			want := inJSON(v)
			var xmlEsc bytes.Buffer
			xml.EscapeText(&xmlEsc, []byte(v))
			wants := map[string]string{"id": want, "piped": want, "detalle": want, "piped_json": want, "xml": inJSON(xmlEsc.String()),
				"var": want, "tmpl": want, "prefixed": "CL:" + want + ":" + want}
			if v != "" {
				wants["in_if"], wants["in_with"] = want, want
			}
			if len(got) != len(wants) {
				t.Errorf("%s, value %q: keys %v, want %v (body %s)", ct, v, got, wants, body)
			}
			for k, w := range wants {
				if got[k] != w {
					t.Errorf("%s, value %q: %s = %q, want %q (body %s)", ct, v, k, got[k], w, body)
				}
			}
		}
	}
}

func TestParseResponseTemplate_XML(t *testing.T) {
	const text = `<?xml version="1.0"?><r id="{{.ID}}" q='{{.ID}}'><v>{{.ID}}</v><x>{{xml .E}}</x><p>{{.E | xml}}</p>` +
		`<j>{{json .E}}</j>{{if .ID}}<i>{{.ID}}</i>{{end}}</r>`
	for _, ct := range []string{"application/xml", "text/xml; charset=UTF-8", "application/soap+xml", "image/svg+xml"} {
		for _, v := range hostile {
			body := render(t, ct, text, sample{ID: v, E: v})
			got := map[string]string{}
			dec := xml.NewDecoder(bytes.NewReader(body))
			var open string
			for {
				tok, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%s, value %q: %v in %s", ct, v, err, body)
				}
				switch tok := tok.(type) {
				case xml.StartElement:
					open = tok.Name.Local
					got[open] = ""
					for _, a := range tok.Attr {
						got["@"+a.Name.Local] = a.Value
					}
				case xml.CharData:
					got[open] += string(tok)
				}
			}
			want := inXML(v)
			jb, _ := json.Marshal(v)
			wants := map[string]string{"r": "", "@id": want, "@q": want, "v": want, "x": want, "p": want, "j": string(jb)}
			if v != "" {
				wants["i"] = want
			}
			if len(got) != len(wants) {
				t.Errorf("%s, value %q: %v, want %v (body %s)", ct, v, got, wants, body)
			}
			for k, w := range wants {
				if got[k] != w {
					t.Errorf("%s, value %q: %s = %q, want %q (body %s)", ct, v, k, got[k], w, body)
				}
			}
		}
	}
}

func TestParseResponseTemplate_Range(t *testing.T) {
	l := append([]string(nil), hostile...)
	body := render(t, "application/json", `{"l":[{{range $i, $v := .}}{{if $i}},{{end}}"{{$v}}"{{else}}{{end}}]}`, l)
	var got struct{ L []string }
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	for i, v := range l {
		if i >= len(got.L) || got.L[i] != inJSON(v) {
			t.Fatalf("l = %q, want %q", got.L, l)
		}
	}
}

// Other content types are the template's business: values go in as they
// are.
func TestParseResponseTemplate_Plain(t *testing.T) {
	for _, ct := range []string{"text/plain", "", "text/html", "application/x-www-form-urlencoded", "not a type"} {
		v := "a\"<&>\\\n"
		if got := string(render(t, ct, `id={{.ID}} {{json .E}} {{xml .E}}`, sample{ID: v, E: v})); got != "id="+v+` "a\"\u003c\u0026\u003e\\\n" a&#34;&lt;&amp;&gt;\&#xA;` {
			t.Errorf("%q: %q", ct, got)
		}
	}
}

func TestEscapingFor(t *testing.T) {
	tests := map[string]Escaping{
		"application/json": EscapeJSON, "APPLICATION/JSON; charset=utf-8": EscapeJSON, "application/problem+json": EscapeJSON,
		"application/xml": EscapeXML, "text/xml": EscapeXML, "application/soap+xml; charset=utf-8": EscapeXML, "image/svg+xml": EscapeXML,
		"text/plain": EscapeNone, "": EscapeNone, "text/json": EscapeNone, "application/jsonx": EscapeNone, "json": EscapeNone,
		"application/json;;": EscapeJSON, // unparsable parameters: the type still counts
	}
	for ct, want := range tests {
		if got := EscapingFor(ct); got != want {
			t.Errorf("EscapingFor(%q) = %d, want %d", ct, got, want)
		}
	}
}

// The defaults every route gets render valid JSON whatever the values.
func TestDefaultResponseTemplates_Hostile(t *testing.T) {
	c := &Config{Routes: []Route{{}}}
	c.Defaults()
	r := c.Routes[0].Response
	type data struct{ TrackingID, DocumentID, Document, Partner, Outcome, Error string }
	for _, tc := range []struct{ name, text string }{{"body", r.Body}, {"error_body", r.ErrorBody}} {
		for _, v := range hostile {
			body := render(t, r.ContentType, tc.text, data{v, v, v, v, v, v})
			if !json.Valid(body) {
				t.Fatalf("default %s with %q: invalid JSON: %s", tc.name, v, body)
			}
			var got map[string]string
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("default %s with %q: %v", tc.name, v, err)
			}
			if len(got) < 2 {
				t.Errorf("default %s: %v", tc.name, got)
			}
			for k, g := range got {
				if g != inJSON(v) {
					t.Errorf("default %s with %q: %s = %q", tc.name, v, k, g)
				}
			}
		}
	}
}
