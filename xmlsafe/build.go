package xmlsafe

import (
	"fmt"
	"math/bits"
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
// It also does check's work as it reads, element by element (the count,
// the prefixes), then on the document's children (checkRoot), so that the
// tree is not walked again; an error check would return comes, in check's
// words, once the whole document has been read without one of build's own
// (buildAgrees checks the words against check's).
//
// On failure it returns the offset in data of the token it could not read
// and, where it knows what is wrong, the error: an element deeper than
// lim.MaxDepth (the scan does not check empty elements), a repeated
// attribute, or check's.
func build(data []byte, start int, lim Limits) (doc *etree.Document, failAt int, err error) {
	b := &builder{s: string(data[start:]), lim: lim}
	b.slabShift = bits.Len(uint(blockFor(len(b.s), 40, slab))) - 1
	// Room for the slabs a document of this size usually takes (an element
	// and a text node every 40 bytes or more), so that the lists seldom grow.
	slabs := len(b.s)/40>>b.slabShift + 1
	b.elements = make([][]etree.Element, 0, slabs)
	b.texts = make([][]etree.CharData, 0, slabs)
	doc = etree.NewDocument()
	b.open(-1, 0)
	if !b.run(&doc.Element) {
		return nil, start + b.at, b.err
	}
	if b.nm != 1 {
		return nil, len(data), nil
	}
	b.close(&doc.Element)
	// What check does on encoding/xml's path, in the same order: the
	// document's children, then each element's, which startTag checked.
	if _, err := checkRoot(doc); err != nil {
		return nil, 0, err
	}
	if b.checkErr != nil {
		return nil, 0, b.checkErr
	}
	return doc, 0, nil
}

// builder holds the state of one build. It lives on build's stack, but
// the compiler cannot know that in its methods, so each pointer written
// into it pays the collector's write barrier while a collection runs
// (most of the time, for a large document): what changes token by token
// is therefore held in indices, which are not pointers, and the innermost
// open element is passed along rather than kept here.
type builder struct {
	s   string // the input: tokens that need no decoding are substrings of it
	lim Limits
	at  int    // the token being read
	err error  // why build failed, where it knows
	buf []byte // decoded text

	// Elements and text nodes are taken from slabs of 1<<slabShift, a
	// few dozen to an allocation: they were most of the allocations, and
	// so of the time. The n-th element of the document is
	// elements[n>>slabShift][n&(1<<slabShift-1)], and likewise for text
	// nodes; others holds comments and processing instructions.
	elements  [][]etree.Element
	texts     [][]etree.CharData
	others    []etree.Token
	nElements int
	nTexts    int
	slabShift int

	// pending holds the children of the open elements, not linked yet, as
	// references (ref); marks, the open elements (the document first)
	// and where each one's children start in pending. When an element
	// closes, its children get a slice of exactly their number, from a
	// shared block (tokens, used from ti on), and are linked: appending
	// them one by one grew each element's slice, with a copy and an
	// allocation every time it doubled, and keeping the tokens themselves
	// here cost three write barriers a child. Both are used up to np and
	// nm, and grown to their capacity: appending would write the slice's
	// pointer back, with a barrier, every time.
	pending []uint32
	marks   []mark
	np, nm  int
	tokens  []etree.Token
	ti      int

	attrBlock []etree.Attr // the block attribute slices are taken from, from ai on
	ai        int

	// What check does on encoding/xml's path is done here, element by
	// element as they are read: prefixes is its stack of the prefixes
	// declared in scope, and checkErr the first error it found. That
	// error waits until the document has been read, as check waited for
	// the tree: an error of build's own comes first.
	prefixes []string
	checkErr error
}

// path names the element e, about to open, from the root, as written
// (elementPath, but e and the open elements are not linked yet).
func (b *builder) path(e *etree.Element) string {
	path := ""
	for _, m := range b.marks[1:b.nm] {
		path += "/" + b.element(m.element).FullTag()
	}
	return path + "/" + e.FullTag()
}

// A ref names a token in the builder's slabs: its kind in the low two
// bits, its number among its kind above. build is not used for inputs of
// a gigabyte or more (parse), so the numbers fit.
const (
	refElement = iota
	refText
	refOther
	refKinds = 2 // bits
)

func (b *builder) token(r uint32) etree.Token {
	n := int(r >> refKinds)
	switch r & (1<<refKinds - 1) {
	case refElement:
		return b.element(n)
	case refText:
		return &b.texts[n>>b.slabShift][n&(1<<b.slabShift-1)]
	}
	return b.others[n]
}

const attrBlock = 256

// Block sizes grow with the document, from a few entries for a small one
// to slab (elements and text nodes), tokenBlock and attrBlock: a document
// of a few kilobytes should not take blocks sized for a megabyte.
const slab = 64

// blockFor is the size of the blocks for a document of size bytes, of
// which entries of one kind are expected every per bytes, at most limit.
func blockFor(size, per, limit int) int { return min(max(size/per, 8), limit) }

// newElement returns a new element, pending as a child of the innermost
// open element.
func (b *builder) newElement() *etree.Element {
	n := b.nElements
	i := n & (1<<b.slabShift - 1)
	if i == 0 {
		b.elements = append(b.elements, make([]etree.Element, 1<<b.slabShift))
	}
	b.nElements++
	b.push(uint32(n<<refKinds | refElement))
	return &b.elements[n>>b.slabShift][i]
}

// open starts collecting the children of a new innermost element, the
// last one newElement returned; scope is how many prefixes were declared
// around it.
func (b *builder) open(element, scope int) {
	if b.nm == len(b.marks) {
		b.marks = append(b.marks, mark{})
		b.marks = b.marks[:cap(b.marks)]
	}
	b.marks[b.nm] = mark{b.np, element, scope}
	b.nm++
}

// push adds r to pending.
func (b *builder) push(r uint32) {
	if b.np == len(b.pending) {
		b.pending = append(b.pending, 0)
		b.pending = b.pending[:cap(b.pending)]
	}
	b.pending[b.np] = r
	b.np++
}

// close links the pending children of the innermost open element e.
func (b *builder) close(e *etree.Element) {
	b.nm--
	m := b.marks[b.nm]
	b.prefixes = b.prefixes[:m.prefixes]
	kids := b.pending[m.start:b.np]
	if n := len(kids); n > 0 {
		if n > len(b.tokens)-b.ti {
			b.tokens = make([]etree.Token, max(n, blockFor(len(b.s), 16, tokenBlock)))
			b.ti = 0
		}
		e.Child = b.tokens[b.ti : b.ti : b.ti+n]
		b.ti += n
		for _, r := range kids {
			e.AddChild(b.token(r))
		}
	}
	b.np = m.start
}

const tokenBlock = 1024

// mark is an open element: where its children start in pending, its
// number among the elements (-1 for the document), and how many prefixes
// were declared around it (the length of builder.prefixes to go back to).
type mark struct{ start, element, prefixes int }

// element returns the n-th element of the document.
func (b *builder) element(n int) *etree.Element {
	return &b.elements[n>>b.slabShift][n&(1<<b.slabShift-1)]
}

// run reads the input into the document, whose element doc is.
func (b *builder) run(doc *etree.Element) bool {
	s := b.s
	cur := doc // the innermost open element
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
			if n, ok = b.endTag(s[i:], cur); ok {
				if e := b.marks[b.nm-1].element; e >= 0 {
					cur = b.element(e)
				} else {
					cur = doc
				}
			}
		case '?':
			n, ok = b.procInst(s[i:])
		case '!':
			n, ok = b.markup(s[i:])
		default:
			var e *etree.Element
			if n, e, ok = b.startTag(s[i:]); e != nil {
				cur = e
			}
		}
		if !ok {
			return false
		}
		i += n
	}
	return true
}

