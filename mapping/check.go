package mapping

import (
	"io/fs"
	"slices"
	"sort"
	"strings"
)

// TargetChecker knows the target document's schema. Given to LoadWith, it
// lets a rule file be checked against the schema when it is loaded, not
// when a partner rejects a document: a rule writing where the schema has
// no such element or attribute, and an element the schema requires that no
// rule writes, are reported as RuleErrors with the file and line.
//
// Paths run from the target's root. For XML they are names in Clark
// notation joined by "/", the root first and a final "@attr", without
// [+]: {urn:…:SPSCertificate:11}SPSCertificate/{urn:…:SPSCertificate:11}SPSExchangedDocument/{urn:…:14}ID,
// an unqualified attribute as @name, so that a checker needs to know
// nothing of the rule file's prefixes (a schema and a rule file rarely
// agree on them). Namespace URIs in braces in paths and errors are
// shown to the analyst with the rule file's own prefixes. For JSON, paths
// are keys joined by "." (a group's key stands for each of its items).
type TargetChecker interface {
	// CheckTarget returns an error if path is not in the schema.
	CheckTarget(path string) error
	// Required lists the paths the schema requires whenever their parent
	// is present (for XML, elements with minOccurs ≥ 1 and required
	// attributes).
	Required() []string
}

// Options tune LoadWith.
type Options struct {
	// Targets, if set, checks every target path against the target schema.
	Targets TargetChecker
	// Sources, if set, checks every path an XML source is read at against
	// the source document's schema (an inbound rule file reads the standard
	// document): the paths of values, groups, concatenations and when:
	// conditions, in the same notation as Targets, starting at SourceRoot —
	// the Clark path in that schema of the element the rules read (the
	// signed part, for a certificate of origin …/{uri}CertOrigin/CODEH).
	// Only Required is not consulted: a source may be optional. Predicates
	// and src() in expressions are not checked.
	Sources    TargetChecker
	SourceRoot string
}

// LoadWith is Load with options.
func LoadWith(fsys fs.FS, name string, opts Options) (*Rules, error) {
	return load(fsys, name, opts)
}

// SchemaOrder is implemented by a TargetChecker that knows the order of
// the schema's child elements (schema.Targets does). Given one, the rules
// write every element where the schema's order puts it among its
// siblings, whatever the order the rules are listed in: a rule file that
// loads cannot produce a document out of order. It also says which
// elements occur at most once, for the check on rules writing one target
// twice.
type SchemaOrder interface {
	// Children lists the child elements the schema allows below the
	// element at path (Clark notation, as CheckTarget), in a valid order,
	// and whether each may occur more than once; ok is false where the
	// schema leaves them open.
	Children(path string) (names []string, many []bool, ok bool)
}

// orderer annotates compiled target steps with the schema's order.
type orderer struct {
	so   SchemaOrder
	tags map[string]string // namespace URI → the rule file's prefix
	memo map[string]*siblingOrder
	once map[string]map[string]bool
}

// annotate sets order, pos and once on every element step of steps, a
// target path below the element at prefix (Clark notation).
func (o *orderer) annotate(prefix string, steps []tstep) {
	parent := prefix
	for i := range steps {
		st := &steps[i]
		if st.attr {
			return
		}
		if so := o.children(parent); so != nil {
			if p, ok := so.pos[tagKey{st.name.prefix, st.name.local}]; ok {
				st.order, st.pos, st.once = so, p, o.once[parent][st.name.tag]
			}
		}
		parent = joinPath(parent, clark(st.name), "/")
	}
}

func (o *orderer) children(parent string) *siblingOrder {
	if so, ok := o.memo[parent]; ok {
		return so
	}
	names, many, ok := o.so.Children(parent)
	var so *siblingOrder
	if ok {
		so = &siblingOrder{pos: make(map[tagKey]int, len(names))}
		once := map[string]bool{}
		for i, n := range names {
			tag, ok := o.tag(n)
			if !ok {
				continue
			}
			prefix, local, found := strings.Cut(tag, ":")
			if !found {
				prefix, local = "", tag
			}
			so.pos[tagKey{prefix, local}] = i + 1
			once[tag] = !many[i]
		}
		o.once[parent] = once
	}
	o.memo[parent] = so
	return so
}

