package proxy

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/beevik/etree"
)

// DocumentSpec knows where a standard document keeps the facts the proxy
// routes on: its ID and its destination country. Paths are slash-separated
// qualified names; prefixes are matched by namespace URI, never by the
// prefix a sender happened to use.
//
// A document may be signed as a whole (the signed element is the root) or,
// like the ALADI certificate of origin, in a part (CODEH): then the signed
// element is what the receiving side gets after verification, and the ID
// and destination paths are relative to it on both sides.
type DocumentSpec struct {
	Type        string
	root        qname
	signed      []qname // path from the root to the signed element; nil: the root
	id          []qname
	destination []qname
}

// qname is a name matched by namespace URI; prefix is the configuration's,
// kept only to write paths a reader recognizes.
type qname struct{ space, local, prefix string }

// NewDocumentSpec compiles the paths of a document type's configuration;
// signed may be empty (the whole document is signed).
func NewDocumentSpec(docType, root, signed, id, destination string, namespaces map[string]string) (*DocumentSpec, error) {
	s := &DocumentSpec{Type: docType}
	rq, err := compilePath(root, namespaces)
	if err != nil || len(rq) != 1 {
		return nil, fmt.Errorf("documents.%s.root: %q is not a single qualified name", docType, root)
	}
	s.root = rq[0]
	if signed != "" {
		if s.signed, err = compilePath(signed, namespaces); err != nil {
			return nil, fmt.Errorf("documents.%s.signed: %w", docType, err)
		}
	}
	if s.id, err = compilePath(id, namespaces); err != nil {
		return nil, fmt.Errorf("documents.%s.id: %w", docType, err)
	}
	if destination != "" {
		if s.destination, err = compilePath(destination, namespaces); err != nil {
			return nil, fmt.Errorf("documents.%s.destination: %w", docType, err)
		}
	}
	return s, nil
}

func compilePath(path string, namespaces map[string]string) ([]qname, error) {
	var out []qname
	for _, step := range strings.Split(path, "/") {
		prefix, local, ok := strings.Cut(step, ":")
		if !ok {
			prefix, local = "", step
		}
		if local == "" {
			return nil, fmt.Errorf("empty step in path %q", path)
		}
		uri := ""
		if prefix != "" {
			if uri, ok = namespaces[prefix]; !ok {
				return nil, fmt.Errorf("prefix %q in path %q is not declared", prefix, path)
			}
		}
		out = append(out, qname{uri, local, prefix})
	}
	return out, nil
}

func (q qname) matches(e *etree.Element) bool {
	return e.Tag == q.local && e.NamespaceURI() == q.space
}

// CheckRoot reports whether root is the element the receiving side uses:
// the document's root, or its signed part.
func (s *DocumentSpec) CheckRoot(root *etree.Element) error {
	want := s.root
	if len(s.signed) > 0 {
		want = s.signed[len(s.signed)-1]
	}
	if root == nil || !want.matches(root) {
		got := "nothing"
		if root != nil {
			got = fmt.Sprintf("{%s}%s", root.NamespaceURI(), root.Tag)
		}
		return fmt.Errorf("root element is %s, want {%s}%s for document type %s", got, want.space, want.local, s.Type)
	}
	return nil
}

// Signed returns the signed element of a document: from the root on the
// sending side, or the element itself when it already is the signed part
// (the receiving side, after verification).
func (s *DocumentSpec) Signed(e *etree.Element) (*etree.Element, error) {
	if len(s.signed) == 0 || (!s.root.matches(e) && s.signed[len(s.signed)-1].matches(e)) {
		return e, nil
	}
	for _, q := range s.signed {
		var next *etree.Element
		for _, c := range e.ChildElements() {
			if q.matches(c) {
				next = c
				break
			}
		}
		if next == nil {
			return nil, fmt.Errorf("the signed part %s of the %s document is missing", s.pathString(s.signed), s.Type)
		}
		e = next
	}
	return e, nil
}

var countryCode = regexp.MustCompile(`^[A-Z]{2}$`)

// ID returns the document's own ID.
func (s *DocumentSpec) ID(root *etree.Element) (string, error) {
	root, err := s.Signed(root)
	if err != nil {
		return "", err
	}
	v := lookup(root, s.id)
	if v == "" {
		return "", fmt.Errorf("document ID not found at %s", s.pathString(s.id))
	}
	return v, nil
}

// HasDestination reports whether the document type says where its
// destination country is.
func (s *DocumentSpec) HasDestination() bool { return s.destination != nil }

// Destination returns the destination country (ISO alpha-2).
func (s *DocumentSpec) Destination(root *etree.Element) (string, error) {
	if s.destination == nil {
		return "", fmt.Errorf("document type %s has no destination path configured", s.Type)
	}
	root, err := s.Signed(root)
	if err != nil {
		return "", err
	}
	v := lookup(root, s.destination)
	if !countryCode.MatchString(v) {
		return "", fmt.Errorf("destination country at %s is %q, want an ISO 3166 alpha-2 code", s.pathString(s.destination), v)
	}
	return v, nil
}

func (s *DocumentSpec) pathString(p []qname) string {
	parts := make([]string, len(p))
	for i, q := range p {
		parts[i] = q.local
	}
	return strings.Join(parts, "/")
}

func lookup(e *etree.Element, path []qname) string {
	for _, q := range path {
		var next *etree.Element
		for _, c := range e.ChildElements() {
			if q.matches(c) {
				next = c
				break
			}
		}
		if next == nil {
			return ""
		}
		e = next
	}
	return strings.TrimSpace(e.Text())
}

// Standalone returns the verified part of a document as a document the
// type's schema can validate: the element itself when the whole document
// is signed, else the element inside fresh, empty copies of the ancestors
// the signed path names (for a certificate of origin, CODEH inside
// Envelope and CertOrigin). Nothing unsigned is carried over: the
// ancestors are rebuilt from the configuration, not taken from the input.
func (s *DocumentSpec) Standalone(e *etree.Element) *etree.Element {
	if len(s.signed) == 0 || e == nil {
		return e
	}
	// The configuration's prefixes, so that a violation's path reads as
	// the configuration writes it; the element's own declarations (which
	// it carries, being canonicalized) shadow them inside it.
	steps := append([]qname{s.root}, s.signed[:len(s.signed)-1]...)
	var top, cur *etree.Element
	for i, q := range steps {
		el := etree.NewElement(q.local)
		if q.space != "" {
			prefix := q.prefix
			if prefix == "" {
				prefix = fmt.Sprintf("ns%d", i)
			}
			el.Space = prefix
			el.CreateAttr("xmlns:"+prefix, q.space)
		}
		if top == nil {
			top = el
		} else {
			cur.AddChild(el)
		}
		cur = el
	}
	cur.AddChild(e.Copy())
	return top
}
