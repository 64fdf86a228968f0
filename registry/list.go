package registry

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/certs"
)

// Namespace is the XML namespace of an officials list.
const Namespace = "urn:vucelink:officials:1"

// RootTag is the local name of a list's root element.
const RootTag = "OfficialsList"

// Errors callers branch on.
var (
	// ErrInvalidList: the list is not a well-formed officials list
	// (structure, values, duplicates), whatever its signature.
	ErrInvalidList = errors.New("invalid officials list")
	// ErrWrongCountry: the list is another country's.
	ErrWrongCountry = errors.New("officials list of another country")
	// ErrRollback: the list's sequence is lower than that of the list in
	// force.
	ErrRollback = errors.New("officials list older than the one in force")
	// ErrSequenceReused: the list has the sequence of the list in force
	// but other content.
	ErrSequenceReused = errors.New("officials list sequence reused with other content")

	// The authorization errors; each also matches certs.ErrNotAuthorized.

	// ErrNoList: no list of the country is in force.
	ErrNoList error = authError("no officials list in force")
	// ErrNotListed: the certificate is not in the list.
	ErrNotListed error = authError("certificate not in the officials list")
	// ErrDocumentType: the official may not sign this document type.
	ErrDocumentType error = authError("not authorized for the document type")
	// ErrNotYetAuthorized: the official's period of authorization has not
	// begun.
	ErrNotYetAuthorized error = authError("authorization not yet valid")
	// ErrAuthorizationEnded: the official's period of authorization is
	// over.
	ErrAuthorizationEnded error = authError("authorization ended")
	// ErrRevoked: the official's authorization was revoked.
	ErrRevoked error = authError("authorization revoked")
)

// authError is an authorization sentinel: a refinement of
// certs.ErrNotAuthorized, so that certs.Verifier and whoever classifies its
// errors treat it as one.
type authError string

func (e authError) Error() string { return string(e) }
func (e authError) Unwrap() error { return certs.ErrNotAuthorized }

// List is one country's list of authorized officials.
type List struct {
	Country    string // ISO 3166 alpha-2
	Sequence   uint64 // higher is newer; never reused
	IssuedAt   time.Time
	NextUpdate time.Time // a newer list is due by then
	Officials  []Official

	// Signer is the root certificate that signed the list (set by Verify).
	Signer *x509.Certificate

	index map[[sha256.Size]byte]int
}

// Official is one entry: a certificate and what its holder may sign, when.
type Official struct {
	ID     string // unique within the list
	Name   string
	Agency string // e.g. SAG, ICA, SENASICA, SENASA
	// Documents are the document types the official may sign (e.g. sps).
	Documents []string
	// ValidFrom (inclusive) and ValidUntil (exclusive) bound the period of
	// authorization.
	ValidFrom, ValidUntil time.Time
	Certificate           *x509.Certificate
	Revoked               *Revocation // nil unless revoked
}

// Revocation says when an authorization ended early, and why.
type Revocation struct {
	At     time.Time
	Reason string
}

// Fingerprint is the SHA-256 of a certificate's DER encoding, in hex: how
// lists and commands name a certificate.
func Fingerprint(c *x509.Certificate) string {
	s := sha256.Sum256(c.Raw)
	return fmt.Sprintf("%x", s[:])
}

// Lookup returns the entry for cert (the exact certificate, by its DER).
func (l *List) Lookup(cert *x509.Certificate) (*Official, bool) {
	if l == nil || cert == nil {
		return nil, false
	}
	if l.index == nil { // a List built by hand, not by check
		for i := range l.Officials {
			if l.Officials[i].Certificate != nil && l.Officials[i].Certificate.Equal(cert) {
				return &l.Officials[i], true
			}
		}
		return nil, false
	}
	i, ok := l.index[sha256.Sum256(cert.Raw)]
	if !ok {
		return nil, false
	}
	return &l.Officials[i], true
}

func (l *List) buildIndex() {
	l.index = make(map[[sha256.Size]byte]int, len(l.Officials))
	for i, o := range l.Officials {
		l.index[sha256.Sum256(o.Certificate.Raw)] = i
	}
}

