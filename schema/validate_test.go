package schema

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/xmlsafe"
)

// The schemas of the other shipped document types, as their
// configuration (rules/documents/<type>.yaml) names them.
const (
	codEntry     = "documents/cod/cod_ver_1.8.2_AllianceProfile.xsd"
	customsEntry = "documents/customs.xsd"
)

func mustLoad(tb testing.TB, fsys fs.FS, entry string) *Schema {
	tb.Helper()
	s, err := Load(fsys, entry)
	if err != nil {
		tb.Fatal(err)
	}
	if w := s.Warnings(); len(w) > 0 {
		tb.Errorf("%s compiles with warnings: %q", entry, w)
	}
	return s
}

// Every shipped schema compiles without a warning, reading only files of
// the rules directory, and every golden example of its type is valid —
// the examples are what the outbound rules produce.
func TestShippedSchemas(t *testing.T) {
	tests := []struct {
		docType, entry string
		files          int // schema documents read, at least
	}{
		{"sps", spsEntry, 5},
		{"cod", codEntry, 1},
		{"customs", customsEntry, 1},
	}
	for _, tt := range tests {
		t.Run(tt.docType, func(t *testing.T) {
			s := mustLoad(t, rules.FS, tt.entry)
			if got := s.Files(); len(got) < tt.files {
				t.Errorf("read %d schema documents (%v), want at least %d", len(got), got, tt.files)
			}
			for _, f := range s.Files() {
				if !strings.HasPrefix(f, "documents/") {
					t.Errorf("read %s, outside rules/documents", f)
				}
			}
			examples, err := fs.Glob(rules.FS, "*/examples/"+tt.docType+"/*.standard.xml")
			if err != nil || len(examples) < 4 {
				t.Fatalf("%d examples (%v)", len(examples), err)
			}
			for _, e := range examples {
				b, err := fs.ReadFile(rules.FS, e)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Validate(b); err != nil {
					t.Errorf("%s: %v", e, err)
				}
			}
		})
	}
}

// One violation of each other shipped schema, to see the paths of an
// unqualified (COD) and a default-namespace (customs) document.
func TestShippedSchemas_Violations(t *testing.T) {
	tests := []struct {
		name, entry, example string
		old, new             string
		path, message        string
	}{
		{"cod: country outside ALADI", codEntry, "CL/examples/cod/sample.standard.xml",
			"<ImporterCountry>", "<ImporterCountry>ZZ",
			"/ns1:Envelope/ns1:CertOrigin/CODEH/CODExporter/COD/FormA18/Importer/ImporterCountry", "The value 'ZZCO' is not an element of the set {'AR', 'BO'"},
		{"cod: the official's certification missing", codEntry, "CL/examples/cod/sample.standard.xml",
			"CertificationEH>", "Nope>", "/ns1:Envelope/ns1:CertOrigin/CODEH/Nope", "This element is not expected. Expected is ( CertificationEH )."},
		{"customs: HS code not numeric", customsEntry, "CL/examples/customs/sample.standard.xml",
			"<dec:ID>08061000</dec:ID>", "<dec:ID>0806.10</dec:ID>", "/dec:Declaration/dec:GoodsShipment/dec:GovernmentAgencyGoodsItem[1]/dec:Commodity/dec:Classification/dec:ID", "is not accepted by the pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustLoad(t, rules.FS, tt.entry)
			b, err := fs.ReadFile(rules.FS, tt.example)
			if err != nil {
				t.Fatal(err)
			}
			// Some examples use a prefix for the envelope, some not: check
			// the edit applies and read the path the way the document wrote it.
			doc := bytes.ReplaceAll(b, []byte(tt.old), []byte(tt.new))
			if bytes.Equal(doc, b) {
				t.Fatalf("%q not in %s", tt.old, tt.example)
			}
			var ve *ValidationError
			if err := s.Validate(doc); !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			v := ve.Errors[0]
			want := tt.path
			if !strings.Contains(string(doc), "<ns1:Envelope") {
				want = strings.ReplaceAll(want, "ns1:", envelopePrefix(doc))
			}
			if !strings.HasSuffix(v.Path, want) || v.Line == 0 {
				t.Errorf("violation at %q line %d, want the path to end in %q", v.Path, v.Line, want)
			}
			if !strings.Contains(v.Message, tt.message) {
				t.Errorf("message %q, want %q", v.Message, tt.message)
			}
		})
	}
}

// envelopePrefix is the prefix (with its colon) a COD document uses for
// the SOAP envelope's namespace.
func envelopePrefix(doc []byte) string {
	i := bytes.Index(doc, []byte(":Envelope"))
	j := bytes.LastIndexByte(doc[:max(i, 0)], '<')
	if i < 0 || j < 0 {
		return ""
	}
	return string(doc[j+1:i]) + ":"
}

