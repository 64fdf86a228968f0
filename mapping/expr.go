package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Expressions (expr: and when:) use expr-lang/expr, compiled once at load.
//
// They are sandboxed by construction: the environment is a map of plain
// data — strings, booleans, lists and maps, never a Go value with methods —
// filled per evaluation with only what the expression names, plus the
// helper functions below. $env (the whole environment) is refused, and the
// builtins that read the clock or can allocate without bound are disabled,
// so the same payload always maps to the same document.

// exprProg is a compiled expression and the values it reads.
type exprProg struct {
	text    string
	prog    *vm.Program
	fetches []fetch
}

type fetchKind int

const (
	fetchPath  fetchKind = iota // a name or src('path'): the first value at a source path
	fetchAll                    // srcAll('path'): every value at a source path
	fetchRoot                   // $root (JSON): the whole document
	fetchIndex                  // $index: the position in the group
	fetchItem                   // $item: the current item itself
)

// fetch is one value an expression reads; key is its name in the
// environment.
type fetch struct {
	key  string
	kind fetchKind
	path *spath
}

// Helper functions, with their types so that a wrong number of arguments
// is a load error.
var exprHelpers = append([]string{"num", "fixed", "present", "coalesce", "lookup"}, decimalHelpers...)

// Builtins that would make a mapping depend on the clock or the host, or
// allocate without bound.
var disabledBuiltins = []string{"now", "date", "duration", "timezone", "repeat"}

// compileExpr compiles an expression. inGroup says whether $index means
// anything.
func (c *compiler) compileExpr(text string, inGroup bool) (*exprProg, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("is empty")
	}
	v := &exprVisitor{c: c, idents: map[string]bool{}, lets: map[string]bool{}}
	opts := []expr.Option{
		expr.Env(map[string]any{}),
		expr.AllowUndefinedVariables(),
		expr.Patch(v),
		expr.Function("num", func(p ...any) (any, error) { return toNumber(p[0]) }, new(func(any) float64)),
		expr.Function("fixed", exprFixed, new(func(any, int) string)),
		expr.Function("present", func(p ...any) (any, error) { return present(p[0]), nil }, new(func(any) bool)),
		expr.Function("coalesce", func(p ...any) (any, error) {
			for _, x := range p {
				if present(x) {
					return x, nil
				}
			}
			return nil, nil
		}, new(func(...any) any)),
		expr.Function("lookup", c.exprLookup, new(func(string, any) string)),
		expr.Function("dmul", exprDmul, new(func(any, any) string)),
		expr.Function("dadd", exprDadd, new(func(any, any) string)),
		expr.Function("dsub", exprDsub, new(func(any, any) string)),
		expr.Function("ddiv", exprDdiv, new(func(any, any) string), new(func(any, any, int) string)),
	}
	for _, b := range disabledBuiltins {
		opts = append(opts, expr.DisableBuiltin(b))
	}
	prog, err := expr.Compile(text, opts...)
	if v.err != nil {
		return nil, v.err
	}
	if err != nil {
		return nil, exprError(err)
	}
	e := &exprProg{text: text, prog: prog, fetches: v.fetches}
	names := make([]string, 0, len(v.idents))
	for name := range v.idents {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic errors
	for _, name := range names {
		if v.lets[name] || name == "src" || name == "srcAll" || contains(exprHelpers, name) {
			continue
		}
		switch {
		case name == "$env":
			return nil, fmt.Errorf("$env is not available; name the values you need")
		case name == rootVar:
			if c.src.format != "json" {
				return nil, fmt.Errorf("$root is the JSON document; in an XML source read a path from the root with src('$root/…')")
			}
			e.fetches = append(e.fetches, fetch{key: name, kind: fetchRoot})
		case name == "$index":
			if !inGroup {
				return nil, fmt.Errorf("$index is a position in a group, and this rule is not in one")
			}
			e.fetches = append(e.fetches, fetch{key: name, kind: fetchIndex})
		case name == "$item":
			e.fetches = append(e.fetches, fetch{key: name, kind: fetchItem, path: &spath{text: ".", self: true}})
		case strings.HasPrefix(name, "$"):
			return nil, fmt.Errorf("unknown variable %s (known: $root, $index, $item)", name)
		default:
			// A bare name is a field of the current item: a JSON key, or
			// an XML child element in no namespace.
			p, err := c.parseSource(name, false)
			if err != nil {
				return nil, fmt.Errorf("%s: %v (read other paths with src('…'))", name, err)
			}
			e.fetches = append(e.fetches, fetch{key: name, kind: fetchPath, path: p})
		}
	}
	return e, nil
}

