package mapping

import (
	"fmt"
	"strconv"
	"strings"
)

// spath is a compiled source path. Paths are compiled once, at load, so
// Map never parses one.
type spath struct {
	text  string  // as written, for messages and explanations
	self  bool    // ".": the context item itself
	root  bool    // "$root…": read from the document root, not the current item
	keys  []jstep // json
	steps []xstep // xml elements
	attr  *xname  // xml: the final attribute
}

// jstep is one key of a JSON source path, optionally filtered.
type jstep struct {
	key  string
	pred *pred
}

// xstep is one element step of an XML source path, optionally filtered.
type xstep struct {
	xname
	pred *pred
}

// pred selects among the nodes one step reaches: by presence ([email]),
// by comparing a relative path's value with a literal ([tipo='exportador'],
// [tipo!='x']), by several such tests joined with and / or
// ([tipo='a' and pais!='CL' or prioridad]; and binds tighter), and by
// 1-based position ([2]). A step may carry several predicates, all of
// which must hold ([tipo='a'][email]); a position is counted among the
// candidates the other predicates kept, so it comes last ([tipo='a'][2]).
// Predicates let a rule pick one element of a list into a fixed field,
// which plain paths cannot.
type pred struct {
	pos   int         // [N]; 0 when not positional
	tests []predTests // every one must hold
}

// predTests is one [predicate] that is not a position: it holds when all
// the comparisons of any of its alternatives do (or of ands).
type predTests [][]*predCmp

// predCmp is one comparison: [path], [path='x'] or [path!='x'].
type predCmp struct {
	path *spath // the compared path, relative to the candidate
	op   string // "" (present and not empty), "=" or "!="
	lit  string
}

