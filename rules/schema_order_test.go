package rules_test

import (
	"io/fs"
	"slices"
	"testing"
	"testing/fstest"

	"go.yaml.in/yaml/v3"

	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/schema"
)

// TestOutbound_RuleOrderCannotBreakTheSchema: every shipped outbound SPS
// rule file, with its top-level rules (and each group's) listed in reverse,
// still loads against the schema and makes the same document, valid. This
// is what a passing check promises: rule order never makes a document
// invalid.
func TestOutbound_RuleOrderCannotBreakTheSchema(t *testing.T) {
	const entry, root = "documents/sps-d13b/SPSCertificate_11p0.xsd", "{" + nsRSM + "}SPSCertificate"
	targets, err := schema.LoadTargets(rules.FS, entry, root)
	if err != nil {
		t.Fatal(err)
	}
	sch, err := schema.Load(rules.FS, entry)
	if err != nil {
		t.Fatal(err)
	}
	for _, cc := range []string{"CL", "CO", "MX", "PE"} {
		t.Run(cc, func(t *testing.T) {
			name := cc + "/sps.outbound.yaml"
			data, err := fs.ReadFile(rules.FS, name)
			if err != nil {
				t.Fatal(err)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			reverseFields(doc.Content[0])
			shuffled, err := yaml.Marshal(&doc)
			if err != nil {
				t.Fatal(err)
			}
			fsys := overlay{rules.FS, fstest.MapFS{name: {Data: shuffled}}}
			want, err := mapping.LoadWith(rules.FS, name, mapping.Options{Targets: targets})
			if err != nil {
				t.Fatal(err)
			}
			got, err := mapping.LoadWith(fsys, name, mapping.Options{Targets: targets})
			if err != nil {
				t.Fatalf("reversed rules do not load: %v", err)
			}
			examples, _ := fs.Glob(rules.FS, cc+"/examples/sps/*.native.*")
			if len(examples) == 0 {
				t.Fatal("no examples")
			}
			for _, ex := range examples {
				in, _ := fs.ReadFile(rules.FS, ex)
				a, err := want.Map(in)
				if err != nil {
					t.Fatal(err)
				}
				b, err := got.Map(in)
				if err != nil {
					t.Fatal(err)
				}
				if err := sch.ValidateElement(b.XML.Root()); err != nil {
					t.Errorf("%s: reversed rules make an invalid document: %v", ex, err)
				}
				ab, _ := a.Bytes()
				bb, _ := b.Bytes()
				if string(ab) != string(bb) {
					t.Errorf("%s: reversed rules make another document:\n%s\n%s", ex, ab, bb)
				}
			}
		})
	}
}

// reverseFields reverses every fields: list in a rule file.
func reverseFields(n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "fields" && n.Content[i+1].Kind == yaml.SequenceNode {
			slices.Reverse(n.Content[i+1].Content)
			for _, r := range n.Content[i+1].Content {
				reverseFields(r)
			}
		}
	}
}

// overlay reads from over first, then from base.
type overlay struct{ base, over fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	if f, err := o.over.Open(name); err == nil {
		return f, nil
	}
	return o.base.Open(name)
}
