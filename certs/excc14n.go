package certs

import (
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/beevik/etree"
)

// Exclusive XML Canonicalization 1.0 (without comments, no InclusiveNamespaces
// prefix list) written straight into a hash, in one walk over the parsed
// tree: what vucelink signs with and what its partners' signatures over
// vucelink documents use.
//
// goxmldsig canonicalizes by transforming a copy of the tree and then
// serializing it, with a map of the namespaces in scope copied at every
// element; on a certificate with 1,000 line items that was half the cost of
// signing, and its verification then parsed the canonical bytes again to
// hand back a tree. Here nothing is copied: the namespaces in scope and
// those already rendered are two stacks of (prefix, URI) pairs, looked up
// from the top (documents declare a handful), and each element's attributes
// are sorted in one scratch slice reused for the whole walk.
//
// It also gets right the two things goxmldsig's canonical form gets wrong,
// which made xmlsec1 reject vucelink's signatures: attributes are ordered by
// namespace URI, then local name (C14N 1.0 section 2.2: xml:lang, in the XML
// namespace, sorts after xsi:schemaLocation, whose URI is
// http://www.w3.org/2001/XMLSchema-instance); and a reference to the whole
// document (URI="") covers the processing instructions outside the root
// element too, the XML declaration excepted (section 2.1: the document
// node's children; comments are left out under this algorithm).

// xmlNamespace is the namespace bound to the prefix xml in every document.
const xmlNamespace = "http://www.w3.org/XML/1998/namespace"

// errUnboundPrefix: a prefix used without a declaration in scope. xmlsafe
// refuses such documents; a tree built in memory may still have one.
var errUnboundPrefix = errors.New("prefix not declared")

// nsBinding is one namespace declaration: prefix ("" for the default
// namespace) and URI ("" undeclares the default namespace).
type nsBinding struct{ prefix, uri string }

// c14nAttr is an attribute ready for sorting: its namespace URI and local
// name are the sort key.
type c14nAttr struct {
	uri *string
	a   *etree.Attr
}

// excCanon holds the state of one canonicalization. Its slices are scratch
// space reused across elements.
type excCanon struct {
	out []byte // the output block, kept between documents (canonicalDigest)
	h   hash.Hash

	inScope  []nsBinding // every declaration on the path from the top, outermost first
	rendered []nsBinding // declarations output on the path, outermost first

	skip *etree.Element // the enveloped signature, left out with its subtree

	decls []nsBinding
	err   error
}

const c14nBlock = 8 << 10

// canonicalDigest writes the exclusive canonical form of e, without the
// element skip (the enveloped signature, or nil), into h. With document
// set, e is a document's root element and the form is that of the whole
// document: the processing instructions beside the root are included.
// Namespaces declared on e's ancestors are in scope, as the algorithm
// requires for a subtree (SignedInfo inside Signature).
func canonicalDigest(h hash.Hash, e, skip *etree.Element, document bool) error {
	c := canonPool.Get().(*excCanon)
	defer c.release()
	c.h, c.skip = h, skip
	c.inherit(e)
	var doc *etree.Element
	if document {
		doc = e.Parent()
	}
	// The output is passed along rather than kept in c: appending to a
	// slice in c wrote its pointer back each time, a write barrier while
	// the collector runs.
	out := c.out[:0]
	if doc == nil {
		out = c.element(out, e)
	} else {
		out = c.document(out, doc, e)
	}
	c.out = c.flush(out)
	return c.err
}

// canonPool keeps canonicalizers with their scratch space (the output
// block, the namespace stacks), so that a signature costs no allocation
// for them once the pool is warm.
var canonPool = sync.Pool{New: func() any { return &excCanon{out: make([]byte, 0, c14nBlock+512)} }}

// release clears c of its last document and returns it to the pool.
func (c *excCanon) release() {
	clear(c.inScope)
	clear(c.rendered)
	clear(c.decls)
	*c = excCanon{out: c.out[:0], inScope: c.inScope[:0], rendered: c.rendered[:0], decls: c.decls[:0]}
	canonPool.Put(c)
}

// canonicalBytes returns the exclusive canonical form of e.
func canonicalBytes(e *etree.Element) ([]byte, error) {
	var b bytesHash
	err := canonicalDigest(&b, e, nil, false)
	return b.b, err
}

// inherit puts the declarations of e's ancestors in scope, nearest last.
func (c *excCanon) inherit(e *etree.Element) {
	var path []*etree.Element
	for p := e.Parent(); p != nil; p = p.Parent() {
		path = append(path, p)
	}
	for i := len(path) - 1; i >= 0; i-- {
		c.declare(path[i])
	}
}

