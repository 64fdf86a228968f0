package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/xmlsafe"
)

// Unmatched is a source path that gave no value in any of the payloads a
// rule file was tried on: most often a typo in an optional path, which
// produces nothing rather than an error and so only shows as a missing
// element in some document later.
type Unmatched struct {
	File    string
	Line    int
	Rule    string
	Path    string   // the source path as written
	Suggest []string // keys or element names in the payloads close to the missing name
	For     string   // the missing name, when it is not the path's last step
}

func (u Unmatched) String() string {
	s := fmt.Sprintf("%s:%d: rule %s: source %s matches nothing in the example payloads", u.File, u.Line, u.Rule, u.Path)
	if len(u.Suggest) > 0 {
		s += "; did you mean `" + strings.Join(u.Suggest, "` or `") + "`"
		if u.For != "" {
			s += " for `" + u.For + "`"
		}
		s += "?"
	}
	return s
}

// Unmatched maps each payload (errors count as no value and are not
// reported here) and lists, in rule order, the source, concat, group and
// when: paths that were read and that none of them had a value at, each with the
// names in the payloads closest to the path's last step. Paths inside
// expressions (src()) are not followed.
func (r *Rules) Unmatched(payloads [][]byte) []Unmatched {
	hits := map[*spath]bool{}
	var names []string
	for _, in := range payloads {
		_, _ = r.mapInput(in, runMode{hits: hits})
		names = append(names, payloadNames(in, r.source.format)...)
	}
	return r.unmatched(hits, names)
}

// UnmatchedElements is Unmatched for XML sources already parsed, as
// MapElement takes them (the signed part of an inbound document).
func (r *Rules) UnmatchedElements(roots []*etree.Element) []Unmatched {
	hits := map[*spath]bool{}
	var names []string
	for _, root := range roots {
		_, _ = r.mapElement(root, runMode{hits: hits})
		names = append(names, elementNames(root, nil)...)
	}
	return r.unmatched(hits, names)
}

func (r *Rules) unmatched(hits map[*spath]bool, all []string) []Unmatched {
	var names []string
	seen := map[string]bool{}
	for _, n := range all {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	var out []Unmatched
	var walk func(rules []*rule)
	report := func(rl *rule, p *spath) {
		// A path never read (its rule's condition never held, its group
		// had no items) is not reported: only what was looked for and
		// not found, or the when: or group path that kept it from running.
		if hit, asked := hits[p]; p == nil || p.self || hit || !asked {
			return
		}
		step, last := missingStep(p, seen)
		u := Unmatched{File: r.file, Line: rl.line, Rule: rl.target, Path: p.text, Suggest: closest(step, names)}
		if !last {
			u.For = step
		}
		out = append(out, u)
	}
	walk = func(rules []*rule) {
		for _, rl := range rules {
			report(rl, rl.when)
			switch {
			case rl.group:
				report(rl, rl.spath)
				walk(rl.fields)
			case rl.section:
				walk(rl.fields)
			case rl.kind == fromSource:
				report(rl, rl.spath)
			case rl.kind == fromConcat:
				for _, p := range rl.concat {
					report(rl, p)
				}
			}
		}
	}
	walk(r.fields)
	walk(r.locals)
	return out
}

// missingStep is the first name along a path that no payload has at all
// (last: it is the path's last step) — where a typo is — or "" when every
// name is there and only their combination is not.
func missingStep(p *spath, have map[string]bool) (name string, last bool) {
	var names []string
	for _, k := range p.keys {
		names = append(names, k.key)
	}
	for _, st := range p.steps {
		names = append(names, st.local)
	}
	if p.attr != nil {
		names = append(names, p.attr.local)
	}
	for i, n := range names {
		if !have[n] {
			return n, i == len(names)-1
		}
	}
	return "", false
}

// payloadNames lists every key (JSON) or element and attribute local name
// (XML) in a payload.
func payloadNames(in []byte, format string) []string {
	var out []string
	if format == "xml" {
		if utf8, err := xmlsafe.ToUTF8(in); err == nil {
			in = utf8
		}
		doc, err := xmlsafe.Parse(in, xmlsafe.Limits{})
		if err != nil {
			return nil
		}
		if doc.Root() != nil {
			return elementNames(doc.Root(), nil)
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(in))
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				out = append(out, k)
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	slices.Sort(out) // map order must not pick the suggestion
	return out
}

// closest returns up to two names nearest to want by edit distance (case
// ignored), close enough to be a typo of it.
func closest(want string, names []string) []string {
	if want == "" {
		return nil
	}
	limit := max(2, len(want)/3)
	best, out := limit+1, []string(nil)
	for _, n := range names {
		if n == want {
			continue
		}
		d := editDistance(strings.ToLower(want), strings.ToLower(n))
		switch {
		case d < best:
			best, out = d, []string{n}
		case d == best && len(out) < 2:
			out = append(out, n)
		}
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, by runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// elementNames lists the local names of e, its attributes and its
// descendants.
func elementNames(e *etree.Element, out []string) []string {
	out = append(out, e.Tag)
	for _, a := range e.Attr {
		out = append(out, a.Key)
	}
	for _, c := range e.ChildElements() {
		out = elementNames(c, out)
	}
	return out
}
