package certs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/vucelink/vucelink/xmlsafe"
)

// The ALADI digital certificate of origin (COD, schemas cod_ver_1.8.x and
// 4.1.x) carries two sibling signatures:
//
//	<ns1:Envelope xmlns:ns1="http://www.w3.org/2001/12/soap-envelope">
//	  <ns1:Header>?
//	  <ns1:CertOrigin>
//	    <CODEH id="CODEH">
//	      <CODExporter>
//	        <COD id="COD">...</COD>
//	        <ds:Signature> URI="#COD": the exporter
//	      </CODExporter>
//	      <EH>...</EH>
//	      <CertificationEH>...</CertificationEH>
//	    </CODEH>
//	    <ds:Signature> URI="#CODEH": the certifying entity's official
//	  </ns1:CertOrigin>
//	</ns1:Envelope>
//
// The exporter signs the COD; the certifying entity (EH) then adds EH and
// CertificationEH outside it, and its official signs CODEH, which covers
// the COD and the exporter's signature too.

// CODNamespace is the namespace of the COD's Envelope and CertOrigin (the
// rest of its elements are in no namespace).
const CODNamespace = "http://www.w3.org/2001/12/soap-envelope"

// codParts are a COD's elements where the schema puts them.
type codParts struct {
	codeh, codExporter, cod  *etree.Element
	eh, certificationEH      *etree.Element
	exporterSig, officialSig *etree.Element
}

// codNames are the COD's own elements: none may appear outside CODEH, where
// a consumer looking them up by name could be handed an unsigned copy.
var codNames = []string{"CODEH", "CODExporter", "COD", "EH", "CertificationEH"}

func isDSSignature(e *etree.Element) bool {
	return e.Tag == dsig.SignatureTag && e.NamespaceURI() == dsig.Namespace
}

