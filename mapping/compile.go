package mapping

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// xmlNamespace is bound to the prefix "xml" in every document (xml:lang),
// without a declaration.
const xmlNamespace = "http://www.w3.org/XML/1998/namespace"

type sourceSpec struct {
	format string            // json | xml
	root   *xname            // xml: the expected root, if given
	ns     map[string]string // xml: prefix → URI for source paths
}

type targetSpec struct {
	format string // xml | json
	root   xname  // xml: the root element to create
	decls  []kv   // xml: namespace declarations for the root, in file order
	ns     map[string]string
}

// valueKind says where a field rule's value comes from. An `expr:` key
// (a later issue) becomes one more kind here, compiled at load like the
// others.
type valueKind int

const (
	fromSource valueKind = iota
	fromConstant
	fromIndex // $index: the 1-based position in the enclosing group
)

// caseMode is a rule's case: conversion.
type caseMode int

const (
	caseNone caseMode = iota
	caseUpper
	caseLower
)

// jsonType is how a value is written to a JSON target.
type jsonType int

const (
	typeString jsonType = iota
	typeNumber
	typeInteger
	typeBoolean
)

// rule is a compiled field rule or group.
type rule struct {
	line     int
	target   string // as written, for messages
	source   string // as written (the group path for a group), for messages
	tpath    []tstep
	tself    bool // target ".": the context element's text, or the JSON item itself
	kind     valueKind
	spath    *spath // fromSource, and groups
	value    string // fromConstant
	when     *spath
	required bool
	def      *string
	trim     bool
	caseMode caseMode
	date     *dateConv
	table    *table
	lookup   map[string]string // table.fwd or table.rev
	typ      jsonType
	group    bool
	fields   []*rule
}

type compiler struct {
	file   string
	fsys   fs.FS
	dir    string
	errs   RuleErrors
	tables map[string]*table
	src    sourceSpec
	tgt    targetSpec
}

func (c *compiler) errf(line int, rule, format string, args ...any) {
	c.errs = append(c.errs, &RuleError{File: c.file, Line: line, Rule: rule, Msg: fmt.Sprintf(format, args...)})
}

func (c *compiler) compile(root *yaml.Node) *Rules {
	root = deref(root)
	top := c.mapping(root, "", "", fileKeys)
	line := root.Line
	r := &Rules{file: c.file}

	r.document = c.str(top["document"], "")
	if r.document == "" {
		c.errf(line, "", "document: is required (the document type, e.g. sps)")
	}
	r.direction = c.str(top["direction"], "")
	switch r.direction {
	case "outbound", "inbound":
	default:
		c.errf(lineOf(top["direction"], line), "", "direction: must be outbound or inbound, got %q", r.direction)
	}

	c.compileSource(top["source"], line)
	c.compileTarget(top["target"], line)
	r.source, r.target = c.src, c.tgt

	c.tables = map[string]*table{}
	if e, ok := top["tables"]; ok {
		tn := deref(e.v)
		if !isNull(tn) && tn.Kind != yaml.MappingNode {
			c.errf(tn.Line, "", "tables: must be a mapping of name: {file: …} or {values: …}")
		} else if !isNull(tn) {
			for i := 0; i+1 < len(tn.Content); i += 2 {
				k, v := deref(tn.Content[i]), deref(tn.Content[i+1])
				if _, dup := c.tables[k.Value]; dup {
					c.errf(k.Line, "", "tables: %q is declared twice", k.Value)
					continue
				}
				c.tables[k.Value] = c.compileTable(k.Value, k.Line, v)
			}
		}
	}

	fe, ok := top["fields"]
	if !ok || isNull(fe.v) {
		c.errf(line, "", "fields: at least one rule is required")
		return r
	}
	r.fields = c.rules(fe.v, "")
	return r
}

func lineOf(e entry, fallback int) int {
	if e.k != nil {
		return e.k.Line
	}
	return fallback
}