// exprLineError is an expression's compile error on one line, with the
// line of the expression it points at (for multi-line expressions).
type exprLineError struct {
	line int
	msg  string
}

func (e *exprLineError) Error() string { return e.msg }

// exprError turns expr's multi-line error (message, position, snippet)
// into one line.
func exprError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return &exprLineError{line: max(fe.Line, 1), msg: fmt.Sprintf("%s (column %d)", fe.Message, fe.Column+1)}
	}
	return err
}

// exprVisitor collects the names an expression reads and turns each
// src('path') / srcAll('path') into a variable whose value is fetched
// through the compiled path.
type exprVisitor struct {
	c       *compiler
	idents  map[string]bool
	lets    map[string]bool
	fetches []fetch
	err     error
}

func (v *exprVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		v.idents[n.Value] = true
	case *ast.VariableDeclaratorNode:
		v.lets[n.Name] = true
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		switch id.Value {
		default:
			if v.lets[id.Value] {
				return
			}
			if contains(disabledBuiltins, id.Value) {
				v.fail(fmt.Errorf("%s() is not available: a mapping must give the same document for the same payload, whatever the clock or the host", id.Value))
				return
			}
			if !contains(exprHelpers, id.Value) {
				v.fail(fmt.Errorf("unknown function %s() (the helpers are %s, src and srcAll, besides expr's builtins)", id.Value, strings.Join(exprHelpers, ", ")))
			}
		case "src", "srcAll":
			if len(n.Arguments) != 1 {
				v.fail(fmt.Errorf("%s() takes one path in quotes", id.Value))
				return
			}
			s, ok := n.Arguments[0].(*ast.StringNode)
			if !ok {
				v.fail(fmt.Errorf("%s() takes a path in quotes, compiled at load, not a computed value", id.Value))
				return
			}
			p, err := v.c.sourcePath(s.Value)
			if err != nil {
				v.fail(fmt.Errorf("%s(%q): %v", id.Value, s.Value, err))
				return
			}
			kind := fetchPath
			if id.Value == "srcAll" {
				kind = fetchAll
			}
			// The key cannot be written as a name in an expression.
			key := "\x00" + id.Value + "\x00" + s.Value
			v.fetches = append(v.fetches, fetch{key: key, kind: kind, path: p})
			ast.Patch(node, &ast.IdentifierNode{Value: key})
		case "lookup":
			if len(n.Arguments) == 2 {
				s, ok := n.Arguments[0].(*ast.StringNode)
				switch {
				case !ok:
					v.fail(fmt.Errorf("lookup() takes a table name in quotes first"))
				case !v.c.tableDeclared(s.Value):
					v.fail(fmt.Errorf("lookup(%q, …): table %q is not declared under tables", s.Value, s.Value))
				}
			}
		}
	}
}

func (v *exprVisitor) fail(err error) {
	if v.err == nil {
		v.err = err
	}
}

func (c *compiler) tableDeclared(name string) bool {
	_, ok := c.tables[name]
	return ok
}

// exprLookup is lookup(table, value): the table's entry, or an error
// naming the value and the table.
func (c *compiler) exprLookup(p ...any) (any, error) {
	name, _ := p[0].(string)
	t := c.tables[name]
	if t == nil {
		return nil, fmt.Errorf("table %q is not declared", name)
	}
	s, err := plainText(p[1])
	if err != nil {
		return nil, err
	}
	code, ok := t.fwd[s]
	if !ok {
		return nil, fmt.Errorf("%w: %q is not in table %s", ErrUnknownCode, s, name)
	}
	return code, nil
}

// isDecimal accepts a plain decimal number: an optional sign, digits, an
// optional "." and digits, an optional exponent. Not "0x10", "NaN", "1,5"
// or "1_000", which strconv would read or misread.
func isDecimal(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	intPart, frac, hasFrac := strings.Cut(mant, ".")
	if intPart == "" || !allDigits(intPart) || (hasFrac && (frac == "" || !allDigits(frac))) {
		return false
	}
	if hasExp {
		exp = strings.TrimLeft(exp, "+-")
		return exp != "" && allDigits(exp) && len(exp) <= 3
	}
	return true
}

// toNumber reads a number from text (source values are text: "1250.50")
// or passes a number through.
func toNumber(x any) (float64, error) {
	switch v := x.(type) {
	case float64:
		return v, nil
	case int:
		return float64(v), nil
	case string:
		s := strings.TrimSpace(v)
		if isDecimal(s) {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return f, nil
			}
		}
		return 0, fmt.Errorf("%w: %q is not a number", ErrBadValue, v)
	case nil:
		return 0, fmt.Errorf("%w: no value to read as a number", ErrBadValue)
	}
	if f, ok := toFloat(x); ok {
		return f, nil
	}
	return 0, fmt.Errorf("%w: a %T is not a number", ErrBadValue, x)
}

