package mapping

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// Origin says where one value of a mapped document came from: the answer
// to "why does the certificate say this?" without reading the rule file
// side by side with the payload.
type Origin struct {
	// Path is where the value was written: an XML path from the root
	// (/rsm:SPSCertificate/…/ram:IncludedSPSTradeLineItem[2]/ram:NetWeightMeasure/@unitCode,
	// with [n] where an element has same-named siblings), a JSON path
	// (lines[2].qty, positions from 1), or local:NAME for a local value.
	Path  string
	Value string
	File  string // the rule file
	Line  int    // the rule's line
	Rule  string // the rule's target as written, or local:NAME
	// From is what produced the value: the source path with item
	// positions (productos[2]/peso), "value: …", "expr: …" (folded on one
	// line), "concat: …", "$index" or "default: …".
	From string
	// Input is the value read, before the rule's transforms; Steps are
	// those transforms in order, each `name: "in" → "out"` (trim, case
	// upper, table hs, number, date "dd/MM/yyyy HH:mm" in Zone, split).
	Input string
	Steps []string
}

// String formats an origin as one line, as `vucelink map --explain`
// prints it.
func (o Origin) String() string {
	return fmt.Sprintf("%s = %q <- %s%s (%s:%d)", o.Path, o.Value, o.From, o.stepText(), o.File, o.Line)
}

// stepText is " "input" | step | step", or "" without steps.
func (o Origin) stepText() string {
	if len(o.Steps) == 0 {
		return ""
	}
	return " " + strconv.Quote(o.Input) + " | " + strings.Join(o.Steps, " | ")
}

// ExplainedError is a mapping that failed while explaining: the values
// written, in the order the rules ran, up to the first rule that failed,
// and that rule with the steps it got through — what `vucelink map
// --explain` prints before the errors.
type ExplainedError struct {
	Err     Errors
	Trace   []Origin // Path is the target with item positions, as in FieldError
	Failing *Origin  // the first rule that failed: Value is empty
}

func (e *ExplainedError) Error() string { return e.Err.Error() }

// Unwrap gives the Errors, so errors.As and errors.Is see every field.
func (e *ExplainedError) Unwrap() error { return e.Err }

// trace records a value written, in rule order, until a rule fails.
func (x *explainer) trace(rl *rule, sc *scope, o Origin) {
	if x.failing != nil {
		return
	}
	tp, _ := sc.prefixes()
	o.Path = tp + rl.target
	x.steps = append(x.steps, o)
}

// explainer records, during one Map call, which rule wrote each value.
// Values are recorded against the element or object that holds them, and
// their paths are computed once the document is complete: group items are
// built detached and attached later, and only then is their position known.
type explainer struct {
	file    string
	writes  map[any][]write
	locals  []Origin
	steps   []Origin // in rule order, for a failure's trace
	failing *Origin
}

type write struct {
	key string // attribute or JSON key; "" for the node's own text or value
	o   Origin
}

func newExplainer(file string) *explainer {
	return &explainer{file: file, writes: map[any][]write{}}
}

func (x *explainer) record(owner any, at *tstep, o Origin) {
	key := ""
	if at != nil {
		key = at.key
		if key == "" {
			key = at.name.tag
		}
	}
	ws := x.writes[owner]
	for i := range ws {
		if ws[i].key == key {
			ws[i].o = o // a later rule overwrote the value
			return
		}
	}
	x.writes[owner] = append(ws, write{key, o})
}

// origin describes the value rl just produced.
func (m *mapper) origin(rl *rule, sc *scope, v string) Origin {
	_, sp := sc.prefixes()
	item := ""
	if sp != "" {
		item = " (item " + strings.TrimSuffix(sp, "/") + ")"
	}
	var from string
	switch {
	case m.fromDef:
		from = "default: " + *rl.def + item
	case rl.kind == fromConstant:
		from = "value: " + rl.value
	case rl.kind == fromIndex:
		from = "$index" + item
	case rl.kind == fromExpr:
		// A block scalar's lines, folded: one line per value.
		from = "expr: " + strings.Join(strings.Fields(rl.source), " ") + item
	case rl.kind == fromConcat:
		from = rl.source + item
	case rl.spath.root:
		from = rl.source
	default:
		from = sp + rl.source
	}
	if rl.join != nil && !m.fromDef {
		from += " (every value, joined)"
	}
	o := Origin{Value: v, File: m.ex.file, Line: rl.line, Rule: rl.target, From: from}
	if len(m.steps) > 0 && !m.fromDef {
		o.Input, o.Steps = m.input, slices.Clone(m.steps)
	}
	return o
}

// finish computes the path of every recorded value in the finished
// document and returns the origins in document order, then the locals.
func (x *explainer) finish(doc *etree.Document, obj *object) []Origin {
	var out []Origin
	if doc != nil {
		if root := doc.Root(); root != nil {
			out = x.walkXML(root, "/"+root.FullTag(), out)
		}
	} else if obj != nil {
		out = x.walkJSON(obj, "", out)
	}
	return append(out, x.locals...)
}

func (x *explainer) walkXML(e *etree.Element, path string, out []Origin) []Origin {
	// The element's text, then its attributes, in the order written.
	for _, w := range x.writes[e] {
		w.o.Path = path
		if w.key != "" {
			w.o.Path = path + "/@" + w.key
		}
		out = append(out, w.o)
	}
	var count map[string]int
	for _, c := range e.ChildElements() {
		if count == nil {
			count = map[string]int{}
		}
		count[c.FullTag()]++
	}
	seen := map[string]int{}
	for _, c := range e.ChildElements() {
		tag := c.FullTag()
		p := path + "/" + tag
		if count[tag] > 1 {
			seen[tag]++
			p += "[" + strconv.Itoa(seen[tag]) + "]"
		}
		out = x.walkXML(c, p, out)
	}
	return out
}

func (x *explainer) walkJSON(o *object, path string, out []Origin) []Origin {
	// The object's own value (target "."), then its keys in order.
	for _, w := range x.writes[o] {
		if w.key == "" {
			w.o.Path = path
			out = append(out, w.o)
		}
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	for _, f := range o.fields {
		switch v := f.val.(type) {
		case *object:
			out = x.walkJSON(v, join(f.key), out)
		case *array:
			for i, it := range v.items {
				out = x.walkJSON(it, join(f.key)+"["+strconv.Itoa(i+1)+"]", out)
			}
		default:
			for _, w := range x.writes[o] {
				if w.key == f.key {
					w.o.Path = join(f.key)
					out = append(out, w.o)
				}
			}
		}
	}
	return out
}