func (c *compiler) compileSource(e entry, line int) {
	c.src.ns = map[string]string{"xml": xmlNamespace}
	if e.v == nil {
		c.errf(line, "", "source: is required ({format: json} or {format: xml, …})")
		return
	}
	m := c.mapping(e.v, "", "source", formatKeys)
	c.src.format = c.str(m["format"], "")
	for _, p := range c.pairs(m["namespaces"].v, "", "source.namespaces") {
		switch {
		case p.k == "":
			// Source paths match by URI; an unprefixed step means "no
			// namespace", so a default namespace needs a prefix of its own.
			c.errf(p.line, "", "source.namespaces: give the default namespace %q a prefix and use it in source paths", p.v)
		case p.v == "":
			c.errf(p.line, "", "source.namespaces: prefix %q has no URI", p.k)
		case validNCName(p.k) != nil:
			c.errf(p.line, "", "source.namespaces: %q is not a valid prefix", p.k)
		default:
			c.src.ns[p.k] = p.v
		}
	}
	rootName := c.str(m["root"], "")
	switch c.src.format {
	case "json":
		if rootName != "" || m["namespaces"].v != nil {
			c.errf(e.v.Line, "", "source: root and namespaces apply to XML sources only")
		}
	case "xml":
		if rootName != "" {
			if q, err := parseQName(rootName, c.src.ns); err != nil {
				c.errf(lineOf(m["root"], e.v.Line), "", "source.root: %v", err)
			} else {
				c.src.root = &q
			}
		}
	default:
		c.errf(lineOf(m["format"], e.v.Line), "", "source.format: must be json or xml, got %q", c.src.format)
	}
}

func (c *compiler) compileTarget(e entry, line int) {
	c.tgt.ns = map[string]string{"xml": xmlNamespace}
	if e.v == nil {
		c.errf(line, "", "target: is required ({format: xml, root: …} or {format: json})")
		return
	}
	m := c.mapping(e.v, "", "target", formatKeys)
	c.tgt.format = c.str(m["format"], "")
	for _, p := range c.pairs(m["namespaces"].v, "", "target.namespaces") {
		switch {
		case p.v == "":
			c.errf(p.line, "", "target.namespaces: prefix %q has no URI", p.k)
		case p.k == "":
			// A default namespace: unprefixed target steps fall in it.
			c.tgt.ns[""] = p.v
			c.tgt.decls = append(c.tgt.decls, p)
		case p.k == "xml" || p.k == "xmlns" || validNCName(p.k) != nil:
			c.errf(p.line, "", "target.namespaces: %q cannot be declared as a prefix", p.k)
		default:
			c.tgt.ns[p.k] = p.v
			c.tgt.decls = append(c.tgt.decls, p)
		}
	}
	rootName := c.str(m["root"], "")
	switch c.tgt.format {
	case "json":
		if rootName != "" || m["namespaces"].v != nil {
			c.errf(e.v.Line, "", "target: root and namespaces apply to XML targets only")
		}
	case "xml":
		if rootName == "" {
			c.errf(e.v.Line, "", "target.root: is required for an XML target")
		} else if q, err := parseQName(rootName, c.tgt.ns); err != nil {
			c.errf(lineOf(m["root"], e.v.Line), "", "target.root: %v", err)
		} else {
			c.tgt.root = q
		}
	default:
		c.errf(lineOf(m["format"], e.v.Line), "", "target.format: must be xml or json, got %q", c.tgt.format)
	}
}

// rules compiles a list of rules (the file's fields, or a group's).
func (c *compiler) rules(n *yaml.Node, parent string) []*rule {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		c.errf(n.Line, parent, "fields: must be a list of rules (- target: …)")
		return nil
	}
	out := make([]*rule, 0, len(n.Content))
	for _, item := range n.Content {
		r := c.rule(deref(item))
		if r == nil {
			continue
		}
		if r.kind == fromIndex && parent == "" {
			c.errf(r.line, r.target, "source: $index is a position in a group, and this rule is not in one")
		}
		out = append(out, r)
	}
	c.checkShapes(out, parent != "")
	return out
}