func toFloat(x any) (float64, bool) {
	switch v := x.(type) {
	case int8:
		return float64(v), true
	case int16:
		return float64(v), true
	case int32:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint:
		return float64(v), true
	case uint8:
		return float64(v), true
	case uint16:
		return float64(v), true
	case uint32:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float32:
		return float64(v), true
	}
	return 0, false
}

// exprFixed is fixed(x, n): x with exactly n decimals, rounded half away
// from zero on its decimal digits (so fixed("1.005", 2) is "1.01", not the
// binary float's "1.00").
func exprFixed(p ...any) (any, error) {
	n, ok := p[1].(int)
	if !ok || n < 0 || n > 18 {
		return nil, fmt.Errorf("%w: fixed(x, n): n must be 0 to 18", ErrBadValue)
	}
	var text string
	switch v := p[0].(type) {
	case string:
		if _, err := toNumber(v); err != nil {
			return nil, err
		}
		text = strings.TrimPrefix(strings.TrimSpace(v), "+")
	default:
		f, err := toNumber(v)
		if err != nil {
			return nil, err
		}
		text = strconv.FormatFloat(f, 'f', -1, 64)
	}
	if strings.ContainsAny(text, "eE") {
		f, _ := strconv.ParseFloat(text, 64)
		text = strconv.FormatFloat(f, 'f', -1, 64)
	}
	f := numFormat{decimal: ".", decimals: n}
	neg, intPart, frac, ok := f.parse(text)
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a number", ErrBadValue, text)
	}
	return f.format(neg, intPart, frac), nil
}

// present reports whether a value is there: not missing, not empty text,
// not an empty list or map.
func present(x any) bool {
	switch v := x.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

// plainText turns a plain value into text: what an expression's result
// or a lookup argument becomes.
func plainText(x any) (string, error) {
	switch v := x.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int:
		return strconv.Itoa(v), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", fmt.Errorf("%w: the result is not a finite number", ErrBadValue)
		}
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case []any:
		return "", fmt.Errorf("%w: the result is a list; join it (join(x, \", \")) or pick one (x[0])", ErrBadValue)
	case map[string]any:
		return "", fmt.Errorf("%w: the result is an object; pick a field of it", ErrBadValue)
	}
	if f, ok := toFloat(x); ok {
		return plainText(f)
	}
	return "", fmt.Errorf("%w: the result is a %T, not a plain value", ErrBadValue, x)
}

// truthy is a condition's value: true, or any value that is present.
func truthy(x any) bool {
	if b, ok := x.(bool); ok {
		return b
	}
	return present(x)
}

// plainJSON replaces json.Number by its text throughout a decoded
// document, in place, so expressions see only plain data (json.Number has
// methods) and numbers keep their exact digits.
func plainJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			switch x.(type) {
			case map[string]any, []any:
				plainJSON(x)
			default:
				if n, ok := x.(json.Number); ok {
					t[k] = string(n)
				}
			}
		}
	case []any:
		for i, x := range t {
			switch x.(type) {
			case map[string]any, []any:
				plainJSON(x)
			default:
				if n, ok := x.(json.Number); ok {
					t[i] = string(n)
				}
			}
		}
	default:
		if n, ok := v.(json.Number); ok {
			return string(n)
		}
	}
	return v
}

// evalExpr runs a compiled expression in the current context.
func (m *mapper) evalExpr(e *exprProg, src node, sc *scope) (any, error) {
	if m.env == nil {
		m.env = make(map[string]any, 8)
		m.vm = &vm.VM{}
	}
	for i := range e.fetches {
		f := &e.fetches[i]
		var v any
		var err error
		switch f.kind {
		case fetchPath, fetchItem:
			v, err = m.raw(src, f.path)
		case fetchAll:
			v, err = m.rawAll(src, f.path)
		case fetchRoot:
			if j, ok := m.root.(jsonNode); ok {
				v = j.v
			}
		case fetchIndex:
			v = sc.position()
		}
		if err != nil {
			return nil, err
		}
		m.env[f.key] = v
	}
	out, err := m.vm.Run(e.prog, m.env)
	if err != nil {
		sentinel := ErrBadValue
		if errors.Is(err, ErrUnknownCode) {
			sentinel = ErrUnknownCode
		}
		msg := err.Error()
		var fe *file.Error
		if errors.As(err, &fe) {
			msg = fe.Message
		}
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, sentinel.Error()+": "), ErrBadValue.Error()+": ")
		return nil, fmt.Errorf("%w: expression: %s", sentinel, msg)
	}
	return out, nil
}