// tag writes a Clark name with the rule file's prefix for its namespace.
func (o *orderer) tag(n string) (string, bool) {
	if !strings.HasPrefix(n, "{") {
		_, dflt := o.tags[defaultDeclared]
		return n, !dflt
	}
	end := strings.IndexByte(n, '}')
	p, ok := o.tags[n[1:end]]
	if !ok {
		return "", false
	}
	if p == "" {
		return n[end+1:], true
	}
	return p + ":" + n[end+1:], true
}

// defaultDeclared, in tagsByURI's map, says a default namespace is
// declared: an element in no namespace cannot then be written unprefixed.
const defaultDeclared = "\x00"

// tagsByURI maps each target namespace to its first prefix ("" for the
// default namespace, which then also marks unprefixed names as taken).
func (c *compiler) tagsByURI() map[string]string {
	m := map[string]string{}
	for _, d := range c.tgt.decls {
		if _, seen := m[d.v]; !seen {
			m[d.v] = d.k
		}
		if d.k == "" {
			m[defaultDeclared] = ""
		}
	}
	return m
}

// checkTargets runs a TargetChecker over the compiled rules. Every rule's
// full target path is checked; then each required path that no rule writes
// is reported — only if its parent is written, since an optional parent
// that is never written needs none of its children. The report goes to the
// innermost group rule around the parent (or to fields: at the top level).
func (c *compiler) checkTargets(r *Rules, tc TargetChecker) {
	sep, root := ".", ""
	if c.tgt.format == "xml" {
		sep, root = "/", clark(c.tgt.root)
	}
	show := c.prefixer()
	written := map[string]bool{}
	owner := map[string]*rule{} // group paths → their rule
	if root != "" {
		written[root] = true
	}
	mark := func(p string) {
		for {
			if written[p] {
				return
			}
			written[p] = true
			i := strings.LastIndex(p, sep)
			if i < 0 {
				return
			}
			p = p[:i]
		}
	}
	var order *orderer
	if so, ok := tc.(SchemaOrder); ok && c.tgt.format == "xml" {
		order = &orderer{so: so, tags: c.tagsByURI(), memo: map[string]*siblingOrder{}, once: map[string]map[string]bool{}}
	}
	// A copy: rule writes an element whole, from the payload: whatever
	// the schema requires under it is the payload's business.
	var copied []string
	var walk func(rules []*rule, prefix string)
	walk = func(rules []*rule, prefix string) {
		for _, rl := range rules {
			if rl.section {
				// Its rules' targets start with its own.
				walk(rl.fields, prefix)
				continue
			}
			full := prefix
			if !rl.tself {
				if len(rl.tpath) == 0 {
					continue // the target did not compile; already reported
				}
				full = joinPath(prefix, targetText(rl.tpath, sep), sep)
				if order != nil {
					order.annotate(prefix, rl.tpath)
				}
			}
			if full == "" {
				continue
			}
			if err := tc.CheckTarget(full); err != nil {
				c.errf(rl.line, rl.target, "target: %s: %s", show(full), show(err.Error()))
			}
			if rl.group {
				owner[full] = rl
				walk(rl.fields, full)
				continue
			}
			if rl.kind == fromCopy {
				copied = append(copied, full+sep)
			}
			mark(full)
		}
	}
	walk(r.fields, root)
	for _, req := range tc.Required() {
		if written[req] || slices.ContainsFunc(copied, func(p string) bool { return strings.HasPrefix(req, p) }) {
			continue
		}
		parent := ""
		if i := strings.LastIndex(req, sep); i >= 0 {
			parent = req[:i]
		}
		if parent != "" && !written[parent] {
			continue
		}
		// Reported at the innermost group around the parent: that is where
		// the missing rule belongs.
		line, name := r.fieldsLine, ""
		for p := parent; p != ""; {
			if g := owner[p]; g != nil {
				line, name = g.line, g.target
				break
			}
			i := strings.LastIndex(p, sep)
			if i < 0 {
				break
			}
			p = p[:i]
		}
		c.errf(line, name, "target %s is required by the schema and no rule writes it", show(req))
	}
}

// targetText is a compiled target path as the checker sees it.
func targetText(steps []tstep, sep string) string {
	parts := make([]string, len(steps))
	for i, s := range steps {
		switch {
		case s.key != "":
			parts[i] = s.key
		case s.attr && s.name.prefix == "":
			parts[i] = "@" + s.name.local // an unprefixed attribute is in no namespace
		case s.attr:
			parts[i] = "@" + clark(s.name)
		default:
			parts[i] = clark(s.name)
		}
	}
	return strings.Join(parts, sep)
}

