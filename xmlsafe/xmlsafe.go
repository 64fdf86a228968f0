// Package xmlsafe parses XML from untrusted parties.
//
// Documents arrive from other countries' nodes and from legacy systems; a
// parser that honours DTDs can be made to read local files (XXE), call out
// to the network, or expand a few hundred bytes into gigabytes ("billion
// laughs"). vucelink's documents never need a DTD, so Parse refuses any
// markup declaration outright, and it does so with a linear byte scan
// before any tree is built. The same scan bounds nesting depth and element
// count, so a hostile document cannot exhaust the stack or memory either.
//
// Parse also refuses what encoding/xml, under etree, lets through although
// XML forbids it: a second root element, text outside the root, and
// repeated attributes (etree would silently keep the last one, while other
// parsers reject the document, so two systems could read it differently).
// And it normalizes literal tabs and line breaks inside attribute values to
// spaces, as XML 1.0 (section 3.3.3) requires and encoding/xml does not: a
// signature computed over the unnormalized value would not verify anywhere
// else (xmlsec1, Java), nor would theirs here.
package xmlsafe

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"
)

// Limits bound a document. Zero (or negative) fields take the defaults.
type Limits struct {
	MaxBytes    int64 // input size, BOM included
	MaxDepth    int   // element nesting; the root is at depth 1
	MaxElements int   // elements in the whole document
}

// Default limits: generous for a certificate with thousands of line items,
// far below what would hurt a node.
const (
	DefaultMaxBytes    = 16 << 20
	DefaultMaxDepth    = 64
	DefaultMaxElements = 1_000_000
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultMaxElements
	}
	return l
}

// Errors callers branch on; every error Parse and ReadAll return for bad
// input wraps exactly one of them.
var (
	ErrDTD             = errors.New("DTD not allowed")
	ErrEntity          = errors.New("entity declaration not allowed")
	ErrTooLarge        = errors.New("document too large")
	ErrTooDeep         = errors.New("document nested too deeply")
	ErrTooManyElements = errors.New("document has too many elements")
	ErrMalformed       = errors.New("malformed XML")
)

var (
	utf8BOM  = []byte{0xEF, 0xBB, 0xBF}
	utf16BE  = []byte{0xFE, 0xFF}
	utf16LE  = []byte{0xFF, 0xFE}
	comment  = []byte("<!--")
	cdata    = []byte("<![CDATA[")
	doctype  = []byte("<!DOCTYPE")
	entity   = []byte("<!ENTITY")
	endPI    = []byte("?>")
	endCmt   = []byte("-->")
	endCDATA = []byte("]]>")
)

// Parse checks data against the limits and the no-DTD rule, then builds the
// tree. A leading UTF-8 byte order mark is accepted. Only UTF-8 (and its
// subset US-ASCII) is read: the scan works on bytes, and a document in
// another encoding could hide a declaration from it.
func Parse(data []byte, lim Limits) (*etree.Document, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	start := 0
	switch {
	case bytes.HasPrefix(data, utf8BOM):
		start = len(utf8BOM)
	case bytes.HasPrefix(data, utf16BE), bytes.HasPrefix(data, utf16LE):
		return nil, fmt.Errorf("%w: UTF-16 byte order mark at byte 0: only UTF-8 is accepted", ErrMalformed)
	}
	tags, err := scan(data, start, lim)
	if err != nil {
		return nil, err
	}
	text := data[start:]
	if len(tags) > 0 {
		text = normalizeAttrs(data, start, tags)
	}

	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{
		CharsetReader: utf8Only,
		// Repeats are kept so that they can be refused below.
		PreserveDuplicateAttrs: true,
		// The scan has bounded depth already; this is the parser's own
		// guard should the two ever read a document differently.
		MaxDepth: lim.MaxDepth,
	}
	if err := doc.ReadFromBytes(text); err != nil {
		return nil, parseError(data, start, err)
	}
	if err := check(doc, lim); err != nil {
		return nil, err
	}
	return doc, nil
}

// ReadAll reads r up to lim.MaxBytes, failing with ErrTooLarge beyond, so
// that a request body is bounded before anything is parsed.
func ReadAll(r io.Reader, lim Limits) ([]byte, error) {
	lim = lim.withDefaults()
	b, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, lim.MaxBytes)
	}
	return b, nil
}

