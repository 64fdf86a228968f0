package mapping

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/xmlsafe"
)

// copy: rules carry an XML element from the payload into the document
// unchanged: its attributes, text, comments and child elements, byte for
// byte as parsed. It is how a part someone else has signed travels — the
// exporter's signed COD inside a certificate of origin — since rebuilding
// it field by field would break the signature.
//
// A signature canonicalized with inclusive C14N also signs the namespace
// declarations the element inherits from its ancestors. So once the
// document is built, the namespaces in scope where the element was are
// brought into scope where it now is (adoptNamespaces): declared on the
// target's root, and when the rule file binds the same URI under another
// prefix, that prefix is renamed to the payload's throughout the document.

// joinTarget writes a section's rule's target after the section's.
func (c *compiler) joinTarget(section, target string) string {
	if target == "." {
		return section
	}
	sep := "/"
	if c.tgt.format == "json" {
		sep = "."
	}
	return section + sep + target
}

// copySpec compiles a copy: rule's source.
func (c *compiler) copySpec(m yamlMap, r *rule, name string) *copySpec {
	at := func(key string) int { return lineOf(m[key], r.line) }
	for _, k := range copyApart {
		if _, ok := m[k]; ok {
			c.errf(at(k), name, "%s: does not apply to copy: (the element is copied as it is)", k)
		}
	}
	cs := &copySpec{}
	switch e := c.str(m["embedded"], name); e {
	case "":
	case "xml", "base64":
		cs.embedded = e
	default:
		c.errf(at("embedded"), name, "embedded: must be xml or base64, got %q", e)
	}
	switch {
	case c.tgt.format != "xml":
		c.errf(at("copy"), name, "copy: copies an XML element into an XML target; this file's target is %s", c.tgt.format)
	case r.tself || len(r.tpath) == 0:
		if r.tself {
			c.errf(at("target"), name, "target: copy: needs the element to copy into, not \".\"")
		}
	case r.tpath[len(r.tpath)-1].attr:
		c.errf(at("target"), name, "target: copy: copies into an element, not an attribute")
	}
	var err error
	if r.source == "" {
		c.errf(at("copy"), name, "copy: needs the source path of the element to copy (or of the text holding a document, with embedded:)")
	} else if r.spath, err = c.sourcePath(r.source); err != nil {
		c.errf(at("copy"), name, "copy: %v", err)
	} else if cs.embedded == "" {
		switch {
		case c.src.format == "json":
			c.errf(at("copy"), name, "copy: a JSON payload holds no XML element; if %s holds an XML document's text, say so with embedded: xml (or base64)", r.source)
		case r.spath.attr != nil:
			c.errf(at("copy"), name, "copy: copies an element, not an attribute (an attribute holding a document's text needs embedded: xml or base64)")
		}
	}
	if sel := c.str(m["select"], name); sel != "" {
		if cs.embedded == "" {
			c.errf(at("select"), name, "select: picks an element of an embedded document (embedded: xml or base64); without one, write the element's path in copy:")
		} else if cs.sel, err = c.embeddedPath(sel); err != nil {
			c.errf(at("select"), name, "select: %v", err)
		} else if cs.sel.root || cs.sel.attr != nil {
			c.errf(at("select"), name, "select: a path of elements from the embedded document's root element, without $root or an attribute")
		}
	}
	return cs
}

// embeddedPath compiles a path into an embedded XML document: XML syntax
// and source.namespaces' prefixes, whatever the payload's own format.
func (c *compiler) embeddedPath(p string) (*spath, error) {
	format := c.src.format
	c.src.format = "xml"
	defer func() { c.src.format = format }()
	return c.parseSource(p, false)
}

// copied is one element a copy: rule wrote, for adoptNamespaces.
type copied struct {
	into, from *etree.Element
	rule       *rule
	sc         *scope
}

// copyElement runs a copy: rule.
func (m *mapper) copyElement(rl *rule, src node, dst sink, sc *scope) {
	from, err := m.copySource(rl, src)
	if err != nil {
		m.fail(rl, sc, err)
		return
	}
	if from == nil {
		if rl.required {
			m.fail(rl, sc, fmt.Errorf("%w: no element to copy", ErrRequired))
		}
		return
	}
	x, ok := dst.(xmlSink)
	if !ok {
		m.fail(rl, sc, fmt.Errorf("%w: copy: needs an XML target", ErrBadValue))
		return
	}
	into := child(parentOf(x.e, rl.tpath), &rl.tpath[len(rl.tpath)-1])
	dup := from.Copy()
	for _, a := range dup.Attr {
		into.CreateAttr(a.FullKey(), a.Value)
	}
	for len(dup.Child) > 0 {
		into.AddChild(dup.Child[0]) // moves it out of dup
	}
	m.copies = append(m.copies, copied{into: into, from: from, rule: rl, sc: sc})
	if m.ex != nil {
		n := 0
		walkElements(from, func(*etree.Element) { n++ })
		_, sp := sc.prefixes()
		what := "copy: " + sp + rl.source
		if rl.spath.root {
			what = "copy: " + rl.source
		}
		if rl.copy.sel != nil {
			what += " → " + rl.copy.sel.text
		}
		m.ex.record(into, nil, Origin{Value: "(" + strconv.Itoa(n-1) + " elements copied)", File: m.ex.file, Line: rl.line, Rule: rl.target, From: what})
	}
}

