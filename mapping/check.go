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
// Paths are as rules write them, from the target's root: XML qualified
// names joined by "/" with the root first and a final "@attr"
// (rsm:SPSCertificate/rsm:SPSExchangedDocument/ram:ID), using the rule
// file's own prefixes, without [+]; JSON keys joined by "." (a group's
// key stands for each of its items).
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
// group rule that writes the parent (or to fields: at the top level).
func (c *compiler) checkTargets(r *Rules, tc TargetChecker) {
	sep, root := ".", ""
	if c.tgt.format == "xml" {
		sep, root = "/", c.tgt.root.tag
	}
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
				c.errf(rl.line, rl.target, "target: %s: %v", full, err)
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
		line, name := r.fieldsLine, ""
		if g := owner[parent]; g != nil {
			line, name = g.line, g.target
		}
		c.errf(line, name, "target %s is required by the schema and no rule writes it", req)
	}
}

// targetText is a compiled target path as the checker sees it.
func targetText(steps []tstep, sep string) string {
	parts := make([]string, len(steps))
	for i, s := range steps {
		switch {
		case s.key != "":
			parts[i] = s.key
		case s.attr:
			parts[i] = "@" + s.name.tag
		default:
			parts[i] = s.name.tag
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
