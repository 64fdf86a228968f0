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
	"github.com/expr-lang/expr/vm"

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
	// Local holds the values of the rule file's local: section, by name:
	// taken from the payload for the node itself and not part of the
	// document. Only values that are present; nil when the file has no
	// local: section.
	Local map[string]string
	// Explain says where every value written came from, in document order
	// (then the local values); only from MapExplain and MapElementExplain.
	Explain []Origin
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
func (r *Rules) Map(input []byte) (*Output, error) { return r.mapInput(input, runMode{}) }

// MapExplain is Map, and the output's Explain lists, for every element,
// attribute or key written, the rule (file:line) and the source path,
// constant or expression it came from. It costs a map entry per value
// written, so Map does not do it.
func (r *Rules) MapExplain(input []byte) (*Output, error) {
	return r.mapInput(input, runMode{explain: true})
}

func (r *Rules) mapInput(input []byte, mode runMode) (*Output, error) {
	if r.source.format == "xml" {
		// A legacy system's XML may be Latin-1 or Windows-1252 (declared);
		// it is read as such, not refused.
		utf8, err := xmlsafe.ToUTF8(input)
		if err != nil {
			return nil, fmt.Errorf("%s: input: %w", r.file, err)
		}
		doc, err := xmlsafe.Parse(utf8, xmlsafe.Limits{})
		if err != nil {
			return nil, fmt.Errorf("%s: input: %w", r.file, err)
		}
		return r.mapElement(doc.Root(), mode)
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
	if r.hasExpr {
		// Expressions see plain data: numbers as their exact text.
		v = plainJSON(v)
	}
	return r.run(jsonNode{v}, mode)
}

// MapElement translates an XML source that is already parsed (and, on the
// inbound path, verified): source paths are relative to root, and
// namespace declarations on root's ancestors are honoured.
func (r *Rules) MapElement(root *etree.Element) (*Output, error) {
	return r.mapElement(root, runMode{})
}

// MapElementExplain is MapElement with the output's Explain filled, as
// MapExplain.
func (r *Rules) MapElementExplain(root *etree.Element) (*Output, error) {
	return r.mapElement(root, runMode{explain: true})
}

func (r *Rules) mapElement(root *etree.Element, mode runMode) (*Output, error) {
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
	return r.run(xmlNode{root, ns}, mode)
}

// runMode is what one Map call records besides the document.
type runMode struct {
	explain bool
	hits    map[*spath]bool // source paths read: true once one gave a value (Unmatched)
}

func (r *Rules) run(src node, mode runMode) (*Output, error) {
	m := mapper{root: src, hits: mode.hits}
	if mode.explain {
		m.ex = newExplainer(r.file)
	}
	out := &Output{}
	var doc *etree.Document
	var obj *object
	if r.target.format == "xml" {
		doc = etree.NewDocument()
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
		if len(m.copies) > 0 {
			m.adoptNamespaces(root)
		}
	} else {
		obj = &object{}
		m.apply(r.fields, src, jsonSink{obj}, nil)
	}
	if r.locals != nil {
		out.Local = m.locals(r.locals, src)
	}
	if len(m.errs) > 0 {
		if m.ex != nil {
			return nil, &ExplainedError{Err: m.errs, Trace: m.ex.steps, Failing: m.ex.failing}
		}
		return nil, m.errs
	}
	if doc != nil {
		out.XML = doc
	} else {
		out.JSON = obj.appendTo(make([]byte, 0, 1024))
	}
	if m.ex != nil {
		out.Explain = m.ex.finish(doc, obj)
	}
	return out, nil
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

// mapper is the state of one Map call.
type mapper struct {
	errs Errors
	root node // the document root, for $root paths
	// rootVals remembers what $root paths read: the same from every item,
	// so a rule in a group of n items reads them once, not n times.
	rootVals map[rootKey]*rootVal
	env      map[string]any // expressions' environment, refilled per evaluation
	vm       *vm.VM
	ex       *explainer // nil unless explaining
	hits     map[*spath]bool
	buf      []string // scratch for join and concat
	fromDef  bool     // the last valueOf wrote the default, for explanations
	input    string   // explaining: the value valueOf read, before its transforms
	steps    []string // explaining: the transforms valueOf applied
	copies   []copied // what copy: rules wrote, in order
}

type rootKey struct {
	p    *spath
	kind uint8
}

const (
	rootValue uint8 = iota
	rootItems
	rootValues
	rootRaw
	rootRawAll
)

type rootVal struct {
	s     string
	ok    bool
	items []node
	vals  []string
	raw   any
	list  []any
	err   error
}

// fromRoot returns the cached result of reading a $root path, computing it
// with read the first time.
func (m *mapper) fromRoot(p *spath, kind uint8, read func(*rootVal)) *rootVal {
	k := rootKey{p, kind}
	if v, ok := m.rootVals[k]; ok {
		return v
	}
	if m.rootVals == nil {
		m.rootVals = make(map[rootKey]*rootVal, 4)
	}
	v := &rootVal{}
	read(v)
	m.rootVals[k] = v
	return v
}

func (m *mapper) value(src node, p *spath) (string, bool, error) {
	s, ok, err := m.readValue(src, p)
	if m.hits != nil {
		m.hits[p] = m.hits[p] || err != nil || ok && s != "" // an element with children is there too
	}
	return s, ok, err
}

func (m *mapper) readValue(src node, p *spath) (string, bool, error) {
	if !p.root {
		return src.value(p)
	}
	v := m.fromRoot(p, rootValue, func(v *rootVal) { v.s, v.ok, v.err = m.root.value(p) })
	return v.s, v.ok, v.err
}

func (m *mapper) items(src node, p *spath) ([]node, error) {
	var items []node
	var err error
	if !p.root {
		items, err = src.items(p)
	} else {
		v := m.fromRoot(p, rootItems, func(v *rootVal) { v.items, v.err = m.root.items(p) })
		items, err = v.items, v.err
	}
	if m.hits != nil {
		m.hits[p] = m.hits[p] || len(items) > 0
	}
	return items, err
}

func (m *mapper) values(src node, p *spath, out []string) ([]string, error) {
	n := len(out)
	if !p.root {
		out, err := src.values(p, out)
		m.hit(p, out[n:])
		return out, err
	}
	v := m.fromRoot(p, rootValues, func(v *rootVal) { v.vals, v.err = m.root.values(p, nil) })
	m.hit(p, v.vals)
	return append(out, v.vals...), v.err
}

// hit records that p gave a value, when tracking.
func (m *mapper) hit(p *spath, vals []string) {
	if m.hits == nil {
		return
	}
	if _, asked := m.hits[p]; !asked {
		m.hits[p] = false
	}
	for _, s := range vals {
		if s != "" {
			m.hits[p] = true
			return
		}
	}
}

func (m *mapper) raw(src node, p *spath) (any, error) {
	if !p.root {
		return src.raw(p)
	}
	v := m.fromRoot(p, rootRaw, func(v *rootVal) { v.raw, v.err = m.root.raw(p) })
	return v.raw, v.err
}

func (m *mapper) rawAll(src node, p *spath) (any, error) {
	var list []any
	var err error
	if !p.root {
		list, err = src.rawAll(p)
	} else {
		v := m.fromRoot(p, rootRawAll, func(v *rootVal) { v.list, v.err = m.root.rawAll(p) })
		// A copy: an expression may not change what the next one reads.
		list, err = append([]any(nil), v.list...), v.err
	}
	if list == nil {
		list = []any{} // an empty list, so len() and join() work
	}
	return list, err
}

func (m *mapper) fail(rl *rule, sc *scope, err error) {
	if rl.message != "" {
		err = &ruleMessage{text: rl.message, err: err}
	}
	tp, sp := sc.prefixes()
	src := ""
	switch {
	case rl.group:
		src = sp + rl.source
	case rl.kind == fromSource && rl.spath != nil && rl.spath.root:
		src = rl.source
	case rl.kind == fromSource, rl.kind == fromConcat:
		src = sp + rl.source
	case rl.kind == fromExpr:
		src = sp + "expr: " + rl.source
	case rl.kind == fromIndex:
		src = rl.source
	case rl.kind == fromCopy && rl.spath != nil && rl.spath.root:
		src = "copy: " + rl.source
	case rl.kind == fromCopy:
		src = "copy: " + sp + rl.source
	}
	m.errs = append(m.errs, &FieldError{Target: tp + rl.target, Source: src, Line: rl.line, Err: err})
	if m.ex != nil && m.ex.failing == nil {
		o := m.origin(rl, sc, "")
		o.Path = tp + rl.target
		m.ex.failing = &o
	}
}

// when reports whether a rule applies here: its when: path is present and
// not empty, or its when: expression holds. A failing expression fails the
// rule.
func (m *mapper) when(rl *rule, src node, sc *scope) bool {
	switch {
	case rl.when != nil:
		// An object, or an element with children, has no single value
		// (err) but is there: it counts as present.
		v, ok, err := m.value(src, rl.when)
		return err != nil || (ok && v != "")
	case rl.whenExpr != nil:
		out, err := m.evalExpr(rl.whenExpr, src, sc)
		if err != nil {
			m.fail(rl, sc, fmt.Errorf("when %s: %w", rl.whenExpr.text, err))
			return false
		}
		return truthy(out)
	}
	return true
}

// apply runs rules against one source context into one target context.
func (m *mapper) apply(rules []*rule, src node, dst sink, sc *scope) {
	for _, rl := range rules {
		if !m.when(rl, src, sc) {
			continue
		}
		switch {
		case rl.group:
			m.group(rl, src, dst, sc)
			continue
		case rl.section:
			m.apply(rl.fields, src, dst, sc)
			continue
		case rl.kind == fromCopy:
			m.copyElement(rl, src, dst, sc)
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
		owner, at, err := dst.set(rl.tpath, v, rl.typ)
		if err != nil {
			m.fail(rl, sc, err)
			continue
		}
		if m.ex != nil {
			o := m.origin(rl, sc, v)
			m.ex.record(owner, at, o)
			m.ex.trace(rl, sc, o)
		}
	}
}

// locals computes the local: values, at the top level of the payload.
func (m *mapper) locals(rules []*rule, src node) map[string]string {
	out := make(map[string]string, len(rules))
	for _, rl := range rules {
		if !m.when(rl, src, nil) {
			continue
		}
		v, err := m.valueOf(rl, src, nil)
		if err != nil {
			m.fail(rl, nil, err)
			continue
		}
		if v == "" {
			continue
		}
		out[rl.local] = v
		if m.ex != nil {
			o := m.origin(rl, nil, v)
			o.Path = rl.target // local:NAME
			m.ex.locals = append(m.ex.locals, o)
		}
	}
	return out
}

func (m *mapper) group(rl *rule, src node, dst sink, sc *scope) {
	var items []node
	var err error
	if rl.split != nil {
		// One item per non-empty part of a single value.
		var s string
		if s, _, err = m.value(src, rl.spath); err == nil && s != "" {
			for part := range strings.SplitSeq(s, rl.split.sep) {
				if part != "" {
					items = append(items, textNode{part})
				}
			}
		}
	} else {
		items, err = m.items(src, rl.spath)
	}
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

// valueOf computes a field's value: source (every match, with join),
// constant, position, expression or concatenation; then split, trim, code
// table, number format, date conversion and case; then the default if it
// is empty.
func (m *mapper) valueOf(rl *rule, src node, sc *scope) (string, error) {
	m.fromDef = false
	var v string
	switch rl.kind {
	case fromConstant:
		v = rl.value
	case fromIndex:
		if n := sc.position(); n > 0 {
			v = strconv.Itoa(n)
		}
	case fromExpr:
		out, err := m.evalExpr(rl.expr, src, sc)
		if err != nil {
			return "", err
		}
		if v, err = plainText(out); err != nil {
			return "", fmt.Errorf("expression: %w", err)
		}
	case fromConcat:
		parts := m.buf[:0]
		for _, p := range rl.concat {
			s, _, err := m.value(src, p)
			if err != nil {
				return "", err
			}
			if s != "" {
				parts = append(parts, s)
			}
		}
		v = strings.Join(parts, rl.separator)
		m.buf = parts[:0]
	default:
		if rl.join != nil {
			vals, err := m.values(src, rl.spath, m.buf[:0])
			if err != nil {
				return "", err
			}
			parts := vals[:0]
			for _, s := range vals {
				if s != "" {
					parts = append(parts, s)
				}
			}
			v = strings.Join(parts, *rl.join)
			m.buf = vals[:0]
			break
		}
		s, _, err := m.value(src, rl.spath)
		if err != nil {
			return "", err
		}
		v = s
	}
	if m.ex != nil {
		m.input, m.steps = v, m.steps[:0]
	}
	if rl.split != nil {
		in := v
		v = splitPart(v, rl.split)
		m.step("split", in, v)
	}
	if rl.trim {
		in := v
		v = strings.TrimSpace(v)
		m.step("trim", in, v)
	}
	if v == "" {
		return m.empty(rl, ErrRequired)
	}
	if rl.lookup != nil {
		code, ok := rl.table.find(rl.lookup, v)
		switch {
		case ok:
			m.step("table "+rl.table.name, v, code)
			v = code
		case rl.unknown == unknownKeep:
		case rl.unknown == unknownSkip:
			return m.empty(rl, fmt.Errorf("%w: %q is not in table %s", ErrUnknownCode, v, rl.table.name))
		default:
			return "", fmt.Errorf("%w: %q is not in table %s", ErrUnknownCode, v, rl.table.name)
		}
	}
	if rl.number != nil {
		out, err := rl.number.convert(v)
		if err != nil {
			return "", err
		}
		m.step("number", v, out)
		v = out
	}
	if rl.date != nil {
		out, err := rl.date.convert(v)
		if err != nil {
			return "", err
		}
		m.step("date "+rl.date.describe(), v, out)
		v = out
	}
	switch rl.caseMode {
	case caseUpper:
		in := v
		v = strings.ToUpper(v)
		m.step("case upper", in, v)
	case caseLower:
		in := v
		v = strings.ToLower(v)
		m.step("case lower", in, v)
	}
	return v, nil
}

// step records one transform of the value being computed, for an
// explanation; a step that changed nothing (a trim of a trimmed value)
// is left out, except a table or date, which say what they matched.
func (m *mapper) step(name, in, out string) {
	if m.ex == nil || in == out && !strings.HasPrefix(name, "table") && !strings.HasPrefix(name, "date") {
		return
	}
	m.steps = append(m.steps, name+": "+strconv.Quote(in)+" → "+strconv.Quote(out))
}

// empty is a field without a value: its default, or nothing, or — when it
// is required — the error why.
func (m *mapper) empty(rl *rule, why error) (string, error) {
	// The default is an output value, written as is: `default: KGM` on a
	// unit rule means the standard code, not a native word to look up.
	if rl.def != nil && *rl.def != "" {
		m.fromDef = true
		return *rl.def, nil
	}
	if rl.required {
		return "", why
	}
	return "", nil
}

// splitPart returns part n of v cut at sep (1-based; negative counts from
// the end), or "" when there is no such part.
func splitPart(v string, s *splitSpec) string {
	if v == "" {
		return ""
	}
	n := s.part
	if n < 0 {
		n += strings.Count(v, s.sep) + 2
		if n < 1 {
			return ""
		}
	}
	for i := 1; ; i++ {
		part, rest, found := strings.Cut(v, s.sep)
		if i == n {
			return part
		}
		if !found {
			return ""
		}
		v = rest
	}
}

// ruleMessage is a failure in the rule's own words (message:), which
// still wraps the engine's error: errors.Is(err, ErrRequired) holds.
type ruleMessage struct {
	text string
	err  error
}

func (e *ruleMessage) Error() string { return e.text }
func (e *ruleMessage) Unwrap() error { return e.err }