// copySource finds the element a copy: rule copies: at its path, or in
// the document whose text is there. Nil when there is none.
func (m *mapper) copySource(rl *rule, src node) (*etree.Element, error) {
	p, cs := rl.spath, rl.copy
	if cs.embedded == "" {
		if p.root {
			src = m.root
		}
		x, ok := src.(xmlNode)
		if !ok {
			return nil, fmt.Errorf("%w: copy: the source is not XML", ErrBadValue)
		}
		if p.self {
			return x.e, nil
		}
		return x.ns.first(x.e, p.steps), nil
	}
	s, ok, err := m.value(src, p)
	if err != nil || !ok || strings.TrimSpace(s) == "" {
		return nil, err
	}
	data := []byte(s)
	if cs.embedded == "base64" {
		// Encoders wrap base64 at 64 or 76 columns: line breaks and spaces
		// are not data.
		clean := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, s)
		if data, err = base64.StdEncoding.DecodeString(clean); err != nil {
			return nil, fmt.Errorf("%w: copy: %s is not base64: %v", ErrBadValue, rl.source, err)
		}
	}
	doc, err := xmlsafe.Parse(data, xmlsafe.Limits{})
	if err != nil {
		return nil, fmt.Errorf("%w: copy: the document in %s: %w", ErrBadValue, rl.source, err)
	}
	e := doc.Root()
	if cs.sel != nil {
		if e = newNSResolver().first(e, cs.sel.steps); e == nil {
			return nil, fmt.Errorf("%w: copy: the document in %s has no %s under its root <%s>", ErrBadValue, rl.source, cs.sel.text, doc.Root().FullTag())
		}
	}
	return e, nil
}

// binding is one namespace declaration: prefix ("" for the default
// namespace) → URI.
type binding struct{ prefix, uri string }

// scopeAt lists the namespaces in scope at e from its ancestors'
// declarations (not e's own), nearest first, each prefix once.
func scopeAt(e *etree.Element) []binding {
	var out []binding
	seen := map[string]bool{}
	for p := e.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			prefix, ok := "", false
			switch {
			case a.Space == "xmlns":
				prefix, ok = a.Key, true
			case a.Space == "" && a.Key == "xmlns":
				ok = true
			}
			if ok && !seen[prefix] {
				seen[prefix] = true
				out = append(out, binding{prefix, a.Value})
			}
		}
	}
	return out
}

// declares reports whether e itself declares prefix.
func declares(e *etree.Element, prefix string) bool {
	for _, a := range e.Attr {
		if (prefix == "" && a.Space == "" && a.Key == "xmlns") || (prefix != "" && a.Space == "xmlns" && a.Key == prefix) {
			return true
		}
	}
	return false
}

// adoptNamespaces gives every copied element the namespaces it had in
// scope in the payload. Each binding it inherited there that its new place
// lacks is declared on the root; a prefix of the rule file's bound to the
// same URI is renamed to the payload's everywhere outside the copies, so
// exactly the payload's bindings are in scope. A prefix bound to another
// URI on either side cannot be reconciled and fails the copy rule.
func (m *mapper) adoptNamespaces(root *etree.Element) {
	inCopy := map[*etree.Element]bool{}
	for _, c := range m.copies {
		inCopy[c.into] = true
	}
	for _, c := range m.copies {
		want := scopeAt(c.from)
		have := map[string]string{}
		for _, b := range scopeAt(c.into) {
			have[b.prefix] = b.uri
		}
		for _, b := range want {
			if declares(c.from, b.prefix) {
				continue // shadowed by the element's own declaration, which was copied
			}
			got, bound := have[b.prefix]
			switch {
			case bound && got == b.uri:
				continue
			case bound || b.prefix == "":
				what := "prefix " + b.prefix
				if b.prefix == "" {
					what = "the default namespace"
				}
				if !bound {
					got = "no namespace"
				}
				m.fail(c.rule, c.sc, fmt.Errorf("%w: copy: in the payload %s is %s where the element was, but here it is %s; the element would change meaning (use another prefix in target.namespaces)", ErrBadValue, what, b.uri, got))
				continue
			}
			// Unbound here: declare it on the root, under the payload's
			// prefix, renaming a rule-file prefix for the same URI.
			if old := rootPrefixFor(root, b.uri); old != "" && !inScope(want, old) {
				renamePrefix(root, old, b.prefix, inCopy)
			} else {
				root.CreateAttr("xmlns:"+b.prefix, b.uri)
			}
			have[b.prefix] = b.uri
		}
	}
}

// rootPrefixFor is a prefix the root declares for uri, or "".
func rootPrefixFor(root *etree.Element, uri string) string {
	for _, a := range root.Attr {
		if a.Space == "xmlns" && a.Value == uri {
			return a.Key
		}
	}
	return ""
}

func inScope(bs []binding, prefix string) bool {
	for _, b := range bs {
		if b.prefix == prefix {
			return true
		}
	}
	return false
}

// renamePrefix rewrites prefix old as new on the root's declaration and on
// every element and attribute outside the copied elements.
func renamePrefix(root *etree.Element, old, new string, skip map[*etree.Element]bool) {
	for i := range root.Attr {
		if a := &root.Attr[i]; a.Space == "xmlns" && a.Key == old {
			a.Key = new
		}
	}
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if e.Space == old {
			e.Space = new
		}
		if skip[e] {
			return // its attributes and children are the payload's
		}
		for i := range e.Attr {
			if a := &e.Attr[i]; a.Space == old {
				a.Space = new
			}
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(root)
}

// walkElements calls f on e and every element under it.
func walkElements(e *etree.Element, f func(*etree.Element)) {
	f(e)
	for _, c := range e.ChildElements() {
		walkElements(c, f)
	}
}
