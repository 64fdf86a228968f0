// Package mapping translates documents between a legacy Single Window's
// native format (its own JSON or XML) and the agreed standard XML (UN/CEFACT
// SPS D13B and the like), following declarative rule files that analysts
// edit — not Go code.
//
// # Rule files
//
// A rule file names the document type and direction, the source and target
// formats, optional code tables, and a list of field rules. Each rule takes a
// value from a source path (or a constant), optionally transforms it and
// writes it to a target path:
//
//	document: sps                 # document type this file maps
//	direction: outbound           # outbound: native -> standard; inbound: standard -> native
//	source:
//	  format: json                # json | xml
//	  root: ""                    # xml only, optional: expected root element (prefix:name)
//	  namespaces: {}              # xml only: prefix -> URI used in source paths
//	target:
//	  format: xml                 # xml | json
//	  root: rsm:SPSCertificate    # xml only: root element to create
//	  namespaces:                 # xml only: declared on the root, in this order
//	    rsm: urn:un:unece:uncefact:data:standard:SPSCertificate:11
//	    ram: urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:14
//	tables:
//	  country: {file: ../tables/country-names-es.yaml}  # file with top-level `values:`
//	  unit: {values: {kg: KGM, t: TNE}}                 # or inline
//	fields:
//	  - {target: rsm:SPSExchangedDocument/ram:ID, source: certificado.numero, required: true}
//	  - {target: rsm:SPSExchangedDocument/ram:TypeCode, value: "851"}
//	  - target: rsm:SPSExchangedDocument/ram:IssueDateTime/udt:DateTimeString
//	    source: certificado.fechaEmision
//	    date: {from: "dd/MM/yyyy HH:mm", to: "yyyy-MM-dd'T'HH:mm:ssXXX", zone: America/Lima}
//	  - {target: rsm:SPSConsignment/ram:ExportSPSCountry/ram:ID, source: certificado.paisOrigen, table: country}
//	  - group: productos          # repeated source: JSON array or repeated XML element
//	    target: rsm:SPSConsignment/ram:IncludedSPSConsignmentItem/ram:IncludedSPSTradeLineItem
//	    required: true            # at least one item
//	    fields:                   # paths relative to the item on both sides; groups nest
//	      - {target: ram:SequenceNumeric, source: $index}
//	      - {target: ram:Description, source: descripcion}
//	      - {target: ram:Description/@languageID, value: es}
//
// Field rule keys: target; source, value, expr or concat (exactly one);
// required, default, join (every value of the source, joined), separator
// (for concat), split {sep, part}, trim, table (a declared name, or
// {file: …} / {values: …} of the rule's own) with reverse and unknown
// (error|skip|keep), number {from, to} (decimal notations), date {from, to,
// zone}, case (upper|lower), type (number|integer|boolean|string, JSON
// targets), when (a source path, or an expression), note. A value goes
// through: source, value, expression or concatenation → split → trim →
// table → number → date → case; if it is then empty the default (written
// as is) or nothing is output, or ErrRequired when required. A top-level
// local: section lists values ({name, source, …}) taken from the payload
// for the node itself and returned in Output.Local, never written to the
// document. A rule with copy: (and embedded:, select:) writes an element of
// the payload whole — a part someone else signed — and brings the
// namespaces it had in scope along; a rule with fields: and no group: is a
// section, its rules written under its target when its when: holds.
// README.md in this directory describes the language in full.
//
// # Paths
//
// JSON paths are keys joined by dots (a.b.c); a list met before the last
// key is looked through. XML paths are qualified names joined by slashes,
// "@name" for a final attribute and "." for the context element (as a
// target: its own text, or in a JSON group the item itself). A source step
// may carry a predicate — [p='text'], [p!='text'], [p] or a 1-based [N] —
// so a rule can pick one of several elements into a fixed field, and a
// source path starting $root reads from the document root from within any
// group. XML sources are matched by namespace URI through
// source.namespaces, never by the prefixes a document happens to use; when
// a path matches several elements outside a group the first in document
// order is taken. Each step of an XML target is found (the last existing
// child of that name) or created, so attribute rules land on the element
// just made; "name[+]" always appends. A new element goes where the
// target schema's order puts it when the rules were loaded with one (a
// TargetChecker that is also a SchemaOrder), else after its siblings, in
// rule order. Two rules writing one target are refused at load unless
// their when: conditions exclude each other.
//
// # Expressions
//
// expr: and when: take expr-lang/expr expressions, compiled at load. They
// are sandboxed: they see only plain data (the current item's fields,
// src('path') and srcAll('path'), $root, $index, $item) and a few helpers
// (num, fixed, present, coalesce, lookup) besides expr's builtins; $env and
// the clock-dependent and unbounded builtins are refused at load, so a
// payload always maps to the same document.
//
// # Errors
//
// Load parses, checks and compiles a rule file once and reports every
// problem it finds as RuleErrors, each naming the file, line and rule;
// LoadWith can also check every target against the target schema through
// a TargetChecker. Map then runs without re-parsing anything and reports
// every field that fails as Errors of FieldError, wrapping ErrRequired,
// ErrUnknownCode or ErrBadValue; it produces no output when any field
// fails. MapExplain also says, for every value written, which rule wrote it
// from what (Output.Explain).
//
// Compiled Rules are immutable and safe for concurrent use.
package mapping

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rules is a compiled rule file.
type Rules struct {
	file      string
	document  string
	direction string
	source    sourceSpec
	target    targetSpec
	fields    []*rule
	locals    []*rule
	// fieldsLine is the line of fields:, where problems that belong to no
	// single rule (a required target nothing writes) are reported.
	fieldsLine int
	// hasExpr: JSON input is made plain data for expressions.
	hasExpr bool
}

