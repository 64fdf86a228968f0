package mapping

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
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

// valueKind says where a field rule's value comes from.
type valueKind int

const (
	fromSource   valueKind = iota
	fromConstant           // value:
	fromIndex              // $index: the 1-based position in the enclosing group
	fromExpr               // expr:
	fromConcat             // concat: [a, b]
	fromCopy               // copy: an element copied whole
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

// unknownMode is what a table does with a value it does not list.
type unknownMode int

const (
	unknownError unknownMode = iota // the field fails (ErrUnknownCode)
	unknownSkip                     // the value is dropped, as if empty
	unknownKeep                     // the value passes through unchanged
)

// rule is a compiled field rule, group or local value.
type rule struct {
	line      int
	target    string // as written (for a local, "local:NAME"), for messages
	source    string // as written (the group path for a group), for messages
	tpath     []tstep
	tself     bool // target ".": the context element's text, or the JSON item itself
	kind      valueKind
	spath     *spath    // fromSource, and groups
	value     string    // fromConstant
	expr      *exprProg // fromExpr
	concat    []*spath  // fromConcat
	separator string    // fromConcat
	join      *string   // fromSource: every match, joined with this
	split     *splitSpec
	when      *spath
	whenExpr  *exprProg
	required  bool
	def       *string
	trim      bool
	caseMode  caseMode
	date      *dateConv
	number    *numberConv
	table     *table
	lookup    map[string]string // table.fwd or table.rev
	unknown   unknownMode
	typ       jsonType
	group     bool
	section   bool // fields: without group:, a block sharing a target prefix and a when:
	fields    []*rule
	copy      *copySpec // fromCopy
	local     string    // a local value's name
	whenText  string    // when: as written, if a path
	message   string    // message: what a failure of this rule says, instead of the engine's words
	canon     string    // the rule's YAML, canonical: two equal rules are a paste made twice
	dup       *rule     // the earlier rule this one repeats
}

// copySpec says where a copy: rule finds the element it copies.
type copySpec struct {
	// embedded is "xml" or "base64" when the value at the source path is
	// the text of a whole XML document (as it is, or base64-encoded),
	// and "" when the path reaches the element itself (XML sources).
	embedded string
	// sel is the element to copy within an embedded document, from its
	// root element; nil means the root itself.
	sel *spath
}

// splitSpec cuts a value at sep: on a field, keeping part (1-based;
// negative counts from the end); on a group, into one item per part.
type splitSpec struct {
	sep  string
	part int
}

type compiler struct {
	file   string
	fsys   fs.FS
	dir    string
	errs   RuleErrors
	tables map[string]*table
	src    sourceSpec
	tgt    targetSpec
	// hasExpr: some rule has an expression, so Map makes JSON input
	// plain data for it.
	hasExpr bool
	// fileTables are the tables given on fields by file, read once each.
	fileTables map[string]*table
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
	r.fieldsLine = lineOf(fe, line)
	if !ok || isNull(fe.v) {
		c.errf(line, "", "fields: at least one rule is required")
	} else {
		r.fields = c.rules(fe.v, "", false, nil)
	}
	if le, ok := top["local"]; ok {
		r.locals = c.locals(le)
	}
	r.hasExpr = c.hasExpr
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
		// namespaces: serve select: paths into embedded XML documents.
		if rootName != "" {
			c.errf(e.v.Line, "", "source: root applies to XML sources only")
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

// rules compiles a list of rules: the file's fields, a group's (parent
// names it) or a section's (sec; its rules' targets start with its own).
func (c *compiler) rules(n *yaml.Node, parent string, inGroup bool, sec *rule) []*rule {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		c.errf(n.Line, parent, "fields: must be a list of rules (- target: …)")
		return nil
	}
	out := make([]*rule, 0, len(n.Content))
	for _, item := range n.Content {
		r := c.rule(deref(item), inGroup, "", sec)
		if r == nil {
			continue
		}
		if r.kind == fromIndex && !inGroup {
			c.errf(r.line, r.target, "source: $index is a position in a group, and this rule is not in one")
		}
		out = append(out, r)
	}
	if sec == nil {
		// A section's rules write beside their neighbours: their shapes are
		// checked together, with the list the section is in.
		c.checkShapes(flatten(out, nil), inGroup)
	}
	return out
}

// flatten lists rules with every section replaced by its rules.
func flatten(rules, out []*rule) []*rule {
	for _, r := range rules {
		if r.section {
			out = flatten(r.fields, out)
			continue
		}
		out = append(out, r)
	}
	return out
}

// locals compiles the local: section: values taken from the payload for
// the node itself (e.g. an address to notify), never written to the
// document.
func (c *compiler) locals(e entry) []*rule {
	n := deref(e.v)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		c.errf(n.Line, "", "local: must be a list of {name: …, source: …}")
		return nil
	}
	seen := map[string]int{}
	var out []*rule
	for _, item := range n.Content {
		item = deref(item)
		if item.Kind != yaml.MappingNode {
			c.errf(item.Line, "", "a local value must be a mapping (- name: …, source: …)")
			continue
		}
		name := ""
		for i := 0; i+1 < len(item.Content); i += 2 {
			if deref(item.Content[i]).Value == "name" {
				name = deref(item.Content[i+1]).Value
			}
		}
		switch {
		case name == "":
			c.errf(item.Line, fmt.Sprintf("#%d", item.Line), "name: is required (the local value's name)")
			continue
		case seen[name] > 0:
			c.errf(item.Line, "local:"+name, "name: %q is already used on line %d", name, seen[name])
			continue
		}
		seen[name] = item.Line
		if r := c.rule(item, false, name, nil); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// groupKeys are the keys a group takes, sectionKeys a section's.
var (
	groupKeys   = []string{"group", "target", "required", "when", "split", "fields", "note", "message"}
	sectionKeys = []string{"target", "when", "fields", "note"}
	// copyApart are the value keys that make no sense on a copy: rule: the
	// element is copied as it is.
	copyApart = []string{"join", "split", "trim", "table", "reverse", "unknown", "number", "date", "case", "default", "type", "separator"}
)

// exprLineOf is the line, within a multi-line expression, that an expr
// error points at (1 for the first).
func exprLineOf(err error) int {
	var le *exprLineError
	if errors.As(err, &le) {
		return le.line
	}
	return 1
}

// concatPaths compiles concat: [a, b, …], a list of source paths.
func (c *compiler) concatPaths(e entry, name string) ([]*spath, string) {
	n := deref(e.v)
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) < 2 {
		c.errf(lineOf(e, 0), name, "concat: must list at least two source paths ([a, b])")
		return nil, ""
	}
	var out []*spath
	texts := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		item = deref(item)
		if item.Kind != yaml.ScalarNode || item.Value == "" {
			c.errf(item.Line, name, "concat: each entry is a source path")
			continue
		}
		texts = append(texts, item.Value)
		p, err := c.sourcePath(item.Value)
		if err != nil {
			c.errf(item.Line, name, "concat: %v", err)
			continue
		}
		out = append(out, p)
	}
	return out, "concat: " + strings.Join(texts, ", ")
}

var splitKeys = []string{"sep", "part"}

// splitSpec compiles split: {sep: ";", part: 2}. A field keeps one part;
// a group makes one item of each.
func (c *compiler) splitSpec(e entry, name string, field bool) *splitSpec {
	sm := c.mapping(e.v, name, "split", splitKeys)
	s := &splitSpec{sep: c.str(sm["sep"], name)}
	line := lineOf(e, 0)
	if s.sep == "" {
		c.errf(line, name, "split: sep: is required (the text between parts)")
	}
	p, hasPart := sm["part"]
	switch {
	case field && !hasPart:
		c.errf(line, name, "split: part: is required on a field (1 is the first part, -1 the last); to make one item per part, split in a group")
	case !field && hasPart:
		c.errf(line, name, "split: part: applies to a field; a group makes one item of every part")
	case hasPart:
		n, err := strconv.Atoi(c.str(p, name))
		if err != nil || n == 0 {
			c.errf(line, name, "split: part: must be a non-zero whole number (1 is the first part, -1 the last), got %q", c.str(p, name))
		}
		s.part = n
	}
	return s
}

var (
	numberKeys     = []string{"from", "to"}
	numberFromKeys = []string{"decimal", "thousands"}
	numberToKeys   = []string{"decimal", "thousands", "decimals"}
)

// numberConv compiles number: {from: {decimal, thousands}, to: {decimal,
// thousands, decimals}}.
func (c *compiler) numberConv(e entry, name string) *numberConv {
	line := lineOf(e, 0)
	nm := c.mapping(e.v, name, "number", numberKeys)
	if len(nm) == 0 {
		c.errf(line, name, "number: needs from: or to: (e.g. {from: {decimal: \",\", thousands: \".\"}})")
		return nil
	}
	side := func(key string, known []string) (numFormat, bool) {
		sm := c.mapping(nm[key].v, name, "number."+key, known)
		decimals := -1
		if d, ok := sm["decimals"]; ok {
			var err error
			if decimals, err = strconv.Atoi(c.str(d, name)); err != nil {
				c.errf(lineOf(d, line), name, "number.%s: decimals: must be a whole number, got %q", key, c.str(d, name))
				return numFormat{}, false
			}
		}
		f, err := newNumFormat(c.str(sm["decimal"], name), c.str(sm["thousands"], name), decimals)
		if err != nil {
			c.errf(lineOf(nm[key], line), name, "number.%s: %v", key, err)
			return f, false
		}
		return f, true
	}
	from, ok1 := side("from", numberFromKeys)
	to, ok2 := side("to", numberToKeys)
	if !ok1 || !ok2 {
		return nil
	}
	return &numberConv{from: from, to: to}
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
		case r.group, r.kind == fromCopy:
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
	// order, when the target's schema is known, is where the element goes
	// among its siblings (pos in order.pos); nil: after them, in rule order.
	order *siblingOrder
	pos   int
	// once: the schema allows the element at most once in its parent.
	once bool
}

// siblingOrder is the schema's order of one element's children, by the
// prefix and local name they are written with (the rule file's), 1-based.
// The key is etree's own (Space, Tag) pair, so placing an element
// allocates nothing.
type siblingOrder struct{ pos map[tagKey]int }

type tagKey struct{ space, local string }

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

// table is a compiled code table.
type table struct {
	name     string
	fwd, rev map[string]string
	// fold: keys are matched ignoring case (ignore_case: true), so "box",
	// "Box" and "BOX" find one entry; the maps hold folded keys.
	fold bool
}

// find looks v up in m, one of t's maps.
func (t *table) find(m map[string]string, v string) (string, bool) {
	if t.fold {
		v = strings.ToLower(v)
	}
	code, ok := m[v]
	return code, ok
}

func (c *compiler) compileTable(name string, line int, n *yaml.Node) *table {
	return c.buildTable(name, line, n, "", "tables."+name)
}

// buildTable compiles a table declared under tables: (ruleName "", what
// "tables.NAME") or given on a field (table: {file: …}; ruleName is the
// field's, what "table").
func (c *compiler) buildTable(name string, line int, n *yaml.Node, ruleName, what string) *table {
	m := c.mapping(n, ruleName, what, tableKeys)
	file := c.str(m["file"], ruleName)
	_, inline := m["values"]
	fold := c.boolean(m["ignore_case"], ruleName)
	cacheKey := file
	if fold {
		cacheKey += "\x00fold"
	}
	var values []kv
	switch {
	case file != "" && inline:
		c.errf(line, ruleName, "%s: set file or values, not both", what)
		return nil
	case file != "":
		if t, ok := c.fileTables[cacheKey]; ok && name == file {
			return t // one copy per file, however many fields use it
		}
		var err error
		if values, err = c.readTable(file); err != nil {
			c.errf(lineOf(m["file"], line), ruleName, "%s: %v", what, err)
			return nil
		}
	case inline:
		before := len(c.errs)
		values = c.pairs(m["values"].v, ruleName, what+".values")
		if len(c.errs) > before {
			return nil
		}
	default:
		c.errf(line, ruleName, "%s: needs file: or values:", what)
		return nil
	}
	if len(values) == 0 {
		c.errf(line, ruleName, "%s: has no values", what)
		return nil
	}
	t := &table{name: name, fwd: make(map[string]string, len(values)), rev: make(map[string]string, len(values)), fold: fold}
	firstKey := map[string]kv{}
	for _, x := range values {
		k, v := x.k, x.v
		if fold {
			k, v = strings.ToLower(k), strings.ToLower(x.v)
			if o, dup := firstKey[k]; dup && o.v != x.v {
				c.errf(line, ruleName, "%s: ignore_case: keys %q and %q differ only in case but give %q and %q", what, o.k, x.k, o.v, x.v)
				continue
			}
			firstKey[k] = x
		}
		t.fwd[k] = x.v
		// The first key for a value wins in reverse, so a table may list
		// spelling variants ("México", "Mexico") after the preferred one:
		// one table file serves both directions (reverse: true).
		if _, seen := t.rev[v]; !seen {
			t.rev[v] = x.k
		}
	}
	if file != "" && name == file {
		if c.fileTables == nil {
			c.fileTables = map[string]*table{}
		}
		c.fileTables[cacheKey] = t
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
		return nil, fmt.Errorf("table file %s:%d: YAML syntax: %s%s", p, offendingLine(data, line, msg), msg, syntaxHint(msg))
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
