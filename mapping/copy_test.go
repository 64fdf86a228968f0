package mapping

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/vucelink/vucelink/xmlsafe"
)

// An element someone else signed, as it sits in its own document: the
// exporter's part of a certificate of origin, with the namespaces it
// inherits declared on the root under the payload's own prefixes.
const signedPart = `<ns1:Envelope xmlns:ns1="urn:env" xmlns:ds="urn:ds" xmlns:xsi="urn:xsi">` +
	`<ns1:Body><Part><Inner id="I">` + "\n\t" + `<V a="1">v &amp; w</V><!-- note --><ds:Sig>s</ds:Sig></Inner></Part></ns1:Body></ns1:Envelope>`

// copy: carries an element over unchanged, from an XML payload, from a
// JSON text holding a document (as is or in base64), from an XML text
// holding one; sections group rules under a target and a condition.
func TestMap_CopyAndSections(t *testing.T) {
	const jsonToEnv = "document: d\ndirection: outbound\nsource: {format: json, namespaces: {e: urn:env}}\ntarget: {format: xml, root: env:Envelope, namespaces: {env: urn:env}}\n"
	const xmlToEnv = "document: d\ndirection: outbound\nsource: {format: xml, namespaces: {e: urn:env}}\ntarget: {format: xml, root: env:Envelope, namespaces: {env: urn:env}}\n"
	b64 := base64.StdEncoding.EncodeToString([]byte(signedPart))
	wrapped := b64[:40] + `\n` + b64[40:] // encoders wrap lines (a JSON \n)
	jsonText := strings.NewReplacer(`"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(signedPart)
	// What the copies below produce: the payload's prefix ns1 replaces the
	// rule file's env for the same URI, and ds and xsi are declared on the
	// root, so Inner has exactly the namespaces in scope it had.
	const copiedEnvelope = `<ns1:Envelope xmlns:ns1="urn:env" xmlns:ds="urn:ds" xmlns:xsi="urn:xsi"><ns1:Body><Part><Inner id="I">` + "\n\t" +
		`<V a="1">v &amp; w</V><!-- note --><ds:Sig>s</ds:Sig></Inner></Part><Seal>S</Seal></ns1:Body></ns1:Envelope>`
	tests := []struct {
		name, rules, input, want string
	}{
		{"XML payload: the element at a path, with its namespaces",
			xmlToEnv + "fields:\n  - {target: env:Body/Part, copy: e:Body/Part}\n  - {target: env:Body/Seal, value: S}\n",
			signedPart, copiedEnvelope},
		{"JSON payload: base64 text, wrapped, and select:",
			jsonToEnv + "fields:\n  - {target: env:Body/Part, copy: firmado, embedded: base64, select: e:Body/Part}\n  - {target: env:Body/Seal, value: S}\n",
			`{"firmado":"` + wrapped + `"}`, copiedEnvelope},
		{"JSON payload: the document's text as is",
			jsonToEnv + "fields:\n  - {target: env:Body/Part, copy: firmado, embedded: xml, select: e:Body/Part}\n  - {target: env:Body/Seal, value: S}\n",
			`{"firmado":"` + jsonText + `"}`, copiedEnvelope},
		{"embedded without select: the root itself, its own declarations kept",
			jsonToXML + "fields:\n  - {target: x:Copy, copy: d, embedded: xml}\n",
			`{"d":"<a xmlns=\"urn:a\" k=\"v\"><b>t</b></a>"}`, `<x:R xmlns:x="urn:x"><x:Copy xmlns="urn:a" k="v"><b>t</b></x:Copy></x:R>`},
		{"nothing to copy writes nothing",
			jsonToEnv + "fields:\n  - {target: env:Body/Part, copy: firmado, embedded: base64}\n  - {target: env:Body/Seal, value: S}\n",
			`{"firmado":"  "}`, `<env:Envelope xmlns:env="urn:env"><env:Body><Seal>S</Seal></env:Body></env:Envelope>`},
		{"a section: its rules under its target, when it holds",
			jsonToXML + "fields:\n  - target: x:Head\n    when: 'not present(firmado)'\n    fields:\n      - {target: x:Id, source: id}\n      - {target: x:Id/@scheme, value: S}\n      - {group: l, target: x:L, fields: [{target: ., source: .}]}\n  - {target: x:Tail, source: id}\n",
			`{"id":"7","l":["a","b"]}`, `<x:R xmlns:x="urn:x"><x:Head><x:Id scheme="S">7</x:Id><x:L>a</x:L><x:L>b</x:L></x:Head><x:Tail>7</x:Tail></x:R>`},
		{"a section's \".\" is its own element",
			jsonToXML + "fields:\n  - target: x:Head\n    fields: [{target: ., source: id}, {target: \"@k\", value: v}]\n",
			`{"id":"7"}`, `<x:R xmlns:x="urn:x"><x:Head k="v">7</x:Head></x:R>`},
		{"a section whose condition fails writes nothing",
			jsonToXML + "fields:\n  - target: x:Head\n    when: 'not present(firmado)'\n    fields: [{target: x:Id, source: id, required: true}]\n  - {target: x:Tail, source: id}\n",
			`{"id":"7","firmado":"x"}`, `<x:R xmlns:x="urn:x"><x:Tail>7</x:Tail></x:R>`},
		{"sections nest, in groups too, and JSON targets",
			jsonToJSON + "fields:\n  - target: a\n    fields:\n      - target: b\n        fields: [{target: c, source: v}]\n      - group: l\n        target: items\n        fields:\n          - target: detail\n            fields: [{target: n, source: $index, type: integer}]\n",
			`{"v":"V","l":[{},{}]}`, `{"a":{"b":{"c":"V"},"items":[{"detail":{"n":1}},{"detail":{"n":2}}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustLoadInline(t, tt.rules)
			got := string(mapBytes(t, r, []byte(tt.input)))
			got = strings.TrimPrefix(got, `<?xml version="1.0" encoding="UTF-8"?>`)
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// The copy is the payload's element, not a re-reading of it: every
// character of its canonical form is the same, which is what a signature
// over it needs. Checked here on the serialization; the signature itself
// is checked end to end (demo.TestCOD_ExporterSignatureKept).
func TestMap_CopyIsVerbatim(t *testing.T) {
	r := mustLoadInline(t, "document: d\ndirection: outbound\nsource: {format: xml, namespaces: {e: urn:env}}\ntarget: {format: xml, root: env:Envelope, namespaces: {env: urn:env}}\nfields:\n  - {target: env:Body/Part, copy: e:Body/Part}\n")
	out := string(mapBytes(t, r, []byte(signedPart)))
	inner := signedPart[strings.Index(signedPart, "<Inner"):strings.Index(signedPart, "</Part>")]
	if !strings.Contains(out, inner) {
		t.Errorf("the copied element changed:\n%s\nwant it to contain\n%s", out, inner)
	}
}

// What a copy: cannot do is a field error on its rule, and nothing is
// produced.
func TestMap_CopyFieldErrors(t *testing.T) {
	const jsonToEnv = "document: d\ndirection: outbound\nsource: {format: json, namespaces: {e: urn:env}}\ntarget: {format: xml, root: env:Envelope, namespaces: {env: urn:env}}\n"
	tests := []struct {
		name, rules, input string
		is                 error
		want               string
	}{
		{"required and missing", jsonToEnv + "fields:\n  - {target: env:Part, copy: firmado, embedded: base64, required: true}\n", `{}`,
			ErrRequired, "env:Part (from copy: firmado, rule line 6): required value is missing: no element to copy"},
		{"not base64", jsonToEnv + "fields:\n  - {target: env:Part, copy: firmado, embedded: base64}\n", `{"firmado":"<e:Envelope/>"}`,
			ErrBadValue, "copy: firmado is not base64"},
		{"not XML", jsonToEnv + "fields:\n  - {target: env:Part, copy: firmado, embedded: xml}\n", `{"firmado":"<a><b></a>"}`,
			ErrBadValue, "copy: the document in firmado: "},
		{"an entity declaration in the embedded document", jsonToEnv + "fields:\n  - {target: env:Part, copy: firmado, embedded: xml}\n", `{"firmado":"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>"}`,
			xmlsafe.ErrEntity, "copy: the document in firmado: entity declaration not allowed"},
		{"an undeclared prefix in the embedded document (found by FuzzMap)", jsonToEnv + "fields:\n  - {target: env:Part, copy: firmado, embedded: xml}\n", `{"firmado":"<e><A:0/></e>"}`,
			xmlsafe.ErrMalformed, `copy: the document in firmado: malformed XML: prefix "A" of /e/A:0 is not declared`},
		{"select finds nothing", jsonToEnv + "fields:\n  - {target: env:Part, copy: firmado, embedded: xml, select: e:Body/Part}\n", `{"firmado":"<a/>"}`,
			ErrBadValue, "copy: the document in firmado has no e:Body/Part under its root <a>"},
		{"a prefix bound to another namespace here", "document: d\ndirection: outbound\nsource: {format: json}\ntarget: {format: xml, root: ns1:Envelope, namespaces: {ns1: urn:other}}\nfields:\n  - {target: ns1:Part, copy: d, embedded: xml, select: Body}\n",
			`{"d":"<e xmlns:ns1=\"urn:env\"><Body><ns1:X/></Body></e>"}`,
			ErrBadValue, "copy: in the payload prefix ns1 is urn:env where the element was, but here it is urn:other"},
		{"a default namespace the target does not have", jsonToXML + "fields:\n  - {target: x:Part, copy: d, embedded: xml, select: y:B}\n",
			`{"d":"<e xmlns=\"urn:y\"><B><C/></B></e>"}`,
			ErrBadValue, "copy: in the payload the default namespace is urn:y where the element was, but here it is no namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.rules
			if strings.Contains(body, "select: y:B") {
				body = strings.Replace(body, "source: {format: json}", "source: {format: json, namespaces: {y: urn:y}}", 1)
			}
			r := mustLoadInline(t, body)
			out, err := r.Map([]byte(tt.input))
			if err == nil {
				b, _ := out.Bytes()
				t.Fatalf("mapped: %s", b)
			}
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v\nwant %v containing %q", err, tt.is, tt.want)
			}
		})
	}
}

// Load-time checks of copy: and sections, each naming file, line and rule.
func TestLoad_CopyAndSectionErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"copy with source", jsonToXML + "fields:\n  - {target: x:A, copy: a, source: a}\n", "rules.yaml:6: rule x:A: set one of source, value, expr, concat or copy, not several"},
		{"copy from a JSON path without embedded", jsonToXML + "fields:\n  - {target: x:A, copy: a}\n", "rules.yaml:6: rule x:A: copy: a JSON payload holds no XML element; if a holds an XML document's text, say so with embedded: xml (or base64)"},
		{"copy of an attribute", xmlToXML + "fields:\n  - {target: A, copy: x:B/@k}\n", "rules.yaml:6: rule A: copy: copies an element, not an attribute"},
		{"copy into JSON", jsonToJSON + "fields:\n  - {target: a, copy: d, embedded: xml}\n", "rules.yaml:6: rule a: copy: copies an XML element into an XML target; this file's target is json"},
		{"copy into an attribute", xmlToXML + "fields:\n  - {target: \"A/@k\", copy: x:B}\n", "rules.yaml:6: rule A/@k: target: copy: copies into an element, not an attribute"},
		{"copy with a transform", jsonToXML + "fields:\n  - target: x:A\n    copy: d\n    embedded: base64\n    trim: true\n", "rules.yaml:9: rule x:A: trim: does not apply to copy: (the element is copied as it is)"},
		{"bad embedded", jsonToXML + "fields:\n  - {target: x:A, copy: d, embedded: pdf}\n", `rules.yaml:6: rule x:A: embedded: must be xml or base64, got "pdf"`},
		{"embedded without copy", jsonToXML + "fields:\n  - {target: x:A, source: d, embedded: xml}\n", "rules.yaml:6: rule x:A: embedded: applies to copy: only"},
		{"select without embedded", xmlToXML + "fields:\n  - {target: A, copy: x:B, select: x:C}\n", "rules.yaml:6: rule A: select: picks an element of an embedded document"},
		{"select with an undeclared prefix", jsonToXML + "fields:\n  - {target: x:A, copy: d, embedded: xml, select: q:B}\n", `rules.yaml:6: rule x:A: select: prefix "q" is not declared`},
		{"section with a value", jsonToXML + "fields:\n  - {target: x:S, value: v, fields: [{target: x:A, source: a}]}\n", "rules.yaml:6: rule x:S: value: does not apply to a section (fields: without group:); a section takes target, when, fields, note"},
		{"section with [+]", jsonToXML + "fields:\n  - {target: \"x:S[+]\", fields: [{target: x:A, source: a}]}\n", "rules.yaml:6: rule x:S[+]: target: [+] in a section's target would append a new element for each of its rules"},
		{"empty section", jsonToXML + "fields:\n  - {target: x:S, fields: []}\n", "rules.yaml:6: rule x:S: fields: a section needs at least one rule"},
		{"a section's rule is named with the section's target", jsonToXML + "fields:\n  - target: x:S\n    fields:\n      - {target: x:A, source: a, case: title}\n", `rules.yaml:8: rule x:S/x:A: case: must be upper or lower, got "title"`},
		{"shapes are checked across a section", jsonToXML + "fields:\n  - {target: x:S/x:A, source: a}\n  - target: x:S\n    fields: [{target: x:A/x:B, source: b}]\n", "rules.yaml:8: rule x:S/x:A/x:B: target: x:S/x:A is already a value (rule on line 6)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(inline(tt.body), "rules.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// --explain says which rule copied an element, from where, and how much.
func TestMapExplain_Copy(t *testing.T) {
	r := mustLoadInline(t, "document: d\ndirection: outbound\nsource: {format: json, namespaces: {e: urn:env}}\ntarget: {format: xml, root: env:Envelope, namespaces: {env: urn:env}}\nfields:\n  - {target: env:Body/Part, copy: firmado, embedded: xml, select: e:Body/Part}\n")
	in := `{"firmado":"` + strings.NewReplacer(`"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(signedPart) + `"}`
	out, err := r.MapExplain([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Explain) != 1 {
		t.Fatalf("explain %v", out.Explain)
	}
	want := `/ns1:Envelope/ns1:Body/Part = "(3 elements copied)" <- copy: firmado → e:Body/Part (rules.yaml:6)`
	if got := out.Explain[0].String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
