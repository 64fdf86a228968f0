package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/xmlsafe"
)

// Sentinels wrapped by FieldError.Err.
var (
	ErrRequired    = errors.New("required value is missing")
	ErrUnknownCode = errors.New("value not in code table")
	ErrBadValue    = errors.New("invalid value")
)

// FieldError is one field that could not be mapped.
type FieldError struct {
	Target string // target path, with group positions, e.g. items[3].weight
	Source string // source path, with group positions
	Line   int    // rule's line in the rule file
	Err    error
}

func (e *FieldError) Error() string {
	src := e.Source
	if src == "" {
		src = "(constant)"
	}
	return fmt.Sprintf("%s (from %s, rule line %d): %v", e.Target, src, e.Line, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// Errors are all the field errors of one mapping.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return fmt.Sprintf("%d field(s) failed: %s", len(es), strings.Join(lines, "; "))
}

// Output is a mapped document.
type Output struct {
	XML  *etree.Document // when the target is XML
	JSON []byte          // when the target is JSON
}

// Bytes serializes the output. XML carries an XML declaration and is not
// indented (indentation would be data to a signature).
func (o *Output) Bytes() ([]byte, error) {
	if o.XML != nil {
		return o.XML.WriteToBytes()
	}
	return o.JSON, nil
}

// Map translates a payload in the source format.
func (r *Rules) Map(input []byte) (*Output, error) {
	switch r.source.format {
	case "xml":
		doc, err := xmlsafe.Parse(input, xmlsafe.Limits{})
		if err != nil {
			return nil, fmt.Errorf("%s: input: %w", r.file, err)
		}
		return r.MapElement(doc.Root())
	default:
		dec := json.NewDecoder(bytes.NewReader(input))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: input is not valid JSON: %w", r.file, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%s: input has data after the JSON value", r.file)
		}
		if _, ok := v.(map[string]any); !ok {
			return nil, fmt.Errorf("%s: input must be a JSON object", r.file)
		}
		return r.run(jsonNode{v})
	}
}

// MapElement translates an XML source that is already parsed (and, on the
// inbound path, verified): paths are relative to root.
func (r *Rules) MapElement(root *etree.Element) (*Output, error) {
	if r.source.format != "xml" {
		return nil, fmt.Errorf("%s: source format is %s, not xml", r.file, r.source.format)
	}
	if root == nil {
		return nil, fmt.Errorf("%s: no root element", r.file)
	}
	if q := r.source.root; q != nil && (root.Tag != q.local || root.NamespaceURI() != q.uri) {
		return nil, fmt.Errorf("%s: root element is {%s}%s, want {%s}%s", r.file, root.NamespaceURI(), root.Tag, q.uri, q.local)
	}
	return r.run(xmlNode{root})
}

// node is a source context: a JSON value or an XML element.
type node interface {
	// value returns the text at p, and whether it is present.
	value(p *spath) (string, bool, error)
	// items returns the repeated nodes at p.
	items(p *spath) []node
}

// sink is a target context.
type sink interface {
	set(steps []tstep, value, typ string) error
	group(steps []tstep) (sink, error)
}

type run struct {
	errs Errors
}

func (r *Rules) run(src node) (*Output, error) {
	var st run
	switch r.target.format {
	case "xml":
		doc := etree.NewDocument()
		doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
		root := doc.CreateElement(qualified(r.target.root))
		for _, ns := range r.target.ns {
			root.CreateAttr("xmlns:"+ns.k, ns.v)
		}
		st.apply(r.fields, src, xmlSink{root}, 0, "", "")
		if len(st.errs) > 0 {
			return nil, st.errs
		}
		return &Output{XML: doc}, nil
	default:
		obj := newObject()
		st.apply(r.fields, src, jsonSink{obj}, 0, "", "")
		if len(st.errs) > 0 {
			return nil, st.errs
		}
		var buf bytes.Buffer
		obj.write(&buf)
		return &Output{JSON: buf.Bytes()}, nil
	}
}

func (st *run) fail(rl *rule, tprefix, sprefix string, err error) {
	src := ""
	if rl.source != "" {
		src = sprefix + rl.source
	}
	st.errs = append(st.errs, &FieldError{Target: tprefix + rl.target, Source: src, Line: rl.line, Err: err})
}

// apply runs rules against one source context into one target context.
// index is the 1-based position in the enclosing group (0 at top level);
// the prefixes make messages name the exact item.
func (st *run) apply(rules []*rule, src node, dst sink, index int, tprefix, sprefix string) {
	for _, rl := range rules {
		if rl.when != nil {
			v, ok, err := src.value(rl.when)
			if err != nil || !ok || v == "" {
				continue
			}
		}
		if rl.group {
			items := src.items(rl.spath)
			if len(items) == 0 {
				if rl.required {
					st.fail(rl, tprefix, sprefix, fmt.Errorf("%w: at least one item", ErrRequired))
				}
				continue
			}
			for i, it := range items {
				sub, err := dst.group(rl.tpath)
				if err != nil {
					st.fail(rl, tprefix, sprefix, err)
					break
				}
				pos := "[" + strconv.Itoa(i+1) + "]"
				st.apply(rl.fields, it, sub, i+1, tprefix+rl.target+pos+"/", sprefix+rl.source+pos+"/")
			}
			continue
		}
		v, err := st.valueOf(rl, src, index)
		if err != nil {
			st.fail(rl, tprefix, sprefix, err)
			continue
		}
		if v == "" {
			continue
		}
		if err := dst.set(rl.tpath, v, rl.typ); err != nil {
			st.fail(rl, tprefix, sprefix, err)
		}
	}
}

// valueOf computes a field's value: source or constant, then trim,
// default, code table, date conversion, case.
func (st *run) valueOf(rl *rule, src node, index int) (string, error) {
	var v string
	switch {
	case rl.value != nil:
		v = *rl.value
	case rl.spath.index:
		if index > 0 {
			v = strconv.Itoa(index)
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
	if v == "" && rl.def != nil {
		v = *rl.def
	}
	if v == "" {
		if rl.required {
			return "", ErrRequired
		}
		return "", nil
	}
	if rl.table != nil {
		m := rl.table.fwd
		if rl.reverse {
			m = rl.table.rev
		}
		code, ok := m[v]
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
	switch {
	case rl.upper:
		v = strings.ToUpper(v)
	case rl.lower:
		v = strings.ToLower(v)
	}
	return v, nil
}

func (d *dateConv) convert(v string) (string, error) {
	var t time.Time
	var err error
	if d.fromZoned {
		t, err = time.Parse(d.from, v)
	} else {
		t, err = time.ParseInLocation(d.from, v, d.zone)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %q does not match the date pattern: %v", ErrBadValue, v, err)
	}
	// A pattern with an offset is written in UTC (the standard documents'
	// convention); one without is written in the rule's zone.
	if d.toZone {
		t = t.UTC()
	} else {
		t = t.In(d.zone)
	}
	return t.Format(d.to), nil
}

func qualified(q xname) string {
	if q.prefix == "" {
		return q.local
	}
	return q.prefix + ":" + q.local
}
