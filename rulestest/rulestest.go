// Package rulestest runs the example pairs analysts keep beside their rule
// files, as golden files, so a change to a rule shows at once what it
// changes in the documents:
//
//	<CC>/examples/<document>/<name>.native.json|xml    a native payload
//	<CC>/examples/<document>/<name>.standard.xml       what <CC>/<document>.outbound.yaml makes of it
//	<CC>/examples/<document>/<name>.received.json|xml  what <CC>/<document>.inbound.yaml makes of the standard document
//
// When documents/<document>.yaml names the document's schema, rule files
// are checked against it as they load (outbound: every target the schema
// has, every required element written; inbound: every XML source path the
// schema has) and every standard document an outbound example produces
// must be valid against it.
//
// Outputs are compared after normalization (XML indented, JSON with sorted
// keys), so formatting is not a difference; every difference in content is
// shown as a unified diff. `vucelink rules test DIR` runs them; with
// --update it writes the expected files from the current rules, for review.
package rulestest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aymanbagabas/go-udiff"
	"github.com/beevik/etree"
	"go.yaml.in/yaml/v3"

	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/proxy"
	"github.com/vucelink/vucelink/schema"
	"github.com/vucelink/vucelink/xmlsafe"
)

// Result is one example run in one direction.
type Result struct {
	Example   string // e.g. CL/examples/sps/sample
	Direction string // outbound or inbound
	Want      string // the expected file
	Err       error  // the mapping failed
	Diff      string // unified diff, want → got; empty when equal
	Updated   bool   // the expected file was (re)written
}

// OK reports whether the example passed.
func (r Result) OK() bool { return r.Err == nil && r.Diff == "" }

func (r Result) String() string {
	switch {
	case r.Updated:
		return fmt.Sprintf("UPDATED %s (%s): %s", r.Example, r.Direction, r.Want)
	case r.Err != nil:
		return fmt.Sprintf("FAIL %s (%s): %v", r.Example, r.Direction, r.Err)
	case r.Diff != "":
		return fmt.Sprintf("FAIL %s (%s): output differs from %s\n%s", r.Example, r.Direction, r.Want, r.Diff)
	}
	return fmt.Sprintf("ok   %s (%s)", r.Example, r.Direction)
}

// Run runs every example under dir. With update, expected files are
// written from the current output instead of compared (a mapping error is
// still an error).
func Run(dir string, update bool) ([]Result, error) {
	fsys := os.DirFS(dir)
	examples, err := fs.Glob(fsys, "*/examples/*/*.native.*")
	if err != nil {
		return nil, err
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("%s: no examples (<CC>/examples/<document>/<name>.native.json|xml)", dir)
	}
	docs := map[string]*document{}
	docFor := func(doc string) (*document, error) {
		if d, ok := docs[doc]; ok {
			return d, nil
		}
		d, err := loadDocument(fsys, doc)
		docs[doc] = d
		return d, err
	}
	loaded := map[string]*mapping.Rules{}
	rulesFor := func(cc, doc, direction string) (*mapping.Rules, error) {
		name := path.Join(cc, doc+"."+direction+".yaml")
		if r, ok := loaded[name]; ok {
			return r, nil
		}
		d, err := docFor(doc)
		if err != nil {
			return nil, err
		}
		var opts mapping.Options
		if d.targets != nil && direction == "outbound" {
			opts.Targets = d.targets
		} else if d.targets != nil {
			opts.Sources, opts.SourceRoot = d.targets, d.signed
		}
		r, err := mapping.LoadWith(fsys, name, opts)
		if errors.Is(err, fs.ErrNotExist) {
			r, err = nil, nil
		}
		loaded[name] = r
		return r, err
	}
	var out []Result
	for _, native := range examples {
		cc, doc, name := parts(native)
		base := path.Join(cc, "examples", doc, name)
		res := Result{Example: base, Direction: "outbound", Want: filepath.Join(dir, base+".standard.xml")}
		r, err := rulesFor(cc, doc, "outbound")
		if err != nil {
			return nil, err
		}
		if r == nil {
			continue
		}
		d, _ := docFor(doc)
		res.Err, res.Diff, res.Updated = check(fsys, native, res.Want, update, func(in []byte) (*mapping.Output, error) {
			out, err := r.Map(in)
			if err == nil && d.schema != nil {
				if err = d.schema.ValidateElement(out.XML.Root()); err != nil {
					err = fmt.Errorf("the standard document breaks the %s schema: %w", doc, err)
				}
			}
			return out, err
		})
		out = append(out, res)
	}
	// Listed after the outbound run, which may just have written them.
	standards, err := fs.Glob(fsys, "*/examples/*/*.standard.xml")
	if err != nil {
		return nil, err
	}
	for _, std := range standards {
		cc, doc, name := parts(std)
		base := path.Join(cc, "examples", doc, name)
		r, err := rulesFor(cc, doc, "inbound")
		if err != nil {
			return nil, err
		}
		if r == nil {
			continue
		}
		want, err := received(fsys, base, r)
		if err != nil {
			return nil, err
		}
		d, err := docFor(doc)
		if err != nil {
			return nil, err
		}
		spec := d.spec
		res := Result{Example: base, Direction: "inbound", Want: filepath.Join(dir, want)}
		res.Err, res.Diff, res.Updated = check(fsys, std, res.Want, update, func(in []byte) (*mapping.Output, error) {
			doc, err := xmlsafe.Parse(in, xmlsafe.Limits{})
			if err != nil {
				return nil, err
			}
			// What a receiving node maps: the signed part only.
			root := doc.Root()
			if spec != nil {
				if root, err = spec.Signed(root); err != nil {
					return nil, err
				}
			}
			return r.MapElement(root)
		})
		out = append(out, res)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Example < out[j].Example })
	return out, nil
}

