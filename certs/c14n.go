package certs

import (
	"slices"

	"github.com/beevik/etree"
)

// Workarounds for where goxmldsig's canonicalization departs from the
// other implementations partners use (xmlsec1, Java). Each one changes the
// tree goxmldsig digests, never what it means.

// redundantEmptyDefaults reports whether e's subtree declares xmlns=""
// where no default namespace is in scope anyway (def is the default
// namespace inherited by e), and with drop set removes those declarations.
// goxmldsig's exclusive C14N renders such a declaration on an element in
// no namespace; the specification and libxml2 do not, so a document
// carrying one (legacy serializers write them) would verify on one side
// only. Without the declaration, every implementation agrees.
func redundantEmptyDefaults(e *etree.Element, def string, drop bool) bool {
	found := false
	for i := 0; i < len(e.Attr); i++ {
		a := e.Attr[i]
		if a.Space != "" || a.Key != "xmlns" {
			continue
		}
		if a.Value == "" && def == "" {
			found = true
			if drop {
				e.Attr = slices.Delete(e.Attr, i, i+1)
				i--
			}
		}
		def = a.Value
	}
	for _, c := range e.ChildElements() {
		if redundantEmptyDefaults(c, def, drop) {
			found = true
			if !drop {
				return true
			}
		}
	}
	return found
}

// forGoxmldsig returns the tree to hand goxmldsig's Validate for root,
// whose direct child sig is the signature, and a function that undoes any
// change to root.
//
// goxmldsig (v1.6.x) stops any tree walk after 1,000 elements, and it
// looks for the signature in document order: behind a certificate with a
// few hundred line items, an enveloped signature in its usual last place
// is never reached. Where the signature sits among the root's children does
// not change what it covers (the enveloped transform removes it, the text
// around it stays in order, and its namespace context is the same), so it
// is moved to the front. root is changed in place and put back afterwards,
// unless redundant xmlns="" declarations must go too: then a copy is made,
// which is rare enough not to matter.
func forGoxmldsig(root, sig *etree.Element) (work *etree.Element, undo func()) {
	at := slices.Index(root.Child, etree.Token(sig))
	if redundantEmptyDefaults(root, "", false) {
		work = root.Copy()
		redundantEmptyDefaults(work, "", true)
		s := work.Child[at]
		work.RemoveChildAt(at)
		work.InsertChildAt(0, s)
		return work, func() {}
	}
	if at <= 0 {
		return root, func() {}
	}
	root.RemoveChildAt(at)
	root.InsertChildAt(0, sig)
	return root, func() {
		root.RemoveChildAt(0)
		root.InsertChildAt(at, sig)
	}
}
