package xmlsafe

import (
	"bytes"
	"fmt"
	"math"
	"unicode/utf8"
)

// What the tree costs, in heap bytes, as measured on beevik/etree 1.8 over
// encoding/xml with Go 1.26 and the garbage collector off, so that every
// allocation counts, garbage included. TestHeapEstimateBoundsAllocation
// checks that the estimate stays above what Parse allocates, so a new
// version of either that allocates more fails it.
const (
	heapFixed = 32 << 10 // the decoder, the document, small buffers
	// An element: etree.Element (96) and the decoder's start and end
	// tokens, boxed (48 + 32), with room for small names.
	heapElement = 208
	// A text run, comment or CDATA section: the etree token (48) and the
	// decoder's, boxed. A processing instruction has two strings.
	heapNode = 80
	heapPI   = 112
	// Per attribute, its name's and value's strings rounded up to a size
	// class, and the map uniqueAttrs builds beyond 16 of them.
	heapAttrStrings = 16
	heapAttrMap     = 128
)

// Slices grow by appending, one element at a time, so every array on the
// way counts: a parent's Child ([]etree.Token, 16 bytes an entry), and an
// element's attributes (the decoder's []xml.Attr, 48, then etree's
// []etree.Attr, 64).
const (
	slotChild = 16
	slotAttr  = 48 + 64
)

// grow is the capacity append gives a full slice of capacity c, as
// runtime.nextslicecap computes it for one more element.
func grow(c int) int {
	if c < 256 {
		return max(2*c, 1)
	}
	return c + (c+3*256)/4
}

// array is the heap an array of c slots of the given size takes. Up to 256
// slots, the capacities append picks are powers of two, and so are the
// slot sizes here: the array fills its size class. Beyond, size classes
// are at most 1/8 apart.
func array(c, size int) int64 {
	b := int64(c) * int64(size)
	if c > 256 {
		b += b / 8
	}
	return b
}

// attrsCost is what n attributes on one element cost beyond their names'
// and values' bytes.
func attrsCost(n int) int64 {
	sum := int64(n) * heapAttrStrings
	for c := 0; c < n; {
		c = grow(c)
		sum += array(c, slotAttr)
	}
	if n > 16 {
		sum += int64(n) * heapAttrMap
	}
	return sum
}

// scanner holds the state of one scan; see scan.
type scanner struct {
	data []byte
	lim  Limits

	open     []frame // the document, then each open element, innermost last
	elements int
	inScope  int // prefix declarations in scope

	cost, budget int64 // estimated heap, and its limit
	maxRun       int   // the longest token, which the decoder buffers whole
	// exotic: a name build does not read (not ASCII, or a colon at either
	// end), so the document goes to encoding/xml (build.go).
	exotic bool

	// rootEnd is where the root element ends: the '<' of its end tag, or
	// the '/' of its "/>" (rootEmpty).
	rootEnd   int
	rootEmpty bool

	tags [][2]int // start tags for normalizeAttrs (usually none)

	stop, last int // see restart
}

// frame is an open element (or the document, open[0]).
type frame struct {
	name      int // offset of its name, after the '<'
	nameLen   int
	kids, cap int // children so far, and the capacity of its Child slice
	decls     int // prefix declarations on it
}

func newScanner(data []byte, lim Limits) *scanner {
	s := &scanner{data: data, lim: lim, open: make([]frame, 1, 16), stop: len(data)}
	size := int64(max(len(data), HeapFloor))
	s.budget = math.MaxInt64
	if r := int64(lim.MaxHeapRatio); r < s.budget/size {
		s.budget = r * size
	}
	// Every byte is copied about once into a string (names, values, text),
	// rounded up to a size class.
	s.cost = heapFixed + int64(len(data))*5/4
	return s
}

// scan walks data[start:] once, jumping from '<' to '<': it rejects any "<!"
// markup other than comments and CDATA sections (DOCTYPE, ENTITY, ELEMENT,
// ATTLIST, NOTATION, conditional sections), skips comments, CDATA sections
// and processing instructions whole (so that text inside them, such as
// "<!DOCTYPE", is not mistaken for markup), matches end tags to start
// tags, and enforces every limit: depth, elements, attributes per element,
// namespace declarations in scope, name length, and the heap the tree
// will take, estimated token by token from what etree allocates for each.
// It checks well-formedness no further than that; the parser does
// afterwards. Offsets in errors are into data, so they match what the
// sender sent.
//
// It returns the spans of the start tags whose attribute values hold a
// literal tab or line break, for normalizeAttrs (usually none), and the
// heap estimate.
func scan(data []byte, start int, lim Limits) (tags [][2]int, heap int64, err error) {
	s, err := scanned(data, start, lim)
	if err != nil {
		return nil, 0, err
	}
	return s.tags, s.cost, nil
}

