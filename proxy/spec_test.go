package proxy

import (
	"strings"
	"testing"

	"github.com/beevik/etree"
)

func TestDocumentSpec_SignedPart(t *testing.T) {
	ns := map[string]string{"c": "urn:cod"}
	cod, err := NewDocumentSpec("cod", "c:Envelope", "c:CertOrigin/c:CODEH", "c:CODExporter/c:COD/c:Number", "c:CODExporter/c:COD/c:To", ns)
	if err != nil {
		t.Fatal(err)
	}
	sps, err := NewDocumentSpec("sps", "c:Cert", "", "c:ID", "", ns)
	if err != nil {
		t.Fatal(err)
	}
	parse := func(s string) *etree.Element {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(s); err != nil {
			t.Fatal(err)
		}
		return doc.Root()
	}
	envelope := parse(`<Envelope xmlns="urn:cod"><Header><Number>WRONG</Number></Header><CertOrigin><CODEH><CODExporter><COD><Number>CO-1</Number><To>PE</To></COD></CODExporter></CODEH></CertOrigin></Envelope>`)
	codeh := envelope.FindElement("CertOrigin/CODEH")
	tests := []struct {
		name      string
		spec      *DocumentSpec
		root      *etree.Element
		id, dest  string
		rootError string
		idError   string
	}{
		{"sending side: from the envelope to CODEH", cod, envelope, "CO-1", "PE", "want {urn:cod}CODEH", ""},
		{"receiving side: CODEH itself", cod, codeh, "CO-1", "PE", "", ""},
		{"CODEH missing", cod, parse(`<Envelope xmlns="urn:cod"><CertOrigin/></Envelope>`), "", "", "want {urn:cod}CODEH", "signed part CertOrigin/CODEH of the cod document is missing"},
		{"whole document signed", sps, parse(`<Cert xmlns="urn:cod"><ID>X-1</ID></Cert>`), "X-1", "", "", ""},
		{"wrong namespace", sps, parse(`<Cert xmlns="urn:other"><ID>X-1</ID></Cert>`), "", "", "want {urn:cod}Cert", "document ID not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.CheckRoot(tt.root)
			if (err == nil) != (tt.rootError == "") || (err != nil && !strings.Contains(err.Error(), tt.rootError)) {
				t.Errorf("CheckRoot: %v, want %q", err, tt.rootError)
			}
			id, err := tt.spec.ID(tt.root)
			if tt.idError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.idError) {
					t.Errorf("ID: %q %v, want error %q", id, err, tt.idError)
				}
				return
			}
			if err != nil || id != tt.id {
				t.Errorf("ID: %q %v, want %q", id, err, tt.id)
			}
			if tt.dest != "" {
				if d, err := tt.spec.Destination(tt.root); err != nil || d != tt.dest {
					t.Errorf("Destination: %q %v, want %q", d, err, tt.dest)
				}
			}
		})
	}
}

// Standalone rebuilds only the ancestors the configuration names, so a
// schema sees the verified part in place and nothing unsigned.
func TestDocumentSpec_Standalone(t *testing.T) {
	ns := map[string]string{"env": "urn:env"}
	cod, err := NewDocumentSpec("cod", "env:Envelope", "env:CertOrigin/CODEH", "CODExporter/COD/Number", "", ns)
	if err != nil {
		t.Fatal(err)
	}
	sps, err := NewDocumentSpec("sps", "env:Cert", "", "env:ID", "", ns)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(`<e:Envelope xmlns:e="urn:env"><e:Header>unsigned</e:Header><e:CertOrigin><CODEH><COD xmlns:x="urn:x"><x:N>1</x:N></COD></CODEH></e:CertOrigin></e:Envelope>`); err != nil {
		t.Fatal(err)
	}
	codeh := doc.FindElement("//CODEH")
	// The verifier hands over CODEH alone, detached from its input.
	verified := codeh.Copy()

	got := etree.NewDocument()
	got.SetRoot(cod.Standalone(verified))
	s, err := got.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	want := `<env:Envelope xmlns:env="urn:env"><env:CertOrigin xmlns:env="urn:env"><CODEH><COD xmlns:x="urn:x"><x:N>1</x:N></COD></CODEH></env:CertOrigin></env:Envelope>`
	if s != want {
		t.Errorf("Standalone:\n got %s\nwant %s", s, want)
	}
	if verified.Parent() != nil {
		t.Error("Standalone adopted the verified element instead of copying it")
	}
	if el := got.FindElement("//CODEH"); el == nil || el.NamespaceURI() != "" {
		t.Error("CODEH changed namespace inside the rebuilt ancestors")
	}
	whole := doc.Root()
	if sps.Standalone(whole) != whole {
		t.Error("a wholly signed document is not itself")
	}
}