// Input that is not validated gets a specific error, and nothing of a
// document type declaration is ever processed: entities (billion laughs),
// external entities (XXE) and external DTDs all stop at the DOCTYPE.
func TestValidate_Refused(t *testing.T) {
	s := sps(t)
	secret := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("TOP-SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	laughs := `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><r>&d;&d;&d;&d;</r>`
	tests := []struct {
		name string
		doc  string
		want error
		text string // in the error
	}{
		{"billion laughs", laughs, ErrDTD, "document type declaration"},
		{"external entity", `<!DOCTYPE r [<!ENTITY x SYSTEM "file://` + secret + `">]><r>&x;</r>`, ErrDTD, ""},
		{"parameter entity", `<!DOCTYPE r [<!ENTITY % p SYSTEM "file://` + secret + `"> %p;]><r/>`, ErrDTD, ""},
		{"external DTD", `<!DOCTYPE r SYSTEM "http://127.0.0.1:1/x.dtd"><r/>`, ErrDTD, ""},
		{"bare DOCTYPE", `<!DOCTYPE r><r/>`, ErrDTD, ""},
		{"not well-formed", "<a>\n<b></a>", ErrMalformed, "line 2"},
		{"not XML", "hello", ErrMalformed, ""},
		{"empty", "", ErrMalformed, "empty document"},
		{"undeclared entity", `<r>&x;</r>`, ErrMalformed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate([]byte(tt.doc))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not say %q", err, tt.text)
			}
			if strings.Contains(err.Error(), "TOP-SECRET") {
				t.Errorf("the external entity was read: %v", err)
			}
		})
	}

	t.Run("too large", func(t *testing.T) {
		small := mustLoad(t, rules.FS, spsEntry)
		small.MaxBytes = 1000
		doc := mapSample(t, "CL", "MX", 1, 20)
		if err := small.Validate(doc); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "limit 1000") {
			t.Errorf("Validate = %v, want ErrTooLarge naming the limit", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		c := mustLoad(t, rules.FS, spsEntry)
		c.Close()
		if err := c.Validate(mapSample(t, "CL", "MX", 1, 1)); !errors.Is(err, ErrClosed) {
			t.Errorf("Validate after Close = %v, want ErrClosed", err)
		}
	})
}

// A document with many violations lists MaxViolations of them and counts
// the rest.
func TestValidate_ManyViolations(t *testing.T) {
	s := mustLoad(t, rules.FS, spsEntry)
	s.MaxViolations = 5
	doc := mapSample(t, "CL", "MX", 1, 12)
	n := bytes.Count(doc, []byte(`unitCode="KGM"`))
	// KG has a unit code's form but is not a Rec. 20 weight: one violation
	// each (kg would break the form and the list, two).
	doc = bytes.ReplaceAll(doc, []byte(`unitCode="KGM"`), []byte(`unitCode="KG"`))
	var ve *ValidationError
	if err := s.Validate(doc); !errors.As(err, &ve) {
		t.Fatalf("Validate = %v", err)
	}
	if n < 8 || len(ve.Errors) != 5 || ve.Omitted != n-5 {
		t.Errorf("%d listed, %d omitted; want 5 listed and %d omitted", len(ve.Errors), ve.Omitted, n-5)
	}
	if !strings.Contains(ve.Error(), fmt.Sprintf("… and %d more", ve.Omitted)) {
		t.Errorf("Error() does not count the omitted ones:\n%v", ve)
	}
}

