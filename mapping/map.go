package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/xmlsafe"
)

// Sentinels wrapped by FieldError.Err, for callers that branch on the kind
// of failure (errors.Is works on FieldError and on Errors).
var (
	ErrRequired    = errors.New("required value is missing")
	ErrUnknownCode = errors.New("value not in code table")
	ErrBadValue    = errors.New("invalid value")
)

// FieldError is one field that could not be mapped.
type FieldError struct {
	Target string // target path, with group positions: …/ram:IncludedSPSTradeLineItem[3]/ram:NetWeightMeasure
	Source string // source path, with group positions: productos[3]/pesoNeto; empty for a constant
	Line   int    // the rule's line in the rule file
	Err    error  // wraps ErrRequired, ErrUnknownCode or ErrBadValue
}

func (e *FieldError) Error() string {
	src := e.Source
	if src == "" {
		src = "(constant)"
	}
	return fmt.Sprintf("%s (from %s, rule line %d): %v", e.Target, src, e.Line, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// Errors are all the field errors of one mapping, in rule and item order.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return fmt.Sprintf("%d field(s) failed: %s", len(es), strings.Join(lines, "; "))
}

// Unwrap lets errors.Is and errors.As see every field error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Output is a mapped document: XML when the rules' target format is xml,
// JSON when it is json.
type Output struct {
	XML  *etree.Document
	JSON []byte
}

// Bytes serializes the output. XML carries an XML declaration and is not
// indented: whitespace would be data to a signature over the document.
func (o *Output) Bytes() ([]byte, error) {
	if o.XML != nil {
		return o.XML.WriteToBytes()
	}
	return o.JSON, nil
}

// Map translates a payload in the rules' source format. XML input is parsed
// by xmlsafe, which refuses any DTD or entity declaration before a tree is
// built; JSON numbers keep their exact text.
func (r *Rules) Map(input []byte) (*Output, error) {
	if r.source.format == "xml" {
		doc, err := xmlsafe.Parse(input, xmlsafe.Limits{})
		if err != nil {
			return nil, fmt.Errorf("%s: input: %w", r.file, err)
		}
		return r.MapElement(doc.Root())
	}
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: input is not valid JSON: %w", r.file, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: input has data after the JSON value", r.file)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Errorf("%s: input must be a JSON object", r.file)
	}
	return r.run(jsonNode{v})
}

// MapElement translates an XML source that is already parsed (and, on the
// inbound path, verified): source paths are relative to root, and
// namespace declarations on root's ancestors are honoured.
func (r *Rules) MapElement(root *etree.Element) (*Output, error) {
	if r.source.format != "xml" {
		return nil, fmt.Errorf("%s: source format is %s, not xml", r.file, r.source.format)
	}
	if root == nil {
		return nil, fmt.Errorf("%s: no root element", r.file)
	}
	ns := newNSResolver()
	if q := r.source.root; q != nil && !ns.matches(root, q) {
		return nil, fmt.Errorf("%s: root element is {%s}%s, want {%s}%s", r.file, ns.uri(root, root.Space), root.Tag, q.uri, q.local)
	}
	return r.run(xmlNode{root, ns})
}

func (r *Rules) run(src node) (*Output, error) {
	var m mapper
	if r.target.format == "xml" {
		doc := etree.NewDocument()
		doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
		root := doc.CreateElement(r.target.root.tag)
		for _, ns := range r.target.decls {
			if ns.k == "" {
				root.CreateAttr("xmlns", ns.v)
			} else {
				root.CreateAttr("xmlns:"+ns.k, ns.v)
			}
		}
		m.apply(r.fields, src, xmlSink{root}, nil)
		if len(m.errs) > 0 {
			return nil, m.errs
		}
		return &Output{XML: doc}, nil
	}
	obj := &object{}
	m.apply(r.fields, src, jsonSink{obj}, nil)
	if len(m.errs) > 0 {
		return nil, m.errs
	}
	return &Output{JSON: obj.appendTo(make([]byte, 0, 1024))}, nil
}