// scanned is scan, returning the whole state.
func scanned(data []byte, start int, lim Limits) (*scanner, error) {
	s := newScanner(data, lim)
	if err := s.run(start); err != nil {
		return nil, err
	}
	return s, nil
}

// noteName marks the scan exotic if name is one build does not read.
func (s *scanner) noteName(name []byte) {
	if len(name) > 0 && (name[0] == ':' || name[len(name)-1] == ':') {
		s.exotic = true
		return
	}
	for _, c := range name {
		if c >= 0x80 {
			s.exotic = true
			return
		}
	}
}

// restart returns the start of the last token at or before byte limit: a
// place the decoder can start reading from. data must have passed scan
// with the same limits.
func restart(data []byte, start, limit int, lim Limits) int {
	if limit <= start {
		return start
	}
	s := newScanner(data, lim)
	s.stop = limit
	s.run(start)
	return s.last
}

func (s *scanner) run(start int) error {
	data := s.data
	if err := s.spend(0, start); err != nil {
		return err
	}
	s.last = start
	for i := start; i < len(data); {
		if i > s.stop {
			return nil
		}
		s.last = i
		j := bytes.IndexByte(data[i:], '<')
		if j < 0 {
			j = len(data) - i
		}
		if j > 0 {
			if err := s.node(i, j); err != nil {
				return err
			}
			if i += j; i == len(data) || i > s.stop {
				break
			}
			s.last = i
		}
		rest := data[i:]
		if len(rest) < 2 {
			return fmt.Errorf("%w: '<' at end of input (byte %d)", ErrMalformed, i)
		}
		var n int // the token's length
		switch rest[1] {
		case '!':
			switch {
			case bytes.HasPrefix(rest, comment):
				end := bytes.Index(rest[len(comment):], endCmt)
				if end < 0 {
					return fmt.Errorf("%w: unterminated comment at byte %d", ErrMalformed, i)
				}
				n = len(comment) + end + len(endCmt)
			case bytes.HasPrefix(rest, cdata):
				end := bytes.Index(rest[len(cdata):], endCDATA)
				if end < 0 {
					return fmt.Errorf("%w: unterminated CDATA section at byte %d", ErrMalformed, i)
				}
				n = len(cdata) + end + len(endCDATA)
			case bytes.HasPrefix(rest, entity):
				return fmt.Errorf("%w: <!ENTITY at byte %d", ErrEntity, i)
			case bytes.HasPrefix(rest, doctype):
				// Name the worse offence: a DTD that declares entities
				// (billion laughs, XXE) rather than merely naming one.
				if k := bytes.Index(rest, entity); k >= 0 {
					return fmt.Errorf("%w: <!ENTITY at byte %d, in the DOCTYPE at byte %d", ErrEntity, i+k, i)
				}
				return fmt.Errorf("%w: <!DOCTYPE at byte %d", ErrDTD, i)
			default:
				return fmt.Errorf("%w: markup declaration %q at byte %d", ErrDTD, declName(rest), i)
			}
			if err := s.node(i, n); err != nil {
				return err
			}
		case '?':
			end := bytes.Index(rest[2:], endPI)
			if end < 0 {
				return fmt.Errorf("%w: unterminated processing instruction at byte %d", ErrMalformed, i)
			}
			n = 2 + end + len(endPI)
			target := rest[2 : 2+end]
			for k, c := range target {
				if c <= ' ' {
					target = target[:k]
					break
				}
			}
			s.noteName(target)
			if err := s.node(i, n); err != nil {
				return err
			}
		case '/':
			end := bytes.IndexByte(rest, '>')
			if end < 0 {
				return fmt.Errorf("%w: unterminated end tag at byte %d", ErrMalformed, i)
			}
			n = end + 1
			if err := s.endTag(i, n); err != nil {
				return err
			}
		default:
			var err error
			if n, err = s.startTag(i); err != nil {
				return err
			}
		}
		i += n
	}
	if s.stop == len(data) && len(s.open) > 1 {
		f := s.open[len(s.open)-1]
		return fmt.Errorf("%w: <%s> is never closed", ErrMalformed, shortName(data[f.name:f.name+f.nameLen]))
	}
	return nil
}

// spend adds c to the estimate for the token at byte i, failing once the
// estimate is over the budget.
func (s *scanner) spend(c int64, i int) error {
	if s.cost += c; s.cost > s.budget {
		return fmt.Errorf("%w: parsing it would take an estimated %d bytes of heap by byte %d, over the budget of %d (MaxHeapRatio %d × the larger of its size, %d, and HeapFloor)",
			ErrTooLarge, s.cost, i, s.budget, s.lim.MaxHeapRatio, len(s.data))
	}
	return nil
}

