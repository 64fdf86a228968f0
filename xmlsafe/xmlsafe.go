// Package xmlsafe parses XML from untrusted parties.
//
// Documents arrive from other countries' nodes and from legacy systems; a
// parser that honours DTDs can be made to read local files (XXE), call out
// to the network, or expand a few hundred bytes into gigabytes ("billion
// laughs"). vucelink's documents never need a DTD, so Parse refuses any
// markup declaration outright, and it does so with a linear byte scan
// before any tree is built. The same scan bounds nesting depth and element
// count, so a hostile document cannot exhaust the stack or memory either.
package xmlsafe

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/beevik/etree"
)

// Limits bound a document. Zero fields take the defaults below.
type Limits struct {
	MaxBytes    int64
	MaxDepth    int
	MaxElements int
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

// Errors callers branch on; every returned error wraps exactly one.
var (
	ErrDTD             = errors.New("DTD not allowed")
	ErrEntity          = errors.New("entity declaration not allowed")
	ErrTooLarge        = errors.New("document too large")
	ErrTooDeep         = errors.New("document nested too deeply")
	ErrTooManyElements = errors.New("document has too many elements")
	ErrMalformed       = errors.New("malformed XML")
)

var bom = []byte{0xEF, 0xBB, 0xBF}

// Parse checks data against the limits and the no-DTD rule, then builds the
// tree.
func Parse(data []byte, lim Limits) (*etree.Document, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	data = bytes.TrimPrefix(data, bom)
	if err := Scan(data, lim); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if doc.Root() == nil {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return doc, nil
}

// ReadAll reads r up to lim.MaxBytes, failing with ErrTooLarge beyond.
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

// Scan walks the raw bytes once: it rejects any "<!" markup other than
// comments and CDATA sections (DOCTYPE, ENTITY, ELEMENT, ATTLIST, NOTATION)
// and enforces depth and element-count limits. It does not check
// well-formedness; the parser does that afterwards.
func Scan(data []byte, lim Limits) error {
	lim = lim.withDefaults()
	depth, elements := 0, 0
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '<')
		if j < 0 {
			return nil
		}
		i += j
		rest := data[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[4:], []byte("-->"))
			if end < 0 {
				return fmt.Errorf("%w: unterminated comment at byte %d", ErrMalformed, i)
			}
			i += 4 + end + 3
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end := bytes.Index(rest[9:], []byte("]]>"))
			if end < 0 {
				return fmt.Errorf("%w: unterminated CDATA section at byte %d", ErrMalformed, i)
			}
			i += 9 + end + 3
		case bytes.HasPrefix(rest, []byte("<!ENTITY")):
			return fmt.Errorf("%w (at byte %d)", ErrEntity, i)
		case bytes.HasPrefix(rest, []byte("<!DOCTYPE")):
			// Name the worse offence: a DTD that declares entities.
			subset := rest
			if end := bytes.Index(rest, []byte("]>")); end >= 0 {
				subset = rest[:end]
			}
			if bytes.Contains(subset, []byte("<!ENTITY")) {
				return fmt.Errorf("%w: inside a DTD at byte %d", ErrEntity, i)
			}
			return fmt.Errorf("%w: DOCTYPE at byte %d", ErrDTD, i)
		case bytes.HasPrefix(rest, []byte("<!")):
			return fmt.Errorf("%w: markup declaration %q at byte %d", ErrDTD, declName(rest), i)
		case bytes.HasPrefix(rest, []byte("<?")):
			end := bytes.Index(rest[2:], []byte("?>"))
			if end < 0 {
				return fmt.Errorf("%w: unterminated processing instruction at byte %d", ErrMalformed, i)
			}
			i += 2 + end + 2
		case bytes.HasPrefix(rest, []byte("</")):
			depth--
			end := bytes.IndexByte(rest, '>')
			if end < 0 {
				return fmt.Errorf("%w: unterminated end tag at byte %d", ErrMalformed, i)
			}
			i += end + 1
		default:
			end, selfClosing, ok := tagEnd(rest)
			if !ok {
				return fmt.Errorf("%w: unterminated start tag at byte %d", ErrMalformed, i)
			}
			elements++
			if elements > lim.MaxElements {
				return fmt.Errorf("%w: more than %d", ErrTooManyElements, lim.MaxElements)
			}
			if !selfClosing {
				depth++
				if depth > lim.MaxDepth {
					return fmt.Errorf("%w: deeper than %d at byte %d", ErrTooDeep, lim.MaxDepth, i)
				}
			}
			i += end + 1
		}
	}
	return nil
}

// tagEnd finds the '>' closing a start tag, skipping quoted attribute
// values (which may contain '>').
func tagEnd(b []byte) (end int, selfClosing, ok bool) {
	var quote byte
	for k := 1; k < len(b); k++ {
		c := b[k]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return k, b[k-1] == '/', true
		}
	}
	return 0, false, false
}

func declName(b []byte) string {
	end := 2
	for end < len(b) && end < 12 && b[end] > ' ' && b[end] != '[' && b[end] != '>' {
		end++
	}
	return string(b[:end])
}
