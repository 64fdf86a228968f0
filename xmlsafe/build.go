package xmlsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// build reads a document the scan has accepted straight into an etree
// tree, in one pass over its bytes: the tree etree would build from
// encoding/xml's tokens, token for token, at a fraction of the cost.
// encoding/xml decodes byte by byte through a bufio.Reader, copies every
// name and value at least twice and boxes every token; etree then copies
// again. Here the input is turned into one string, and names, attribute
// values and text that need no decoding are substrings of it.
//
// build reads the XML that documents are made of: ASCII names, the five
// predefined entities and character references, comments, CDATA sections,
// processing instructions and a UTF-8 (or ASCII) XML declaration, with
// whitespace between attributes. It gives up on anything else (ok false)
// without saying why, and Parse then has encoding/xml read the document
// from that token on, to say precisely what is wrong and where, as it
// always did. Names with other than ASCII characters, or with a colon at
// either end, which encoding/xml reads and build does not, are found by the
// scan, and such documents go to encoding/xml whole, never read twice.
// Whatever build accepts, etree over encoding/xml reads the same, token
// for token, and whatever it refuses, encoding/xml refuses too (FuzzParse
// checks both).
//
// On failure it returns the offset in data of the token it could not read
// and, where it knows what is wrong, the error: an element deeper than
// lim.MaxDepth (the scan does not check empty elements), a repeated
// attribute.
func build(data []byte, start int, lim Limits) (doc *etree.Document, failAt int, err error) {
	b := &builder{s: string(data[start:]), maxDepth: lim.MaxDepth}
	b.doc = etree.NewDocument()
	b.stack = append(b.stack, &b.doc.Element)
	b.open()
	if !b.run() {
		return nil, start + b.at, b.err
	}
	if len(b.stack) != 1 {
		return nil, len(data), nil
	}
	b.close(&b.doc.Element)
	return b.doc, 0, nil
}

type builder struct {
	s        string // the input: tokens that need no decoding are substrings of it
	maxDepth int
	at       int   // the token being read
	err      error // why build failed, where it knows
	doc      *etree.Document
	stack    []*etree.Element // the document, then each open element
	attrs    []attrSpan       // the start tag being read
	buf      []byte           // decoded text

	// Elements and text nodes are taken from slabs, a few dozen to an
	// allocation: they were most of the allocations, and so of the time.
	elements []etree.Element
	texts    []etree.CharData

	pending   []etree.Token // children of the open elements, not linked yet
	marks     []int         // where each open element's children start in pending
	tokens    []etree.Token // the block children's slices are taken from
	attrBlock []etree.Attr  // the block attribute slices are taken from
}

const attrBlock = 256

// Block sizes grow with the document, from a few entries for a small one
// to slab (elements and text nodes), tokenBlock and attrBlock: a document
// of a few kilobytes should not take blocks sized for a megabyte.
const slab = 64

// blockFor is the size of the blocks for a document of size bytes, of
// which entries of one kind are expected every per bytes, at most limit.
func blockFor(size, per, limit int) int { return min(max(size/per, 8), limit) }

func (b *builder) newElement() *etree.Element {
	if len(b.elements) == 0 {
		b.elements = make([]etree.Element, blockFor(len(b.s), 40, slab))
	}
	e := &b.elements[0]
	b.elements = b.elements[1:]
	return e
}

// attrSpan is an attribute of the start tag being read: its name and its
// value, decoded.
type attrSpan struct{ name, value string }

func (b *builder) top() *etree.Element { return b.stack[len(b.stack)-1] }

// add makes t a child of the innermost open element. Children wait in
// pending until their element closes (close), which then gives them a
// slice of exactly their number, taken from a shared block: appending them
// one by one grew each element's slice, with a copy and an allocation
// every time it doubled.
func (b *builder) add(t etree.Token) { b.pending = append(b.pending, t) }

// open starts collecting the children of a new innermost element.
func (b *builder) open() { b.marks = append(b.marks, len(b.pending)) }

