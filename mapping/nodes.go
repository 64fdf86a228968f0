package mapping

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// node is a source context: a JSON value, an XML element, or one part of
// a split value.
type node interface {
	// value returns the text at p (the first match, in document order)
	// and whether it is present.
	value(p *spath) (string, bool, error)
	// items returns the repeated nodes at p, in document order.
	items(p *spath) ([]node, error)
	// values appends the text of every match of p, in document order.
	values(p *spath, out []string) ([]string, error)
	// raw returns what an expression sees at p: JSON data as decoded
	// (objects, lists, text, booleans), XML text; nil when absent.
	raw(p *spath) (any, error)
	// rawAll returns every match of p as expression data.
	rawAll(p *spath) ([]any, error)
}

// jsonNode is a JSON source context (decoded with UseNumber; numbers are
// json.Number, or their text once the document was made plain for
// expressions).
type jsonNode struct{ v any }

// jsonFirst returns the first value the steps reach from v, in document
// order. A list met before the last step is looked through, so a.b reads
// b in a's first item that has one (as an XML path would); a predicate
// filters the step's candidates.
func jsonFirst(v any, steps []jstep) any {
	for i := range steps {
		st := &steps[i]
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[st.key]
		last := i == len(steps)-1
		if st.pred == nil {
			arr, isArr := v.([]any)
			if !isArr || last {
				continue
			}
			for _, x := range arr {
				if r := jsonFirst(x, steps[i+1:]); r != nil {
					return r
				}
			}
			return nil
		}
		n := 0
		for _, x := range jsonCandidates(v) {
			if !jsonTest(x, st.pred, &n) {
				continue
			}
			if last {
				return x
			}
			if r := jsonFirst(x, steps[i+1:]); r != nil {
				return r
			}
			if st.pred.pos > 0 {
				return nil
			}
		}
		return nil
	}
	return v
}

// jsonAll appends every value the steps reach from v, in document order.
// A list at the last step is appended as one value (items and values
// decide how to read it).
func jsonAll(v any, steps []jstep, out []any) []any {
	for i := range steps {
		st := &steps[i]
		m, ok := v.(map[string]any)
		if !ok {
			return out
		}
		v = m[st.key]
		last := i == len(steps)-1
		if st.pred == nil {
			arr, isArr := v.([]any)
			if !isArr || last {
				continue
			}
			for _, x := range arr {
				out = jsonAll(x, steps[i+1:], out)
			}
			return out
		}
		n := 0
		for _, x := range jsonCandidates(v) {
			if !jsonTest(x, st.pred, &n) {
				continue
			}
			if last {
				out = append(out, x)
			} else {
				out = jsonAll(x, steps[i+1:], out)
			}
		}
		return out
	}
	if v != nil {
		out = append(out, v)
	}
	return out
}

// jsonCandidates is what a filtered step chooses from: a list's items, or
// a single value as a list of one.
func jsonCandidates(v any) []any {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		return t
	}
	return []any{v}
}

// jsonTest applies a predicate to one candidate; n counts the candidates
// seen, for positions.
func jsonTest(x any, pr *pred, n *int) bool {
	if x == nil {
		return false
	}
	if len(pr.tests) > 0 && !pr.holds(func(p *spath) (string, bool) {
		var v any = x
		if !p.self {
			v = jsonFirst(x, p.keys)
		}
		return jsonText(v)
	}) {
		return false
	}
	*n++
	return pr.pos == 0 || *n == pr.pos
}

// predHolds compares a candidate's value with a predicate. [p] holds when
// p is present and not empty, [p='x'] when it equals x, [p!='x'] when it
// is absent or differs.
func predHolds(pr *predCmp, s string, ok bool) bool {
	switch pr.op {
	case "=":
		return ok && s == pr.lit
	case "!=":
		return !ok || s != pr.lit
	}
	return ok && s != ""
}

