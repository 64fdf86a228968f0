package mapping

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ruleSpec is one rule being compiled: its YAML node, its checked keys and
// where to report. Each kind of rule (field, group, section, local) and
// each transform compiles in a function of its own that takes it, so a
// new key touches one small function, not a 300-line switch.
type ruleSpec struct {
	n       *yaml.Node
	m       yamlMap
	name    string // the rule's name in messages: its (full) target
	inGroup bool
	local   string // a local value's name, else ""
	sec     *rule  // the section the rule is in, if any
	r       *rule
	own     string // target: as written in the rule itself
	group   string // group: as written
	reverse bool
}

// has reports whether the rule sets key.
func (s *ruleSpec) has(key string) bool { _, ok := s.m[key]; return ok }

// at is the line of key, or of the rule when it is not set.
func (s *ruleSpec) at(key string) int { return lineOf(s.m[key], s.n.Line) }

// atValue is the line of a key's value, or of line exprLine of it: a
// block scalar (expr: |) starts on the line after its key.
func (s *ruleSpec) atValue(key string, exprLine int) int {
	v := s.m[key].v
	if v == nil {
		return s.n.Line
	}
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return v.Line + exprLine
	}
	return v.Line
}

// rule compiles one rule: a field, a group, a section or (local != "") a
// local value. Inside a section (sec), the rule's target is written after
// the section's.
func (c *compiler) rule(n *yaml.Node, inGroup bool, local string, sec *rule) *rule {
	if n.Kind != yaml.MappingNode {
		c.errf(n.Line, "", "a rule must be a mapping (- target: …, source: …)")
		return nil
	}
	s := &ruleSpec{n: n, inGroup: inGroup, local: local, sec: sec, name: c.ruleName(n, local, sec)}
	known := ruleKeys
	if local != "" {
		known = localKeys
	}
	s.m = c.mapping(n, s.name, "", known)
	s.r = &rule{line: n.Line, local: local, canon: canonical(n)}
	// Read in the order messages have always come in on one line.
	s.own = c.str(s.m["target"], s.name)
	s.r.required = c.boolean(s.m["required"], s.name)
	s.r.trim = c.boolean(s.m["trim"], s.name)
	s.reverse = c.boolean(s.m["reverse"], s.name)
	s.group = c.str(s.m["group"], s.name)
	if s.has("message") {
		if s.r.message = c.str(s.m["message"], s.name); s.r.message == "" {
			c.errf(s.at("message"), s.name, "message: is empty (the text a failing value reports instead of the engine's)")
		}
	}
	c.ruleTarget(s)
	c.ruleWhen(s)
	switch {
	case s.has("group"):
		c.groupRule(s)
	case s.has("fields") && local == "":
		c.sectionRule(s)
	default:
		c.fieldRule(s)
	}
	return s.r
}

// ruleName is how messages name a rule: its target (after its section's),
// local:NAME for a local value, #LINE without a target. It is read before
// the other keys are checked so that even an unknown key names its rule.
func (c *compiler) ruleName(n *yaml.Node, local string, sec *rule) string {
	if local != "" {
		return "local:" + local
	}
	name := ""
	for i := 0; i+1 < len(n.Content); i += 2 {
		if deref(n.Content[i]).Value == "target" {
			name = deref(n.Content[i+1]).Value
		}
	}
	switch {
	case name == "":
		return fmt.Sprintf("#%d", n.Line)
	case sec != nil:
		return c.joinTarget(sec.target, name)
	}
	return name
}

// ruleTarget compiles target: (nothing for a local value).
func (c *compiler) ruleTarget(s *ruleSpec) {
	r, name, own := s.r, s.name, s.own
	r.target = own
	if s.local != "" || (s.sec != nil && own != "") {
		r.target = name
	}
	var err error
	switch {
	case s.local != "":
	case r.target == "":
		c.errf(s.n.Line, name, "target: is required")
	case s.sec != nil && own == ".":
		r.tpath = s.sec.tpath // the section's element (or key) itself
	case r.target == ".":
		r.tself = true
	case s.sec != nil:
		// Its own part only: a section's bad target is reported once, at
		// the section.
		if r.tpath, err = c.targetPath(own); err != nil {
			c.errf(s.at("target"), name, "target: %v", err)
		} else if len(s.sec.tpath) > 0 {
			r.tpath = append(slices.Clip(s.sec.tpath), r.tpath...)
		}
	default:
		if r.tpath, err = c.targetPath(r.target); err != nil {
			c.errf(s.at("target"), name, "target: %v", err)
		}
	}
}