// scan walks data[start:] once, jumping from '<' to '<': it rejects any "<!"
// markup other than comments and CDATA sections (DOCTYPE, ENTITY, ELEMENT,
// ATTLIST, NOTATION, conditional sections), skips comments, CDATA sections
// and processing instructions whole (so that text inside them, such as
// "<!DOCTYPE", is not mistaken for markup), and enforces the depth and
// element limits. It does not check well-formedness beyond what it needs to
// find tag boundaries; the parser does that afterwards. Offsets in errors
// are into data, so they match what the sender sent.
//
// It returns the spans of the start tags whose attribute values hold a
// literal tab or line break, for normalizeAttrs; usually none.
func scan(data []byte, start int, lim Limits) (tags [][2]int, err error) {
	depth, elements := 0, 0
	for i := start; i < len(data); {
		j := bytes.IndexByte(data[i:], '<')
		if j < 0 {
			return tags, nil
		}
		i += j
		rest := data[i:]
		if len(rest) < 2 {
			return nil, fmt.Errorf("%w: '<' at end of input (byte %d)", ErrMalformed, i)
		}
		switch rest[1] {
		case '!':
			switch {
			case bytes.HasPrefix(rest, comment):
				end := bytes.Index(rest[len(comment):], endCmt)
				if end < 0 {
					return nil, fmt.Errorf("%w: unterminated comment at byte %d", ErrMalformed, i)
				}
				i += len(comment) + end + len(endCmt)
			case bytes.HasPrefix(rest, cdata):
				end := bytes.Index(rest[len(cdata):], endCDATA)
				if end < 0 {
					return nil, fmt.Errorf("%w: unterminated CDATA section at byte %d", ErrMalformed, i)
				}
				i += len(cdata) + end + len(endCDATA)
			case bytes.HasPrefix(rest, entity):
				return nil, fmt.Errorf("%w: <!ENTITY at byte %d", ErrEntity, i)
			case bytes.HasPrefix(rest, doctype):
				// Name the worse offence: a DTD that declares entities
				// (billion laughs, XXE) rather than merely naming one.
				if k := bytes.Index(rest, entity); k >= 0 {
					return nil, fmt.Errorf("%w: <!ENTITY at byte %d, in the DOCTYPE at byte %d", ErrEntity, i+k, i)
				}
				return nil, fmt.Errorf("%w: <!DOCTYPE at byte %d", ErrDTD, i)
			default:
				return nil, fmt.Errorf("%w: markup declaration %q at byte %d", ErrDTD, declName(rest), i)
			}
		case '?':
			end := bytes.Index(rest[2:], endPI)
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated processing instruction at byte %d", ErrMalformed, i)
			}
			i += 2 + end + len(endPI)
		case '/':
			end := bytes.IndexByte(rest, '>')
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated end tag at byte %d", ErrMalformed, i)
			}
			// Without this, leading end tags would buy an attacker
			// nesting the depth limit never sees.
			if depth--; depth < 0 {
				return nil, fmt.Errorf("%w: end tag without a start tag at byte %d", ErrMalformed, i)
			}
			i += end + 1
		default:
			end, selfClosing, ws, ok := tagEnd(rest)
			if !ok {
				return nil, fmt.Errorf("%w: unterminated start tag at byte %d", ErrMalformed, i)
			}
			if elements++; elements > lim.MaxElements {
				return nil, fmt.Errorf("%w: more than %d, the last at byte %d", ErrTooManyElements, lim.MaxElements, i)
			}
			if !selfClosing {
				if depth++; depth > lim.MaxDepth {
					return nil, fmt.Errorf("%w: deeper than %d at byte %d", ErrTooDeep, lim.MaxDepth, i)
				}
			}
			if ws {
				tags = append(tags, [2]int{i, i + end + 1})
			}
			i += end + 1
		}
	}
	return tags, nil
}

// tagEnd finds the '>' closing a start tag, skipping quoted attribute values
// (which may contain '>'), and says whether any value holds a literal tab or
// line break. Every step is a bytes.IndexByte, so the scan stays fast on
// attribute-heavy documents.
func tagEnd(b []byte) (end int, selfClosing, ws, ok bool) {
	for k := 1; k < len(b); {
		gt := bytes.IndexByte(b[k:], '>')
		if gt < 0 {
			return 0, false, false, false
		}
		gt += k
		q := bytes.IndexAny(b[k:gt], `"'`)
		if q < 0 {
			return gt, b[gt-1] == '/', ws, true
		}
		q += k
		closing := bytes.IndexByte(b[q+1:], b[q])
		if closing < 0 {
			return 0, false, false, false
		}
		ws = ws || hasBreak(b[q+1:q+1+closing])
		k = q + 1 + closing + 1
	}
	return 0, false, false, false
}