func (b *builder) charData(text string) {
	n := b.nTexts
	i := n & (1<<b.slabShift - 1)
	if i == 0 {
		b.texts = append(b.texts, make([]etree.CharData, 1<<b.slabShift))
	}
	b.nTexts++
	b.push(uint32(n<<refKinds | refText))
	b.texts[n>>b.slabShift][i].SetData(text) // sets the whitespace flag as etree's reader does
}

// other adds a comment or processing instruction.
func (b *builder) other(t etree.Token) {
	b.push(uint32(len(b.others)<<refKinds | refOther))
	b.others = append(b.others, t)
}

// startTag reads the start tag at the beginning of s and returns its
// length and, unless it is empty (<a/>), its element, now the innermost
// open one.
func (b *builder) startTag(s string) (int, *etree.Element, bool) {
	k, colon, ok := readName(s, 1)
	if !ok {
		return 0, nil, false
	}
	nameEnd := k
	space, local := "", s[1:k]
	if colon > 0 {
		space, local = s[1:colon], s[colon+1:k]
	}
	e := b.newElement()
	e.Space, e.Tag = space, local
	// Attributes go straight into e, in what is left of the block: once
	// the tag is read, e keeps as many entries as it has.
	if len(b.attrBlock)-b.ai < 8 {
		b.attrBlock = make([]etree.Attr, blockFor(len(b.s), 64, attrBlock))
		b.ai = 0
	}
	e.Attr = b.attrBlock[b.ai:b.ai]
	selfClosing := false
	for {
		// Attributes need no whitespace between them here, as in
		// encoding/xml (XML wants it; a tighter reader would refuse
		// documents vucelink always accepted).
		for k < len(s) && isSpace(s[k]) {
			k++
		}
		if k >= len(s) {
			return 0, nil, false
		}
		if s[k] == '>' {
			k++
			break
		}
		if s[k] == '/' {
			if k+1 >= len(s) || s[k+1] != '>' {
				return 0, nil, false
			}
			k += 2
			selfClosing = true
			break
		}
		n := k
		if k, _, ok = readName(s, k); !ok {
			return 0, nil, false
		}
		name := s[n:k]
		for k < len(s) && isSpace(s[k]) {
			k++
		}
		if k >= len(s) || s[k] != '=' {
			return 0, nil, false
		}
		k++
		for k < len(s) && isSpace(s[k]) {
			k++
		}
		if k >= len(s) || (s[k] != '"' && s[k] != '\'') {
			return 0, nil, false
		}
		end := strings.IndexByte(s[k+1:], s[k])
		if end < 0 {
			return 0, nil, false
		}
		value, ok := b.text(s[k+1:k+1+end], true)
		if !ok {
			return 0, nil, false
		}
		// CreateAttr replaces an attribute of the same name rather than
		// add one: that is a repeat, of which etree would silently keep
		// one (check refuses repeats on encoding/xml's path, with the
		// same words).
		n = len(e.Attr)
		e.CreateAttr(name, value)
		if len(e.Attr) == n {
			b.err = fmt.Errorf("%w: attribute %s repeated on <%s>", ErrMalformed, name, s[1:nameEnd])
			return 0, nil, false
		}
		k += 1 + end + 1
	}
	if n := len(e.Attr); n == 0 {
		e.Attr = nil
	} else {
		if b.ai < len(b.attrBlock) && &e.Attr[0] == &b.attrBlock[b.ai] {
			b.ai += n
		} // else append moved them out of the block
		e.Attr = e.Attr[:n:n]
	}

	if b.nm > b.lim.MaxDepth {
		b.err = fmt.Errorf("%w: %v", ErrTooDeep, etree.ErrMaxDepth)
		return 0, nil, false
	}
	scope := len(b.prefixes) // without e's declarations
	if b.checkErr == nil {
		if b.nElements > b.lim.MaxElements {
			b.checkErr = tooManyElements(b.lim)
		} else if err := checkPrefixes(e, &b.prefixes, b); err != nil {
			b.checkErr = err
		}
	}
	if selfClosing {
		b.prefixes = b.prefixes[:scope]
		return k, nil, true
	}
	b.open(b.nElements-1, scope)
	return k, e, true
}