// ruleWhen compiles when:, a source path or an expression.
func (c *compiler) ruleWhen(s *ruleSpec) {
	w := c.str(s.m["when"], s.name)
	if w == "" {
		return
	}
	var err error
	if isPathLike(w) {
		s.r.whenText = w
		if s.r.when, err = c.sourcePath(w); err != nil {
			c.errf(s.at("when"), s.name, "when: %v", err)
		}
	} else if s.r.whenExpr, err = c.compileExpr(w, s.inGroup); err != nil {
		c.errf(s.atValue("when", exprLineOf(err)), s.name, "when: %v", err)
	} else {
		c.hasExpr = true
	}
}

// groupValueKeys are the field keys a group refuses.
var groupValueKeys = []string{"source", "value", "expr", "concat", "separator", "join", "default", "date", "number", "table", "reverse", "unknown", "trim", "case", "type"}

// groupRule compiles a group: a repeated source, one target element (or
// JSON object) per item, its own rules relative to the item.
func (c *compiler) groupRule(s *ruleSpec) {
	r, name, group := s.r, s.name, s.group
	r.group = true
	r.source = group
	for _, k := range groupValueKeys {
		if s.has(k) {
			c.errf(s.at(k), name, "%s: does not apply to a group (a group takes %s)", k, strings.Join(groupKeys, ", "))
		}
	}
	var err error
	switch {
	case group == "":
		c.errf(s.n.Line, name, "group: needs the path of the repeated source")
	case group == "$index":
		c.errf(s.n.Line, name, "group: $index is not a repeated source")
	default:
		if r.spath, err = c.sourcePath(group); err != nil {
			c.errf(s.at("group"), name, "group: %v", err)
		} else if r.spath.attr != nil && s.m["split"].v == nil {
			c.errf(s.at("group"), name, "group: a group repeats elements, not an attribute (split: makes items of an attribute's parts)")
		}
	}
	if s.has("split") {
		r.split = c.splitSpec(s.m["split"], name, false)
	}
	if r.tself {
		c.errf(s.at("target"), name, "target: a group's target must name the repeated element or list, not \".\"")
	}
	if len(r.tpath) > 0 && r.tpath[len(r.tpath)-1].attr {
		c.errf(s.at("target"), name, "target: a group's target must be an element, not an attribute")
	}
	if fe, ok := s.m["fields"]; !ok || emptyList(fe.v) {
		c.errf(s.n.Line, name, "fields: a group needs at least one rule")
	} else {
		r.fields = c.rules(fe.v, name, true, nil)
	}
}

// emptyList: a null node or an empty sequence.
func emptyList(n *yaml.Node) bool {
	return isNull(n) || (deref(n).Kind == yaml.SequenceNode && len(deref(n).Content) == 0)
}

// sectionRule compiles a section: rules that share a target prefix and a
// condition, read in the same item as the section itself.
func (c *compiler) sectionRule(s *ruleSpec) {
	r, name, n := s.r, s.name, s.n
	r.section = true
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := deref(n.Content[i]); !contains(sectionKeys, k.Value) && contains(ruleKeys, k.Value) {
			c.errf(k.Line, name, "%s: does not apply to a section (fields: without group:); a section takes %s", k.Value, strings.Join(sectionKeys, ", "))
		}
	}
	switch {
	case r.tself:
		c.errf(s.at("target"), name, "target: a section's target is the element its rules write under, not \".\"")
	case len(r.tpath) > 0 && r.tpath[len(r.tpath)-1].attr:
		c.errf(s.at("target"), name, "target: a section's target must be an element, not an attribute")
	case slices.ContainsFunc(r.tpath, func(s tstep) bool { return s.appendNew }):
		c.errf(s.at("target"), name, "target: [+] in a section's target would append a new element for each of its rules; put [+] on the rules' own targets")
	}
	if fe := s.m["fields"]; emptyList(fe.v) {
		c.errf(n.Line, name, "fields: a section needs at least one rule")
	} else {
		r.fields = c.rules(fe.v, name, s.inGroup, r)
	}
}

