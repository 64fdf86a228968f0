package mapping

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"
	// Zones must resolve in minimal containers without /usr/share/zoneinfo.
	_ "time/tzdata"

	"go.yaml.in/yaml/v3"
)

type sourceSpec struct {
	format string // json | xml
	root   *xname // xml: expected root, if given
	ns     map[string]string
}

type targetSpec struct {
	format string // xml | json
	root   xname
	ns     []kv
}

// rule is a compiled field rule or group.
type rule struct {
	line     int
	target   string // as written, for messages
	source   string
	tpath    []tstep
	spath    *spath
	when     *spath
	value    *string
	required bool
	def      *string
	trim     bool
	upper    bool
	lower    bool
	date     *dateConv
	table    *table
	reverse  bool
	typ      string
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

func (c *compiler) compile(s *fileSpec) *Rules {
	r := &Rules{file: c.file, document: s.Document, direction: s.Direction}
	if s.Document == "" {
		c.errf(1, "", "document: is required (the document type, e.g. sps)")
	}
	switch s.Direction {
	case "outbound", "inbound":
	default:
		c.errf(1, "", "direction: must be outbound or inbound, got %q", s.Direction)
	}

	c.src.format = s.Source.Format
	c.src.ns = map[string]string{}
	for _, p := range s.Source.Namespaces {
		c.src.ns[p.k] = p.v
	}
	switch s.Source.Format {
	case "json":
		if s.Source.Root != "" || len(s.Source.Namespaces) > 0 {
			c.errf(s.Source.line, "source", "root and namespaces apply to XML sources only")
		}
	case "xml":
		if s.Source.Root != "" {
			if q, err := c.xname(s.Source.Root, c.src.ns, false); err != nil {
				c.errf(s.Source.line, "source", "root: %v", err)
			} else {
				c.src.root = &q
			}
		}
	default:
		c.errf(s.Source.line, "source", "format: must be json or xml, got %q", s.Source.Format)
	}

	c.tgt.format = s.Target.Format
	c.tgt.ns = s.Target.Namespaces
	switch s.Target.Format {
	case "json":
		if s.Target.Root != "" || len(s.Target.Namespaces) > 0 {
			c.errf(s.Target.line, "target", "root and namespaces apply to XML targets only")
		}
	case "xml":
		tns := map[string]string{}
		for _, p := range s.Target.Namespaces {
			tns[p.k] = p.v
		}
		if s.Target.Root == "" {
			c.errf(s.Target.line, "target", "root: is required for an XML target")
		} else if q, err := c.xname(s.Target.Root, tns, false); err != nil {
			c.errf(s.Target.line, "target", "root: %v", err)
		} else {
			c.tgt.root = q
		}
	default:
		c.errf(s.Target.line, "target", "format: must be xml or json, got %q", s.Target.Format)
	}
	r.source, r.target = c.src, c.tgt

	c.tables = map[string]*table{}
	for name, ts := range s.Tables {
		t, err := c.loadTable(name, ts)
		if err != nil {
			c.errf(ts.line, "tables."+name, "%v", err)
			continue
		}
		c.tables[name] = t
	}
	if len(s.Fields) == 0 {
		c.errf(1, "", "fields: at least one rule is required")
	}
	r.fields = c.rules(s.Fields, "")
	return r
}

func (c *compiler) rules(specs []ruleSpec, parent string) []*rule {
	var out []*rule
	for i := range specs {
		if r := c.rule(&specs[i], parent); r != nil {
			out = append(out, r)
		}
	}
	return out
}

func (c *compiler) rule(s *ruleSpec, parent string) *rule {
	name := s.Target
	if name == "" {
		name = fmt.Sprintf("#%d", s.line)
	}
	if parent != "" {
		name = parent + " > " + name
	}
	errf := func(format string, args ...any) { c.errf(s.line, name, format, args...) }
	r := &rule{line: s.line, target: s.Target, source: s.Source, required: s.Required, def: s.Default,
		trim: s.Trim, value: s.Value, typ: s.Type, reverse: s.Reverse}

	var err error
	if s.Target == "" {
		errf("target: is required")
	} else if r.tpath, err = c.targetPath(s.Target); err != nil {
		errf("target: %v", err)
	}

	if s.Group != "" {
		r.group = true
		r.source = s.Group
		if s.Source != "" || s.Value != nil || s.Date != nil || s.Table != "" || s.Default != nil || s.Type != "" || s.Case != "" || s.Trim {
			errf("a group takes only group, target, required, when and fields")
		}
		if r.spath, err = c.sourcePath(s.Group); err != nil {
			errf("group: %v", err)
		}
		if len(r.tpath) > 0 && r.tpath[len(r.tpath)-1].attr {
			errf("target: a group's target must be an element, not an attribute")
		}
		if len(s.Fields) == 0 {
			errf("fields: a group needs at least one rule")
		}
		r.fields = c.rules(s.Fields, name)
	} else {
		if len(s.Fields) > 0 {
			errf("fields: only a group (group: …) has nested fields")
		}
		switch {
		case s.Source != "" && s.Value != nil:
			errf("set source or value, not both")
		case s.Source == "" && s.Value == nil:
			errf("source or value is required")
		case s.Source != "":
			if r.spath, err = c.sourcePath(s.Source); err != nil {
				errf("source: %v", err)
			}
		}
	}
	if s.When != "" {
		if r.when, err = c.sourcePath(s.When); err != nil {
			errf("when: %v", err)
		}
	}
	switch s.Case {
	case "":
	case "upper":
		r.upper = true
	case "lower":
		r.lower = true
	default:
		errf("case: must be upper or lower, got %q", s.Case)
	}
	if s.Table != "" {
		if t, ok := c.tables[s.Table]; ok {
			r.table = t
			if s.Reverse {
				if t.reverseErr != nil {
					errf("table %s cannot be used in reverse: %v", s.Table, t.reverseErr)
				}
			}
		} else {
			errf("table: %q is not declared under tables", s.Table)
		}
	} else if s.Reverse {
		errf("reverse: only applies with a table")
	}
	if s.Date != nil {
		if r.date, err = newDateConv(s.Date); err != nil {
			errf("date: %v", err)
		}
	}
	switch s.Type {
	case "", "string":
	case "number", "integer", "boolean":
		if c.tgt.format != "json" {
			errf("type: %s applies to JSON targets only", s.Type)
		}
	default:
		errf("type: must be string, number, integer or boolean, got %q", s.Type)
	}
	return r
}

// xname is a namespace-qualified name.
type xname struct {
	prefix, local, uri string
}

func (c *compiler) xname(s string, ns map[string]string, allowUnprefixed bool) (xname, error) {
	prefix, local, ok := strings.Cut(s, ":")
	if !ok {
		return xname{local: s}, validName(s)
	}
	uri, known := ns[prefix]
	if !known {
		return xname{}, fmt.Errorf("prefix %q is not declared in namespaces", prefix)
	}
	return xname{prefix: prefix, local: local, uri: uri}, validName(local)
}

func validName(s string) error {
	if s == "" || strings.ContainsAny(s, " \t/[]@=$") {
		return fmt.Errorf("%q is not a valid name", s)
	}
	return nil
}

// tstep is one step of a target path.
type tstep struct {
	name      xname
	attr      bool
	appendNew bool // "name[+]": always create a new element
	key       string
}

func (c *compiler) targetPath(p string) ([]tstep, error) {
	if c.tgt.format == "json" {
		var out []tstep
		for _, k := range strings.Split(p, ".") {
			if k == "" {
				return nil, fmt.Errorf("empty key in %q", p)
			}
			out = append(out, tstep{key: k})
		}
		return out, nil
	}
	tns := map[string]string{}
	for _, x := range c.tgt.ns {
		tns[x.k] = x.v
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
		}
		if strings.HasSuffix(st, "[+]") {
			t.appendNew = true
			st = strings.TrimSuffix(st, "[+]")
		}
		q, err := c.xname(st, tns, true)
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
	index bool     // "$index"
	keys  []string // json
	steps []xname  // xml elements
	attr  *xname   // xml: final attribute
}

func (c *compiler) sourcePath(p string) (*spath, error) {
	switch p {
	case "$index":
		return &spath{index: true}, nil
	case ".":
		return &spath{self: true}, nil
	}
	if strings.HasPrefix(p, "$") {
		return nil, fmt.Errorf("unknown variable %q (only $index)", p)
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
		if strings.HasPrefix(st, "@") {
			if i != len(steps)-1 {
				return nil, fmt.Errorf("attribute %q must be the last step of %q", st, p)
			}
			q, err := c.xname(st[1:], c.src.ns, true)
			if err != nil {
				return nil, err
			}
			sp.attr = &q
			continue
		}
		q, err := c.xname(st, c.src.ns, true)
		if err != nil {
			return nil, err
		}
		sp.steps = append(sp.steps, q)
	}
	return sp, nil
}

// table is a compiled code table.
type table struct {
	name       string
	fwd, rev   map[string]string
	reverseErr error
}

func (c *compiler) loadTable(name string, ts tableSpec) (*table, error) {
	values := ts.Values
	switch {
	case ts.File != "" && len(ts.Values) > 0:
		return nil, fmt.Errorf("set file or values, not both")
	case ts.File != "":
		file := path.Join(c.dir, ts.File)
		data, err := fs.ReadFile(c.fsys, file)
		if err != nil {
			return nil, fmt.Errorf("table file: %v", err)
		}
		var tf struct {
			Description string    `yaml:"description"`
			Values      orderedKV `yaml:"values"`
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err := dec.Decode(&tf); err != nil {
			return nil, fmt.Errorf("table file %s: %v", file, err)
		}
		values = tf.Values
	}
	if len(values) == 0 {
		return nil, fmt.Errorf("table has no values")
	}
	t := &table{name: name, fwd: make(map[string]string, len(values)), rev: make(map[string]string, len(values))}
	for _, x := range values {
		if _, dup := t.fwd[x.k]; dup {
			return nil, fmt.Errorf("key %q appears twice", x.k)
		}
		t.fwd[x.k] = x.v
		// The first key for a value wins in reverse, so a table may list
		// spelling variants ("México", "Mexico") after the preferred one.
		if _, seen := t.rev[x.v]; !seen {
			t.rev[x.v] = x.k
		}
	}
	return t, nil
}

// dateConv converts between two date/time patterns.
type dateConv struct {
	from, to          string
	fromZoned, toZone bool
	zone              *time.Location
}

func newDateConv(d *dateSpec) (*dateConv, error) {
	if d.From == "" || d.To == "" {
		return nil, fmt.Errorf("from and to are both required")
	}
	from, fz, err := goLayout(d.From)
	if err != nil {
		return nil, fmt.Errorf("from: %v", err)
	}
	to, tz, err := goLayout(d.To)
	if err != nil {
		return nil, fmt.Errorf("to: %v", err)
	}
	loc := time.UTC
	if d.Zone != "" {
		if loc, err = time.LoadLocation(d.Zone); err != nil {
			return nil, fmt.Errorf("zone: unknown time zone %q", d.Zone)
		}
	}
	return &dateConv{from: from, to: to, fromZoned: fz, toZone: tz, zone: loc}, nil
}

// goLayout converts a Java-style pattern (yyyy-MM-dd'T'HH:mm:ssXXX) to a Go
// layout, and reports whether it carries a zone offset.
func goLayout(p string) (string, bool, error) {
	var b strings.Builder
	zoned := false
	for i := 0; i < len(p); {
		ch := p[i]
		if ch == '\'' {
			end := strings.IndexByte(p[i+1:], '\'')
			if end < 0 {
				return "", false, fmt.Errorf("unterminated quote in %q", p)
			}
			lit := p[i+1 : i+1+end]
			if strings.ContainsAny(lit, "0123456789") {
				return "", false, fmt.Errorf("quoted literal %q may not contain digits", lit)
			}
			b.WriteString(lit)
			i += end + 2
			continue
		}
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z') {
			if ch >= '0' && ch <= '9' {
				return "", false, fmt.Errorf("digits are not allowed in a pattern: %q", p)
			}
			b.WriteByte(ch)
			i++
			continue
		}
		j := i
		for j < len(p) && p[j] == ch {
			j++
		}
		tok := p[i:j]
		switch tok {
		case "yyyy":
			b.WriteString("2006")
		case "yy":
			b.WriteString("06")
		case "MM":
			b.WriteString("01")
		case "dd":
			b.WriteString("02")
		case "HH":
			b.WriteString("15")
		case "mm":
			b.WriteString("04")
		case "ss":
			b.WriteString("05")
		case "SSS":
			b.WriteString("000")
		case "XXX":
			b.WriteString("Z07:00")
			zoned = true
		case "XX":
			b.WriteString("Z0700")
			zoned = true
		case "Z":
			b.WriteString("-0700")
			zoned = true
		default:
			return "", false, fmt.Errorf("unsupported pattern letters %q in %q (use yyyy yy MM dd HH mm ss SSS XXX XX Z and 'quoted' text)", tok, p)
		}
		i = j
	}
	return b.String(), zoned, nil
}
