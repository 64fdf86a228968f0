package mapping

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// checkConflicts reports, in every list of rules that writes into the
// same element (the file's fields, a group's, with sections flattened):
//   - a rule that repeats another word for word (a paste made twice);
//   - two rules writing one target: the engine finds the element and
//     overwrites its value, so one value silently replaces the other —
//     the tracked document ID changes with the order of the rules — unless
//     their when: conditions exclude each other;
//   - two rules appending ([+]) an element the schema allows only once.
//
// Conditions are compared as written, not solved: they exclude each other
// when one is a path P and the other 'not present(P)' (or the other way
// round), one is E and the other 'not (E)', or both compare one operand
// with == to different literals. Anything subtler is reported, and the
// fix is one rule with coalesce() or default:.
func (c *compiler) checkConflicts(rules []*rule) {
	c.checkDuplicates(rules)
	type writer struct {
		r     *rule
		conds []cond
	}
	seen := map[string][]writer{}
	// gen counts the appends ([+]) of each element path so far: a later
	// rule without [+] writes into the newest one, which is another
	// element than before the append.
	gen := map[string]int{}
	var walk func(rules []*rule, conds []cond)
	walk = func(rules []*rule, conds []cond) {
		for _, r := range rules {
			own := conds
			if k := condsOf(r); k != nil {
				own = append(append([]cond(nil), conds...), k...)
			}
			switch {
			case r.section:
				c.checkDuplicates(r.fields)
				walk(r.fields, own)
				continue
			case r.group:
				c.checkConflicts(r.fields)
				continue
			case r.kind == fromCopy, r.line == 0:
				continue
			}
			key, appended, once := writeKey(r, gen)
			if key == "" || (appended && !once) {
				continue // a new element each time: nothing is overwritten
			}
			for _, w := range seen[key] {
				if r.dup != nil && r.dup == w.r {
					break // reported as a duplicate
				}
				if exclusive(w.conds, own) {
					continue
				}
				if appended {
					c.errf(r.line, r.target, "target: appends a second %s, which the schema allows once (first on line %d): write it in one rule", lastElement(r.tpath), w.r.line)
				} else {
					c.errf(r.line, r.target, "target: also written by the rule on line %d, so one value silently replaces the other: keep one rule (a fallback is default: or coalesce()), or give both when: conditions that exclude each other (when: x and when: 'not present(x)')", w.r.line)
				}
				break
			}
			seen[key] = append(seen[key], writer{r, own})
		}
	}
	walk(rules, nil)
}

// checkDuplicates reports a rule identical to an earlier one in the same
// list, notes aside.
func (c *compiler) checkDuplicates(rules []*rule) {
	first := map[string]*rule{}
	for _, r := range rules {
		if r.canon == "" {
			continue
		}
		if o, ok := first[r.canon]; ok {
			r.dup = o
			c.errf(r.line, r.target, "the same rule as line %d: delete one of them", o.line)
			continue
		}
		first[r.canon] = r
	}
}

// writeKey is what a rule writes, as a text equal for two rules exactly
// when they write the same node in the same item; appended says a step
// appends ([+]), once that the schema allows that element only once.
func writeKey(r *rule, gen map[string]int) (key string, appended, once bool) {
	if r.tself {
		return ".", false, false
	}
	var b strings.Builder
	for _, s := range r.tpath {
		b.WriteByte('/')
		if s.attr {
			b.WriteByte('@')
		}
		b.WriteString(s.shapeKey())
		p := b.String()
		if s.appendNew {
			// Two appends of an element the schema allows once is the
			// clash: they count as one element. Else an append is a new
			// element, and a rule below it writes into that one.
			appended, once = true, s.once
			if !s.once {
				gen[p]++
			}
		}
		if g := gen[p]; g > 0 {
			b.WriteString("#" + strconv.Itoa(g))
		}
	}
	return b.String(), appended, once
}

func lastElement(steps []tstep) string {
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].appendNew {
			return steps[i].name.tag
		}
	}
	return ""
}

// cond is one when: condition, as written with spaces removed.
type cond struct {
	path bool // a source path (present and not empty), else an expression
	text string
}

// condsOf is a rule's when: as the conditions that must all hold: an
// expression's top-level && (or and) parts, each compared apart.
func condsOf(r *rule) []cond {
	switch {
	case r.when != nil:
		return []cond{{path: true, text: r.whenText}}
	case r.whenExpr != nil:
		var out []cond
		for _, part := range conjuncts(r.whenExpr.text) {
			out = append(out, cond{text: strings.Join(strings.Fields(part), "")})
		}
		return out
	}
	return nil
}

// conjuncts splits an expression at its top-level && and " and ", outside
// parentheses and quotes.
func conjuncts(e string) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(e); i++ {
		ch := e[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == '(' || ch == '[':
			depth++
		case ch == ')' || ch == ']':
			depth--
		case depth == 0 && strings.HasPrefix(e[i:], "&&"):
			out = append(out, e[start:i])
			start, i = i+2, i+1
		case depth == 0 && strings.HasPrefix(e[i:], " and "):
			out = append(out, e[start:i])
			start, i = i+5, i+4
		}
	}
	return append(out, e[start:])
}

// exclusive reports whether some condition of a and some of b cannot both
// hold.
func exclusive(a, b []cond) bool {
	for _, x := range a {
		for _, y := range b {
			if excludes(x, y) || excludes(y, x) {
				return true
			}
		}
	}
	return false
}

var (
	negation  = regexp.MustCompile(`^(?:not|!)\((.*)\)$|^not(.*)$|^!(.*)$`)
	presentOf = regexp.MustCompile(`^present\((?:src\()?['"]?([^'"()]+)['"]?\)?\)$`)
	equality  = regexp.MustCompile(`^([A-Za-z_$][\w.$]*|src\('[^']*'\))==(?:"([^"]*)"|'([^']*)')$`)
)

func excludes(x, y cond) bool {
	// P against not present(P); E against not E.
	if m := negation.FindStringSubmatch(y.text); m != nil && !y.path {
		inner := m[1] + m[2] + m[3]
		if inner == x.text {
			return true
		}
		if p := presentOf.FindStringSubmatch(inner); p != nil && (x.path && p[1] == x.text || presentOf.FindStringSubmatch(x.text) != nil && presentOf.FindStringSubmatch(x.text)[1] == p[1]) {
			return true
		}
	}
	// a == "1" against a == "2".
	if mx, my := equality.FindStringSubmatch(x.text), equality.FindStringSubmatch(y.text); mx != nil && my != nil && !x.path && !y.path {
		return mx[1] == my[1] && mx[2]+mx[3] != my[2]+my[3]
	}
	return false
}

// canonical is a rule's YAML as one text, keys sorted and notes left out,
// so a rule pasted twice compares equal however it was laid out.
func canonical(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		var ps []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := deref(n.Content[i]).Value
			if k == "note" {
				continue
			}
			ps = append(ps, strconv.Quote(k)+":"+canonical(n.Content[i+1]))
		}
		// Keys in a rule are unique (checked), so sorting is enough to
		// ignore their order.
		slices.Sort(ps)
		return "{" + strings.Join(ps, ",") + "}"
	case yaml.SequenceNode:
		ps := make([]string, len(n.Content))
		for i, c := range n.Content {
			ps[i] = canonical(c)
		}
		return "[" + strings.Join(ps, ",") + "]"
	}
	return strconv.Quote(n.Value)
}