func hasBreak(v []byte) bool {
	for _, c := range v {
		if c == '\t' || c == '\n' || c == '\r' {
			return true
		}
	}
	return false
}

// normalizeAttrs returns a copy of data[start:] in which every literal tab,
// line feed, carriage return or CR LF pair inside an attribute value of the
// given start tags is one space. Character references (&#xA;) are left
// alone: they are how a value keeps a real line break, and the parser
// decodes them afterwards.
func normalizeAttrs(data []byte, start int, tags [][2]int) []byte {
	out := make([]byte, 0, len(data)-start)
	last := start
	for _, t := range tags {
		out = append(out, data[last:t[0]]...)
		var quote byte
		tag := data[t[0]:t[1]]
		for k := 0; k < len(tag); k++ {
			c := tag[k]
			switch {
			case quote == 0:
				if c == '"' || c == '\'' {
					quote = c
				}
			case c == quote:
				quote = 0
			case c == '\r' && k+1 < len(tag) && tag[k+1] == '\n':
				k++
				c = ' '
			case c == '\t' || c == '\n' || c == '\r':
				c = ' '
			}
			out = append(out, c)
		}
		last = t[1]
	}
	return append(out, data[last:]...)
}

func declName(b []byte) string {
	end := 2
	for end < len(b) && end < 12 && b[end] > ' ' && b[end] != '[' && b[end] != '>' {
		end++
	}
	return string(b[:end])
}

// utf8Only refuses encodings other than UTF-8 in the XML declaration.
// etree's default would pass the bytes through whatever the declaration
// says, so a document labelled ISO-8859-1 would be read differently here
// than by the partner's software.
func utf8Only(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	}
	return nil, fmt.Errorf("encoding %q is not supported: only UTF-8 is accepted", charset)
}