func (c *compiler) rule(n *yaml.Node) *rule {
	if n.Kind != yaml.MappingNode {
		c.errf(n.Line, "", "a rule must be a mapping (- target: …, source: …)")
		return nil
	}
	// The rule's name in messages is its target; read it before checking
	// the other keys so that even an unknown key names its rule.
	name := ""
	for i := 0; i+1 < len(n.Content); i += 2 {
		if deref(n.Content[i]).Value == "target" {
			name = deref(n.Content[i+1]).Value
		}
	}
	if name == "" {
		name = fmt.Sprintf("#%d", n.Line)
	}
	m := c.mapping(n, name, "", ruleKeys)
	r := &rule{line: n.Line}
	errf := func(format string, args ...any) { c.errf(n.Line, name, format, args...) }
	at := func(key string) int { return lineOf(m[key], n.Line) }

	r.target = c.str(m["target"], name)
	r.required = c.boolean(m["required"], name)
	r.trim = c.boolean(m["trim"], name)
	reverse := c.boolean(m["reverse"], name)
	_, hasValue := m["value"]
	_, hasDefault := m["default"]
	_, hasDate := m["date"]
	_, hasSource := m["source"]
	group := c.str(m["group"], name)

	var err error
	if r.target == "" {
		errf("target: is required")
	} else if r.target == "." {
		r.tself = true
	} else if r.tpath, err = c.targetPath(r.target); err != nil {
		c.errf(at("target"), name, "target: %v", err)
	}

	if w := c.str(m["when"], name); w != "" {
		if r.when, err = c.sourcePath(w); err != nil {
			c.errf(at("when"), name, "when: %v", err)
		}
	}

	if _, ok := m["group"]; ok {
		r.group = true
		r.source = group
		for _, k := range []string{"source", "value", "default", "date", "table", "reverse", "trim", "case", "type"} {
			if _, set := m[k]; set {
				c.errf(at(k), name, "%s: does not apply to a group (a group takes group, target, required, when and fields)", k)
			}
		}
		if group == "" {
			errf("group: needs the path of the repeated source")
		} else if group == "$index" {
			errf("group: $index is not a repeated source")
		} else if r.spath, err = c.sourcePath(group); err != nil {
			c.errf(at("group"), name, "group: %v", err)
		} else if r.spath.attr != nil {
			c.errf(at("group"), name, "group: a group repeats elements, not an attribute")
		}
		if r.tself {
			c.errf(at("target"), name, "target: a group's target must name the repeated element or list, not \".\"")
		}
		if len(r.tpath) > 0 && r.tpath[len(r.tpath)-1].attr {
			c.errf(at("target"), name, "target: a group's target must be an element, not an attribute")
		}
		if fe, ok := m["fields"]; !ok || isNull(fe.v) || (deref(fe.v).Kind == yaml.SequenceNode && len(deref(fe.v).Content) == 0) {
			errf("fields: a group needs at least one rule")
		} else {
			r.fields = c.rules(fe.v, name)
		}
		return r
	}

	if _, ok := m["fields"]; ok {
		c.errf(at("fields"), name, "fields: only a group (group: …) has nested rules")
	}
	r.source = c.str(m["source"], name)
	switch {
	case hasSource && hasValue:
		errf("set source or value, not both")
	case !hasSource && !hasValue:
		errf("source or value is required")
	case hasValue:
		r.kind = fromConstant
		r.value = c.str(m["value"], name)
		if r.value == "" {
			c.errf(at("value"), name, "value: is empty (a rule with an empty constant would never output anything)")
		}
	case r.source == "":
		c.errf(at("source"), name, "source: is empty")
	case r.source == "$index":
		r.kind = fromIndex
	default:
		if r.spath, err = c.sourcePath(r.source); err != nil {
			c.errf(at("source"), name, "source: %v", err)
		}
	}
	if hasDefault {
		d := c.str(m["default"], name)
		r.def = &d
	}

	switch cs := c.str(m["case"], name); cs {
	case "":
	case "upper":
		r.caseMode = caseUpper
	case "lower":
		r.caseMode = caseLower
	default:
		c.errf(at("case"), name, "case: must be upper or lower, got %q", cs)
	}

	if tn := c.str(m["table"], name); tn != "" {
		t, ok := c.tables[tn]
		switch {
		case !ok:
			c.errf(at("table"), name, "table: %q is not declared under tables", tn)
		case t != nil:
			r.table, r.lookup = t, t.fwd
			if reverse {
				r.lookup = t.rev
			}
		}
	} else if reverse {
		c.errf(at("reverse"), name, "reverse: only applies with a table")
	}

	if hasDate {
		dm := c.mapping(m["date"].v, name, "date", dateKeys)
		if r.date, err = newDateConv(c.str(dm["from"], name), c.str(dm["to"], name), c.str(dm["zone"], name)); err != nil {
			c.errf(at("date"), name, "date: %v", err)
		}
	}

	switch ty := c.str(m["type"], name); ty {
	case "", "string":
	case "number", "integer", "boolean":
		if c.tgt.format != "json" {
			c.errf(at("type"), name, "type: %s applies to JSON targets only", ty)
		}
		r.typ = map[string]jsonType{"number": typeNumber, "integer": typeInteger, "boolean": typeBoolean}[ty]
	default:
		c.errf(at("type"), name, "type: must be string, number, integer or boolean, got %q", ty)
	}
	return r
}

