package mapping

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fakeSchema is a TargetChecker over a fixed list of paths (written with
// the prefix x: for urn:x, as Clark names are unreadable in a table); the
// real one is schema.Targets.
type fakeSchema struct {
	known    map[string]bool
	required []string
	checked  []string
}

func newFakeSchema(known []string, required ...string) *fakeSchema {
	s := &fakeSchema{known: map[string]bool{}, required: required}
	for _, k := range known {
		s.known[toClark(k)] = true
	}
	for i, r := range s.required {
		s.required[i] = toClark(r)
	}
	return s
}

func toClark(p string) string { return strings.ReplaceAll(p, "x:", "{urn:x}") }

func (s *fakeSchema) CheckTarget(path string) error {
	s.checked = append(s.checked, path)
	if !s.known[path] {
		return errors.New("not in the schema (" + path[strings.LastIndex(path, "/")+1:] + ")")
	}
	return nil
}

func (s *fakeSchema) Required() []string { return s.required }

func TestLoadWith_TargetChecker(t *testing.T) {
	schema := []string{"x:R/x:Doc", "x:R/x:Doc/x:ID", "x:R/x:Doc/x:Note", "x:R/x:Doc/x:Note/@lang",
		"x:R/x:Lines", "x:R/x:Lines/x:Line", "x:R/x:Lines/x:Line/x:Seq", "x:R/x:Lines/x:Line/x:Qty", "x:R/x:Lines/x:Line/x:Pkg", "x:R/x:Lines/x:Line/x:Pkg/x:N",
		"x:R/x:Opt", "x:R/x:Opt/x:Must"}
	good := jsonToXML + `fields:
  - {target: x:Doc/x:ID, source: id}
  - {target: "x:Doc/x:Note[+]", source: n}
  - {target: x:Doc/x:Note/@lang, value: es}
  - group: l
    target: x:Lines/x:Line
    fields:
      - {target: x:Seq, source: $index}
      - {target: x:Qty, source: q}
      - {group: p, target: x:Pkg, fields: [{target: x:N, source: n}]}
`
	tests := []struct {
		name, body string
		required   []string
		want       []string // nil: loads
	}{
		{"every target known, every required one written", good,
			[]string{"x:R/x:Doc", "x:R/x:Doc/x:ID", "x:R/x:Lines/x:Line/x:Seq", "x:R/x:Lines/x:Line/x:Pkg/x:N", "x:R/x:Opt/x:Must"}, nil},
		{"a target the schema does not have", good + "  - {target: x:Doc/x:Bogus, value: v}\n  - {target: x:Doc/x:Note/@bogus, value: v}\n", nil,
			[]string{"rules.yaml:15: rule x:Doc/x:Bogus: target: x:R/x:Doc/x:Bogus: not in the schema", "rules.yaml:16: rule x:Doc/x:Note/@bogus: target: x:R/x:Doc/x:Note/@bogus: not in the schema"}},
		{"inside groups, with the group's path", jsonToXML + "fields:\n  - group: l\n    target: x:Lines/x:Line\n    fields:\n      - {target: x:Weight, source: w}\n", nil,
			[]string{"rules.yaml:9: rule x:Weight: target: x:R/x:Lines/x:Line/x:Weight: not in the schema"}},
		{"a required target at the top level", good, []string{"x:R/x:Header"},
			[]string{"rules.yaml:5: target x:R/x:Header is required by the schema and no rule writes it"}},
		{"a required target in a group, reported at the group", good, []string{"x:R/x:Lines/x:Line/x:Origin", "x:R/x:Lines/x:Line/x:Pkg/x:Level"},
			[]string{"rules.yaml:9: rule x:Lines/x:Line: target x:R/x:Lines/x:Line/x:Origin is required by the schema and no rule writes it",
				"rules.yaml:14: rule x:Pkg: target x:R/x:Lines/x:Line/x:Pkg/x:Level is required by the schema and no rule writes it"}},
		{"a required attribute of a field in a group, reported at the group", good, []string{"x:R/x:Lines/x:Line/x:Qty/@unit"},
			[]string{"rules.yaml:9: rule x:Lines/x:Line: target x:R/x:Lines/x:Line/x:Qty/@unit is required by the schema and no rule writes it"}},
		{"a required attribute", good, []string{"x:R/x:Doc/x:ID/@scheme"},
			[]string{"rules.yaml:5: target x:R/x:Doc/x:ID/@scheme is required by the schema"}},
		{"a section's rules, checked with its target", jsonToXML + "fields:\n  - target: x:Doc\n    when: id\n    fields:\n      - {target: x:ID, source: id}\n      - {target: x:Bogus, source: b}\n",
			[]string{"x:R/x:Doc/x:ID", "x:R/x:Doc/x:Note"},
			[]string{"rules.yaml:10: rule x:Doc/x:Bogus: target: x:R/x:Doc/x:Bogus: not in the schema",
				"rules.yaml:5: target x:R/x:Doc/x:Note is required by the schema and no rule writes it"}},
		{"a copy covers what the schema requires under it", jsonToXML + "fields:\n  - {target: x:Doc, copy: d, embedded: xml}\n  - {target: x:Opt, copy: d, embedded: xml}\n",
			[]string{"x:R/x:Doc/x:ID", "x:R/x:Doc/x:Note/@lang", "x:R/x:Opt/x:Must", "x:R/x:Lines"},
			[]string{"rules.yaml:5: target x:R/x:Lines is required by the schema and no rule writes it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeSchema(schema, tt.required...)
			r, err := LoadWith(inline(tt.body), "rules.yaml", Options{Targets: fs})
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if r == nil || len(fs.checked) == 0 {
					t.Fatal("the checker was not asked")
				}
				return
			}
			var res RuleErrors
			if !errors.As(err, &res) {
				t.Fatalf("err %T %v, want RuleErrors", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			if len(res) != len(tt.want) {
				t.Errorf("%d errors, want %d:\n%v", len(res), len(tt.want), err)
			}
		})
	}

	t.Run("paths as the checker sees them", func(t *testing.T) {
		fs := newFakeSchema(nil)
		LoadWith(inline(good), "rules.yaml", Options{Targets: fs})
		want := toClark("x:R/x:Doc/x:ID x:R/x:Doc/x:Note x:R/x:Doc/x:Note/@lang x:R/x:Lines/x:Line x:R/x:Lines/x:Line/x:Seq x:R/x:Lines/x:Line/x:Qty x:R/x:Lines/x:Line/x:Pkg x:R/x:Lines/x:Line/x:Pkg/x:N")
		if got := strings.Join(fs.checked, " "); got != want {
			t.Errorf("checked\n %s\nwant\n %s", got, want)
		}
		fs = newFakeSchema(nil)
		LoadWith(inline(jsonToJSON+"fields:\n  - {target: a.b, value: v}\n  - {group: l, target: out.items, fields: [{target: v, source: v}, {target: w.z, source: w}]}\n  - {group: t, target: tags, fields: [{target: ., source: .}]}\n"), "rules.yaml", Options{Targets: fs})
		want = "a.b out.items out.items.v out.items.w.z tags tags"
		if got := strings.Join(fs.checked, " "); got != want {
			t.Errorf("checked\n %s\nwant\n %s", got, want)
		}
	})

	t.Run("the rules' own errors come first, in file order with the schema's", func(t *testing.T) {
		fs := newFakeSchema(schema)
		_, err := LoadWith(inline(jsonToXML+"fields:\n  - {target: x:Nope, value: v}\n  - {target: x:Doc/x:ID, source: a, case: title}\n"), "rules.yaml", Options{Targets: fs})
		if err == nil || !strings.HasPrefix(err.Error(), "rules.yaml:6: rule x:Nope: target: x:R/x:Nope: not in the schema (x:Nope)\nrules.yaml:7: rule x:Doc/x:ID: case:") {
			t.Errorf("got %v", err)
		}
	})

	t.Run("LoadFileWith", func(t *testing.T) {
		fs := newFakeSchema(nil)
		_, err := LoadFileWith("testdata/orders.outbound.yaml", Options{Targets: fs})
		if err == nil || !strings.Contains(err.Error(), "orders.outbound.yaml:16: rule o:Header/c:ID: target: o:Order/o:Header/c:ID: not in the schema") {
			t.Errorf("got %v", err)
		}
	})
}

func ExampleTargetChecker() {
	schema := newFakeSchema([]string{"x:R/x:A"}, "x:R/x:B")
	_, err := LoadWith(inline(jsonToXML+"fields:\n  - {target: x:A, source: a}\n  - {target: x:C, source: c}\n"), "rules.yaml", Options{Targets: schema})
	fmt.Println(err)
	// Output:
	// rules.yaml:5: target x:R/x:B is required by the schema and no rule writes it
	// rules.yaml:7: rule x:C: target: x:R/x:C: not in the schema (x:C)
}

// XML source paths — values, groups (their fields relative to them),
// $root paths, concatenations and when: conditions — are checked against
// the source document's schema from SourceRoot.
func TestLoadWith_SourceChecker(t *testing.T) {
	schema := []string{"x:R/x:Doc/x:ID", "x:R/x:Doc/x:Note", "x:R/x:Doc/x:Note/@lang",
		"x:R/x:Lines/x:Line", "x:R/x:Lines/x:Line/x:Qty", "x:R/x:Lines/x:Line/x:Seq"}
	body := xmlToJSON + `fields:
  - {target: id, source: x:Doc/x:ID}
  - {target: lang, source: x:Doc/x:Note/@lang, when: x:Doc/x:Note}
  - group: x:Lines/x:Line
    target: lines
    fields:
      - {target: q, source: x:Qty}
      - {target: doc, source: $root/x:Doc/x:ID}
      - {target: qs, concat: [x:Qty, x:Seq]}
      - {target: self, source: .}
`
	t.Run("every source known", func(t *testing.T) {
		fs := newFakeSchema(schema)
		if _, err := LoadWith(inline(body), "rules.yaml", Options{Sources: fs, SourceRoot: toClark("x:R")}); err != nil {
			t.Fatal(err)
		}
		want := toClark("x:R/x:Doc/x:ID x:R/x:Doc/x:Note x:R/x:Doc/x:Note/@lang x:R/x:Lines/x:Line x:R/x:Lines/x:Line/x:Qty x:R/x:Doc/x:ID x:R/x:Lines/x:Line/x:Qty x:R/x:Lines/x:Line/x:Seq")
		if got := strings.Join(fs.checked, " "); got != want {
			t.Errorf("checked\n %s\nwant\n %s", got, want)
		}
	})
	t.Run("unknown sources, each at its rule", func(t *testing.T) {
		bad := strings.NewReplacer("source: x:Doc/x:ID}", "source: x:Doc/x:Id}", "when: x:Doc/x:Note}", "when: x:Doc/y:Note}", "x:Lines/x:Line\n", "x:Lines/x:Lin\n").Replace(body)
		_, err := LoadWith(inline(bad), "rules.yaml", Options{Sources: newFakeSchema(schema), SourceRoot: toClark("x:R")})
		want := []string{
			"rules.yaml:6: rule id: source: x:R/x:Doc/x:Id: not in the schema (x:Id)",
			"rules.yaml:7: rule lang: when: x:R/x:Doc/y:Note: not in the schema (y:Note)",
			"rules.yaml:8: rule lines: group: x:R/x:Lines/x:Lin: not in the schema (x:Lin)",
		}
		var res RuleErrors
		if !errors.As(err, &res) || len(res) != len(want) {
			t.Fatalf("got %v", err)
		}
		// Below a signed part, paths are shown from it, whatever the
		// namespaces of the steps above it.
		_, under := LoadWith(inline(xmlToJSON+"fields:\n  - {target: id, source: x:Doc/x:Id}\n"), "rules.yaml",
			Options{Sources: newFakeSchema(nil), SourceRoot: "{http://e/1}Env/{http://e/1}Body/" + toClark("x:R")})
		if want := "rules.yaml:6: rule id: source: x:R/x:Doc/x:Id: not in the schema (x:Id)"; under == nil || under.Error() != want {
			t.Errorf("got %v, want %s", under, want)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error does not mention %q:\n%v", w, err)
			}
		}
	})
	t.Run("JSON sources are not checked", func(t *testing.T) {
		fs := newFakeSchema(nil)
		if _, err := LoadWith(inline(jsonToJSON+"fields:\n  - {target: a, source: b.c}\n"), "rules.yaml", Options{Sources: fs, SourceRoot: "R"}); err != nil || len(fs.checked) != 0 {
			t.Errorf("%v, checked %v", err, fs.checked)
		}
	})
}