// Document returns the document type the rules map (e.g. "sps").
func (r *Rules) Document() string { return r.document }

// Direction returns "outbound" (native → standard) or "inbound" (standard →
// native).
func (r *Rules) Direction() string { return r.direction }

// TargetFormat is what Map produces: "xml" or "json".
func (r *Rules) TargetFormat() string { return r.target.format }

// File returns the rule file's name as it was loaded.
func (r *Rules) File() string { return r.file }

// RuleError is a problem in a rule file, found at load time.
type RuleError struct {
	File string
	Line int
	Rule string // the rule's target as written; empty for file-level problems
	Msg  string
}

func (e *RuleError) Error() string {
	if e.Rule == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: rule %s: %s", e.File, e.Line, e.Rule, e.Msg)
}

// RuleErrors are all the problems found in one rule file, in file order.
type RuleErrors []*RuleError

func (es RuleErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find the individual *RuleError.
func (es RuleErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// LoadFile loads a rule file from disk. Table files resolve relative to it,
// including in sibling directories (file: ../tables/x.yaml).
func LoadFile(name string) (*Rules, error) { return LoadFileWith(name, Options{}) }

// LoadFileWith is LoadFile with options.
func LoadFileWith(name string, opts Options) (*Rules, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, err
	}
	// Root the file system at the volume root, not the rule file's
	// directory, so "../" from that directory stays inside it.
	root := filepath.VolumeName(abs) + string(filepath.Separator)
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return nil, err
	}
	return load(os.DirFS(root), filepath.ToSlash(rel), opts)
}

// Load parses, checks and compiles the rule file name in fsys. Table files
// resolve relative to the rule file's directory within fsys. A problem with
// the rule file's content is reported as RuleErrors, listing every problem
// found; a file that cannot be read is reported as the fs error.
func Load(fsys fs.FS, name string) (*Rules, error) {
	return load(fsys, name, Options{})
}

