package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/beevik/etree"
)

// jsonNode is a JSON source context.
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
		return v.String(), true, nil
	case bool:
		return strconv.FormatBool(v), true, nil
	default:
		return "", false, fmt.Errorf("%w: found a JSON %s, want a plain value", ErrBadValue, kind(v))
	}
}

func (n jsonNode) items(p *spath) []node {
	switch v := n.lookup(p).(type) {
	case []any:
		out := make([]node, 0, len(v))
		for _, x := range v {
			if x != nil {
				out = append(out, jsonNode{x})
			}
		}
		return out
	case nil:
		return nil
	default:
		// A single object where a list is expected is a list of one.
		return []node{jsonNode{v}}
	}
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// xmlNode is an XML source context.
type xmlNode struct{ e *etree.Element }

func matches(e *etree.Element, q xname) bool {
	return e.Tag == q.local && e.NamespaceURI() == q.uri
}

func (n xmlNode) first(steps []xname) *etree.Element {
	cur := n.e
	for _, q := range steps {
		var next *etree.Element
		for _, c := range cur.Child {
			if ce, ok := c.(*etree.Element); ok && matches(ce, q) {
				next = ce
				break
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

func (n xmlNode) value(p *spath) (string, bool, error) {
	e := n.e
	if !p.self {
		e = n.first(p.steps)
	}
	if e == nil {
		return "", false, nil
	}
	if p.attr != nil {
		for _, a := range e.Attr {
			if a.Key == p.attr.local && a.NamespaceURI() == p.attr.uri {
				return a.Value, true, nil
			}
		}
		return "", false, nil
	}
	for _, c := range e.Child {
		if _, ok := c.(*etree.Element); ok {
			return "", false, fmt.Errorf("%w: element has child elements, want text", ErrBadValue)
		}
	}
	return e.Text(), true, nil
}

func (n xmlNode) items(p *spath) []node {
	if p.self {
		return []node{n}
	}
	level := []*etree.Element{n.e}
	for _, q := range p.steps {
		var next []*etree.Element
		for _, e := range level {
			for _, c := range e.Child {
				if ce, ok := c.(*etree.Element); ok && matches(ce, q) {
					next = append(next, ce)
				}
			}
		}
		level = next
	}
	out := make([]node, len(level))
	for i, e := range level {
		out[i] = xmlNode{e}
	}
	return out
}

// xmlSink writes into an element.
type xmlSink struct{ e *etree.Element }

// child finds the last child with that name, or creates one.
func child(e *etree.Element, s tstep) *etree.Element {
	if !s.appendNew {
		for i := len(e.Child) - 1; i >= 0; i-- {
			if ce, ok := e.Child[i].(*etree.Element); ok && ce.Tag == s.name.local && ce.Space == s.name.prefix {
				return ce
			}
		}
	}
	return e.CreateElement(qualified(s.name))
}

func (x xmlSink) set(steps []tstep, value, _ string) error {
	e := x.e
	last := len(steps) - 1
	for _, s := range steps[:last] {
		e = child(e, s)
	}
	s := steps[last]
	if s.attr {
		e.CreateAttr(qualified(s.name), value)
		return nil
	}
	child(e, s).SetText(value)
	return nil
}

func (x xmlSink) group(steps []tstep) (sink, error) {
	e := x.e
	last := len(steps) - 1
	for _, s := range steps[:last] {
		e = child(e, s)
	}
	return xmlSink{e.CreateElement(qualified(steps[last].name))}, nil
}

// object is a JSON object that keeps insertion order, so output follows
// rule order and is deterministic.
type object struct {
	keys []string
	vals map[string]any // string | rawJSON | *object | *array
}

type rawJSON string

type array struct{ items []*object }

func newObject() *object { return &object{vals: map[string]any{}} }

func (o *object) get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *object) put(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *object) objectAt(k string) (*object, error) {
	if v, ok := o.get(k); ok {
		if c, ok := v.(*object); ok {
			return c, nil
		}
		return nil, fmt.Errorf("%w: key %q is already a value, cannot hold fields", ErrBadValue, k)
	}
	c := newObject()
	o.put(k, c)
	return c, nil
}

type jsonSink struct{ o *object }

func (j jsonSink) set(steps []tstep, value, typ string) error {
	o := j.o
	for _, s := range steps[:len(steps)-1] {
		var err error
		if o, err = o.objectAt(s.key); err != nil {
			return err
		}
	}
	key := steps[len(steps)-1].key
	switch typ {
	case "number":
		// Written as given (no float round trip), so "1250.50" stays exact.
		if _, err := strconv.ParseFloat(value, 64); err != nil || !json.Valid([]byte(value)) {
			return fmt.Errorf("%w: %q is not a number", ErrBadValue, value)
		}
		o.put(key, rawJSON(value))
	case "integer":
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			return fmt.Errorf("%w: %q is not an integer", ErrBadValue, value)
		}
		o.put(key, rawJSON(value))
	case "boolean":
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("%w: %q is not a boolean", ErrBadValue, value)
		}
		o.put(key, rawJSON(strconv.FormatBool(b)))
	default:
		o.put(key, value)
	}
	return nil
}

func (j jsonSink) group(steps []tstep) (sink, error) {
	o := j.o
	for _, s := range steps[:len(steps)-1] {
		var err error
		if o, err = o.objectAt(s.key); err != nil {
			return nil, err
		}
	}
	key := steps[len(steps)-1].key
	var arr *array
	switch v := o.vals[key].(type) {
	case nil:
		arr = &array{}
		o.put(key, arr)
	case *array:
		arr = v
	default:
		return nil, fmt.Errorf("%w: key %q is already a value, cannot hold a list", ErrBadValue, key)
	}
	item := newObject()
	arr.items = append(arr.items, item)
	return jsonSink{item}, nil
}

func (o *object) write(buf *bytes.Buffer) {
	buf.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeString(buf, k)
		buf.WriteByte(':')
		switch v := o.vals[k].(type) {
		case string:
			writeString(buf, v)
		case rawJSON:
			buf.WriteString(string(v))
		case *object:
			v.write(buf)
		case *array:
			buf.WriteByte('[')
			for j, it := range v.items {
				if j > 0 {
					buf.WriteByte(',')
				}
				it.write(buf)
			}
			buf.WriteByte(']')
		}
	}
	buf.WriteByte('}')
}

func writeString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s)
	buf.Write(b)
}