// Authorize returns nil if cert may sign a document of type docType at
// time at according to the list, else an error wrapping ErrNotListed,
// ErrRevoked, ErrNotYetAuthorized, ErrAuthorizationEnded or
// ErrDocumentType (checked in that order), naming the certificate's
// subject.
func (l *List) Authorize(cert *x509.Certificate, docType string, at time.Time) error {
	if cert == nil {
		return fmt.Errorf("%w: no certificate", ErrNotListed)
	}
	who := fmt.Sprintf("signer %q", cert.Subject.String())
	if l == nil {
		return fmt.Errorf("%s: %w", who, ErrNoList)
	}
	o, ok := l.Lookup(cert)
	switch {
	case !ok:
		return fmt.Errorf("%s: %w of %s (sequence %d)", who, ErrNotListed, l.Country, l.Sequence)
	case o.Revoked != nil && !at.Before(o.Revoked.At):
		reason := o.Revoked.Reason
		if reason == "" {
			reason = "no reason given"
		}
		return fmt.Errorf("%s (official %s): %w at %s (%s)", who, o.ID, ErrRevoked, stamp(o.Revoked.At), reason)
	case at.Before(o.ValidFrom):
		return fmt.Errorf("%s (official %s): %w: authorized from %s", who, o.ID, ErrNotYetAuthorized, stamp(o.ValidFrom))
	case !at.Before(o.ValidUntil):
		return fmt.Errorf("%s (official %s): %w at %s", who, o.ID, ErrAuthorizationEnded, stamp(o.ValidUntil))
	case !slices.Contains(o.Documents, docType):
		return fmt.Errorf("%s (official %s): %w %q, only for %s", who, o.ID, ErrDocumentType, docType, strings.Join(o.Documents, ", "))
	}
	return nil
}