// close links the pending children of the innermost open element e.
func (b *builder) close(e *etree.Element) {
	mark := b.marks[len(b.marks)-1]
	b.marks = b.marks[:len(b.marks)-1]
	kids := b.pending[mark:]
	if len(kids) > 0 {
		if len(kids) > len(b.tokens) {
			b.tokens = make([]etree.Token, max(len(kids), blockFor(len(b.s), 16, tokenBlock)))
		}
		e.Child = b.tokens[:0:len(kids)]
		b.tokens = b.tokens[len(kids):]
		for _, t := range kids {
			e.AddChild(t)
		}
		clear(kids)
	}
	b.pending = b.pending[:mark]
}

const tokenBlock = 1024

func (b *builder) run() bool {
	s := b.s
	for i := 0; i < len(s); {
		b.at = i
		if s[i] != '<' {
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				j = len(s) - i
			}
			text, ok := b.text(s[i:i+j], false)
			if !ok {
				return false
			}
			b.charData(text)
			i += j
			continue
		}
		if i+1 >= len(s) {
			return false
		}
		var n int
		var ok bool
		switch s[i+1] {
		case '/':
			n, ok = b.endTag(s[i:])
		case '?':
			n, ok = b.procInst(s[i:])
		case '!':
			n, ok = b.markup(s[i:])
		default:
			n, ok = b.startTag(s[i:])
		}
		if !ok {
			return false
		}
		i += n
	}
	return true
}

func (b *builder) charData(text string) {
	if len(b.texts) == 0 {
		b.texts = make([]etree.CharData, blockFor(len(b.s), 40, slab))
	}
	c := &b.texts[0]
	b.texts = b.texts[1:]
	c.SetData(text) // sets the whitespace flag as etree's reader does
	b.add(c)
}

// startTag reads the start tag at the beginning of s and returns its
// length.
func (b *builder) startTag(s string) (int, bool) {
	k := 1
	for k < len(s) && isNameByte(s[k]) {
		k++
	}
	nameEnd := k
	space, local, ok := splitName(s[1:k])
	if !ok {
		return 0, false
	}
	b.attrs = b.attrs[:0]
	selfClosing := false
	for {
		// Attributes need no whitespace between them here, as in
		// encoding/xml (XML wants it; a tighter reader would refuse
		// documents vucelink always accepted).
		for k < len(s) && isSpace(s[k]) {
			k++
		}
		if k >= len(s) {
			return 0, false
		}
		if s[k] == '>' {
			k++
			break
		}
		if s[k] == '/' {
			if k+1 >= len(s) || s[k+1] != '>' {
				return 0, false
			}
			k += 2
			selfClosing = true
			break
		}
		n := k
		for k < len(s) && isNameByte(s[k]) {
			k++
		}
		name := s[n:k]
		if _, _, ok := splitName(name); !ok {
			return 0, false
		}
		for k < len(s) && isSpace(s[k]) {
			k++
		}
		if k >= len(s) || s[k] != '=' {
			return 0, false
		}
		k++
		for k < len(s) && isSpace(s[k]) {
			k++
		}
		if k >= len(s) || (s[k] != '"' && s[k] != '\'') {
			return 0, false
		}
		end := strings.IndexByte(s[k+1:], s[k])
		if end < 0 {
			return 0, false
		}
		value, ok := b.text(s[k+1:k+1+end], true)
		if !ok {
			return 0, false
		}
		for _, a := range b.attrs {
			if a.name == name {
				// etree would keep one of them (check refuses repeats on
				// encoding/xml's path, with the same words).
				b.err = fmt.Errorf("%w: attribute %s repeated on <%s>", ErrMalformed, name, s[1:nameEnd])
				return 0, false
			}
		}
		b.attrs = append(b.attrs, attrSpan{name, value})
		k += 1 + end + 1
	}

	if len(b.stack) > b.maxDepth {
		b.err = fmt.Errorf("%w: %v", ErrTooDeep, etree.ErrMaxDepth)
		return 0, false
	}
	e := b.newElement()
	e.Space, e.Tag = space, local
	if n := len(b.attrs); n > 0 {
		if n > len(b.attrBlock) {
			b.attrBlock = make([]etree.Attr, max(n, blockFor(len(b.s), 64, attrBlock)))
		}
		e.Attr = b.attrBlock[:0:n]
		b.attrBlock = b.attrBlock[n:]
		for _, a := range b.attrs {
			e.CreateAttr(a.name, a.value)
		}
	}
	b.add(e)
	if !selfClosing {
		b.stack = append(b.stack, e)
		b.open()
	}
	return k, true
}