// fieldRule compiles a field (or a local value): where its value comes
// from, then each transform in the order Map applies them.
func (c *compiler) fieldRule(s *ruleSpec) {
	c.valueSource(s)
	c.valueAssembly(s)
	c.caseRule(s)
	c.tableRule(s)
	c.unknownRule(s)
	if s.has("number") {
		s.r.number = c.numberConv(s.m["number"], s.name)
	}
	c.dateRule(s)
	c.typeRule(s)
}

// valueSource compiles the one of source, value, expr, concat or copy a
// field takes.
func (c *compiler) valueSource(s *ruleSpec) {
	r, name := s.r, s.name
	r.source = c.str(s.m["source"], name)
	hasSource, hasValue, hasExpr, hasConcat, hasCopy := s.has("source"), s.has("value"), s.has("expr"), s.has("concat"), s.has("copy")
	kinds := 0
	for _, has := range []bool{hasSource, hasValue, hasExpr, hasConcat, hasCopy} {
		if has {
			kinds++
		}
	}
	choice := "source, value, expr, concat or copy"
	if s.local != "" {
		choice = "source, value, expr or concat"
	}
	switch {
	case kinds > 1:
		c.errf(s.n.Line, name, "set one of %s, not several", choice)
	case kinds == 0:
		c.errf(s.n.Line, name, "%s is required", choice)
	case hasCopy:
		r.kind = fromCopy
		r.source = c.str(s.m["copy"], name)
		r.copy = c.copySpec(s.m, r, name)
	case hasValue:
		c.constantRule(s)
	case hasExpr:
		c.exprRule(s)
	case hasConcat:
		r.kind = fromConcat
		r.concat, r.source = c.concatPaths(s.m["concat"], name)
	default:
		c.sourceRule(s)
	}
}

func (c *compiler) constantRule(s *ruleSpec) {
	r := s.r
	r.kind = fromConstant
	r.value = c.str(s.m["value"], s.name)
	if r.value == "" {
		c.errf(s.at("value"), s.name, "value: is empty (a rule with an empty constant would never output anything)")
	}
	if r.required {
		c.errf(s.at("required"), s.name, "required: a constant is always there; required checks a value read from the payload")
	}
}

func (c *compiler) exprRule(s *ruleSpec) {
	r := s.r
	r.kind = fromExpr
	r.source = c.str(s.m["expr"], s.name)
	var err error
	if r.expr, err = c.compileExpr(r.source, s.inGroup); err != nil {
		c.errf(s.atValue("expr", exprLineOf(err)), s.name, "expr: %v", err)
	} else {
		c.hasExpr = true
	}
}

func (c *compiler) sourceRule(s *ruleSpec) {
	r := s.r
	var err error
	switch {
	case r.source == "":
		c.errf(s.at("source"), s.name, "source: is empty")
	case r.source == "$index":
		r.kind = fromIndex
		if s.local != "" {
			c.errf(s.at("source"), s.name, "source: $index is a position in a group; a local value is not in one")
		}
	default:
		if r.spath, err = c.sourcePath(r.source); err != nil {
			c.errf(s.at("source"), s.name, "source: %v", err)
		}
	}
}