func load(fsys fs.FS, name string, opts Options) (*Rules, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	c := &compiler{file: name, fsys: fsys, dir: path.Dir(name)}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, RuleErrors{syntaxError(name, data, err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, RuleErrors{{File: name, Line: 1, Msg: "the file is empty"}}
	}
	r := c.compile(doc.Content[0])
	if opts.Targets != nil {
		c.checkTargets(r, opts.Targets)
	}
	if opts.Sources != nil {
		c.checkSources(r, opts.Sources, opts.SourceRoot)
	}
	// After the schema checks, which say which elements occur only once.
	c.checkConflicts(r.fields)
	if len(c.errs) > 0 {
		// In file order: the schema checks run after the rules compiled.
		sort.SliceStable(c.errs, func(i, j int) bool { return c.errs[i].Line < c.errs[j].Line })
		return nil, c.errs
	}
	return r, nil
}

// syntaxError turns a YAML parser error into a RuleError on the line at
// fault, with a hint only where one applies.
func syntaxError(file string, data []byte, err error) *RuleError {
	line, msg := yamlSyntax(err)
	line = offendingLine(data, line, msg)
	return &RuleError{File: file, Line: line, Msg: "YAML syntax: " + msg + syntaxHint(msg)}
}

// offendingLine finds the line a structural error is really on. The YAML
// library reports "did not find expected key" and the like where the
// enclosing block began — for a line indented one space too few, often
// many lines above it. The first prefix of the file that fails with the
// same message ends at the line that broke the structure.
func offendingLine(data []byte, reported int, msg string) int {
	// Only the block-structure errors: a prefix cut inside a flow mapping
	// ({…} over several lines) fails too, without being at fault.
	if !strings.HasPrefix(msg, "did not find expected key") && !strings.HasPrefix(msg, "did not find expected '-' indicator") || reported < 1 {
		return reported
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	end := 0
	for i := range min(reported-1, len(lines)) {
		end += len(lines[i])
	}
	var doc yaml.Node
	for k := reported; k <= len(lines); k++ {
		end += len(lines[k-1])
		err := yaml.Unmarshal(data[:end], &doc)
		if err == nil {
			continue
		}
		if _, m := yamlSyntax(err); m == msg {
			return k
		}
	}
	return reported
}

// syntaxHint says how out of the usual causes of a message.
func syntaxHint(msg string) string {
	switch {
	case strings.Contains(msg, "did not find expected ',' or"),
		strings.Contains(msg, "mapping values are not allowed"),
		strings.Contains(msg, "found character that cannot start any token"):
		// Flow mappings ({target: a[+]}) and values with ": " are where
		// analysts trip.
		return " (quote values containing [ ] { } , : # @ or `)"
	case strings.Contains(msg, "did not find expected key"),
		strings.Contains(msg, "did not find expected '-' indicator"):
		return " (this line is indented differently from the lines of the same list or mapping above it)"
	}
	return ""
}

// yamlSyntax splits a YAML syntax error into its line and message.
func yamlSyntax(err error) (int, string) {
	msg, line := strings.TrimPrefix(err.Error(), "yaml: "), 0
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		msg = msg[strings.Index(msg, ": ")+2:]
	}
	// The YAML library reports its parser's errors (not its scanner's) at
	// the 0-based line where the enclosing structure began, and omits the
	// line when that is 0; those messages name what was expected.
	for _, p := range parserErrors {
		if strings.HasPrefix(msg, p) {
			line++
			break
		}
	}
	return line, msg
}

var parserErrors = []string{
	"did not find expected ',' or", "did not find expected key", "did not find expected node content",
	"did not find expected '-' indicator", "did not find expected <document start>",
}

// The rule file's keys. Anything else is an error, so a typo ("requird")
// cannot silently drop a check.
var (
	fileKeys   = []string{"document", "direction", "description", "source", "target", "tables", "fields", "local"}
	formatKeys = []string{"format", "root", "namespaces"}
	tableKeys  = []string{"file", "values", "ignore_case"}
	dateKeys   = []string{"from", "to", "zone"}
	ruleKeys   = []string{"target", "source", "value", "expr", "concat", "copy", "embedded", "select", "separator", "join", "split", "required", "default",
		"date", "number", "table", "reverse", "unknown", "trim", "case", "type", "when", "group", "fields", "note", "message"}
	localKeys = []string{"name", "source", "value", "expr", "concat", "separator", "join", "split", "required", "default",
		"date", "number", "table", "reverse", "unknown", "trim", "case", "when", "note", "message"}
)

// entry is one key: value of a YAML mapping.
type entry struct {
	key string
	k   *yaml.Node
	v   *yaml.Node
}

// yamlMap holds a mapping node's entries by key, after checking them.
type yamlMap map[string]entry

// deref follows YAML aliases, so anchors work anywhere.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// mapping checks that n is a mapping with only known keys, none twice, and
// returns its entries. what names the section for messages. A null node is
// an empty mapping.
func (c *compiler) mapping(n *yaml.Node, rule, what string, known []string) yamlMap {
	n = deref(n)
	if isNull(n) {
		return yamlMap{}
	}
	if n.Kind != yaml.MappingNode {
		c.errf(n.Line, rule, "%s must be a mapping (key: value)", what)
		return yamlMap{}
	}
	m := yamlMap{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		key := k.Value
		if known != nil && !contains(known, key) {
			c.errf(k.Line, rule, "%sunknown key %q (known: %s)", prefixed(what), key, strings.Join(known, ", "))
			continue
		}
		if _, dup := m[key]; dup {
			c.errf(k.Line, rule, "%skey %q appears twice", prefixed(what), key)
			continue
		}
		m[key] = entry{key: key, k: k, v: v}
	}
	return m
}

// pairs returns a mapping's scalar entries in file order (namespaces and
// table values, whose order matters for output and reverse look-ups).
func (c *compiler) pairs(n *yaml.Node, rule, what string) []kv {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		c.errf(n.Line, rule, "%s must be a mapping (key: value)", what)
		return nil
	}
	var out []kv
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			c.errf(k.Line, rule, "%s: %q must map to a plain value", what, k.Value)
			continue
		}
		if seen[k.Value] {
			c.errf(k.Line, rule, "%s: key %q appears twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		out = append(out, kv{k: k.Value, v: v.Value, line: k.Line})
	}
	return out
}

// str returns a scalar's text. YAML's own typing is ignored on purpose:
// `value: 851` and `value: "851"` mean the same, and `value: 1.50` keeps
// its trailing zero.
func (c *compiler) str(e entry, rule string) string {
	if e.v == nil {
		return ""
	}
	if e.v.Kind != yaml.ScalarNode {
		c.errf(e.v.Line, rule, "%s: must be a plain value", e.key)
		return ""
	}
	if isNull(e.v) {
		return ""
	}
	return e.v.Value
}

func (c *compiler) boolean(e entry, rule string) bool {
	if e.v == nil {
		return false
	}
	var b bool
	if e.v.Kind != yaml.ScalarNode || e.v.Decode(&b) != nil {
		c.errf(e.v.Line, rule, "%s: must be true or false, got %q", e.key, e.v.Value)
	}
	return b
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func prefixed(what string) string {
	if what == "" {
		return ""
	}
	return what + ": "
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// kv is one key: value pair, in file order.
type kv struct {
	k, v string
	line int
}