// endTag reads the end tag at the beginning of s.
func (b *builder) endTag(s string) (int, bool) {
	k := 2
	for k < len(s) && isNameByte(s[k]) {
		k++
	}
	space, local, ok := splitName(s[2:k])
	if !ok || len(b.stack) < 2 {
		return 0, false
	}
	for k < len(s) && isSpace(s[k]) {
		k++
	}
	if k >= len(s) || s[k] != '>' {
		return 0, false
	}
	if top := b.top(); top.Space != space || top.Tag != local {
		return 0, false
	}
	b.close(b.top())
	b.stack = b.stack[:len(b.stack)-1]
	return k + 1, true
}

// markup reads a comment or a CDATA section; the scan has refused every
// other "<!".
func (b *builder) markup(s string) (int, bool) {
	switch {
	case strings.HasPrefix(s, "<!--"):
		end := strings.Index(s[4:], "-->")
		if end < 0 {
			return 0, false
		}
		body := s[4 : 4+end]
		// encoding/xml refuses "--" inside a comment (and so "--->"), and
		// checks nothing else of it.
		if strings.Contains(body, "--") || strings.HasSuffix(body, "-") {
			return 0, false
		}
		b.add(etree.NewComment(body))
		return 4 + end + 3, true
	case strings.HasPrefix(s, "<![CDATA["):
		const open = len("<![CDATA[")
		end := strings.Index(s[open:], "]]>")
		if end < 0 {
			return 0, false
		}
		text, ok := b.cdata(s[open : open+end])
		if !ok {
			return 0, false
		}
		b.charData(text)
		return open + end + 3, true
	}
	return 0, false
}

// procInst reads a processing instruction (or the XML declaration).
func (b *builder) procInst(s string) (int, bool) {
	end := strings.Index(s[2:], "?>")
	if end < 0 {
		return 0, false
	}
	body := s[2 : 2+end]
	k := 0
	for k < len(body) && isNameByte(body[k]) {
		k++
	}
	target := body[:k]
	if k == 0 || !isNameStart(target[0]) {
		return 0, false
	}
	for k < len(body) && isSpace(body[k]) {
		k++
	}
	inst := body[k:] // as encoding/xml: not checked, leading spaces dropped
	if target == "xml" {
		// What encoding/xml checks of the declaration: version 1.0, and an
		// encoding utf8Only lets through.
		if v := procInstParam("version", inst); v != "" && v != "1.0" {
			return 0, false
		}
		switch strings.ToLower(procInstParam("encoding", inst)) {
		case "", "utf-8", "utf8", "us-ascii", "ascii":
		default:
			return 0, false
		}
	}
	b.add(etree.NewProcInst(target, inst))
	return 2 + end + 2, true
}

// procInstParam is encoding/xml's reading of a pseudo-attribute of the
// XML declaration, so that both read the same value.
func procInstParam(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// text decodes character data (attr false) or an attribute value (attr
// true): the predefined entities and character references, a literal CR
// LF or CR read as LF in text, and a literal tab, line break or CR LF read
// as one space in an attribute value (XML 1.0 section 3.3.3, as
// normalizeAttrs does for encoding/xml). A value needing none of that is
// returned as it is, a substring of the input.
func (b *builder) text(raw string, attr bool) (string, bool) {
	i := 0
	for ; i < len(raw); i++ {
		c := raw[i]
		if c == '&' || c == '\r' || (attr && (c == '\t' || c == '\n')) {
			break
		}
		if !b.plainByte(raw, &i, attr) {
			return "", false
		}
	}
	if i == len(raw) {
		return raw, true
	}
	buf := append(b.buf[:0], raw[:i]...)
	for ; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '&':
			r, n, ok := reference(raw[i:])
			if !ok {
				return "", false
			}
			buf = utf8.AppendRune(buf, r)
			i += n - 1
		case c == '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			if attr {
				buf = append(buf, ' ')
			} else {
				buf = append(buf, '\n')
			}
		case attr && (c == '\t' || c == '\n'):
			buf = append(buf, ' ')
		default:
			start := i
			if !b.plainByte(raw, &i, attr) {
				return "", false
			}
			buf = append(buf, raw[start:i+1]...)
		}
	}
	b.buf = buf
	return string(buf), true
}