// holds reports whether the predicate's tests hold, reading each compared
// path with value.
func (pr *pred) holds(value func(*spath) (string, bool)) bool {
	for _, t := range pr.tests {
		ok := false
		for _, and := range t {
			all := true
			for _, c := range and {
				s, present := value(c.path)
				if !predHolds(c, s, present) {
					all = false
					break
				}
			}
			if all {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// rootVar prefixes a source path read from the document root (JSON
// "$root.a.b", XML "$root/a/b"). It is the one way out of a group item:
// unlike "../" it means the same thing however deeply groups nest and
// whichever parent an item was gathered from.
const rootVar = "$root"

// sourcePath compiles a source path: JSON keys joined by ".", or XML
// qualified names joined by "/" with a final "@attr"; each step may carry
// one predicate; "$root" first reads from the document root.
func (c *compiler) sourcePath(p string) (*spath, error) {
	return c.parseSource(p, true)
}

func (c *compiler) parseSource(p string, allowRoot bool) (*spath, error) {
	if p == "." {
		return &spath{text: p, self: true}, nil
	}
	if p == "" {
		return nil, fmt.Errorf("empty path")
	}
	sep := byte('.')
	if c.src.format == "xml" {
		sep = '/'
	}
	parts, err := splitPath(p, sep)
	if err != nil {
		return nil, err
	}
	sp := &spath{text: p}
	if strings.HasPrefix(parts[0], "$") {
		switch {
		case parts[0] == "$index":
			return nil, fmt.Errorf("%q: $index is a position, usable only as a field's source or in an expression", p)
		case parts[0] != rootVar:
			return nil, fmt.Errorf("%q: unknown variable %s (the variables are $root, which starts a path from the document root, and $index)", p, parts[0])
		case !allowRoot:
			return nil, fmt.Errorf("%q: $root cannot be used inside a predicate", p)
		case len(parts) == 1:
			return nil, fmt.Errorf("%q: name a path under $root (%s%c…)", p, rootVar, sep)
		}
		sp.root = true
		parts = parts[1:]
	}
	if c.src.format == "json" {
		for _, part := range parts {
			name, pr, err := c.splitPred(part, p)
			if err != nil {
				return nil, err
			}
			if name == "" {
				return nil, fmt.Errorf("empty key in %q", p)
			}
			sp.keys = append(sp.keys, jstep{key: name, pred: pr})
		}
		return sp, nil
	}
	for i, st := range parts {
		if i == 0 && st == "." && len(parts) > 1 && !sp.root {
			continue // "./a" is "a"
		}
		if st == ".." {
			return nil, fmt.Errorf("%q: \"..\" is not supported; read outside the current item with %s/…", p, rootVar)
		}
		if strings.HasPrefix(st, "@") {
			if i != len(parts)-1 {
				return nil, fmt.Errorf("attribute %q must be the last step of %q", st, p)
			}
			ns := c.src.ns
			if !strings.Contains(st, ":") {
				ns = nil // unprefixed attributes are in no namespace
			}
			q, err := parseQName(st[1:], ns)
			if err != nil {
				return nil, err
			}
			sp.attr = &q
			continue
		}
		name, pr, err := c.splitPred(st, p)
		if err != nil {
			return nil, err
		}
		// Unprefixed steps match elements in no namespace: the source map
		// has no "" entry.
		q, err := parseQName(name, c.src.ns)
		if err != nil {
			return nil, err
		}
		sp.steps = append(sp.steps, xstep{xname: q, pred: pr})
	}
	if len(sp.steps) == 0 && sp.attr == nil {
		return nil, fmt.Errorf("empty path %q", p)
	}
	return sp, nil
}

// splitPath splits p at sep, except inside [predicates] and their quoted
// literals, so [tipo='a.b'] stays one step.
func splitPath(p string, sep byte) ([]string, error) {
	var parts []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(p); i++ {
		ch := p[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case depth > 0 && (ch == '\'' || ch == '"'):
			quote = ch
		case ch == '[':
			depth++
		case ch == ']':
			if depth == 0 {
				return nil, fmt.Errorf("unbalanced ] in %q", p)
			}
			depth--
		case ch == sep && depth == 0:
			parts = append(parts, p[start:i])
			start = i + 1
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", p)
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced [ in %q", p)
	}
	return append(parts, p[start:]), nil
}

// splitPred separates "name[predicate]…" into the name and the compiled
// predicate.
func (c *compiler) splitPred(step, whole string) (string, *pred, error) {
	i := strings.IndexByte(step, '[')
	if i < 0 {
		return step, nil, nil
	}
	if !strings.HasSuffix(step, "]") {
		return "", nil, fmt.Errorf("%q: text after the predicate in %q", step, whole)
	}
	name := step[:i]
	if name == "" {
		return "", nil, fmt.Errorf("%q: a predicate needs a name before it in %q", step, whole)
	}
	bodies, err := predBodies(step[i:])
	if err != nil {
		return "", nil, fmt.Errorf("%q: %v in %q", step, err, whole)
	}
	pr := &pred{}
	for k, body := range bodies {
		body = strings.TrimSpace(body)
		if body == "" {
			return "", nil, fmt.Errorf("%q: empty predicate in %q", step, whole)
		}
		if n, err := strconv.Atoi(body); err == nil || isDigits(body) {
			if err != nil || n < 1 {
				return "", nil, fmt.Errorf("%q: a position is 1 or more in %q", step, whole)
			}
			if k != len(bodies)-1 {
				return "", nil, fmt.Errorf("%q: a position counts the candidates the other predicates kept, so it comes last in %q", step, whole)
			}
			pr.pos = n
			continue
		}
		var t predTests
		for _, alt := range splitWord(body, "or") {
			var and []*predCmp
			for _, atom := range splitWord(alt, "and") {
				cmp, err := c.predCmp(strings.TrimSpace(atom), step, whole)
				if err != nil {
					return "", nil, err
				}
				and = append(and, cmp)
			}
			t = append(t, and)
		}
		pr.tests = append(pr.tests, t)
	}
	return name, pr, nil
}

// predBodies splits "[a][b]" into "a" and "b".
func predBodies(s string) ([]string, error) {
	var out []string
	for s != "" {
		if s[0] != '[' {
			return nil, fmt.Errorf("text between predicates")
		}
		end := -1
		var quote byte
		for i := 1; i < len(s) && end < 0; i++ {
			switch ch := s[i]; {
			case quote != 0:
				if ch == quote {
					quote = 0
				}
			case ch == '\'' || ch == '"':
				quote = ch
			case ch == '[':
				return nil, fmt.Errorf("predicates do not nest")
			case ch == ']':
				end = i
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("unbalanced [")
		}
		out = append(out, s[1:end])
		s = s[end+1:]
	}
	return out, nil
}

// splitWord splits s at the word w (" and ", " or ") outside quotes.
func splitWord(s, w string) []string {
	var out []string
	var quote byte
	start := 0
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == ' ' && strings.HasPrefix(s[i+1:], w+" "):
			out = append(out, s[start:i])
			start = i + len(w) + 2
			i = start - 1
		}
	}
	return append(out, s[start:])
}

// predCmp compiles one comparison of a predicate: path, path='x' or
// path!='x'.
func (c *compiler) predCmp(body, step, whole string) (*predCmp, error) {
	cmp := &predCmp{}
	left := body
	if j := indexOutsideQuotes(body, '='); j >= 0 {
		left, cmp.op = body[:j], "="
		if j > 0 && body[j-1] == '!' {
			left, cmp.op = body[:j-1], "!="
		}
		lit := strings.TrimSpace(body[j+1:])
		if len(lit) < 2 || (lit[0] != '\'' && lit[0] != '"') || lit[len(lit)-1] != lit[0] {
			return nil, fmt.Errorf("%q: compare with a quoted text, as in [tipo='exportador'], in %q", step, whole)
		}
		cmp.lit = lit[1 : len(lit)-1]
		if strings.ContainsRune(cmp.lit, rune(lit[0])) {
			return nil, fmt.Errorf("%q: the quoted text contains its own quote in %q", step, whole)
		}
	}
	left = strings.TrimSpace(left)
	if left == "" {
		return nil, fmt.Errorf("%q: the predicate names no path in %q", step, whole)
	}
	sp, err := c.parseSource(left, false)
	if err != nil {
		return nil, fmt.Errorf("predicate %s: %v", step[strings.IndexByte(step, '['):], err)
	}
	cmp.path = sp
	return cmp, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return s[i] == '-' && i == 0 && len(s) > 1
		}
	}
	return s != ""
}

func indexOutsideQuotes(s string, ch byte) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		switch {
		case quote != 0:
			if s[i] == quote {
				quote = 0
			}
		case s[i] == '\'' || s[i] == '"':
			quote = s[i]
		case s[i] == ch:
			return i
		}
	}
	return -1
}

// isPathLike tells a when: written as a source path (present and not
// empty, the original meaning) from one written as an expression: a path
// has only names, separators and [predicates]; anything else — a space, an
// operator, a parenthesis, a quote outside a predicate — makes it an
// expression.
func isPathLike(s string) bool {
	depth := 0
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case depth > 0:
			switch r {
			case '\'', '"':
				quote = r
			case '[':
				depth++
			case ']':
				depth--
			}
		case r == '[':
			depth++
		case r == '_' || r == '-' || r == '.' || r == ':' || r == '/' || r == '@' || r == '$':
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r > 0x7f && !isSpaceRune(r):
		default:
			return false
		}
	}
	return true
}

func isSpaceRune(r rune) bool {
	return r == 0x85 || r == 0xA0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000
}
