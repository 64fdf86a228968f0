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
// Memory is the harder bound: etree takes some 280 bytes for an empty
// element, 70 per byte of "<a/>", so four megabytes of them took 267 MiB.
// The scan therefore also bounds the attributes on one element
// (MaxAttrs), the namespace declarations in scope (MaxNamespaces: every
// prefixed name is looked up among them, and 10,000 of them made a
// 4 MB body take 10 seconds) and the length of names (MaxNameLen), and it
// estimates, token by token, the heap the parse will take (the tree, the
// decoder's tokens, the growth of every slice, garbage included) and
// refuses the document at the byte where the estimate passes
// MaxHeapRatio, 16, times its size. The estimate is calibrated on what
// etree and encoding/xml allocate, and TestHeapEstimateBoundsAllocation
// checks that it stays above that, by 4% or more, for every shape of
// document it tries.
//
// The budget is relative to the document rather than to MaxBytes, so that
// no body takes more than 16 bytes of heap per byte of its own whatever
// MaxBytes allows; an element limit alone cannot do that, since one low
// enough to hold "<a/><a/>..." to 16 per byte would refuse real
// documents. But the budget never falls below 16 times HeapFloor (1 MiB):
// the parser's fixed cost, some 17 KB, is more than 16 times a document of
// a kilobyte. Real documents are estimated at 8 to 10 times their size
// (a certificate with 1,000 line items: 9.7), at most 0.6 of the budget.
//
// The tree is built by a reader of its own (build.go), in one pass over
// the bytes, into the same etree tree etree would build over encoding/xml
// and refusing what encoding/xml refuses, several times faster and in
// less heap (BenchmarkParse measures both readers side by side).
// Documents with names it does not read (not ASCII), which the scan
// spots, are still read by encoding/xml, and so are its errors worded.
// The heap estimate stays calibrated on etree over encoding/xml, the
// costlier of the two, so it bounds both (TestHeapEstimateBoundsAllocation
// measures each).
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

	// MaxAttrs bounds the attributes on one element, namespace
	// declarations included.
	MaxAttrs int
	// MaxNamespaces bounds the prefix declarations (xmlns:p) in scope at
	// any element: each prefixed name is looked up among them.
	MaxNamespaces int
	// MaxNameLen bounds an element or attribute name, prefix included, in
	// bytes. Names end up in error messages and logs.
	MaxNameLen int
	// MaxHeapRatio bounds the heap the parse is estimated to take, as a
	// multiple of the input's size or of HeapFloor, whichever is larger
	// (see the package documentation).
	MaxHeapRatio int
}

// Default limits. Real documents (the rules' examples, a certificate with
// 1,000 line items) have 11 to 23 elements per KB, at most 5 attributes on
// an element, a few namespaces and names under 40 bytes: far below all of
// these.
const (
	DefaultMaxBytes      = 16 << 20
	DefaultMaxDepth      = 64
	DefaultMaxElements   = 100_000 // a 1,000-item SPS certificate has 12,000
	DefaultMaxAttrs      = 256
	DefaultMaxNamespaces = 64
	DefaultMaxNameLen    = 256
	DefaultMaxHeapRatio  = 16
)

// HeapFloor is the size below which a document's heap budget no longer
// shrinks: a small document may take up to MaxHeapRatio × HeapFloor (1 MiB
// by default), which covers the parser's fixed costs.
const HeapFloor = 64 << 10

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
	if l.MaxAttrs <= 0 {
		l.MaxAttrs = DefaultMaxAttrs
	}
	if l.MaxNamespaces <= 0 {
		l.MaxNamespaces = DefaultMaxNamespaces
	}
	if l.MaxNameLen <= 0 {
		l.MaxNameLen = DefaultMaxNameLen
	}
	if l.MaxHeapRatio <= 0 {
		l.MaxHeapRatio = DefaultMaxHeapRatio
	}
	return l
}

// Errors callers branch on; every error Parse and ReadAll return for bad
// input wraps exactly one of them. ErrTooLarge covers the heap budget and
// MaxNameLen as well as MaxBytes; ErrTooManyAttrs covers MaxAttrs and
// MaxNamespaces.
var (
	ErrDTD             = errors.New("DTD not allowed")
	ErrEntity          = errors.New("entity declaration not allowed")
	ErrTooLarge        = errors.New("document too large")
	ErrTooDeep         = errors.New("document nested too deeply")
	ErrTooManyElements = errors.New("document has too many elements")
	ErrTooManyAttrs    = errors.New("document has too many attributes")
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
	doc, _, err := parse(data, lim, true)
	return doc, err
}

// Located is a document Parse accepted and where its root element ends
// (as RootEnd says), for a signer that inserts its signature there.
type Located struct {
	Doc       *etree.Document
	RootEnd   int
	RootEmpty bool
}

