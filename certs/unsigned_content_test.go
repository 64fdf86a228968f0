package certs

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// TestCODVerifier_RefusesUnsignedContent: both signatures of a COD verify,
// but something beside the signed parts would be shown with it (on a
// screen, on the printed copy): the whole certificate is refused, naming
// what is unsigned.
func TestCODVerifier_RefusesUnsignedContent(t *testing.T) {
	c := newCODFixture(t)
	signed := signedCOD(t, c, codACE14)
	if _, err := c.cod.Verify(context.Background(), signed); err != nil {
		t.Fatalf("the untouched COD: %v", err)
	}
	tests := []struct {
		name   string
		change func(root *etree.Element)
		want   string
	}{
		{"a Header before CertOrigin", func(root *etree.Element) {
			h := etree.NewElement(root.Space + ":Header")
			h.CreateElement("Estado").SetText("CERTIFICADO ANULADO - NO VALIDO")
			root.InsertChildAt(0, h)
		}, "Header> in <"},
		{"text in the Envelope", func(root *etree.Element) {
			root.InsertChildAt(0, etree.NewText("CERTIFICADO ANULADO"))
		}, `text "CERTIFICADO ANULADO"`},
		{"text in CertOrigin", func(root *etree.Element) {
			co := root.ChildElements()[0]
			co.InsertChildAt(0, etree.NewText("ANULADO"))
		}, `text "ANULADO"`},
		{"an attribute on the Envelope", func(root *etree.Element) {
			root.CreateAttr("estado", "ANULADO")
		}, "attribute estado on <"},
		{"an attribute on CertOrigin", func(root *etree.Element) {
			root.ChildElements()[0].CreateAttr("estado", "ANULADO")
		}, "attribute estado on <"},
		{"an element after the official's signature", func(root *etree.Element) {
			root.ChildElements()[0].CreateElement("Nota").SetText("ANULADO")
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := parseCOD(t, signed)
			tt.change(doc.Root())
			_, err := c.cod.Verify(context.Background(), writeCOD(t, doc))
			if err == nil {
				t.Fatal("verified")
			}
			// Changes findCOD itself refuses (an element after the
			// official's signature) are reference errors; the others are
			// refused as unsigned content.
			if tt.want == "" {
				if !errors.Is(err, ErrReference) {
					t.Errorf("err = %v, want ErrReference", err)
				}
				return
			}
			if !errors.Is(err, ErrUnsignedContent) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrUnsignedContent containing %q", err, tt.want)
			}
		})
	}
}