// findCOD checks doc's structure against the COD schema and returns its
// parts; either signature may be missing. Errors wrap ErrReference: an
// element or a signature where the schema does not put it is what
// signature wrapping looks like.
func findCOD(doc *etree.Document) (*codParts, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: not an ALADI COD as its schema has it: %s", ErrReference, fmt.Sprintf(format, a...))
	}
	root := doc.Root()
	if root == nil {
		return nil, bad("no root element")
	}
	if err := onlyRoot(root); err != nil {
		return nil, err
	}
	if root.Tag != "Envelope" || root.NamespaceURI() != CODNamespace {
		return nil, bad("the root is <%s>, want Envelope in %s", root.FullTag(), CODNamespace)
	}
	var certOrigin *etree.Element
	for i, c := range root.ChildElements() {
		switch {
		case c.NamespaceURI() != CODNamespace:
			return nil, bad("<%s> in the Envelope", c.FullTag())
		case c.Tag == "Header" && i == 0:
		case c.Tag == "CertOrigin" && certOrigin == nil:
			certOrigin = c
		default:
			return nil, bad("<%s> in the Envelope", c.FullTag())
		}
	}
	if certOrigin == nil {
		return nil, bad("no CertOrigin in the Envelope")
	}
	p := &codParts{}
	kids := certOrigin.ChildElements()
	if len(kids) == 0 || kids[0].Tag != "CODEH" || kids[0].NamespaceURI() != "" {
		return nil, bad("CertOrigin does not begin with CODEH")
	}
	p.codeh = kids[0]
	switch {
	case len(kids) == 2 && isDSSignature(kids[1]):
		p.officialSig = kids[1]
	case len(kids) > 1:
		return nil, bad("<%s> after CODEH in CertOrigin", kids[1].FullTag())
	}

	kids = p.codeh.ChildElements()
	if len(kids) == 0 || kids[0].Tag != "CODExporter" || kids[0].NamespaceURI() != "" {
		return nil, bad("CODEH does not begin with CODExporter")
	}
	p.codExporter = kids[0]
	switch {
	case len(kids) == 1:
	case len(kids) == 3 && kids[1].Tag == "EH" && kids[2].Tag == "CertificationEH" &&
		kids[1].NamespaceURI() == "" && kids[2].NamespaceURI() == "":
		p.eh, p.certificationEH = kids[1], kids[2]
	default:
		return nil, bad("CODEH holds %s, want CODExporter, EH, CertificationEH", tagList(kids))
	}

	kids = p.codExporter.ChildElements()
	if len(kids) == 0 || kids[0].Tag != "COD" || kids[0].NamespaceURI() != "" {
		return nil, bad("CODExporter does not begin with COD")
	}
	p.cod = kids[0]
	switch {
	case len(kids) == 2 && isDSSignature(kids[1]):
		p.exporterSig = kids[1]
	case len(kids) > 1:
		return nil, bad("CODExporter holds %s, want COD and the exporter's ds:Signature", tagList(kids))
	}

	// Outside CODEH, none of the COD's elements; and no signature anywhere
	// but in the two places.
	var err error
	walkOutside(root, p.codeh, func(e *etree.Element) {
		if err == nil && e.NamespaceURI() == "" && slices.Contains(codNames, e.Tag) {
			err = bad("a <%s> outside the signed CODEH", e.Tag)
		}
	})
	walkElements(root, func(e *etree.Element) {
		if err == nil && isDSSignature(e) && e != p.exporterSig && e != p.officialSig {
			err = p.misplaced(e)
		}
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// misplaced describes a ds:Signature outside the two places the schema
// gives: a second signature for #COD or #CODEH when that place is taken,
// else a signature in the wrong place.
func (p *codParts) misplaced(sig *etree.Element) error {
	where := "the document"
	if sig.Parent() != nil && sig.Parent().Tag != "" {
		where = "<" + sig.Parent().FullTag() + ">"
	}
	uris := referenceURIs(sig)
	if (p.exporterSig != nil && slices.Contains(uris, "#COD")) || (p.officialSig != nil && slices.Contains(uris, "#CODEH")) {
		return fmt.Errorf("%w: a second ds:Signature for %q in %s", ErrMultipleSignatures, uris, where)
	}
	return fmt.Errorf("%w: a ds:Signature in %s, where the COD schema has none", ErrReference, where)
}

// referenceURIs returns the URIs of every ds:Reference inside sig.
func referenceURIs(sig *etree.Element) []string {
	var uris []string
	walkElements(sig, func(e *etree.Element) {
		if e.Tag == dsig.ReferenceTag && e.NamespaceURI() == dsig.Namespace {
			uris = append(uris, e.SelectAttrValue(dsig.URIAttr, ""))
		}
	})
	return uris
}

// walkOutside calls f on every element under root except skip's subtree.
func walkOutside(root, skip *etree.Element, f func(*etree.Element)) {
	if root == skip {
		return
	}
	f(root)
	for _, c := range root.ChildElements() {
		walkOutside(c, skip, f)
	}
}

func tagList(es []*etree.Element) string {
	tags := make([]string, len(es))
	for i, e := range es {
		tags[i] = e.FullTag()
	}
	return strings.Join(tags, ", ")
}

// SignCODExporter adds the exporter's signature to an unsigned COD: over
// "#COD", right after the COD element, as SignSibling signs. The document
// is otherwise kept as it was.
func (s *Signer) SignCODExporter(data []byte) ([]byte, error) {
	return s.signCOD(data, false)
}

// SignCODOfficial adds the certifying official's signature to a COD the
// exporter has signed and the certifying entity has completed (EH and
// CertificationEH): over "#CODEH", right after CODEH. It does not verify
// the exporter's signature: do that first (CODVerifier.VerifyExporter).
func (s *Signer) SignCODOfficial(data []byte) ([]byte, error) {
	return s.signCOD(data, true)
}

func (s *Signer) signCOD(data []byte, official bool) ([]byte, error) {
	doc, err := xmlsafe.Parse(data, xmlsafe.Limits{})
	if err != nil {
		return nil, err
	}
	p, err := findCOD(doc)
	if err != nil {
		return nil, fmt.Errorf("sign COD: %w", err)
	}
	switch {
	case p.officialSig != nil:
		return nil, errors.New("sign COD: the certifying official has signed it already")
	case !official && p.exporterSig != nil:
		return nil, errors.New("sign COD: the exporter has signed it already")
	case official && p.exporterSig == nil:
		return nil, errors.New("sign COD: the exporter has not signed it (no ds:Signature after COD)")
	case official && p.eh == nil:
		return nil, errors.New("sign COD: the certifying entity's EH and CertificationEH are missing from CODEH")
	}
	id := "COD"
	if official {
		id = "CODEH"
	}
	if _, err := s.SignSibling(doc, id, SiblingOptions{Element: id}); err != nil {
		return nil, err
	}
	doc.WriteSettings = writeSettings
	return doc.WriteToBytes()
}

// CODVerifier verifies ALADI certificates of origin: the structure the
// schema gives, both sibling signatures (SiblingPolicy's algorithm rules),
// and each signer against its own trust: exporters are certified by their
// country's CAs, officials by the ones ALADI's directory lists.
type CODVerifier struct {
	// Exporters checks the exporter's certificate (#COD); Officials the
	// certifying official's (#CODEH), typically with Authorize set to the
	// repository of officials. Both required. Their Limits are not used.
	Exporters, Officials *Verifier
	// AllowSHA1 and IgnoreComments are as in SiblingPolicy.
	AllowSHA1, IgnoreComments bool
	// Limits bound the document given to Verify and VerifyExporter.
	Limits xmlsafe.Limits
}

// VerifiedCOD is a verified certificate of origin.
type VerifiedCOD struct {
	// CODEH is the element the official signed, from the canonical bytes
	// digested: the COD, the exporter's signature, EH and CertificationEH.
	// It is the only part of the input to use.
	CODEH *etree.Element
	// Exporter holds the COD as the exporter signed it (Element), and the
	// exporter's certificate and chain; Official the same for CODEH.
	Exporter, Official *Verified
}

func (v *CODVerifier) policy(id string) SiblingPolicy {
	return SiblingPolicy{IDAttr: "id", Element: id, AllowSHA1: v.AllowSHA1, IgnoreComments: v.IgnoreComments}
}

// Verify parses data safely and verifies a complete COD: both signatures,
// and both signers' chains, validity, authorization and revocation.
func (v *CODVerifier) Verify(ctx context.Context, data []byte) (*VerifiedCOD, error) {
	doc, err := xmlsafe.Parse(data, v.Limits)
	if err != nil {
		return nil, err
	}
	return v.VerifyDocument(ctx, doc)
}

// VerifyDocument is Verify on a parsed document, which it does not change.
func (v *CODVerifier) VerifyDocument(ctx context.Context, doc *etree.Document) (*VerifiedCOD, error) {
	if v.Exporters == nil || v.Officials == nil {
		return nil, fmt.Errorf("%w: the COD verifier needs both the exporters' and the officials' trust", ErrUntrustedSigner)
	}
	p, err := findCOD(doc)
	if err != nil {
		return nil, fmt.Errorf("COD: %w", err)
	}
	exporter, err := v.verifyPart(ctx, doc, p.exporterSig, "COD", v.Exporters)
	if err != nil {
		return nil, err
	}
	if p.officialSig == nil {
		return nil, fmt.Errorf("COD: %w: the certifying official has not signed (no ds:Signature after CODEH)", ErrNoSignature)
	}
	if p.eh == nil {
		return nil, fmt.Errorf("COD: %w: CODEH lacks EH and CertificationEH", ErrReference)
	}
	official, err := v.verifyPart(ctx, doc, p.officialSig, "CODEH", v.Officials)
	if err != nil {
		return nil, err
	}
	if err := unsignedContent(doc.Root(), p); err != nil {
		return nil, fmt.Errorf("COD: %w: %v", ErrUnsignedContent, err)
	}
	return &VerifiedCOD{CODEH: official.Element, Exporter: exporter, Official: official}, nil
}

// VerifyExporter verifies the exporter's signature of a COD and the
// exporter's certificate (with v.Exporters), whether or not the certifying
// entity has added its part and signed yet: what the entity runs before
// certifying. It returns the COD element as signed.
func (v *CODVerifier) VerifyExporter(ctx context.Context, data []byte) (*Verified, error) {
	if v.Exporters == nil {
		return nil, fmt.Errorf("%w: the COD verifier has no exporters' trust", ErrUntrustedSigner)
	}
	doc, err := xmlsafe.Parse(data, v.Limits)
	if err != nil {
		return nil, err
	}
	p, err := findCOD(doc)
	if err != nil {
		return nil, fmt.Errorf("COD: %w", err)
	}
	return v.verifyPart(ctx, doc, p.exporterSig, "COD", v.Exporters)
}

// verifyPart verifies the signature at sig (nil: missing) over #id and its
// signer's certificate.
func (v *CODVerifier) verifyPart(ctx context.Context, doc *etree.Document, sig *etree.Element, id string, trust *Verifier) (*Verified, error) {
	role := map[string]string{"COD": "exporter", "CODEH": "certifying official"}[id]
	if sig == nil {
		return nil, fmt.Errorf("COD: %w: the %s has not signed (no ds:Signature after %s)", ErrNoSignature, role, id)
	}
	// The signature in the exporter's (official's) place must be over
	// #COD (#CODEH) and nothing else.
	uris := referenceURIs(sig)
	if len(uris) != 1 || uris[0] != "#"+id {
		return nil, fmt.Errorf("COD: %w: the %s's ds:Signature references %q, want just \"#%s\"", ErrReference, role, uris, id)
	}
	sv, used, err := verifySibling(doc, id, v.policy(id))
	if err != nil {
		return nil, fmt.Errorf("COD %s: %w", role, err)
	}
	if used != sig {
		return nil, fmt.Errorf("COD %s: %w: the signature verified is not the one in the %s's place", role, ErrReference, role)
	}
	chain, err := trust.CheckSigner(ctx, sv.Certificates)
	if err != nil {
		return nil, fmt.Errorf("COD %s: %w", role, err)
	}
	return &Verified{Element: sv.Element, Signer: sv.Signer, Chain: chain}, nil
}

// unsignedContent refuses what a complete COD carries outside its two
// signed parts: the Envelope's optional Header, attributes and text on
// the Envelope or CertOrigin. The schema allows a Header, but nobody signs
// it, so "CERTIFICADO ANULADO" placed there would read, on a screen or a
// printed copy, as part of a certificate whose signatures still verify.
func unsignedContent(root *etree.Element, p *codParts) error {
	certOrigin := p.codeh.Parent()
	for _, el := range []*etree.Element{root, certOrigin} {
		for _, a := range el.Attr {
			// Namespace declarations and schema hints (xsi:schemaLocation)
			// say nothing a reader could take for the certificate's.
			if a.Space != "xmlns" && !(a.Space == "" && a.Key == "xmlns") && a.NamespaceURI() != xsiNamespace {
				return fmt.Errorf("attribute %s on <%s>", a.FullKey(), el.FullTag())
			}
		}
		for _, t := range el.Child {
			switch t := t.(type) {
			case *etree.Element:
				if t != certOrigin && t != p.codeh && t != p.officialSig {
					return fmt.Errorf("<%s> in <%s>: only CertOrigin, CODEH and the official's signature may be there", t.FullTag(), el.FullTag())
				}
			case *etree.CharData:
				if strings.TrimSpace(t.Data) != "" {
					return fmt.Errorf("text %q in <%s>", truncate(strings.TrimSpace(t.Data), 40), el.FullTag())
				}
			}
		}
	}
	return nil
}

const xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