// declare pushes e's namespace declarations onto inScope.
func (c *excCanon) declare(e *etree.Element) {
	for i := range e.Attr {
		a := &e.Attr[i]
		switch {
		case a.Space == "xmlns":
			c.inScope = append(c.inScope, nsBinding{a.Key, a.Value})
		case a.Space == "" && a.Key == "xmlns":
			c.inScope = append(c.inScope, nsBinding{"", a.Value})
		}
	}
}

// document writes the document node's children: the root element, and the
// processing instructions before it (each followed by a line feed) and
// after it (each preceded by one). Comments, the XML declaration and the
// whitespace between them are not part of the canonical form.
func (c *excCanon) document(out []byte, doc, root *etree.Element) []byte {
	after := false
	for _, t := range doc.Child {
		switch n := t.(type) {
		case *etree.Element:
			if n == root {
				out = c.element(out, n)
				after = true
			}
		case *etree.ProcInst:
			if n.Target == "xml" {
				continue
			}
			if after {
				out = append(out, '\n')
			}
			out = procInst(out, n)
			if !after {
				out = append(out, '\n')
			}
		}
	}
	return out
}

func procInst(out []byte, p *etree.ProcInst) []byte {
	out = append(out, "<?"...)
	out = append(out, p.Target...)
	if p.Inst != "" {
		out = append(out, ' ')
		out = append(out, p.Inst...)
	}
	return append(out, "?>"...)
}

// lookup returns the URI bound to prefix in stack, and whether it is bound.
func lookup(stack []nsBinding, prefix string) (string, bool) {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].prefix == prefix {
			return stack[i].uri, true
		}
	}
	return "", false
}

// element writes e and its subtree.
func (c *excCanon) element(out []byte, e *etree.Element) []byte {
	if c.err != nil {
		return out
	}
	scope, rend := len(c.inScope), len(c.rendered)
	c.declare(e)

	// The namespaces e visibly utilizes: its own prefix (the default
	// namespace if none) and its attributes' prefixes.
	c.decls = c.decls[:0]
	c.utilize(e.Space, e)
	// Attributes are sorted in an array on the stack (more than a few go
	// to the heap): a slice in c cost a write barrier for every entry
	// while the collector runs.
	var few [8]c14nAttr
	attrs := few[:0]
	for i := range e.Attr {
		a := &e.Attr[i]
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		ca := c14nAttr{a: a, uri: &emptyURI}
		switch a.Space {
		case "":
		case "xml":
			ca.uri = &xmlURI
		default:
			c.utilize(a.Space, e)
			ca.uri = c.uriOf(a.Space)
		}
		attrs = append(attrs, ca)
	}
	if c.err != nil {
		return out
	}
	sortDecls(c.decls)
	sortAttrs(attrs)

	out = append(out, '<')
	out = c14nName(out, e.Space, e.Tag)
	for _, d := range c.decls {
		if d.prefix == "" {
			out = append(out, " xmlns=\""...)
		} else {
			out = append(out, " xmlns:"...)
			out = append(out, d.prefix...)
			out = append(out, '=', '"')
		}
		out = escaped(out, d.uri, &attrEscapes)
		out = append(out, '"')
	}
	if len(c.decls) > 0 { // appending nothing would still write c.rendered back, with a barrier
		c.rendered = append(c.rendered, c.decls...)
	}
	for _, a := range attrs {
		out = append(out, ' ')
		out = c14nName(out, a.a.Space, a.a.Key)
		out = append(out, '=', '"')
		out = escaped(out, a.a.Value, &attrEscapes)
		out = append(out, '"')
	}
	out = append(out, '>')

	for _, t := range e.Child {
		switch n := t.(type) {
		case *etree.Element:
			if n != c.skip {
				out = c.element(out, n)
			}
		case *etree.CharData:
			out = escaped(out, n.Data, &textEscapes)
		case *etree.ProcInst:
			out = procInst(out, n)
		}
		if len(out) >= c14nBlock {
			out = c.flush(out)
		}
	}
	out = append(out, '<', '/')
	out = c14nName(out, e.Space, e.Tag)
	out = append(out, '>')
	c.inScope, c.rendered = c.inScope[:scope], c.rendered[:rend]
	return out
}

var emptyURI, xmlURI = "", xmlNamespace