// parseError wraps a parser failure in ErrMalformed. etree reports some
// failures without a position ("invalid XML format"), so the input is
// decoded again, token by token, to say where it went wrong; this costs
// nothing on the success path.
func parseError(data []byte, start int, err error) error {
	if errors.Is(err, etree.ErrMaxDepth) {
		return fmt.Errorf("%w: %v", ErrTooDeep, err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data[start:]))
	dec.CharsetReader = utf8Only
	var open []xml.Name
	for {
		before := dec.InputOffset()
		tok, derr := dec.RawToken()
		if derr == io.EOF {
			if len(open) > 0 {
				return fmt.Errorf("%w: <%s> is never closed", ErrMalformed, qname(open[len(open)-1]))
			}
			break
		}
		if derr != nil {
			var se *xml.SyntaxError
			if errors.As(derr, &se) {
				msg := se.Msg
				if strings.HasPrefix(msg, "invalid character entity") {
					msg = "undefined entity reference " + strings.TrimPrefix(msg, "invalid character entity ") +
						" (only &lt; &gt; &amp; &apos; &quot; and character references exist without a DTD)"
				}
				return fmt.Errorf("%w: %s at line %d (near byte %d)", ErrMalformed, msg, se.Line, int64(start)+dec.InputOffset())
			}
			return fmt.Errorf("%w: %v (near byte %d)", ErrMalformed, derr, int64(start)+dec.InputOffset())
		}
		switch t := tok.(type) {
		case xml.StartElement:
			open = append(open, t.Name)
		case xml.EndElement:
			if len(open) == 0 || open[len(open)-1] != t.Name {
				want := "no element is open"
				if len(open) > 0 {
					want = "<" + qname(open[len(open)-1]) + "> is open"
				}
				return fmt.Errorf("%w: </%s> at byte %d, but %s", ErrMalformed, qname(t.Name), int64(start)+before, want)
			}
			open = open[:len(open)-1]
		}
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// check enforces what the scan cannot see and etree does not: one root
// element, no text beside it, no repeated attribute, every prefix bound
// by a declaration in scope (encoding/xml would otherwise read an
// undeclared prefix as if it were a namespace name). It also recounts
// elements on the tree itself, so the limit holds even if the scan and the
// parser were ever to disagree about a document.
func check(doc *etree.Document, lim Limits) error {
	var root *etree.Element
	for _, t := range doc.Child {
		switch c := t.(type) {
		case *etree.Element:
			if root != nil {
				return fmt.Errorf("%w: a second root element <%s> after <%s>", ErrMalformed, c.FullTag(), root.FullTag())
			}
			root = c
		case *etree.CharData:
			if !c.IsWhitespace() {
				return fmt.Errorf("%w: text outside the root element", ErrMalformed)
			}
		case *etree.Directive:
			// The scan refuses every "<!" declaration, so this is
			// unreachable unless the two disagree.
			return fmt.Errorf("%w: <!%s> outside the scan", ErrDTD, c.Data)
		}
	}
	if root == nil {
		return fmt.Errorf("%w: no root element", ErrMalformed)
	}
	n := 0
	return walk(root, lim, &n, nil)
}

// walk checks e and below; prefixes holds the prefixes declared on e's
// ancestors (a stack: documents declare few, so a scan beats a map).
func walk(e *etree.Element, lim Limits, n *int, prefixes []string) error {
	if *n++; *n > lim.MaxElements {
		return fmt.Errorf("%w: more than %d", ErrTooManyElements, lim.MaxElements)
	}
	if err := uniqueAttrs(e); err != nil {
		return err
	}
	for _, a := range e.Attr {
		if a.Space == "xmlns" {
			if a.Value == "" {
				return fmt.Errorf("%w: %s=\"\" on %s: a prefix cannot be undeclared", ErrMalformed, a.FullKey(), elementPath(e))
			}
			prefixes = append(prefixes, a.Key)
		}
	}
	if !declared(e.Space, prefixes) {
		return fmt.Errorf("%w: prefix %q of %s is not declared (no xmlns:%s in scope)", ErrMalformed, e.Space, elementPath(e), e.Space)
	}
	for _, a := range e.Attr {
		if a.Space != "xmlns" && !declared(a.Space, prefixes) {
			return fmt.Errorf("%w: prefix %q of attribute %s on %s is not declared (no xmlns:%s in scope)", ErrMalformed, a.Space, a.FullKey(), elementPath(e), a.Space)
		}
	}
	for _, t := range e.Child {
		switch c := t.(type) {
		case *etree.Element:
			if err := walk(c, lim, n, prefixes); err != nil {
				return err
			}
		case *etree.Directive:
			return fmt.Errorf("%w: <!%s> inside <%s>", ErrDTD, c.Data, e.FullTag())
		}
	}
	return nil
}

// declared reports whether prefix needs no declaration or has one.
func declared(prefix string, prefixes []string) bool {
	if prefix == "" || prefix == "xml" {
		return true
	}
	for i := len(prefixes) - 1; i >= 0; i-- {
		if prefixes[i] == prefix {
			return true
		}
	}
	return false
}

// elementPath names e for an error, from the root, as written.
func elementPath(e *etree.Element) string {
	path := ""
	for ; e != nil && e.Tag != ""; e = e.Parent() { // the document node has no tag
		path = "/" + e.FullTag() + path
	}
	return path
}

// uniqueAttrs refuses an attribute written twice on one element.
func uniqueAttrs(e *etree.Element) error {
	attrs := e.Attr
	if len(attrs) < 2 {
		return nil
	}
	dup := func(a etree.Attr) error {
		return fmt.Errorf("%w: attribute %s repeated on <%s>", ErrMalformed, a.FullKey(), e.FullTag())
	}
	// Elements rarely carry more than a handful of attributes; a map is
	// only worth it for the hostile case of thousands.
	if len(attrs) <= 16 {
		for i := 1; i < len(attrs); i++ {
			for j := range i {
				if attrs[i].Space == attrs[j].Space && attrs[i].Key == attrs[j].Key {
					return dup(attrs[i])
				}
			}
		}
		return nil
	}
	seen := make(map[[2]string]struct{}, len(attrs))
	for _, a := range attrs {
		k := [2]string{a.Space, a.Key}
		if _, ok := seen[k]; ok {
			return dup(a)
		}
		seen[k] = struct{}{}
	}
	return nil
}