// Expired reports whether the list is past its NextUpdate plus grace at
// time at: stale, though still in force.
func (l *List) Expired(at time.Time, grace time.Duration) bool {
	return l != nil && at.After(l.NextUpdate.Add(grace))
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// check validates a list's values, whether built or parsed, and indexes it.
func (l *List) check() error {
	if err := checkCountry(l.Country); err != nil {
		return err
	}
	if l.Sequence == 0 {
		return fmt.Errorf("%w: sequence must be at least 1", ErrInvalidList)
	}
	if l.IssuedAt.IsZero() || !l.NextUpdate.After(l.IssuedAt) {
		return fmt.Errorf("%w: next update %s is not after issue %s", ErrInvalidList, stamp(l.NextUpdate), stamp(l.IssuedAt))
	}
	ids := map[string]bool{}
	certsSeen := map[[sha256.Size]byte]string{}
	for i, o := range l.Officials {
		where := fmt.Sprintf("official %d (%s)", i+1, o.ID)
		switch {
		case o.ID == "" || strings.ContainsFunc(o.ID, isSpace):
			return fmt.Errorf("%w: official %d: ID %q must be non-empty, without spaces", ErrInvalidList, i+1, o.ID)
		case ids[o.ID]:
			return fmt.Errorf("%w: %s: ID appears twice", ErrInvalidList, where)
		case strings.TrimSpace(o.Name) == "":
			return fmt.Errorf("%w: %s: no name", ErrInvalidList, where)
		case strings.TrimSpace(o.Agency) == "":
			return fmt.Errorf("%w: %s: no agency", ErrInvalidList, where)
		case len(o.Documents) == 0:
			return fmt.Errorf("%w: %s: no document types", ErrInvalidList, where)
		case o.ValidFrom.IsZero() || !o.ValidUntil.After(o.ValidFrom):
			return fmt.Errorf("%w: %s: authorized until %s, not after %s", ErrInvalidList, where, stamp(o.ValidUntil), stamp(o.ValidFrom))
		case o.Certificate == nil:
			return fmt.Errorf("%w: %s: no certificate", ErrInvalidList, where)
		case o.Revoked != nil && o.Revoked.At.IsZero():
			return fmt.Errorf("%w: %s: revoked without a time", ErrInvalidList, where)
		}
		seen := map[string]bool{}
		for _, d := range o.Documents {
			if d == "" || strings.ContainsFunc(d, isSpace) || strings.Contains(d, ",") || seen[d] {
				return fmt.Errorf("%w: %s: document type %q empty, repeated or with a space or comma", ErrInvalidList, where, d)
			}
			seen[d] = true
		}
		k := sha256.Sum256(o.Certificate.Raw)
		if other, dup := certsSeen[k]; dup {
			return fmt.Errorf("%w: %s: the certificate is also official %s's", ErrInvalidList, where, other)
		}
		certsSeen[k] = o.ID
		ids[o.ID] = true
	}
	l.buildIndex()
	return nil
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

func checkCountry(cc string) error {
	if len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' {
		return fmt.Errorf("%w: country %q is not an ISO 3166 alpha-2 code in capitals", ErrInvalidList, cc)
	}
	return nil
}

// element builds the unsigned XML of the list.
func (l *List) element() *etree.Element {
	root := etree.NewElement(RootTag)
	root.CreateAttr("xmlns", Namespace)
	add := func(parent *etree.Element, tag, text string) {
		parent.CreateElement(tag).SetText(text)
	}
	add(root, "Country", l.Country)
	add(root, "Sequence", strconv.FormatUint(l.Sequence, 10))
	add(root, "IssuedAt", stamp(l.IssuedAt))
	add(root, "NextUpdate", stamp(l.NextUpdate))
	for _, o := range l.Officials {
		e := root.CreateElement("Official")
		add(e, "ID", o.ID)
		add(e, "Name", o.Name)
		add(e, "Agency", o.Agency)
		docs := e.CreateElement("Documents")
		for _, d := range o.Documents {
			add(docs, "Document", d)
		}
		add(e, "ValidFrom", stamp(o.ValidFrom))
		add(e, "ValidUntil", stamp(o.ValidUntil))
		add(e, "Certificate", base64.StdEncoding.EncodeToString(o.Certificate.Raw))
		if o.Revoked != nil {
			r := e.CreateElement("Revoked")
			add(r, "At", stamp(o.Revoked.At))
			add(r, "Reason", o.Revoked.Reason)
		}
	}
	return root
}

// Marshal returns the list's XML, unsigned (Sign signs it).
func (l *List) Marshal() ([]byte, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(l.element())
	doc.Indent(2)
	return doc.WriteToBytes()
}

// Sign returns the list's XML signed by signer, the country's root CA.
func (l *List) Sign(signer *certs.Signer) ([]byte, error) {
	data, err := l.Marshal()
	if err != nil {
		return nil, err
	}
	return signer.Sign(data)
}

// parseList reads a list from the element its signature covers. Elements
// must come in order, in the Namespace, without attributes other than
// namespace declarations.
func parseList(root *etree.Element) (*List, error) {
	if root.Tag != RootTag || root.NamespaceURI() != Namespace {
		return nil, fmt.Errorf("%w: root element <%s> in namespace %q, want <%s> in %q", ErrInvalidList, root.Tag, root.NamespaceURI(), RootTag, Namespace)
	}
	c := newCursor(root)
	l := &List{}
	l.Country = c.text("Country")
	seq := c.text("Sequence")
	l.IssuedAt = c.time("IssuedAt")
	l.NextUpdate = c.time("NextUpdate")
	if c.err == nil {
		var err error
		if l.Sequence, err = strconv.ParseUint(seq, 10, 64); err != nil {
			c.fail("Sequence %q is not a number", seq)
		}
	}
	for c.err == nil && c.next("Official") {
		oc := newCursor(c.take())
		o := Official{
			ID:     oc.text("ID"),
			Name:   oc.text("Name"),
			Agency: oc.text("Agency"),
		}
		if docs := oc.elem("Documents"); docs != nil {
			dc := newCursor(docs)
			for dc.err == nil && dc.next("Document") {
				o.Documents = append(o.Documents, dc.text("Document"))
			}
			dc.end()
			oc.setErr(dc.err)
		}
		o.ValidFrom = oc.time("ValidFrom")
		o.ValidUntil = oc.time("ValidUntil")
		der := oc.text("Certificate")
		if oc.next("Revoked") {
			rc := newCursor(oc.take())
			o.Revoked = &Revocation{At: rc.time("At"), Reason: rc.text("Reason")}
			rc.end()
			oc.setErr(rc.err)
		}
		oc.end()
		if oc.err == nil {
			b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(der), ""))
			if err == nil {
				o.Certificate, err = x509.ParseCertificate(b)
			}
			if err != nil {
				oc.fail("Certificate: %v", err)
			}
		}
		if oc.err != nil {
			return nil, fmt.Errorf("official %d: %w", len(l.Officials)+1, oc.err)
		}
		l.Officials = append(l.Officials, o)
	}
	c.end()
	if c.err != nil {
		return nil, c.err
	}
	if err := l.check(); err != nil {
		return nil, err
	}
	return l, nil
}