func joinPath(prefix, p, sep string) string {
	if prefix == "" {
		return p
	}
	return prefix + sep + p
}

// clark writes an XML name as {uri}local, or local in no namespace.
func clark(n xname) string {
	if n.uri == "" {
		return n.local
	}
	return "{" + n.uri + "}" + n.local
}

// prefixer returns a function that writes every {uri} in a text with the
// rule file's prefix for that URI (its first declaration), so a checker's
// paths and messages read like the file: {urn:x}Doc becomes x:Doc.
func (c *compiler) prefixer() func(string) string {
	var pairs []string
	seen := map[string]bool{}
	for _, d := range c.tgt.decls {
		if seen[d.v] {
			continue
		}
		seen[d.v] = true
		p := ""
		if d.k != "" {
			p = d.k + ":"
		}
		pairs = append(pairs, "{"+d.v+"}", p)
	}
	if xmlNS := "{" + xmlNamespace + "}"; !seen[xmlNamespace] {
		pairs = append(pairs, xmlNS, "xml:")
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}

// checkSources runs a checker over the XML source paths of the compiled
// rules, each relative to its group's path (or SourceRoot; $root paths
// always from SourceRoot).
func (c *compiler) checkSources(r *Rules, sc TargetChecker, root string) {
	if c.src.format != "xml" || root == "" {
		return
	}
	prefixed := c.sourcePrefixer()
	// Paths are shown from the source root's own name down: the steps
	// above it (…/CertOrigin for CODEH) are not the rule file's business
	// and may be in namespaces it does not declare.
	rootName := lastStep(root)
	show := func(s string) string {
		return prefixed(strings.ReplaceAll(s, root, rootName))
	}
	check := func(rl *rule, base string, sp *spath, what string) (string, bool) {
		if sp == nil || sp.self {
			return base, true
		}
		if sp.root {
			base = root
		}
		full := joinPath(base, sourceText(sp), "/")
		if full == base {
			return base, true
		}
		if err := sc.CheckTarget(full); err != nil {
			c.errf(rl.line, rl.target, "%s: %s: %s", what, show(full), show(err.Error()))
			return full, false
		}
		return full, true
	}
	var walk func(rules []*rule, base string)
	walk = func(rules []*rule, base string) {
		for _, rl := range rules {
			check(rl, base, rl.when, "when")
			if rl.section {
				walk(rl.fields, base)
				continue
			}
			if rl.kind == fromCopy {
				check(rl, base, rl.spath, "copy")
				continue
			}
			if rl.group {
				// Under a group the schema does not have, every field would
				// fail too: one error, at the group, says it.
				if full, ok := check(rl, base, rl.spath, "group"); ok {
					walk(rl.fields, full)
				}
				continue
			}
			check(rl, base, rl.spath, "source")
			for _, sp := range rl.concat {
				check(rl, base, sp, "concat")
			}
		}
	}
	walk(r.fields, root)
}

// sourceText is a compiled XML source path in Clark notation, without
// predicates or $root.
func sourceText(sp *spath) string {
	parts := make([]string, 0, len(sp.steps)+1)
	for _, st := range sp.steps {
		parts = append(parts, clark(st.xname))
	}
	if a := sp.attr; a != nil {
		if a.prefix == "" {
			parts = append(parts, "@"+a.local)
		} else {
			parts = append(parts, "@"+clark(*a))
		}
	}
	return strings.Join(parts, "/")
}

// sourcePrefixer is prefixer for the source's namespaces.
func (c *compiler) sourcePrefixer() func(string) string {
	prefixes := make([]string, 0, len(c.src.ns))
	for p := range c.src.ns {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes) // one prefix per URI, the same every time
	var pairs []string
	seen := map[string]bool{}
	for _, p := range prefixes {
		uri := c.src.ns[p]
		if seen[uri] || p == "" {
			continue
		}
		seen[uri] = true
		pairs = append(pairs, "{"+uri+"}", p+":")
	}
	return strings.NewReplacer(pairs...).Replace
}

// lastStep is the last step of a path of Clark names, whose URIs may hold
// slashes of their own.
func lastStep(p string) string {
	depth, start := 0, 0
	for i, r := range p {
		switch r {
		case '{':
			depth++
		case '}':
			depth--
		case '/':
			if depth == 0 {
				start = i + 1
			}
		}
	}
	return p[start:]
}