// ParseLocated is Parse, also saying where the root element ends, from
// the same scan.
func ParseLocated(data []byte, lim Limits) (*Located, error) {
	doc, s, err := parse(data, lim, true)
	if err != nil {
		return nil, err
	}
	return &Located{Doc: doc, RootEnd: s.rootEnd, RootEmpty: s.rootEmpty}, nil
}

// parse is Parse; without fast, every document goes to encoding/xml (the
// tests compare the two paths and check the heap estimate on both).
func parse(data []byte, lim Limits, fast bool) (*etree.Document, *scanner, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	start := 0
	switch {
	case bytes.HasPrefix(data, utf8BOM):
		start = len(utf8BOM)
	case bytes.HasPrefix(data, utf16BE), bytes.HasPrefix(data, utf16LE):
		return nil, nil, fmt.Errorf("%w: UTF-16 byte order mark at byte 0: only UTF-8 is accepted", ErrMalformed)
	}
	s, err := scanned(data, start, lim)
	if err != nil {
		return nil, nil, err
	}
	if fast && !s.exotic && len(data) < maxBuild {
		// build checks its tree as it reads it.
		doc, failAt, err := build(data, start, lim)
		if err != nil {
			return nil, nil, err
		}
		if doc != nil {
			doc.ReadSettings = readSettings(lim)
			return doc, s, nil
		}
		// encoding/xml says what is wrong there, as it always did.
		if err := locate(data, start, failAt, lim); err != nil {
			return nil, nil, err
		}
		// build refused what encoding/xml reads (FuzzParse looks for
		// such documents): read it that way.
	}
	doc, err := decode(data, start, s.tags, lim)
	if err != nil {
		return nil, nil, err
	}
	if err := check(doc, lim); err != nil {
		return nil, nil, err
	}
	return doc, s, nil
}

// maxBuild bounds the documents build reads (its references number
// tokens in 30 bits); larger ones, far beyond DefaultMaxBytes, go to
// encoding/xml.
const maxBuild = 1 << 30

func readSettings(lim Limits) etree.ReadSettings {
	return etree.ReadSettings{
		CharsetReader: utf8Only,
		// Repeats are kept so that they can be refused (check).
		PreserveDuplicateAttrs: true,
		// The scan has bounded depth already; this is the parser's own
		// guard should the two ever read a document differently.
		MaxDepth: lim.MaxDepth,
	}
}

// decode builds the tree with etree over encoding/xml, for what build
// does not read; tags are the start tags normalizeAttrs must rewrite.
func decode(data []byte, start int, tags [][2]int, lim Limits) (*etree.Document, error) {
	text := data[start:]
	if len(tags) > 0 {
		text = normalizeAttrs(data, start, tags)
	}
	doc := etree.NewDocument()
	doc.ReadSettings = readSettings(lim)
	read, err := doc.ReadFrom(&chunkReader{b: text})
	if err != nil {
		return nil, parseError(data, start, start+int(read)-readChunk, lim, err)
	}
	return doc, nil
}