// plainByte checks the character at raw[*i], which is not '&' or a CR,
// leaving *i on its last byte: a legal XML character, not '<', and in
// text not the start of "]]>" (encoding/xml lets it through in values).
func (b *builder) plainByte(raw string, i *int, attr bool) bool {
	c := raw[*i]
	switch {
	case c >= utf8.RuneSelf:
		r, n := utf8.DecodeRuneInString(raw[*i:])
		if r == utf8.RuneError && n == 1 || !inCharRange(r) {
			return false
		}
		*i += n - 1
	case c < 0x20:
		return c == '\t' || c == '\n'
	case c == '<':
		return false
	case c == ']' && !attr:
		return !strings.HasPrefix(raw[*i:], "]]>")
	}
	return true
}

// cdata decodes a CDATA section: no references, line ends read as in
// text.
func (b *builder) cdata(raw string) (string, bool) {
	if !validChars(raw) {
		return "", false
	}
	if strings.IndexByte(raw, '\r') < 0 {
		return raw, true
	}
	buf := b.buf[:0]
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\r' {
			buf = append(buf, raw[i])
			continue
		}
		if i+1 < len(raw) && raw[i+1] == '\n' {
			i++
		}
		buf = append(buf, '\n')
	}
	b.buf = buf
	return string(buf), true
}

// reference decodes the entity or character reference at the start of s
// and returns its length; only the predefined entities exist without a
// DTD, and a character reference must name a legal XML character.
func reference(s string) (rune, int, bool) {
	end := strings.IndexByte(s, ';')
	if end < 2 {
		return 0, 0, false
	}
	name := s[1:end]
	switch name {
	case "lt":
		return '<', end + 1, true
	case "gt":
		return '>', end + 1, true
	case "amp":
		return '&', end + 1, true
	case "apos":
		return '\'', end + 1, true
	case "quot":
		return '"', end + 1, true
	}
	if name[0] != '#' || len(name) < 2 {
		return 0, 0, false
	}
	digits, base := name[1:], rune(10)
	if digits[0] == 'x' { // lower case only, as encoding/xml
		digits, base = digits[1:], 16
	}
	if digits == "" {
		return 0, 0, false
	}
	var r rune
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		var d rune
		switch {
		case '0' <= c && c <= '9':
			d = rune(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return 0, 0, false
		}
		r = r*base + d
		if r > utf8.MaxRune {
			return 0, 0, false
		}
	}
	if 0xD800 <= r && r <= 0xDFFF {
		r = utf8.RuneError // as string(rune(n)) in encoding/xml
	}
	if !inCharRange(r) {
		return 0, 0, false
	}
	return r, end + 1, true
}

// validChars reports whether s is UTF-8 made of legal XML characters.
func validChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 || !inCharRange(r) {
				return false
			}
			i += n - 1
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			return false
		}
	}
	return true
}

// inCharRange is XML 1.0's Char production (and encoding/xml's check).
func inCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// splitName validates and splits an ASCII name as encoding/xml does: a
// letter, '_' or ':' first, at most one colon, split there if both sides
// are non-empty (otherwise it is all local name, which etree's attributes
// cannot hold: the scan sends such documents to encoding/xml).
func splitName(name string) (space, local string, ok bool) {
	if name == "" || !isNameStart(name[0]) {
		return "", "", false
	}
	c := strings.IndexByte(name, ':')
	if c < 0 {
		return "", name, true
	}
	if c == 0 || c == len(name)-1 || strings.IndexByte(name[c+1:], ':') >= 0 {
		return "", "", false
	}
	return name[:c], name[c+1:], true
}

func isNameStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == ':'
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