// jsonText is a plain JSON value's text.
func jsonText(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case bool:
		if t {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

func (n jsonNode) lookup(p *spath) any {
	if p.self {
		return n.v
	}
	return jsonFirst(n.v, p.keys)
}

func (n jsonNode) value(p *spath) (string, bool, error) {
	v := n.lookup(p)
	if v == nil {
		return "", false, nil
	}
	if s, ok := jsonText(v); ok {
		// Numbers keep the text as sent: "1250.50" stays "1250.50".
		return s, true, nil
	}
	return "", false, fmt.Errorf("%w: found a JSON %s, want a plain value", ErrBadValue, jsonKind(v))
}

func (n jsonNode) all(p *spath) []any {
	if p.self {
		if n.v == nil {
			return nil
		}
		return []any{n.v}
	}
	return jsonAll(n.v, p.keys, nil)
}

func (n jsonNode) items(p *spath) ([]node, error) {
	// The common case — plain keys through objects — without gathering
	// matches first: one allocation per group, not two.
	if v, ok := jsonSimple(n.v, p); ok {
		return jsonItems(nil, v), nil
	}
	var out []node
	for _, v := range n.all(p) {
		out = jsonItems(out, v)
	}
	return out, nil
}

// jsonSimple follows p through objects only; ok is false when p has a
// predicate or meets a list before its last key, which jsonAll handles.
func jsonSimple(v any, p *spath) (any, bool) {
	if p.self {
		return v, true
	}
	for i := range p.keys {
		st := &p.keys[i]
		if st.pred != nil {
			return nil, false
		}
		m, ok := v.(map[string]any)
		if !ok {
			if _, isArr := v.([]any); isArr {
				return nil, false
			}
			return nil, true
		}
		v = m[st.key]
	}
	return v, true
}

// jsonItems appends a group's items found at one match: a list's non-null
// items, or a single value as a list of one.
func jsonItems(out []node, v any) []node {
	switch t := v.(type) {
	case nil:
		return out
	case []any:
		if out == nil {
			out = make([]node, 0, len(t))
		}
		for _, x := range t {
			if x != nil {
				out = append(out, jsonNode{x})
			}
		}
		return out
	}
	// Legacy systems often collapse a list of one into the item itself;
	// read it as a list of one.
	return append(out, jsonNode{v})
}

func (n jsonNode) values(p *spath, out []string) ([]string, error) {
	for _, v := range n.all(p) {
		for _, x := range jsonCandidates(v) {
			if x == nil {
				continue
			}
			s, ok := jsonText(x)
			if !ok {
				return nil, fmt.Errorf("%w: found a JSON %s, want plain values", ErrBadValue, jsonKind(x))
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func (n jsonNode) raw(p *spath) (any, error) {
	v := n.lookup(p)
	if num, ok := v.(json.Number); ok {
		return string(num), nil
	}
	return v, nil
}

func (n jsonNode) rawAll(p *spath) ([]any, error) {
	var out []any
	for _, v := range n.all(p) {
		for _, x := range jsonCandidates(v) {
			if x != nil {
				out = append(out, x)
			}
		}
	}
	return out, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// textNode is one part of a value split into a group's items: a plain
// value, read with source ".".
type textNode struct{ s string }

func (t textNode) value(p *spath) (string, bool, error) {
	if p.self {
		return t.s, true, nil
	}
	return "", false, nil
}

func (t textNode) items(p *spath) ([]node, error) {
	if p.self {
		return []node{t}, nil
	}
	return nil, nil
}

func (t textNode) values(p *spath, out []string) ([]string, error) {
	if p.self {
		out = append(out, t.s)
	}
	return out, nil
}

func (t textNode) raw(p *spath) (any, error) {
	if p.self {
		return t.s, nil
	}
	return nil, nil
}

func (t textNode) rawAll(p *spath) ([]any, error) {
	if p.self {
		return []any{t.s}, nil
	}
	return nil, nil
}

// xmlNode is an XML source context.
type xmlNode struct {
	e  *etree.Element
	ns *nsResolver
}

// nsResolver resolves namespace prefixes for one Map call, remembering each
// (element, prefix) it has seen. etree's NamespaceURI walks every ancestor's
// attributes on each call; a document with one element carrying many
// attributes above many children would make matching quadratic.
type nsResolver struct {
	memo map[nsKey]string
}

type nsKey struct {
	e      *etree.Element
	prefix string
}

func newNSResolver() *nsResolver { return &nsResolver{memo: make(map[nsKey]string, 8)} }

// uri returns the namespace bound to prefix ("" for the default namespace)
// in scope at e.
func (r *nsResolver) uri(e *etree.Element, prefix string) string {
	switch prefix {
	case "xml":
		return xmlNamespace
	case "xmlns":
		return ""
	}
	if len(e.Attr) == 0 {
		// Nothing declared here (most elements): ask the parent, whose
		// answer is remembered, without growing the memo per element.
		if p := e.Parent(); p != nil {
			return r.uri(p, prefix)
		}
		return ""
	}
	k := nsKey{e, prefix}
	if u, ok := r.memo[k]; ok {
		return u
	}
	u, found := "", false
	for _, a := range e.Attr {
		if (prefix == "" && a.Space == "" && a.Key == "xmlns") || (prefix != "" && a.Space == "xmlns" && a.Key == prefix) {
			u, found = a.Value, true
			break
		}
	}
	if !found {
		if p := e.Parent(); p != nil {
			u = r.uri(p, prefix)
		}
	}
	r.memo[k] = u
	return u
}

// matches compares by namespace URI, whatever prefix the document used.
// The local name is compared first: it rejects almost every sibling before
// any namespace is resolved.
func (r *nsResolver) matches(e *etree.Element, q *xname) bool {
	return e.Tag == q.local && r.uri(e, e.Space) == q.uri
}

// test applies a step's predicate to a matching child; n counts the
// matching children of one parent, for positions.
func (r *nsResolver) test(e *etree.Element, pr *pred, n *int) bool {
	if len(pr.tests) > 0 && !pr.holds(func(p *spath) (string, bool) {
		s, ok, err := xmlNode{e, r}.value(p)
		return s, ok && err == nil
	}) {
		return false
	}
	*n++
	return pr.pos == 0 || *n == pr.pos
}

// first returns the first element, in document order, that the steps reach
// from e — not merely the path through first children, so a/b finds b under
// the second a when the first has none.
func (r *nsResolver) first(e *etree.Element, steps []xstep) *etree.Element {
	if len(steps) == 0 {
		return e
	}
	st := &steps[0]
	n := 0
	for _, c := range e.Child {
		ce, ok := c.(*etree.Element)
		if !ok || !r.matches(ce, &st.xname) {
			continue
		}
		if st.pred != nil && !r.test(ce, st.pred, &n) {
			continue
		}
		if found := r.first(ce, steps[1:]); found != nil {
			return found
		}
		if st.pred != nil && st.pred.pos > 0 {
			return nil
		}
	}
	return nil
}

// all returns every element the steps reach from e, in document order,
// gathered across all matching parents.
func (r *nsResolver) all(e *etree.Element, steps []xstep) []*etree.Element {
	if len(steps) == 0 {
		return []*etree.Element{e}
	}
	level := r.children(nil, e, &steps[0])
	for i := 1; i < len(steps) && len(level) > 0; i++ {
		var next []*etree.Element
		for _, e := range level {
			next = r.children(next, e, &steps[i])
		}
		level = next
	}
	return level
}

// children appends e's children that match one step.
func (r *nsResolver) children(out []*etree.Element, e *etree.Element, st *xstep) []*etree.Element {
	n := 0
	for _, c := range e.Child {
		if ce, ok := c.(*etree.Element); ok && r.matches(ce, &st.xname) && (st.pred == nil || r.test(ce, st.pred, &n)) {
			out = append(out, ce)
		}
	}
	return out
}

func (n xmlNode) value(p *spath) (string, bool, error) {
	e := n.e
	if !p.self {
		e = n.ns.first(n.e, p.steps)
	}
	if e == nil {
		return "", false, nil
	}
	if p.attr != nil {
		s, ok := n.attr(e, p.attr)
		return s, ok, nil
	}
	return text(e)
}

// attr returns an attribute's value, matched by namespace URI.
func (n xmlNode) attr(e *etree.Element, q *xname) (string, bool) {
	for i := range e.Attr {
		a := &e.Attr[i]
		if a.Key != q.local || a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		uri := "" // unprefixed attributes are in no namespace
		if a.Space != "" {
			uri = n.ns.uri(e, a.Space)
		}
		if uri == q.uri {
			return a.Value, true
		}
	}
	return "", false
}

// text returns an element's character data (text and CDATA, across
// comments). An element with child elements has no single value.
func text(e *etree.Element) (string, bool, error) {
	var s string
	var b *strings.Builder
	for _, c := range e.Child {
		switch t := c.(type) {
		case *etree.CharData:
			if s == "" && b == nil {
				s = t.Data
				continue
			}
			if b == nil {
				b = &strings.Builder{}
				b.WriteString(s)
			}
			b.WriteString(t.Data)
		case *etree.Element:
			return "", false, fmt.Errorf("%w: <%s> has child elements, want text", ErrBadValue, e.FullTag())
		}
	}
	if b != nil {
		s = b.String()
	}
	return s, true, nil
}

func (n xmlNode) items(p *spath) ([]node, error) {
	if p.self {
		return []node{n}, nil
	}
	if p.attr != nil {
		return nil, fmt.Errorf("%w: a group repeats elements, not attributes", ErrBadValue)
	}
	level := n.ns.all(n.e, p.steps)
	out := make([]node, len(level))
	for i, e := range level {
		out[i] = xmlNode{e, n.ns}
	}
	return out, nil
}

func (n xmlNode) values(p *spath, out []string) ([]string, error) {
	level := []*etree.Element{n.e}
	if !p.self {
		level = n.ns.all(n.e, p.steps)
	}
	for _, e := range level {
		if p.attr != nil {
			if s, ok := n.attr(e, p.attr); ok {
				out = append(out, s)
			}
			continue
		}
		s, _, err := text(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// raw is what an expression sees of an XML path: the text of the first
// match or its attribute; an element with child elements has no single
// text and reads as true, so present() and len(srcAll(…)) still work on it.
func (n xmlNode) raw(p *spath) (any, error) {
	e := n.e
	if !p.self {
		e = n.ns.first(n.e, p.steps)
	}
	if e == nil {
		return nil, nil
	}
	return n.rawOf(e, p), nil
}

func (n xmlNode) rawOf(e *etree.Element, p *spath) any {
	if p.attr != nil {
		if s, ok := n.attr(e, p.attr); ok {
			return s
		}
		return nil
	}
	s, _, err := text(e)
	if err != nil {
		return true
	}
	return s
}

func (n xmlNode) rawAll(p *spath) ([]any, error) {
	level := []*etree.Element{n.e}
	if !p.self {
		level = n.ns.all(n.e, p.steps)
	}
	out := make([]any, 0, len(level))
	for _, e := range level {
		if v := n.rawOf(e, p); v != nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// sink is a target context.
type sink interface {
	// set writes value at steps. It returns where the value landed, for
	// explanations: the element or JSON object that holds it, and the step
	// naming the attribute or key (nil for the node's own text or value).
	set(steps []tstep, value string, typ jsonType) (owner any, at *tstep, err error)
	// item returns a new, detached context for one group item.
	item() sink
	// empty reports whether nothing was written to the context.
	empty() bool
	// attach adds an item made by item() at steps.
	attach(steps []tstep, item sink) error
}

// xmlSink writes into an element.
type xmlSink struct{ e *etree.Element }

// child finds the last child with that name, or creates one; with [+] it
// always creates one.
func child(e *etree.Element, s *tstep) *etree.Element {
	if !s.appendNew {
		for i := len(e.Child) - 1; i >= 0; i-- {
			if ce, ok := e.Child[i].(*etree.Element); ok && ce.Tag == s.name.local && ce.Space == s.name.prefix {
				return ce
			}
		}
	}
	return create(e, s)
}

// create makes a new child element for s. With the schema's order known,
// it goes after the last sibling that comes no later in that order, so the
// document validates whatever order the rules are listed in; an element
// the order does not know (copied, or under a wildcard) stays where it is
// and nothing moves past it.
func create(e *etree.Element, s *tstep) *etree.Element {
	if s.order == nil {
		return e.CreateElement(s.name.tag)
	}
	i := insertAt(e, s)
	if i == len(e.Child) {
		return e.CreateElement(s.name.tag)
	}
	c := etree.NewElement(s.name.tag)
	e.InsertChildAt(i, c)
	return c
}

// insertAt is the index in e.Child where a new element for s goes.
func insertAt(e *etree.Element, s *tstep) int {
	i := len(e.Child)
	for ; i > 0; i-- {
		ce, ok := e.Child[i-1].(*etree.Element)
		if !ok {
			continue
		}
		if p, known := s.order.pos[tagKey{ce.Space, ce.Tag}]; !known || p <= s.pos {
			break
		}
	}
	return i
}

// parentOf finds or creates every step of a target path but the last,
// from e: the element the last step goes in.
func parentOf(e *etree.Element, steps []tstep) *etree.Element {
	for i := range steps[:len(steps)-1] {
		e = child(e, &steps[i])
	}
	return e
}

func (x xmlSink) set(steps []tstep, value string, _ jsonType) (any, *tstep, error) {
	if err := xmlChars(value); err != nil {
		return nil, nil, err
	}
	if len(steps) == 0 {
		x.e.SetText(value)
		return x.e, nil, nil
	}
	e := parentOf(x.e, steps)
	s := &steps[len(steps)-1]
	if s.attr {
		e.CreateAttr(s.name.tag, value)
		return e, s, nil
	}
	c := child(e, s)
	c.SetText(value)
	return c, nil, nil
}

func (x xmlSink) item() sink { return xmlSink{etree.NewElement("")} }

func (x xmlSink) empty() bool { return len(x.e.Child) == 0 && len(x.e.Attr) == 0 }

func (x xmlSink) attach(steps []tstep, item sink) error {
	e := parentOf(x.e, steps)
	it := item.(xmlSink).e
	last := steps[len(steps)-1]
	it.Space, it.Tag = last.name.prefix, last.name.local
	if last.order != nil {
		e.InsertChildAt(insertAt(e, &last), it)
		return nil
	}
	e.AddChild(it)
	return nil
}

// xmlChars rejects text XML 1.0 cannot carry. The serializer would
// otherwise replace it silently, altering a certificate's content.
func xmlChars(s string) error {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, w := utf8.DecodeRuneInString(s[i:]); w == 1 {
				return fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrBadValue, i)
			}
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r',
			r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return fmt.Errorf("%w: character %U is not allowed in XML", ErrBadValue, r)
		}
	}
	return nil
}

// object is a JSON object that keeps insertion order, so output follows
// rule order and is deterministic. Objects are small, so a slice beats a
// map.
type object struct {
	fields []field
	self   any // target ".": the item is this plain value, not an object
}

type field struct {
	key string
	val any // string | rawJSON | *object | *array
}

type rawJSON string

type array struct{ items []*object }

func (o *object) find(k string) *field {
	for i := range o.fields {
		if o.fields[i].key == k {
			return &o.fields[i]
		}
	}
	return nil
}

func (o *object) objectAt(k string) (*object, error) {
	if f := o.find(k); f != nil {
		if c, ok := f.val.(*object); ok {
			return c, nil
		}
		return nil, fmt.Errorf("%w: key %q already holds a value, cannot hold fields", ErrBadValue, k)
	}
	c := &object{}
	o.fields = append(o.fields, field{k, c})
	return c, nil
}

func (o *object) walk(steps []tstep) (*object, error) {
	for i := range steps {
		var err error
		if o, err = o.objectAt(steps[i].key); err != nil {
			return nil, err
		}
	}
	return o, nil
}

type jsonSink struct{ o *object }

func (j jsonSink) set(steps []tstep, value string, typ jsonType) (any, *tstep, error) {
	v, err := jsonValue(value, typ)
	if err != nil {
		return nil, nil, err
	}
	if len(steps) == 0 {
		j.o.self = v
		return j.o, nil, nil
	}
	o, err := j.o.walk(steps[:len(steps)-1])
	if err != nil {
		return nil, nil, err
	}
	last := &steps[len(steps)-1]
	key := last.key
	if f := o.find(key); f != nil {
		if _, isObj := f.val.(*object); isObj {
			return nil, nil, fmt.Errorf("%w: key %q already holds fields, cannot hold a value", ErrBadValue, key)
		}
		if _, isArr := f.val.(*array); isArr {
			return nil, nil, fmt.Errorf("%w: key %q already holds a list, cannot hold a value", ErrBadValue, key)
		}
		f.val = v // a later rule (e.g. under when:) overrides
		return o, last, nil
	}
	o.fields = append(o.fields, field{key, v})
	return o, last, nil
}

// jsonValue is a value as written to JSON: a string, or for typed rules
// the checked number or boolean.
func jsonValue(value string, typ jsonType) (any, error) {
	var v any = value
	switch typ {
	case typeNumber, typeInteger:
		// Written as given (no float round trip), so "1250.50" stays
		// exact; surrounding space never matters in a number.
		n := strings.TrimSpace(value)
		if !isJSONNumber(n, typ == typeInteger) {
			what := "a number"
			if typ == typeInteger {
				what = "an integer"
			}
			return nil, fmt.Errorf("%w: %q is not %s", ErrBadValue, value, what)
		}
		v = rawJSON(n)
	case typeBoolean:
		switch strings.ToLower(strings.TrimSpace(value)) {
		case "true", "1":
			v = rawJSON("true")
		case "false", "0":
			v = rawJSON("false")
		default:
			return nil, fmt.Errorf("%w: %q is not a boolean (true, false, 1 or 0)", ErrBadValue, value)
		}
	}
	return v, nil
}

func (j jsonSink) item() sink { return jsonSink{&object{}} }

func (j jsonSink) empty() bool { return len(j.o.fields) == 0 && j.o.self == nil }

func (j jsonSink) attach(steps []tstep, item sink) error {
	o, err := j.o.walk(steps[:len(steps)-1])
	if err != nil {
		return err
	}
	key := steps[len(steps)-1].key
	it := item.(jsonSink).o
	if f := o.find(key); f != nil {
		arr, ok := f.val.(*array)
		if !ok {
			return fmt.Errorf("%w: key %q already holds a value, cannot hold a list", ErrBadValue, key)
		}
		arr.items = append(arr.items, it)
		return nil
	}
	o.fields = append(o.fields, field{key, &array{items: []*object{it}}})
	return nil
}

// isJSONNumber reports whether s is a number in JSON's grammar (RFC 8259),
// which is stricter than strconv: no "+1", "01", ".5", "1.", "0x10", "NaN".
func isJSONNumber(s string, integer bool) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if integer {
		return i == len(s)
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

func (o *object) appendTo(b []byte) []byte {
	switch v := o.self.(type) {
	case string:
		return appendString(b, v)
	case rawJSON:
		return append(b, v...)
	}
	b = append(b, '{')
	for i, f := range o.fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.key)
		b = append(b, ':')
		b = appendValue(b, f.val)
	}
	return append(b, '}')
}

func appendValue(b []byte, val any) []byte {
	switch v := val.(type) {
	case string:
		return appendString(b, v)
	case rawJSON:
		return append(b, v...)
	case *object:
		return v.appendTo(b)
	case *array:
		b = append(b, '[')
		for j, it := range v.items {
			if j > 0 {
				b = append(b, ',')
			}
			b = it.appendTo(b)
		}
		return append(b, ']')
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Unlike json.Marshal it leaves
// < > & as they are (legacy systems read them literally), and it does not
// allocate per string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but end lines in JavaScript.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