// document is what documents/<doc>.yaml says about a document type.
type document struct {
	spec    *proxy.DocumentSpec // the part a receiving node maps; nil: the whole document
	schema  *schema.Schema      // nil: none named
	targets *schema.Targets
	signed  string // the path inbound rules read from, in Clark notation
}

// loadDocument reads documents/<doc>.yaml, if there is one, and compiles
// the schema it names.
func loadDocument(fsys fs.FS, doc string) (*document, error) {
	d := &document{}
	file := "documents/" + doc + ".yaml"
	b, err := fs.ReadFile(fsys, file)
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return d, err
	}
	var c config.Document
	if err := yaml.Unmarshal(b, &c); err != nil {
		return d, fmt.Errorf("%s: %w", file, err)
	}
	if c.Signed != "" {
		if d.spec, err = proxy.NewDocumentSpec(doc, c.Root, c.Signed, c.ID, c.Destination, c.Namespaces); err != nil {
			return d, fmt.Errorf("%s: %w", file, err)
		}
	}
	if c.Schema == "" {
		return d, nil
	}
	if d.schema, err = schema.Load(fsys, c.Schema); err != nil {
		return d, fmt.Errorf("%s: schema: %w", file, err)
	}
	d.signed = c.SignedName()
	if d.targets, err = schema.LoadTargets(fsys, c.Schema, c.RootName()); err != nil {
		return d, fmt.Errorf("%s: schema: %w", file, err)
	}
	return d, nil
}

// parts splits <CC>/examples/<document>/<name>.<kind>.<ext>.
func parts(p string) (cc, doc, name string) {
	segs := strings.Split(p, "/")
	file := segs[3]
	return segs[0], segs[2], file[:strings.Index(file, ".")]
}

// received names the inbound expectation: the existing file, or one with
// the extension of the rules' target format.
func received(fsys fs.FS, base string, r *mapping.Rules) (string, error) {
	for _, ext := range []string{".received.json", ".received.xml"} {
		if _, err := fs.Stat(fsys, base+ext); err == nil {
			return base + ext, nil
		}
	}
	if r.TargetFormat() == "xml" {
		return base + ".received.xml", nil
	}
	return base + ".received.json", nil
}

func check(fsys fs.FS, input, want string, update bool, run func([]byte) (*mapping.Output, error)) (error, string, bool) {
	in, err := fs.ReadFile(fsys, input)
	if err != nil {
		return err, "", false
	}
	res, err := run(in)
	if err != nil {
		return err, "", false
	}
	raw, err := res.Bytes()
	if err != nil {
		return err, "", false
	}
	got, err := normalize(raw)
	if err != nil {
		return fmt.Errorf("output: %w", err), "", false
	}
	if update {
		if err := os.WriteFile(want, got, 0o644); err != nil {
			return err, "", false
		}
		return nil, "", true
	}
	expected, err := os.ReadFile(want)
	if err != nil {
		return fmt.Errorf("%w (run with --update to create it, then review it)", err), "", false
	}
	norm, err := normalize(expected)
	if err != nil {
		return fmt.Errorf("%s: %w", want, err), "", false
	}
	return nil, udiff.Unified(want, "got", string(norm), string(got)), false
}

// normalize makes formatting irrelevant: XML indented by two spaces, JSON
// with sorted keys and numbers as written.
func normalize(b []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out, err := json.MarshalIndent(v, "", "  ")
		return append(out, '\n'), err
	}
	doc, err := xmlsafe.Parse(trimmed, xmlsafe.Limits{})
	if err != nil {
		return nil, err
	}
	stripSpace(doc.Root())
	doc.Indent(2)
	return doc.WriteToBytes()
}

// stripSpace drops whitespace-only text between elements, so indentation
// in an expected file does not count.
func stripSpace(e *etree.Element) {
	if len(e.ChildElements()) > 0 {
		for _, t := range e.Child {
			if cd, ok := t.(*etree.CharData); ok && strings.TrimSpace(cd.Data) == "" {
				e.RemoveChild(cd)
			}
		}
	}
	for _, c := range e.ChildElements() {
		stripSpace(c)
	}
}