// scope is the chain of group items a rule runs in. Paths for messages are
// built from it only when a field fails, so the common path allocates
// nothing for them.
type scope struct {
	parent *scope
	group  *rule
	index  int // 1-based
}

func (s *scope) prefixes() (target, source string) {
	if s == nil {
		return "", ""
	}
	t, src := s.parent.prefixes()
	pos := "[" + strconv.Itoa(s.index) + "]/"
	return t + s.group.target + pos, src + s.group.source + pos
}

func (s *scope) position() int {
	if s == nil {
		return 0
	}
	return s.index
}

type mapper struct {
	errs Errors
}

func (m *mapper) fail(rl *rule, sc *scope, err error) {
	tp, sp := sc.prefixes()
	src := ""
	switch {
	case rl.group:
		src = sp + rl.source
	case rl.kind == fromSource:
		src = sp + rl.source
	case rl.kind == fromIndex:
		src = rl.source
	}
	m.errs = append(m.errs, &FieldError{Target: tp + rl.target, Source: src, Line: rl.line, Err: err})
}

// apply runs rules against one source context into one target context.
func (m *mapper) apply(rules []*rule, src node, dst sink, sc *scope) {
	for _, rl := range rules {
		if rl.when != nil {
			// An object, or an element with children, has no single value
			// (err) but is there: it counts as present.
			v, ok, err := src.value(rl.when)
			if err == nil && (!ok || v == "") {
				continue
			}
		}
		if rl.group {
			m.group(rl, src, dst, sc)
			continue
		}
		v, err := m.valueOf(rl, src, sc)
		if err != nil {
			m.fail(rl, sc, err)
			continue
		}
		if v == "" {
			continue
		}
		if err := dst.set(rl.tpath, v, rl.typ); err != nil {
			m.fail(rl, sc, err)
		}
	}
}

func (m *mapper) group(rl *rule, src node, dst sink, sc *scope) {
	items, err := src.items(rl.spath)
	if err != nil {
		m.fail(rl, sc, err)
		return
	}
	if len(items) == 0 {
		if rl.required {
			m.fail(rl, sc, fmt.Errorf("%w: at least one item", ErrRequired))
		}
		return
	}
	for i, it := range items {
		// Each item is built detached and attached only if something was
		// written to it, so an item whose fields are all empty leaves no
		// empty element (or object) behind.
		sub := dst.item()
		m.apply(rl.fields, it, sub, &scope{parent: sc, group: rl, index: i + 1})
		if sub.empty() || len(m.errs) > 0 {
			continue
		}
		if err := dst.attach(rl.tpath, sub); err != nil {
			m.fail(rl, sc, err)
			return
		}
	}
}

// valueOf computes a field's value: source, constant or position, then
// trim, code table, date conversion and case; then the default if it is
// empty.
func (m *mapper) valueOf(rl *rule, src node, sc *scope) (string, error) {
	var v string
	switch rl.kind {
	case fromConstant:
		v = rl.value
	case fromIndex:
		if n := sc.position(); n > 0 {
			v = strconv.Itoa(n)
		}
	default:
		s, _, err := src.value(rl.spath)
		if err != nil {
			return "", err
		}
		v = s
	}
	if rl.trim {
		v = strings.TrimSpace(v)
	}
	if v == "" {
		// The default is an output value, written as is: `default: KGM`
		// on a unit rule means the standard code, not a native word to
		// look up.
		if rl.def != nil && *rl.def != "" {
			return *rl.def, nil
		}
		if rl.required {
			return "", ErrRequired
		}
		return "", nil
	}
	if rl.lookup != nil {
		code, ok := rl.lookup[v]
		if !ok {
			return "", fmt.Errorf("%w: %q is not in table %s", ErrUnknownCode, v, rl.table.name)
		}
		v = code
	}
	if rl.date != nil {
		out, err := rl.date.convert(v)
		if err != nil {
			return "", err
		}
		v = out
	}
	switch rl.caseMode {
	case caseUpper:
		v = strings.ToUpper(v)
	case caseLower:
		v = strings.ToLower(v)
	}
	return v, nil
}