// checkShapes reports target paths within one list of rules that would need
// a node to be both a value and a container: for JSON a key that is both a
// string and an object, for XML an element with both text and children
// (mixed content, which no standard schema here allows).
func (c *compiler) checkShapes(rules []*rule, nested bool) {
	leaves := map[string]*rule{}
	containers := map[string]*rule{}
	var self, other *rule
	for _, r := range rules {
		if r.tself {
			self = r
			if c.tgt.format == "json" && !nested {
				c.errf(r.line, r.target, "target: \".\" is the item itself, so it applies only inside a group")
			}
		} else if len(r.tpath) > 0 && (c.tgt.format == "json" || r.group || !r.tpath[len(r.tpath)-1].attr) {
			other = r
		}
		if len(r.tpath) == 0 {
			continue
		}
		keys := make([]string, 0, len(r.tpath))
		for _, s := range r.tpath {
			keys = append(keys, s.shapeKey())
		}
		// containers are the prefixes keys[:1]…keys[:n] that must hold
		// nested values.
		n := len(keys)
		switch {
		case r.tpath[n-1].attr:
			// An attribute sits beside text and children alike: only the
			// owner's ancestors must be containers.
			n -= 2
		case r.group:
			// Every item element holds the group's fields.
		default:
			full := strings.Join(keys, "/")
			if o, ok := containers[full]; ok {
				c.errf(r.line, r.target, "target: %s already holds nested values (rule on line %d); it cannot also hold a value", r.target, o.line)
			}
			leaves[full] = r
			n--
		}
		for i := 1; i <= n; i++ {
			p := strings.Join(keys[:i], "/")
			if o, ok := leaves[p]; ok {
				c.errf(r.line, r.target, "target: %s is already a value (rule on line %d); it cannot also hold nested values", o.target, o.line)
				delete(leaves, p) // report each clash once
			}
			if _, ok := containers[p]; !ok {
				containers[p] = r
			}
		}
	}
	if self != nil && other != nil {
		what := "elements (text and elements would mix)"
		if c.tgt.format == "json" {
			what = "keys (the item is a plain value)"
		}
		c.errf(self.line, self.target, "target: \".\" cannot be combined with rules that write %s, such as line %d", what, other.line)
	}
}

// xname is a namespace-qualified name, resolved at load.
type xname struct {
	prefix, local, uri string
	tag                string // prefix:local as written in output
}

// parseQName resolves "prefix:local" or "local" against ns. An unprefixed
// name takes ns[""] (only targets declare a default namespace).
func parseQName(s string, ns map[string]string) (xname, error) {
	prefix, local, ok := strings.Cut(s, ":")
	if !ok {
		prefix, local = "", s
	}
	if err := validNCName(local); err != nil {
		return xname{}, err
	}
	uri, known := ns[prefix]
	if ok && !known {
		return xname{}, fmt.Errorf("prefix %q is not declared in namespaces", prefix)
	}
	return xname{prefix: prefix, local: local, uri: uri, tag: s}, nil
}

// validNCName checks an XML name without a colon, so a typo in a path
// fails at load rather than producing a document no one can parse.
func validNCName(s string) error {
	if s == "" {
		return fmt.Errorf("empty name")
	}
	for i, r := range s {
		ok := r == '_' || unicode.IsLetter(r)
		if i > 0 {
			ok = ok || r == '-' || r == '.' || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
		}
		if !ok || r == utf8.RuneError {
			return fmt.Errorf("%q is not a valid XML name", s)
		}
	}
	return nil
}

// tstep is one step of a target path.
type tstep struct {
	name      xname  // xml
	attr      bool   // xml: "@name", the last step
	appendNew bool   // xml: "name[+]", always a new element
	key       string // json
}

func (s tstep) shapeKey() string {
	if s.key != "" {
		return s.key
	}
	return s.name.tag
}

func (c *compiler) targetPath(p string) ([]tstep, error) {
	if c.tgt.format == "json" {
		parts := strings.Split(p, ".")
		out := make([]tstep, 0, len(parts))
		for _, k := range parts {
			if k == "" {
				return nil, fmt.Errorf("empty key in %q", p)
			}
			out = append(out, tstep{key: k})
		}
		return out, nil
	}
	steps := strings.Split(p, "/")
	out := make([]tstep, 0, len(steps))
	for i, st := range steps {
		var t tstep
		if strings.HasPrefix(st, "@") {
			if i != len(steps)-1 {
				return nil, fmt.Errorf("attribute %q must be the last step of %q", st, p)
			}
			t.attr = true
			st = st[1:]
		} else if strings.HasSuffix(st, "[+]") {
			t.appendNew = true
			st = strings.TrimSuffix(st, "[+]")
		}
		if st == "" || st == "." {
			return nil, fmt.Errorf("empty step in %q", p)
		}
		ns := c.tgt.ns
		if t.attr && !strings.Contains(st, ":") {
			// Unprefixed attributes are in no namespace, even under a
			// default namespace.
			ns = nil
		}
		q, err := parseQName(st, ns)
		if err != nil {
			return nil, err
		}
		t.name = q
		out = append(out, t)
	}
	return out, nil
}

