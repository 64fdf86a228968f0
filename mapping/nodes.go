package mapping

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// node is a source context: a JSON value or an XML element.
type node interface {
	// value returns the text at p and whether it is present.
	value(p *spath) (string, bool, error)
	// items returns the repeated nodes at p, in document order.
	items(p *spath) ([]node, error)
}

// sink is a target context.
type sink interface {
	set(steps []tstep, value string, typ jsonType) error
	// item returns a new, detached context for one group item.
	item() sink
	// empty reports whether nothing was written to the context.
	empty() bool
	// attach adds an item made by item() at steps.
	attach(steps []tstep, item sink) error
}

// jsonNode is a JSON source context (decoded with UseNumber).
type jsonNode struct{ v any }

func (n jsonNode) lookup(p *spath) any {
	if p.self {
		return n.v
	}
	cur := n.v
	for _, k := range p.keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func (n jsonNode) value(p *spath) (string, bool, error) {
	switch v := n.lookup(p).(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	case json.Number:
		// The number's text as sent: "1250.50" stays "1250.50".
		return v.String(), true, nil
	case bool:
		if v {
			return "true", true, nil
		}
		return "false", true, nil
	default:
		return "", false, fmt.Errorf("%w: found a JSON %s, want a plain value", ErrBadValue, jsonKind(v))
	}
}

func (n jsonNode) items(p *spath) ([]node, error) {
	switch v := n.lookup(p).(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]node, 0, len(v))
		for _, x := range v {
			if x != nil {
				out = append(out, jsonNode{x})
			}
		}
		return out, nil
	default:
		// Legacy systems often collapse a list of one into the item
		// itself; read it as a list of one.
		return []node{jsonNode{v}}, nil
	}
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

// first returns the first element, in document order, that the steps reach
// from e — not merely the path through first children, so a/b finds b under
// the second a when the first has none.
func (r *nsResolver) first(e *etree.Element, steps []xname) *etree.Element {
	if len(steps) == 0 {
		return e
	}
	for _, c := range e.Child {
		if ce, ok := c.(*etree.Element); ok && r.matches(ce, &steps[0]) {
			if found := r.first(ce, steps[1:]); found != nil {
				return found
			}
		}
	}
	return nil
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
		for i := range e.Attr {
			a := &e.Attr[i]
			if a.Key != p.attr.local || a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
				continue
			}
			uri := "" // unprefixed attributes are in no namespace
			if a.Space != "" {
				uri = n.ns.uri(e, a.Space)
			}
			if uri == p.attr.uri {
				return a.Value, true, nil
			}
		}
		return "", false, nil
	}
	return text(e)
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
	level := []*etree.Element{n.e}
	for i := range p.steps {
		q := &p.steps[i]
		var next []*etree.Element
		for _, e := range level {
			for _, c := range e.Child {
				if ce, ok := c.(*etree.Element); ok && n.ns.matches(ce, q) {
					next = append(next, ce)
				}
			}
		}
		level = next
	}
	out := make([]node, len(level))
	for i, e := range level {
		out[i] = xmlNode{e, n.ns}
	}
	return out, nil
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
	return e.CreateElement(s.name.tag)
}

func (x xmlSink) set(steps []tstep, value string, _ jsonType) error {
	if err := xmlChars(value); err != nil {
		return err
	}
	if len(steps) == 0 {
		x.e.SetText(value)
		return nil
	}
	e := x.e
	last := len(steps) - 1
	for i := range steps[:last] {
		e = child(e, &steps[i])
	}
	s := &steps[last]
	if s.attr {
		e.CreateAttr(s.name.tag, value)
		return nil
	}
	child(e, s).SetText(value)
	return nil
}

func (x xmlSink) item() sink { return xmlSink{etree.NewElement("")} }

func (x xmlSink) empty() bool { return len(x.e.Child) == 0 && len(x.e.Attr) == 0 }

func (x xmlSink) attach(steps []tstep, item sink) error {
	e := x.e
	last := len(steps) - 1
	for i := range steps[:last] {
		e = child(e, &steps[i])
	}
	it := item.(xmlSink).e
	it.Space, it.Tag = steps[last].name.prefix, steps[last].name.local
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

func (j jsonSink) set(steps []tstep, value string, typ jsonType) error {
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
			return fmt.Errorf("%w: %q is not %s", ErrBadValue, value, what)
		}
		v = rawJSON(n)
	case typeBoolean:
		switch strings.ToLower(strings.TrimSpace(value)) {
		case "true", "1":
			v = rawJSON("true")
		case "false", "0":
			v = rawJSON("false")
		default:
			return fmt.Errorf("%w: %q is not a boolean (true, false, 1 or 0)", ErrBadValue, value)
		}
	}
	if len(steps) == 0 {
		j.o.self = v
		return nil
	}
	o, err := j.o.walk(steps[:len(steps)-1])
	if err != nil {
		return err
	}
	key := steps[len(steps)-1].key
	if f := o.find(key); f != nil {
		if _, isObj := f.val.(*object); isObj {
			return fmt.Errorf("%w: key %q already holds fields, cannot hold a value", ErrBadValue, key)
		}
		if _, isArr := f.val.(*array); isArr {
			return fmt.Errorf("%w: key %q already holds a list, cannot hold a value", ErrBadValue, key)
		}
		f.val = v // a later rule (e.g. under when:) overrides
		return nil
	}
	o.fields = append(o.fields, field{key, v})
	return nil
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
