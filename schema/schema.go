package schema

/*
#include <stdlib.h>
#include "binding.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/xmlsafe"
)

// Defaults for a Schema's limits.
const (
	// DefaultMaxBytes bounds a document given to Validate: the same bound
	// xmlsafe puts on every document a node parses.
	DefaultMaxBytes = xmlsafe.DefaultMaxBytes
	// DefaultMaxViolations bounds the violations a ValidationError lists;
	// the rest are counted.
	DefaultMaxViolations = 100
)

// Errors Validate returns for input it does not validate; each wraps
// exactly one of them. A document that is read but breaks the schema gives
// a *ValidationError instead.
var (
	ErrTooLarge  = errors.New("document too large")
	ErrDTD       = errors.New("DTD not allowed")
	ErrMalformed = errors.New("malformed XML")
	ErrClosed    = errors.New("schema closed")
)

// Schema is a compiled XML Schema. It is safe for concurrent use: the
// compiled schema is shared read-only and every Validate has a parser and
// a validation context of its own.
type Schema struct {
	// MaxBytes bounds a document (default DefaultMaxBytes). Set it before
	// the Schema is shared.
	MaxBytes int64
	// MaxViolations bounds the violations listed (default
	// DefaultMaxViolations). Set it before the Schema is shared.
	MaxViolations int

	name     string
	files    []string
	warnings []string
	h        *handle
}

// handle owns the C schema. Validate holds the read lock for its whole
// call, so Close (the write lock) never frees a schema in use.
type handle struct {
	mu  sync.RWMutex
	ptr C.xmlSchemaPtr
}

func (h *handle) free() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ptr != nil {
		C.xmlSchemaFree(h.ptr)
		h.ptr = nil
	}
}

var initOnce sync.Once

func libxml2Init() { initOnce.Do(func() { C.vl_init() }) }

// Load compiles the schema whose entry document is entry in fsys. Every
// document it includes or imports is read from fsys too: a relative
// schemaLocation resolves against the including document's path, and an
// absolute one (the official UN/CEFACT schemas name http://www.unece.org/
// addresses) only through catalog.xml, if the entry's directory has one
// (see catalog). Nothing is read from the network or from outside fsys,
// then or ever after. A location that resolves to no file fails the Load
// (libxml2 would skip an import it cannot find; a validator that quietly
// checks less than it was given is worse than one that does not start).
//
// Loads take turns; validation does not wait for them.
func Load(fsys fs.FS, entry string) (*Schema, error) {
	if !fs.ValidPath(entry) {
		return nil, fmt.Errorf("schema: entry %q is not a valid fs path", entry)
	}
	libxml2Init()
	cat, err := catalogFor(fsys, entry)
	if err != nil && !errors.Is(err, errNoCatalog) {
		return nil, fmt.Errorf("schema: %s: %w", entry, err)
	}

	loadMu.Lock()
	defer loadMu.Unlock()
	sess := &session{fsys: fsys, catalog: cat}
	current.Store(sess)
	defer current.Store(nil)

	url, free := cString(baseURI + entry)
	defer free()
	var out C.vl_issues
	out.max = 1000
	defer C.vl_issues_free(&out)
	ptr := C.vl_schema_parse(url, &out)

	var problems, warnings []string
	for _, is := range issues(&out) {
		msg := is.msg
		if is.file != "" {
			loc := strings.TrimPrefix(is.file, baseURI)
			if is.line > 0 {
				loc = fmt.Sprintf("%s:%d", loc, is.line)
			}
			msg = loc + ": " + msg
		}
		if is.level <= C.XML_ERR_WARNING {
			warnings = append(warnings, msg)
		} else {
			problems = append(problems, msg)
		}
	}
	for _, m := range sess.missing {
		problems = append(problems, "schema document not found: "+strings.TrimPrefix(m, baseURI))
	}
	if ptr == nil || len(sess.missing) > 0 {
		if ptr != nil {
			C.xmlSchemaFree(ptr)
		}
		if len(problems) == 0 {
			problems = append(problems, "libxml2 could not compile the schema")
		}
		return nil, fmt.Errorf("schema: %s does not compile:\n%s", entry, strings.Join(problems, "\n"))
	}
	s := &Schema{name: entry, files: sess.files, warnings: warnings, h: &handle{ptr: ptr}}
	runtime.AddCleanup(s, (*handle).free, s.h)
	return s, nil
}

// Name is the entry document the schema was loaded from.
func (s *Schema) Name() string { return s.name }

// Files lists the documents the schema was compiled from, as paths in the
// fs.FS, in the order libxml2 read them.
func (s *Schema) Files() []string { return append([]string(nil), s.files...) }

// Warnings are libxml2's warnings while compiling: none for a clean schema.
func (s *Schema) Warnings() []string { return append([]string(nil), s.warnings...) }

// Close frees the compiled schema; Validate then returns ErrClosed. It waits
// for validations in progress. Without Close, the memory is freed when the
// Schema is garbage collected.
func (s *Schema) Close() error {
	s.h.free()
	return nil
}

// Violation is one way a document breaks its schema.
type Violation struct {
	// Path locates the offending node with the document's own prefixes,
	// positions where an element has same-named siblings:
	// /rsm:SPSCertificate/rsm:SPSConsignment/ram:IncludedSPSConsignmentItem/ram:IncludedSPSTradeLineItem[2]/ram:NetWeightMeasure
	Path string
	// Line is the node's line in the document (0 if unknown).
	Line int
	// Message is libxml2's, naming what was found and what was expected,
	// namespaces written with the document's prefixes: "This element is
	// not expected. Expected is ( ram:ID )."
	Message string
}

func (v Violation) String() string {
	p := v.Path
	if p == "" {
		p = "(document)"
	}
	return p + ": " + v.Message
}

// ValidationError is a document that was read but breaks the schema.
type ValidationError struct {
	Schema  string      // the schema's entry document
	Errors  []Violation // in document order, at most MaxViolations
	Omitted int         // violations beyond those listed
}

// Error lists every violation on a line of its own, "path: message".
func (e *ValidationError) Error() string {
	var b strings.Builder
	n := len(e.Errors) + e.Omitted
	fmt.Fprintf(&b, "not valid against %s (%d violation", e.Schema, n)
	if n != 1 {
		b.WriteByte('s')
	}
	b.WriteString("):")
	for _, v := range e.Errors {
		b.WriteString("\n")
		b.WriteString(v.String())
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, "\n… and %d more", e.Omitted)
	}
	return b.String()
}

// Validate parses doc and validates it. It returns nil for a valid
// document, a *ValidationError for one that breaks the schema, and an
// error wrapping ErrTooLarge, ErrDTD, ErrMalformed or ErrClosed for one it
// does not validate. The document is parsed without network access, without
// entity substitution and without loading or reading any DTD: a document
// type declaration is refused as soon as the parser meets it.
func (s *Schema) Validate(doc []byte) error {
	limit := s.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	if int64(len(doc)) > limit || len(doc) > math.MaxInt32 {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(doc), limit)
	}
	if len(doc) == 0 {
		return fmt.Errorf("%w: empty document", ErrMalformed)
	}
	maxV := s.MaxViolations
	if maxV <= 0 {
		maxV = DefaultMaxViolations
	}

	s.h.mu.RLock()
	defer s.h.mu.RUnlock()
	if s.h.ptr == nil {
		return ErrClosed
	}
	var out C.vl_issues
	out.max = C.int(maxV)
	defer C.vl_issues_free(&out)
	rc := C.vl_validate(s.h.ptr, (*C.char)(unsafe.Pointer(&doc[0])), C.int(len(doc)), &out)
	runtime.KeepAlive(s)

	switch rc {
	case C.VL_VALID:
		return nil
	case C.VL_DTD:
		return fmt.Errorf("%w: the document has a document type declaration", ErrDTD)
	case C.VL_MALFORMED:
		for _, is := range issues(&out) {
			if is.level >= C.XML_ERR_ERROR {
				return fmt.Errorf("%w: line %d: %s", ErrMalformed, is.line, is.msg)
			}
		}
		return fmt.Errorf("%w: no root element", ErrMalformed)
	case C.VL_INVALID:
		e := &ValidationError{Schema: s.name}
		for _, is := range issues(&out) {
			if is.level < C.XML_ERR_ERROR || is.domain != C.XML_FROM_SCHEMASV {
				continue
			}
			e.Errors = append(e.Errors, Violation{Path: is.path, Line: is.line, Message: tidy(is.msg, is.nsmap)})
		}
		e.Omitted = int(out.total) - int(out.n)
		if len(e.Errors) == 0 {
			e.Errors = append(e.Errors, Violation{Message: "invalid (libxml2 gave no reason)"})
		}
		return e
	}
	var msgs []string
	for _, is := range issues(&out) {
		msgs = append(msgs, is.msg)
	}
	return fmt.Errorf("schema: libxml2 failed to validate: %s", strings.Join(msgs, "; "))
}

// ValidateElement validates el as a document of its own: typically the
// element certs.Verifier returns, the signed content without its signature.
// Namespace declarations el inherits from its ancestors are carried over.
func (s *Schema) ValidateElement(el *etree.Element) error {
	if el == nil {
		return fmt.Errorf("%w: no element", ErrMalformed)
	}
	root := el.Copy()
	declared := map[string]bool{}
	for _, a := range root.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			declared[a.FullKey()] = true
		}
	}
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if (a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns")) && !declared[a.FullKey()] {
				declared[a.FullKey()] = true
				root.CreateAttr(a.FullKey(), a.Value)
			}
		}
	}
	doc := etree.NewDocument()
	doc.SetRoot(root)
	b, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	return s.Validate(b)
}

// issue is a vl_issue copied into Go.
type issue struct {
	level, domain, line int
	path, file, msg     string
	nsmap               string
}

func issues(out *C.vl_issues) []issue {
	if out.n == 0 || out.items == nil {
		return nil
	}
	items := unsafe.Slice(out.items, int(out.n))
	res := make([]issue, len(items))
	for i, it := range items {
		res[i] = issue{
			level:  int(it.level),
			domain: int(it.domain),
			line:   int(it.line),
			path:   goString(it.path),
			file:   goString(it.file),
			msg:    goString(it.msg),
			nsmap:  goString(it.nsmap),
		}
	}
	return res
}

func goString(c *C.char) string {
	if c == nil {
		return ""
	}
	return C.GoString(c)
}

var (
	elementPrefix = regexp.MustCompile(`^Element '[^']*'(?:: |, )`)
	clarkName     = regexp.MustCompile(`\{([^{}]*)\}`)
)

// tidy shortens a libxml2 validation message for a reader who has the
// path: it drops the leading "Element '{uri}Name': " the path already says,
// and writes {uri}Name as prefix:Name with the document's own prefixes.
func tidy(msg, nsmap string) string {
	msg = elementPrefix.ReplaceAllString(msg, "")
	msg = longSet.ReplaceAllStringFunc(msg, shortenSet)
	if !strings.Contains(msg, "{") {
		return msg
	}
	prefixes := map[string]string{}
	for _, line := range strings.Split(nsmap, "\n") {
		prefix, uri, ok := strings.Cut(line, "\t")
		if ok && prefix != "" {
			if _, seen := prefixes[uri]; !seen {
				prefixes[uri] = prefix
			}
		}
	}
	return clarkName.ReplaceAllStringFunc(msg, func(m string) string {
		if p, ok := prefixes[m[1:len(m)-1]]; ok {
			return p + ":"
		}
		return m
	})
}

// longSet is an enumeration libxml2 lists whole: a country code not in ISO
// 3166 would carry all 249 codes into the sender's receipt.
var longSet = regexp.MustCompile(`\{'[^']*'(?:, '[^']*'){12,}\}`)

// shortenSet keeps a long set's first five values and its last, and says
// how many it has.
func shortenSet(set string) string {
	vals := strings.Split(set[1:len(set)-1], ", ")
	return "{" + strings.Join(vals[:5], ", ") + ", …, " + vals[len(vals)-1] + "} (" + strconv.Itoa(len(vals)) + " values)"
}