// endTag reads the end tag at the beginning of s, which closes cur.
func (b *builder) endTag(s string, cur *etree.Element) (int, bool) {
	// The name must be cur's, which was read as a name: no need to read
	// this one byte by byte.
	k := 2 + nameIn(s[2:], cur)
	if k == 2 || b.nm < 2 || k < len(s) && nameByte[s[k]] {
		return 0, false
	}
	for k < len(s) && isSpace(s[k]) {
		k++
	}
	if k >= len(s) || s[k] != '>' {
		return 0, false
	}
	b.close(cur)
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
		b.other(etree.NewComment(body))
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
	b.other(etree.NewProcInst(target, inst))
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
	// Most bytes are plain ASCII, which a table says: the loop below looks
	// at the rest.
	plain := &plainText
	if attr {
		plain = &plainValue
	}
	i := 0
	for i < len(raw) && plain[raw[i]] {
		i++
	}
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

// plainText and plainValue hold the ASCII bytes text and attribute
// values take as they are (plainByte accepts them, and text has nothing
// to decode): not a control character but tab and line feed (in text), not
// '<' or '&', and not ']' in text, which could start "]]>".
var plainText, plainValue [256]bool

func init() {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		plainText[c] = c != '<' && c != '&' && c != ']'
		plainValue[c] = c != '<' && c != '&'
	}
	plainText['\t'], plainText['\n'] = true, true
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

// readName reads the ASCII name at s[k:] as encoding/xml does and
// returns where it ends and where its colon is (0 if none): a letter, '_'
// or ':' first, at most one colon, which etree splits the name at, so
// both sides must be non-empty (otherwise encoding/xml keeps it whole as
// the local name, which etree's attributes cannot hold: the scan sends
// such documents to encoding/xml).
func readName(s string, k int) (end, colon int, ok bool) {
	start := k
	if k >= len(s) || !isNameStart(s[k]) {
		return 0, 0, false
	}
	for k+4 <= len(s) && nameByte[s[k]] && nameByte[s[k+1]] && nameByte[s[k+2]] && nameByte[s[k+3]] {
		k += 4
	}
	for k < len(s) && nameByte[s[k]] {
		k++
	}
	c := strings.IndexByte(s[start:k], ':')
	if c < 0 {
		return k, 0, true
	}
	colon = start + c
	if colon == start || colon == k-1 || strings.IndexByte(s[colon+1:k], ':') >= 0 {
		return 0, 0, false
	}
	return k, colon, true
}

// nameIn returns the length of e's name, as written, if s starts with
// it, and 0 if not.
func nameIn(s string, e *etree.Element) int {
	if e.Space == "" {
		if strings.HasPrefix(s, e.Tag) {
			return len(e.Tag)
		}
		return 0
	}
	n := len(e.Space)
	if len(s) > n && s[n] == ':' && s[:n] == e.Space && strings.HasPrefix(s[n+1:], e.Tag) {
		return n + 1 + len(e.Tag)
	}
	return 0
}

// nameByte holds the bytes isNameByte accepts.
var nameByte [256]bool

func init() {
	for c := range 256 {
		nameByte[c] = isNameByte(byte(c))
	}
}

func isNameStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == ':'
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