// uriOf returns the URI bound to a (non-empty) prefix in scope.
func (c *excCanon) uriOf(prefix string) *string {
	for i := len(c.inScope) - 1; i >= 0; i-- {
		if c.inScope[i].prefix == prefix {
			return &c.inScope[i].uri
		}
	}
	return &emptyURI
}

// utilize records that e visibly utilizes prefix and, unless the nearest
// output ancestor rendered the same binding, that e must declare it.
func (c *excCanon) utilize(prefix string, e *etree.Element) {
	if prefix == "xml" {
		return
	}
	for _, d := range c.decls {
		if d.prefix == prefix {
			return
		}
	}
	uri, bound := lookup(c.inScope, prefix)
	if !bound && prefix != "" {
		if c.err == nil {
			c.err = fmt.Errorf("%w: %s on <%s>", errUnboundPrefix, prefix, e.FullTag())
		}
		return
	}
	had, ok := lookup(c.rendered, prefix)
	if ok && had == uri {
		return
	}
	if !ok && prefix == "" && uri == "" {
		// No default namespace, and none rendered above: nothing to undo.
		return
	}
	c.decls = append(c.decls, nsBinding{prefix, uri})
}

// sortDecls sorts namespace declarations by prefix, the default first.
// Elements declare a few, so insertion sort it is.
func sortDecls(d []nsBinding) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j].prefix < d[j-1].prefix; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

// sortAttrs sorts attributes by namespace URI (unqualified ones, with none,
// first), then local name. Insertion sort for the usual handful; a hostile
// element with many attributes (xmlsafe allows 256) falls back to a merge.
func sortAttrs(a []c14nAttr) {
	if len(a) > 16 {
		mergeSortAttrs(a, make([]c14nAttr, len(a)))
		return
	}
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && attrLess(a[j], a[j-1]); j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func attrLess(x, y c14nAttr) bool {
	if *x.uri != *y.uri {
		return *x.uri < *y.uri
	}
	return x.a.Key < y.a.Key
}

func mergeSortAttrs(a, tmp []c14nAttr) {
	if len(a) < 2 {
		return
	}
	m := len(a) / 2
	mergeSortAttrs(a[:m], tmp[:m])
	mergeSortAttrs(a[m:], tmp[m:])
	copy(tmp, a)
	i, j, k := 0, m, 0
	for i < m && j < len(a) {
		if attrLess(tmp[j], tmp[i]) {
			a[k] = tmp[j]
			j++
		} else {
			a[k] = tmp[i]
			i++
		}
		k++
	}
	k += copy(a[k:], tmp[i:m])
	copy(a[k:], tmp[j:])
}

// c14nName appends a qualified name.
func c14nName(out []byte, space, local string) []byte {
	if space != "" {
		out = append(out, space...)
		out = append(out, ':')
	}
	return append(out, local...)
}

// C14N's escapes: in character data &, <, > and carriage return; in
// attribute values &, <, ", tab, line feed and carriage return.
var textEscapes, attrEscapes [256]string

func init() {
	for c, e := range map[byte]string{'&': "&amp;", '<': "&lt;", '>': "&gt;", '\r': "&#xD;"} {
		textEscapes[c] = e
	}
	for c, e := range map[byte]string{'&': "&amp;", '<': "&lt;", '"': "&quot;", '\t': "&#x9;", '\n': "&#xA;", '\r': "&#xD;"} {
		attrEscapes[c] = e
	}
}

// escaped appends s with each byte that has an escape in table replaced
// by it (every escaped byte is ASCII, so UTF-8 sequences pass untouched):
// textEscapes for character data, attrEscapes for attribute values.
func escaped(out []byte, s string, table *[256]string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		esc := table[s[i]]
		if esc == "" {
			continue
		}
		out = append(out, s[last:i]...)
		out = append(out, esc...)
		last = i + 1
	}
	return append(out, s[last:]...)
}

// flush writes out to the hash and returns it emptied.
func (c *excCanon) flush(out []byte) []byte {
	c.h.Write(out)
	return out[:0]
}

// bytesHash is a hash.Hash that keeps what is written: the canonical bytes
// themselves, for tests and for SignedInfo.
type bytesHash struct{ b []byte }

func (b *bytesHash) Write(p []byte) (int, error) { b.b = append(b.b, p...); return len(p), nil }
func (b *bytesHash) Sum(in []byte) []byte        { return append(in, b.b...) }
func (b *bytesHash) Reset()                      { b.b = b.b[:0] }
func (b *bytesHash) Size() int                   { return len(b.b) }
func (b *bytesHash) BlockSize() int              { return 1 }