// ValidateElement validates an element that inherits its namespace
// declarations, the way the verified part of a document is handed over.
func TestValidateElement(t *testing.T) {
	s := sps(t)
	doc, err := xmlsafe.Parse(mapSample(t, "PE", "CL", 1, 3), xmlsafe.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// Move every declaration to a wrapper: the certificate inherits them.
	cert := doc.Root()
	wrapper := etree.NewElement("wrapper")
	var keep []etree.Attr
	for _, a := range cert.Attr {
		if a.Space == "xmlns" {
			wrapper.CreateAttr(a.FullKey(), a.Value)
		} else {
			keep = append(keep, a)
		}
	}
	cert.Attr = keep
	wrapper.AddChild(cert)
	if err := s.ValidateElement(cert); err != nil {
		t.Errorf("ValidateElement with inherited namespaces: %v", err)
	}
	exchanged := cert.FindElement("./rsm:SPSExchangedDocument")
	exchanged.RemoveChild(exchanged.FindElement("./ram:ID"))
	var ve *ValidationError
	if err := s.ValidateElement(cert); !errors.As(err, &ve) || ve.Errors[0].Path != pExchanged+"/ram:TypeCode" {
		t.Errorf("ValidateElement without the ID = %v", err)
	}
	if err := s.ValidateElement(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("ValidateElement(nil) = %v", err)
	}
}

// One compiled schema serves many goroutines at once, valid and invalid
// documents interleaved, each getting its own verdict (run with -race).
func TestValidate_Concurrent(t *testing.T) {
	s := sps(t)
	valid := mapSample(t, "MX", "CO", 1, 5)
	invalid := bytes.Replace(valid, []byte(`unitCode="KGM"`), []byte(`unitCode="KG"`), 1)
	var wg sync.WaitGroup
	errs := make(chan error, 8*25)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if (g+i)%2 == 0 {
					if err := s.Validate(valid); err != nil {
						errs <- fmt.Errorf("valid document: %v", err)
					}
				} else {
					var ve *ValidationError
					if err := s.Validate(invalid); !errors.As(err, &ve) || len(ve.Errors) != 1 {
						errs <- fmt.Errorf("invalid document: %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Schemas that do not compile, or would need a file Load may not read,
// are refused with the file and the reason.
func TestLoad_Errors(t *testing.T) {
	const head = `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns:t="urn:t" elementFormDefault="qualified">`
	fsys := fstest.MapFS{
		"ok.xsd":           {Data: []byte(head + `<xs:element name="R" type="xs:string"/></xs:schema>`)},
		"missing.xsd":      {Data: []byte(head + `<xs:include schemaLocation="nope.xsd"/><xs:element name="R" type="xs:string"/></xs:schema>`)},
		"remote.xsd":       {Data: []byte(head + `<xs:import namespace="urn:o" schemaLocation="http://127.0.0.1:1/o.xsd"/><xs:element name="R" type="xs:string"/></xs:schema>`)},
		"escape.xsd":       {Data: []byte(head + `<xs:include schemaLocation="../../etc/passwd"/></xs:schema>`)},
		"file.xsd":         {Data: []byte(head + `<xs:include schemaLocation="file:///etc/passwd"/></xs:schema>`)},
		"broken.xsd":       {Data: []byte(head + "\n<xs:element name=\"R\" type=\"t:Nope\"/></xs:schema>")},
		"malformed.xsd":    {Data: []byte(head + "\n<xs:element")},
		"dtd.xsd":          {Data: []byte(`<!DOCTYPE xs:schema SYSTEM "http://www.w3.org/2001/XMLSchema.dtd">` + head + `</xs:schema>`)},
		"cat/entry.xsd":    {Data: []byte(head + `<xs:element name="R" type="xs:string"/></xs:schema>`)},
		"cat/catalog.xml":  {Data: []byte(`<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog"><nextCatalog catalog="x.xml"/></catalog>`)},
		"cat2/entry.xsd":   {Data: []byte(head + `<xs:include schemaLocation="http://example.org/inc.xsd"/><xs:element name="R" type="t:T"/></xs:schema>`)},
		"cat2/catalog.xml": {Data: []byte(`<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog"><uri name="http://example.org/inc.xsd" uri="inc.xsd"/></catalog>`)},
		"cat2/inc.xsd":     {Data: []byte(head + `<xs:simpleType name="T"><xs:restriction base="xs:int"/></xs:simpleType></xs:schema>`)},
	}
	s, err := Load(fsys, "ok.xsd")
	if err != nil {
		t.Fatalf("ok.xsd: %v", err)
	}
	if err := s.Validate([]byte(`<R xmlns="urn:t">x</R>`)); err != nil {
		t.Errorf("ok.xsd: %v", err)
	}
	if s, err = Load(fsys, "cat2/entry.xsd"); err != nil {
		t.Fatalf("an include through the catalog: %v", err)
	}
	if err := s.Validate([]byte(`<R xmlns="urn:t">x</R>`)); err == nil {
		t.Error("cat2: the included type was not applied")
	}
	// A schema's own DOCTYPE is not followed: had libxml2 asked for the
	// DTD, the loader would have refused it and Load failed.
	if s, err = Load(fsys, "dtd.xsd"); err != nil {
		t.Errorf("dtd.xsd: %v", err)
	} else if len(s.Files()) != 1 {
		t.Errorf("dtd.xsd: read %v", s.Files())
	}
	tests := []struct{ entry, want string }{
		{"missing.xsd", "schema document not found: nope.xsd"},
		{"remote.xsd", "schema document not found: http://127.0.0.1:1/o.xsd"},
		{"escape.xsd", "schema document not found"},
		{"file.xsd", "schema document not found: file:///etc/passwd"},
		{"broken.xsd", "broken.xsd:2:"},
		{"malformed.xsd", "malformed.xsd:2:"},
		{"absent.xsd", "schema document not found: absent.xsd"},
		{"cat/entry.xsd", "catalog entry <nextCatalog> is not supported"},
		{"/abs.xsd", "not a valid fs path"},
	}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			_, err := Load(fsys, tt.entry)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// BenchmarkValidate: validating a mapped certificate, against parsing it
// with xmlsafe (what every node does to every document anyway) as the
// baseline; report the ratio.
func BenchmarkValidate(b *testing.B) {
	s := sps(b)
	for _, items := range []int{10, 1000} {
		doc := mapSample(b, "CL", "MX", 1, items)
		b.Run(fmt.Sprintf("baseline-xmlsafe-parse/items=%d", items), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if _, err := xmlsafe.Parse(doc, xmlsafe.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("validate/items=%d", items), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if err := s.Validate(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