// buffer returns what a token of n bytes adds to the decoder's buffer, which
// holds the longest token read so far and grows by doubling: up to 4 times
// that token in all. Twice that, because a document the parser refuses
// is read again, from the last token before the error, to say where.
func (s *scanner) buffer(n int) int64 {
	if n <= s.maxRun {
		return 0
	}
	c := 8 * int64(n-s.maxRun)
	s.maxRun = n
	return c
}

// child counts a child token of the innermost open element (or of the
// document) and returns what it adds to the Child slice: a new array when
// the slice is full.
func (s *scanner) child() int64 {
	f := &s.open[len(s.open)-1]
	if f.kids++; f.kids <= f.cap {
		return 0
	}
	f.cap = grow(f.cap)
	return array(f.cap, slotChild)
}

// node accounts for a text run, comment, CDATA section or processing
// instruction of n bytes at byte i.
func (s *scanner) node(i, n int) error {
	c := int64(heapNode)
	if s.data[i] == '<' && s.data[i+1] == '?' {
		c = heapPI
	}
	return s.spend(c+s.child()+s.buffer(n), i)
}

// endTag checks the end tag of n bytes at byte i and closes its element.
func (s *scanner) endTag(i, n int) error {
	// Without this, leading end tags would buy an attacker nesting the
	// depth limit never sees.
	if len(s.open) == 1 {
		return fmt.Errorf("%w: end tag without a start tag at byte %d", ErrMalformed, i)
	}
	// The name runs to the first space or the '>' (the parser refuses
	// anything but spaces after it), and must be the open element's.
	body := s.data[i+2 : i+n-1]
	f := s.open[len(s.open)-1]
	open := s.data[f.name : f.name+f.nameLen]
	if !bytes.HasPrefix(body, open) || len(body) > len(open) && body[len(open)] > ' ' {
		k := 0
		for k < len(body) && body[k] > ' ' {
			k++
		}
		return fmt.Errorf("%w: </%s> at byte %d, but <%s> is open", ErrMalformed, shortName(body[:k]), i, shortName(open))
	}
	s.inScope -= f.decls
	s.open = s.open[:len(s.open)-1]
	if len(s.open) == 1 {
		s.rootEnd = i
	}
	return s.spend(s.buffer(n), i)
}

// startTag checks the start tag at byte i, counts its element and
// attributes, and returns its length.
func (s *scanner) startTag(i int) (int, error) {
	b := s.data[i:]
	if s.elements++; s.elements > s.lim.MaxElements {
		return 0, fmt.Errorf("%w: more than %d, the last at byte %d", ErrTooManyElements, s.lim.MaxElements, i)
	}
	// The end of the name, four bytes at a time while they are ASCII.
	k, high := 1, false
	for k+4 <= len(b) && asciiName[b[k]] && asciiName[b[k+1]] && asciiName[b[k+2]] && asciiName[b[k+3]] {
		k += 4
	}
	for k < len(b) && asciiName[b[k]] {
		k++
	}
	if k < len(b) && b[k] >= utf8.RuneSelf {
		high = true
		for k < len(b) && !nameEnd[b[k]] {
			k++
		}
	}
	nameLen := k - 1
	if nameLen > s.lim.MaxNameLen {
		return 0, s.nameTooLong(b[1:k], i+1)
	}
	if err := qname(b[1:k], i+1); err != nil {
		return 0, err
	}
	if high {
		s.exotic = true // as noteName, which finds nothing else once qname passes
	}
	// Attributes: each has exactly one quoted value, which may hold '>'.
	// Between values, look at every byte (names and spaces); jump over
	// values with IndexByte. Both are linear, however many attributes.
	attrs, decls, ws := 0, 0, false
	end := -1
	for end < 0 {
		q := k
		for q < len(b) && !valueOrEnd[b[q]] {
			q++
		}
		if q == len(b) {
			return 0, fmt.Errorf("%w: unterminated start tag at byte %d", ErrMalformed, i)
		}
		if b[q] == '>' {
			end = q
			break
		}
		name, at := attrName(b[k:q])
		if attrs++; attrs > s.lim.MaxAttrs {
			return 0, fmt.Errorf("%w: more than %d attributes (MaxAttrs) on the element at byte %d, the last at byte %d", ErrTooManyAttrs, s.lim.MaxAttrs, i, i+k+at)
		}
		if len(name) > s.lim.MaxNameLen {
			return 0, s.nameTooLong(name, i+k+at)
		}
		if err := qname(name, i+k+at); err != nil {
			return 0, err
		}
		s.noteName(name)
		if bytes.HasPrefix(name, xmlnsColon) {
			decls++
		}
		closing := bytes.IndexByte(b[q+1:], b[q])
		if closing < 0 {
			return 0, fmt.Errorf("%w: unterminated start tag at byte %d", ErrMalformed, i)
		}
		ws = ws || hasBreak(b[q+1:q+1+closing])
		k = q + 1 + closing + 1
	}
	if s.inScope+decls > s.lim.MaxNamespaces {
		return 0, fmt.Errorf("%w: more than %d namespace declarations in scope (MaxNamespaces) at the element at byte %d", ErrTooManyAttrs, s.lim.MaxNamespaces, i)
	}
	c := heapElement + s.child() + attrsCost(attrs)
	if b[end-1] == '/' && len(s.open) == 1 {
		s.rootEnd, s.rootEmpty = i+end-1, true
	}
	if b[end-1] != '/' {
		if len(s.open) > s.lim.MaxDepth {
			return 0, fmt.Errorf("%w: deeper than %d at byte %d", ErrTooDeep, s.lim.MaxDepth, i)
		}
		// Grown by hand: append would write the slice's pointer back, a
		// write barrier per element while the collector runs.
		if len(s.open) == cap(s.open) {
			s.open = append(s.open, frame{})[:len(s.open)]
		}
		s.open = s.open[:len(s.open)+1]
		s.open[len(s.open)-1] = frame{name: i + 1, nameLen: nameLen, decls: decls}
		s.inScope += decls
	}
	if ws {
		if len(s.tags) == 0 {
			// normalizeAttrs copies the whole document.
			c += int64(len(s.data))
		}
		if len(s.tags) == cap(s.tags) {
			c += array(grow(cap(s.tags)), 16)
		}
		s.tags = append(s.tags, [2]int{i, i + end + 1})
	}
	return end + 1, s.spend(c+s.buffer(end+1), i)
}

