// Package mapping translates documents between a legacy system's native
// format (JSON or XML) and the agreed standard XML, following declarative
// rule files that analysts edit — not Go code.
//
// A rule file names the document type and direction, the source and target
// formats, optional code tables, and a list of field rules, each taking a
// value from a source path (or a constant), optionally transforming it
// (trim, default, code table, date format, case, JSON type) and writing it
// to a target path. Repeated groups (line items) nest to any depth. See
// README.md in this directory for the full language with examples.
//
// Rule files are parsed, checked and compiled once by Load; every problem
// is reported with the file, line and rule it concerns (RuleError). Map then
// runs without reflection or re-parsing, reporting every field that fails
// (Errors of FieldError), and produces nothing if any does.
package mapping

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
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
}

// Document returns the document type the rules map.
func (r *Rules) Document() string { return r.document }

// Direction returns "outbound" (native → standard) or "inbound".
func (r *Rules) Direction() string { return r.direction }

// File returns the rule file's name as loaded.
func (r *Rules) File() string { return r.file }

// RuleError is a problem in a rule file.
type RuleError struct {
	File string
	Line int
	Rule string // the rule's target, or the section name
	Msg  string
}

func (e *RuleError) Error() string {
	if e.Rule == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: rule %s: %s", e.File, e.Line, e.Rule, e.Msg)
}

// RuleErrors are all the problems found in one rule file.
type RuleErrors []*RuleError

func (es RuleErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// LoadFile loads a rule file from disk; tables resolve relative to it,
// including in sibling directories (file: ../tables/x.yaml).
func LoadFile(name string) (*Rules, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, err
	}
	// Root the file system at the volume root so "../" from the rule
	// file's directory stays inside it.
	root := filepath.VolumeName(abs) + string(filepath.Separator)
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return nil, err
	}
	return Load(os.DirFS(root), filepath.ToSlash(rel))
}

// Load parses, checks and compiles the rule file name in fsys. Table files
// are resolved relative to the rule file's directory.
func Load(fsys fs.FS, name string) (*Rules, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var spec fileSpec
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		return nil, yamlError(name, err)
	}
	c := &compiler{file: name, fsys: fsys, dir: path.Dir(name)}
	r := c.compile(&spec)
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return r, nil
}

// yamlError turns YAML decoding problems into RuleErrors.
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var out RuleErrors
		for _, m := range te.Errors {
			line := 0
			fmt.Sscanf(m, "line %d:", &line)
			if i := strings.Index(m, ": "); i >= 0 && line > 0 {
				m = m[i+2:]
			}
			out = append(out, &RuleError{File: file, Line: line, Msg: strings.Replace(m, "not found in type", "is not a known key of", 1)})
		}
		return out
	}
	var re *RuleError
	if errors.As(err, &re) {
		re.File = file
		return RuleErrors{re}
	}
	msg, line := err.Error(), 0
	if _, scanErr := fmt.Sscanf(msg, "yaml: line %d:", &line); scanErr == nil {
		if i := strings.Index(msg[len("yaml: "):], ": "); i >= 0 {
			msg = "YAML syntax: " + msg[len("yaml: ")+i+2:] + ` (quote values containing [ ] { } : or #)`
		}
	}
	return RuleErrors{{File: file, Line: line, Msg: msg}}
}

// fileSpec is a rule file as written.
type fileSpec struct {
	Document  string               `yaml:"document"`
	Direction string               `yaml:"direction"`
	Describe  string               `yaml:"description"`
	Source    formatSpec           `yaml:"source"`
	Target    formatSpec           `yaml:"target"`
	Tables    map[string]tableSpec `yaml:"tables"`
	Fields    []ruleSpec           `yaml:"fields"`
}

type formatSpec struct {
	Format     string    `yaml:"format"`
	Root       string    `yaml:"root"`
	Namespaces orderedNS `yaml:"namespaces"`
	line       int
}

func (f *formatSpec) UnmarshalYAML(n *yaml.Node) error {
	if err := checkKeys(n, "format", "root", "namespaces"); err != nil {
		return err
	}
	type plain formatSpec
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*f = formatSpec(p)
	f.line = n.Line
	return nil
}

type tableSpec struct {
	File   string    `yaml:"file"`
	Values orderedKV `yaml:"values"`
	line   int
}

func (t *tableSpec) UnmarshalYAML(n *yaml.Node) error {
	if err := checkKeys(n, "file", "values"); err != nil {
		return err
	}
	type plain tableSpec
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*t = tableSpec(p)
	t.line = n.Line
	return nil
}

// ruleSpec is one field rule as written.
type ruleSpec struct {
	Target   string     `yaml:"target"`
	Source   string     `yaml:"source"`
	Value    *string    `yaml:"value"`
	Required bool       `yaml:"required"`
	Default  *string    `yaml:"default"`
	Date     *dateSpec  `yaml:"date"`
	Table    string     `yaml:"table"`
	Reverse  bool       `yaml:"reverse"`
	Trim     bool       `yaml:"trim"`
	Case     string     `yaml:"case"`
	Type     string     `yaml:"type"`
	When     string     `yaml:"when"`
	Group    string     `yaml:"group"`
	Fields   []ruleSpec `yaml:"fields"`
	Note     string     `yaml:"note"`
	line     int
}

var ruleKeys = []string{"target", "source", "value", "required", "default", "date", "table", "reverse",
	"trim", "case", "type", "when", "group", "fields", "note"}

func (r *ruleSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &RuleError{Line: n.Line, Msg: "a rule must be a mapping (target: …, source: …)"}
	}
	if err := checkKeys(n, ruleKeys...); err != nil {
		return err
	}
	type plain ruleSpec
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*r = ruleSpec(p)
	r.line = n.Line
	return nil
}

type dateSpec struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
	Zone string `yaml:"zone"`
}

func (d *dateSpec) UnmarshalYAML(n *yaml.Node) error {
	if err := checkKeys(n, "from", "to", "zone"); err != nil {
		return err
	}
	type plain dateSpec
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*d = dateSpec(p)
	return nil
}

// checkKeys enforces strictness inside custom unmarshalers, where the YAML
// library's KnownFields does not reach.
func checkKeys(n *yaml.Node, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ok := false
		for _, a := range allowed {
			if k.Value == a {
				ok = true
				break
			}
		}
		if !ok {
			return &RuleError{Line: k.Line, Msg: fmt.Sprintf("unknown key %q (known: %s)", k.Value, strings.Join(allowed, ", "))}
		}
	}
	return nil
}

// orderedNS keeps namespace declarations in file order, so output is
// deterministic and reads like the file.
type orderedNS []kv

type kv struct{ k, v string }

func (o *orderedNS) UnmarshalYAML(n *yaml.Node) error {
	kvs, err := pairs(n)
	*o = kvs
	return err
}

// orderedKV is a code table's values in file order (the first key wins when
// a table is used in reverse).
type orderedKV []kv

func (o *orderedKV) UnmarshalYAML(n *yaml.Node) error {
	kvs, err := pairs(n)
	*o = kvs
	return err
}

func pairs(n *yaml.Node) ([]kv, error) {
	if n.Kind != yaml.MappingNode {
		return nil, &RuleError{Line: n.Line, Msg: "expected a mapping of key: value"}
	}
	var out []kv
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return nil, &RuleError{Line: v.Line, Msg: fmt.Sprintf("value of %q must be a plain value", k.Value)}
		}
		out = append(out, kv{k.Value, v.Value})
	}
	return out, nil
}