// cursor walks an element's children in order.
type cursor struct {
	parent *etree.Element
	kids   []*etree.Element
	i      int
	err    error
}

func newCursor(e *etree.Element) *cursor {
	c := &cursor{parent: e, kids: e.ChildElements()}
	c.noAttrs(e)
	return c
}

func (c *cursor) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: <%s>: %s", ErrInvalidList, c.parent.Tag, fmt.Sprintf(format, args...))
	}
}

func (c *cursor) setErr(err error) {
	if c.err == nil {
		c.err = err
	}
}

func (c *cursor) noAttrs(e *etree.Element) {
	for _, a := range e.Attr {
		if a.Space != "xmlns" && !(a.Space == "" && a.Key == "xmlns") {
			c.fail("unexpected attribute %s on <%s>", a.FullKey(), e.Tag)
		}
	}
}

// next reports whether the next child is <tag>.
func (c *cursor) next(tag string) bool {
	return c.i < len(c.kids) && c.kids[c.i].Tag == tag && c.kids[c.i].NamespaceURI() == Namespace
}

// take returns the next child.
func (c *cursor) take() *etree.Element {
	e := c.kids[c.i]
	c.i++
	return e
}

// elem returns the next child, which must be <tag>.
func (c *cursor) elem(tag string) *etree.Element {
	if c.err != nil {
		return nil
	}
	if !c.next(tag) {
		found := "nothing"
		if c.i < len(c.kids) {
			found = fmt.Sprintf("<%s> in %q", c.kids[c.i].Tag, c.kids[c.i].NamespaceURI())
		}
		c.fail("want <%s>, found %s", tag, found)
		return nil
	}
	e := c.take()
	c.noAttrs(e)
	return e
}

// text returns the text of the next child, <tag>, which must have no child
// elements; surrounding whitespace is trimmed.
func (c *cursor) text(tag string) string {
	e := c.elem(tag)
	if e == nil {
		return ""
	}
	if len(e.ChildElements()) > 0 {
		c.fail("<%s> has child elements", tag)
		return ""
	}
	var sb strings.Builder
	for _, t := range e.Child {
		if d, ok := t.(*etree.CharData); ok {
			sb.WriteString(d.Data)
		}
	}
	return strings.TrimSpace(sb.String())
}

func (c *cursor) time(tag string) time.Time {
	s := c.text(tag)
	if c.err != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		c.fail("<%s> %q is not an RFC 3339 time", tag, s)
	}
	return t.UTC()
}

// end checks that no child is left, and that the element holds no text
// beside its children.
func (c *cursor) end() {
	if c.err == nil && c.i < len(c.kids) {
		c.fail("unexpected <%s> in %q", c.kids[c.i].Tag, c.kids[c.i].NamespaceURI())
	}
	for _, t := range c.parent.Child {
		if d, ok := t.(*etree.CharData); ok && strings.TrimSpace(d.Data) != "" {
			c.fail("unexpected text %q", strings.TrimSpace(d.Data))
		}
	}
}