// valueAssembly compiles what joins, cuts and completes a value: embedded
// and select (copy only), separator, join, split, required, trim, default.
func (c *compiler) valueAssembly(s *ruleSpec) {
	r, name := s.r, s.name
	if !s.has("copy") {
		for _, k := range []string{"embedded", "select"} {
			if s.has(k) {
				c.errf(s.at(k), name, "%s: applies to copy: only", k)
			}
		}
	}
	if s.has("separator") {
		r.separator = c.str(s.m["separator"], name)
		if !s.has("concat") {
			c.errf(s.at("separator"), name, "separator: applies to concat: (join: takes its own separator)")
		}
	}
	if s.has("join") {
		j := c.str(s.m["join"], name)
		r.join = &j
		if !s.has("source") || r.kind == fromIndex {
			c.errf(s.at("join"), name, "join: joins every value of a source path; it needs source: (for several paths use concat:)")
		}
	}
	if s.has("split") {
		r.split = c.splitSpec(s.m["split"], name, true)
	}
	if s.has("default") {
		d := c.str(s.m["default"], name)
		r.def = &d
	}
}

func (c *compiler) caseRule(s *ruleSpec) {
	switch cs := c.str(s.m["case"], s.name); cs {
	case "":
	case "upper":
		s.r.caseMode = caseUpper
	case "lower":
		s.r.caseMode = caseLower
	default:
		c.errf(s.at("case"), s.name, "case: must be upper or lower, got %q", cs)
	}
}

// tableRule compiles table: (a declared name, or a table of the rule's
// own) with reverse:.
func (c *compiler) tableRule(s *ruleSpec) {
	r, name, reverse := s.r, s.name, s.reverse
	var t *table
	if te, ok := s.m["table"]; ok && deref(te.v).Kind == yaml.MappingNode {
		t = c.ownTable(te, name)
	} else if tn := c.str(s.m["table"], name); tn != "" {
		declared, ok := c.tables[tn]
		if !ok {
			c.errf(s.at("table"), name, "table: %q is not declared under tables", tn)
		}
		t = declared
	} else {
		if reverse {
			c.errf(s.at("reverse"), name, "reverse: only applies with a table")
		}
		if s.has("unknown") {
			c.errf(s.at("unknown"), name, "unknown: only applies with a table")
		}
		return
	}
	if t != nil {
		r.table, r.lookup = t, t.fwd
		if reverse {
			r.lookup = t.rev
		}
	}
}

// ownTable compiles table: {file: tables/iso3166.yaml} or {values: …},
// named in messages by its file.
func (c *compiler) ownTable(te entry, name string) *table {
	tname := ""
	tn := deref(te.v)
	for i := 0; i+1 < len(tn.Content); i += 2 {
		if deref(tn.Content[i]).Value == "file" {
			tname = deref(tn.Content[i+1]).Value
		}
	}
	if tname == "" {
		tname = "(inline on line " + strconv.Itoa(te.k.Line) + ")"
	}
	return c.buildTable(tname, te.k.Line, te.v, name, "table")
}

func (c *compiler) unknownRule(s *ruleSpec) {
	switch u := c.str(s.m["unknown"], s.name); u {
	case "", "error":
	case "skip":
		s.r.unknown = unknownSkip
	case "keep":
		s.r.unknown = unknownKeep
	default:
		c.errf(s.at("unknown"), s.name, "unknown: must be error, skip or keep, got %q", u)
	}
}

func (c *compiler) dateRule(s *ruleSpec) {
	if !s.has("date") {
		return
	}
	dm := c.mapping(s.m["date"].v, s.name, "date", dateKeys)
	var err error
	if s.r.date, err = newDateConv(c.str(dm["from"], s.name), c.str(dm["to"], s.name), c.str(dm["zone"], s.name)); err != nil {
		c.errf(s.at("date"), s.name, "date: %v", err)
	}
}

func (c *compiler) typeRule(s *ruleSpec) {
	switch ty := c.str(s.m["type"], s.name); ty {
	case "", "string":
	case "number", "integer", "boolean":
		if c.tgt.format != "json" {
			c.errf(s.at("type"), s.name, "type: %s applies to JSON targets only", ty)
		}
		s.r.typ = map[string]jsonType{"number": typeNumber, "integer": typeInteger, "boolean": typeBoolean}[ty]
	default:
		c.errf(s.at("type"), s.name, "type: must be string, number, integer or boolean, got %q", ty)
	}
}