// RootEnd returns where the root element of data, a document Parse
// accepts with lim, ends: the offset of the '<' of its end tag or, when it
// is written empty ("<r/>"), of the '/' of its "/>" (empty true). Signing
// inserts the signature there, leaving every other byte as it was.
func RootEnd(data []byte, lim Limits) (at int, empty bool, err error) {
	lim = lim.withDefaults()
	start := 0
	if bytes.HasPrefix(data, utf8BOM) {
		start = len(utf8BOM)
	}
	s, err := scanned(data, start, lim)
	if err != nil {
		return 0, false, err
	}
	if s.rootEnd == 0 {
		return 0, false, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return s.rootEnd, s.rootEmpty, nil
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

// readChunk is the most chunkReader hands the decoder at a time.
const readChunk = 1 << 10

// chunkReader reads b, at most readChunk bytes at a time, so that when the
// decoder fails, it does so in the last readChunk bytes read.
type chunkReader struct{ b []byte }

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), readChunk)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// parseError wraps a parser failure in ErrMalformed. etree reports some
// failures without a position, so the input is decoded again, token by
// token, to say where it went wrong: from the last token that starts
// before byte near, after which the parser failed. Reading only that far
// back keeps a failure at the end of a large document from costing a
// second parse; it costs nothing on the success path.
//
// The scan has matched start and end tags already, so what is left is
// what only the decoder sees: bad characters, names, references and
// attribute syntax.
func parseError(data []byte, start, near int, lim Limits, err error) error {
	if errors.Is(err, etree.ErrMaxDepth) {
		return fmt.Errorf("%w: %v", ErrTooDeep, err)
	}
	if lerr := locate(data, start, near, lim); lerr != nil {
		return lerr
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

// locate decodes data with encoding/xml from the last token that starts at
// or before byte near and returns the first error, in ErrMalformed with
// its line and byte, or nil if there is none from there on.
func locate(data []byte, start, near int, lim Limits) error {
	from := restart(data, start, near, lim)
	dec := xml.NewDecoder(bytes.NewReader(data[from:]))
	dec.CharsetReader = utf8Only
	for {
		_, derr := dec.RawToken()
		if derr == io.EOF {
			return nil
		}
		if derr != nil {
			at := int64(from) + dec.InputOffset()
			var se *xml.SyntaxError
			if errors.As(derr, &se) {
				msg := se.Msg
				if strings.HasPrefix(msg, "invalid character entity") {
					msg = "undefined entity reference " + strings.TrimPrefix(msg, "invalid character entity ") +
						" (only &lt; &gt; &amp; &apos; &quot; and character references exist without a DTD)"
				}
				line := bytes.Count(data[start:from], newline) + se.Line
				return fmt.Errorf("%w: %s at line %d (near byte %d)", ErrMalformed, msg, line, at)
			}
			return fmt.Errorf("%w: %v (near byte %d)", ErrMalformed, derr, at)
		}
	}
}

var newline = []byte{'\n'}

// check enforces what the scan cannot see and etree does not: one root
// element, no text beside it, no repeated attribute, every prefix bound
// by a declaration in scope (encoding/xml would otherwise read an
// undeclared prefix as if it were a namespace name). It also recounts
// elements on the tree itself, so the limit holds even if the scan and the
// parser were ever to disagree about a document.
func check(doc *etree.Document, lim Limits) error {
	root, err := checkRoot(doc)
	if err != nil {
		return err
	}
	n := 0
	var prefixes []string
	return walk(root, lim, &n, &prefixes)
}

// checkRoot is check's look at the document's own children, and returns
// the root element.
func checkRoot(doc *etree.Document) (*etree.Element, error) {
	var root *etree.Element
	for _, t := range doc.Child {
		switch c := t.(type) {
		case *etree.Element:
			if root != nil {
				return nil, fmt.Errorf("%w: a second root element <%s> after <%s>", ErrMalformed, c.FullTag(), root.FullTag())
			}
			root = c
		case *etree.CharData:
			if !c.IsWhitespace() {
				return nil, fmt.Errorf("%w: text outside the root element", ErrMalformed)
			}
		case *etree.Directive:
			// The scan refuses every "<!" declaration, so this is
			// unreachable unless the two disagree.
			return nil, fmt.Errorf("%w: <!%s> outside the scan", ErrDTD, c.Data)
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return root, nil
}

// walk checks e and below; prefixes holds the prefixes declared on e's
// ancestors (a stack: documents declare few, so a scan beats a map, and
// the scan has bounded them by MaxNamespaces). The stack is shared: e
// pushes its declarations and pops them when done, so that siblings do
// not each copy it.
func walk(e *etree.Element, lim Limits, n *int, stack *[]string) error {
	if *n++; *n > lim.MaxElements {
		return tooManyElements(lim)
	}
	if err := uniqueAttrs(e); err != nil {
		return err
	}
	mark := len(*stack)
	if err := checkPrefixes(e, stack, treePath{}); err != nil {
		return err
	}
	for _, t := range e.Child {
		switch c := t.(type) {
		case *etree.Element:
			if err := walk(c, lim, n, stack); err != nil {
				return err
			}
		case *etree.Directive:
			return fmt.Errorf("%w: <!%s> inside <%s>", ErrDTD, c.Data, e.FullTag())
		}
	}
	*stack = (*stack)[:mark]
	return nil
}

func tooManyElements(lim Limits) error {
	return fmt.Errorf("%w: more than %d", ErrTooManyElements, lim.MaxElements)
}

// checkPrefixes pushes the prefixes e declares onto stack, refusing an
// empty declaration, and checks that the prefixes of e and of its
// attributes are declared there. at names e in errors.
func checkPrefixes(e *etree.Element, stack *[]string, at pather) error {
	for _, a := range e.Attr {
		if a.Space == "xmlns" {
			if a.Value == "" {
				return fmt.Errorf("%w: %s=\"\" on %s: a prefix cannot be undeclared", ErrMalformed, a.FullKey(), at.path(e))
			}
			*stack = append(*stack, a.Key)
		}
	}
	prefixes := *stack
	if !declared(e.Space, prefixes) {
		return fmt.Errorf("%w: prefix %q of %s is not declared (no xmlns:%s in scope)", ErrMalformed, e.Space, at.path(e), e.Space)
	}
	for _, a := range e.Attr {
		if a.Space != "xmlns" && !declared(a.Space, prefixes) {
			return fmt.Errorf("%w: prefix %q of attribute %s on %s is not declared (no xmlns:%s in scope)", ErrMalformed, a.Space, a.FullKey(), at.path(e), a.Space)
		}
	}
	return nil
}

// A pather names an element for an error, from the root, as written.
type pather interface{ path(e *etree.Element) string }

// treePath names an element in a linked tree (elementPath).
type treePath struct{}

func (treePath) path(e *etree.Element) string { return elementPath(e) }

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
