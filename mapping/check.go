package mapping

import (
	"io/fs"
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
}

// LoadWith is Load with options.
func LoadWith(fsys fs.FS, name string, opts Options) (*Rules, error) {
	return load(fsys, name, opts)
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
	var walk func(rules []*rule, prefix string)
	walk = func(rules []*rule, prefix string) {
		for _, rl := range rules {
			full := prefix
			if !rl.tself {
				if len(rl.tpath) == 0 {
					continue // the target did not compile; already reported
				}
				full = joinPath(prefix, targetText(rl.tpath, sep), sep)
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
			mark(full)
		}
	}
	walk(r.fields, root)
	for _, req := range tc.Required() {
		if written[req] {
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