func (s *scanner) nameTooLong(name []byte, at int) error {
	return fmt.Errorf("%w: a name of %d bytes (%s) at byte %d, longer than %d (MaxNameLen)", ErrTooLarge, len(name), shortName(name), at, s.lim.MaxNameLen)
}

// shortName is name for an error message: whole if short, else its start.
func shortName(name []byte) string {
	if len(name) > 64 {
		return string(name[:64]) + "..."
	}
	return string(name)
}

var xmlnsColon = []byte("xmlns:")

// nameEnd holds the bytes that cannot continue an element name as the
// scan reads it. The parser checks names properly; for a name it accepts,
// the scan reads the same bytes. valueOrEnd holds the bytes that start an
// attribute value or end a start tag.
// asciiName holds the ASCII bytes that continue a name.
var nameEnd, valueOrEnd, asciiName [256]bool

func init() {
	for c := range 256 {
		nameEnd[c] = c <= ' ' || c == '/' || c == '>' || c == '=' || c == '"' || c == '\''
		valueOrEnd[c] = c == '"' || c == '\'' || c == '>'
		asciiName[c] = !nameEnd[c] && c < utf8.RuneSelf
	}
}

// colons returns the number of colons in name, or 2 if there are more.
func colons(name []byte) int {
	i := bytes.IndexByte(name, ':')
	if i < 0 {
		return 0
	}
	if bytes.IndexByte(name[i+1:], ':') < 0 {
		return 1
	}
	return 2
}

// attrName returns the attribute name in seg, the bytes between one quoted
// value (or the element name) and the next, such as ` b = `, and its
// offset in seg.
func attrName(seg []byte) ([]byte, int) {
	e := len(seg)
	for e > 0 && (seg[e-1] <= ' ' || seg[e-1] == '=') {
		e--
	}
	b := e
	for b > 0 && seg[b-1] > ' ' {
		b--
	}
	return seg[b:e], b
}

func hasBreak(v []byte) bool {
	for _, c := range v {
		if c == '\t' || c == '\n' || c == '\r' {
			return true
		}
	}
	return false
}

// qname refuses a name that is not a qualified name under Namespaces in
// XML: an empty prefix or local part (":a", "a:") or a second colon. XML
// itself allows them, and parsers then split them differently
// (encoding/xml keeps "a:" whole, others take "a" as a prefix), so two
// readers of one signed document could see two documents.
func qname(name []byte, at int) error {
	if c := colons(name); c == 0 || (c == 1 && name[0] != ':' && name[len(name)-1] != ':') {
		return nil
	}
	return fmt.Errorf("%w: name %q at byte %d is not a qualified name (prefix:local, both non-empty, one colon)", ErrMalformed, shortName(name), at)
}