// spath is a compiled source path.
type spath struct {
	self  bool     // "."
	keys  []string // json
	steps []xname  // xml elements
	attr  *xname   // xml: the final attribute
}

func (c *compiler) sourcePath(p string) (*spath, error) {
	if p == "." {
		return &spath{self: true}, nil
	}
	if strings.HasPrefix(p, "$") {
		return nil, fmt.Errorf("%q: $index is the only variable, and only as a field's source", p)
	}
	if c.src.format == "json" {
		keys := strings.Split(p, ".")
		for _, k := range keys {
			if k == "" {
				return nil, fmt.Errorf("empty key in %q", p)
			}
		}
		return &spath{keys: keys}, nil
	}
	sp := &spath{}
	steps := strings.Split(p, "/")
	for i, st := range steps {
		if i == 0 && st == "." && len(steps) > 1 {
			continue // "./a" is "a"
		}
		if strings.HasPrefix(st, "@") {
			if i != len(steps)-1 {
				return nil, fmt.Errorf("attribute %q must be the last step of %q", st, p)
			}
			ns := c.src.ns
			if !strings.Contains(st, ":") {
				ns = nil // unprefixed attributes are in no namespace
			}
			q, err := parseQName(st[1:], ns)
			if err != nil {
				return nil, err
			}
			sp.attr = &q
			continue
		}
		// Unprefixed steps match elements in no namespace: the source map
		// has no "" entry.
		q, err := parseQName(st, c.src.ns)
		if err != nil {
			return nil, err
		}
		sp.steps = append(sp.steps, q)
	}
	return sp, nil
}

// table is a compiled code table.
type table struct {
	name     string
	fwd, rev map[string]string
}

func (c *compiler) compileTable(name string, line int, n *yaml.Node) *table {
	rule := "tables." + name
	m := c.mapping(n, "", rule, tableKeys)
	file := c.str(m["file"], "")
	_, inline := m["values"]
	var values []kv
	switch {
	case file != "" && inline:
		c.errf(line, "", "%s: set file or values, not both", rule)
		return nil
	case file != "":
		var err error
		if values, err = c.readTable(file); err != nil {
			c.errf(lineOf(m["file"], line), "", "%s: %v", rule, err)
			return nil
		}
	case inline:
		before := len(c.errs)
		values = c.pairs(m["values"].v, "", rule+".values")
		if len(c.errs) > before {
			return nil
		}
	default:
		c.errf(line, "", "%s: needs file: or values:", rule)
		return nil
	}
	if len(values) == 0 {
		c.errf(line, "", "%s: has no values", rule)
		return nil
	}
	t := &table{name: name, fwd: make(map[string]string, len(values)), rev: make(map[string]string, len(values))}
	for _, x := range values {
		t.fwd[x.k] = x.v
		// The first key for a value wins in reverse, so a table may list
		// spelling variants ("México", "Mexico") after the preferred one.
		if _, seen := t.rev[x.v]; !seen {
			t.rev[x.v] = x.k
		}
	}
	return t
}

// readTable reads a table file: a YAML mapping with `values:` (and an
// optional `description:`), relative to the rule file's directory.
func (c *compiler) readTable(file string) ([]kv, error) {
	p := path.Join(c.dir, file)
	if !fs.ValidPath(p) {
		return nil, fmt.Errorf("table file %q is outside the rules directory", file)
	}
	data, err := fs.ReadFile(c.fsys, p)
	if err != nil {
		return nil, fmt.Errorf("table file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlSyntax(err)
		return nil, fmt.Errorf("table file %s:%d: YAML syntax: %s", p, line, msg)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fmt.Errorf("table file %s is empty", p)
	}
	// Problems inside the table file are reported against it, with its
	// own line numbers.
	sub := &compiler{file: p}
	m := sub.mapping(doc.Content[0], "", "", []string{"description", "values"})
	values := sub.pairs(m["values"].v, "", "values")
	if len(sub.errs) > 0 {
		return nil, fmt.Errorf("table file %v", sub.errs[0])
	}
	if len(values) == 0 {
		return nil, fmt.Errorf("table file %s has no values: (want values: {key: value, …})", p)
	}
	return values, nil
}
