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
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
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

// ErrNoExamples: a rules directory without example pairs.
var ErrNoExamples = errors.New("no examples")

// Report is what a run found: each example's result, and warnings —
// things that do not fail a document today but are almost certainly not
// what the analyst meant.
type Report struct {
	Results  []Result
	Warnings []string
}

// Failed counts the results that did not pass.
func (r *Report) Failed() int {
	n := 0
	for _, res := range r.Results {
		if !res.OK() {
			n++
		}
	}
	return n
}

// Err is nil when every example passed, else an error listing the
// failures (the first lines of each), for a caller that only needs to
// know whether a rules directory may be used.
func (r *Report) Err() error {
	var fails []string
	for _, res := range r.Results {
		if !res.OK() {
			fails = append(fails, res.String())
		}
	}
	if len(fails) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d examples failed: %s", len(fails), len(r.Results), strings.Join(fails, "; "))
}

// Run runs every example under dir. With update, expected files are
// written from the current output instead of compared (a mapping error is
// still an error).
func Run(dir string, update bool) ([]Result, error) {
	rep, err := Check(dir, update)
	if err != nil {
		return nil, err
	}
	return rep.Results, nil
}

// Check is Run, with the warnings.
func Check(dir string, update bool) (*Report, error) {
	return run(os.DirFS(dir), dir, update)
}

// CheckFS runs every example in fsys, read-only: what a node runs before
// a changed rules directory takes effect. Expected files are named
// relative to fsys.
func CheckFS(fsys fs.FS) (*Report, error) { return run(fsys, "", false) }

func run(fsys fs.FS, dir string, update bool) (*Report, error) {
	examples, err := fs.Glob(fsys, "*/examples/*/*.native.*")
	if err != nil {
		return nil, err
	}
	if len(examples) == 0 {
		return nil, fmt.Errorf("%s: %w (<CC>/examples/<document>/<name>.native.json|xml)", displayDir(dir), ErrNoExamples)
	}
	// Without document definitions nothing would be checked against a
	// schema and the examples would pass regardless: refuse, saying so,
	// rather than run half the checks.
	if st, err := fs.Stat(fsys, "documents"); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s: no documents/ folder: without the document definitions (documents/<type>.yaml and their schemas) no rule file or example can be checked against its schema; keep documents/ beside the country folders, as in the shipped rules/", displayDir(dir))
	}
	rep := &Report{}
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
		res := Result{Example: base, Direction: "outbound", Want: wantPath(dir, base+".standard.xml")}
		r, err := rulesFor(cc, doc, "outbound")
		if err != nil {
			return nil, err
		}
		if r == nil {
			continue
		}
		d, _ := docFor(doc)
		res.Err, res.Diff, res.Updated = check(fsys, native, base+".standard.xml", res.Want, update, func(in []byte) (*mapping.Output, error) {
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
		res := Result{Example: base, Direction: "inbound", Want: wantPath(dir, want)}
		res.Err, res.Diff, res.Updated = check(fsys, std, want, res.Want, update, func(in []byte) (*mapping.Output, error) {
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
	rep.Results = out
	rep.Warnings = append(rep.Warnings, oneWay(fsys)...)
	rep.Warnings = append(rep.Warnings, unmatched(fsys, examples, loaded, docs)...)
	for doc, d := range docs {
		if d != nil && d.schema == nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("documents/%s.yaml names no schema: the %s rule files and examples are not checked against one", doc, doc))
		}
	}
	sort.Strings(rep.Warnings)
	return rep, nil
}

func displayDir(dir string) string {
	if dir == "" {
		return "rules"
	}
	return dir
}

func wantPath(dir, rel string) string {
	if dir == "" {
		return rel
	}
	return filepath.Join(dir, rel)
}

// oneWay reports a country with outbound rules for a document type and no
// inbound ones, or the reverse: its partners' documents of that type
// would be refused (or its own could not be sent), which no example shows.
func oneWay(fsys fs.FS) []string {
	files, _ := fs.Glob(fsys, "*/*.*bound.yaml")
	have := map[string]bool{}
	for _, f := range files {
		have[f] = true
	}
	var out []string
	for _, f := range files {
		for _, pair := range [][2]string{{".outbound.yaml", ".inbound.yaml"}, {".inbound.yaml", ".outbound.yaml"}} {
			if strings.HasSuffix(f, pair[0]) {
				other := strings.TrimSuffix(f, pair[0]) + pair[1]
				if !have[other] {
					out = append(out, fmt.Sprintf("%s has no %s beside it: %s", f, path.Base(other), oneWayWhy(pair[1])))
				}
			}
		}
	}
	return out
}

func oneWayWhy(missing string) string {
	if missing == ".inbound.yaml" {
		return "documents of this type sent by partners cannot be handed to the legacy system (write the inbound rules, or say in the node's configuration that they are not received)"
	}
	return "this country cannot send documents of this type (write the outbound rules, or remove the inbound ones if it only receives)"
}

// unmatched reports source paths of the rule files that no example
// payload had a value at, with the closest names found (a typo in an
// optional path maps to nothing, silently).
func unmatched(fsys fs.FS, natives []string, loaded map[string]*mapping.Rules, docs map[string]*document) []string {
	byRules := map[string][][]byte{}
	add := func(rules, file string) {
		if b, err := fs.ReadFile(fsys, file); err == nil {
			byRules[rules] = append(byRules[rules], b)
		}
	}
	for _, n := range natives {
		cc, doc, _ := parts(n)
		add(path.Join(cc, doc+".outbound.yaml"), n)
	}
	stds, _ := fs.Glob(fsys, "*/examples/*/*.standard.xml")
	var out []string
	for _, name := range slices.Sorted(maps.Keys(loaded)) {
		r := loaded[name]
		if r == nil {
			continue
		}
		var found []mapping.Unmatched
		if r.Direction() == "inbound" {
			// What a receiving node maps: the signed part of each
			// standard example of the document type.
			var roots []*etree.Element
			for _, s := range stds {
				if _, doc, _ := parts(s); doc == r.Document() {
					if root := signedRoot(fsys, s, docs[doc]); root != nil {
						roots = append(roots, root)
					}
				}
			}
			if len(roots) == 0 {
				continue
			}
			found = r.UnmatchedElements(roots)
		} else {
			if len(byRules[name]) == 0 {
				continue
			}
			found = r.Unmatched(byRules[name])
		}
		for _, u := range found {
			out = append(out, u.String())
		}
	}
	return out
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

func check(fsys fs.FS, input, wantRel, want string, update bool, run func([]byte) (*mapping.Output, error)) (error, string, bool) {
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
	expected, err := fs.ReadFile(fsys, wantRel)
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

// signedRoot parses a standard document and returns the part an inbound
// rule file reads, or nil.
func signedRoot(fsys fs.FS, file string, d *document) *etree.Element {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil
	}
	doc, err := xmlsafe.Parse(b, xmlsafe.Limits{})
	if err != nil {
		return nil
	}
	root := doc.Root()
	if d != nil && d.spec != nil {
		if root, err = d.spec.Signed(root); err != nil {
			return nil
		}
	}
	return root
}

// Document is what documents/<type>.yaml says about a document type,
// compiled: the part a receiving node maps, the schema and its element
// structure. `vucelink map` uses it to check what it produces.
type Document struct {
	Spec    *proxy.DocumentSpec // the signed part inbound rules read; nil: the whole document
	Schema  *schema.Schema      // nil: the definition names none
	Targets *schema.Targets
	Signed  string // the path inbound rules read from, in Clark notation
}

// LoadDocument reads documents/<docType>.yaml in fsys (a rules directory)
// and compiles its schema. It returns nil, nil when there is no such file.
func LoadDocument(fsys fs.FS, docType string) (*Document, error) {
	if _, err := fs.Stat(fsys, "documents/"+docType+".yaml"); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	d, err := loadDocument(fsys, docType)
	if err != nil {
		return nil, err
	}
	return &Document{Spec: d.spec, Schema: d.schema, Targets: d.targets, Signed: d.signed}, nil
}

// Options are the load options that check a rule file of the given
// direction against the document's schema.
func (d *Document) Options(direction string) mapping.Options {
	if d == nil || d.Targets == nil {
		return mapping.Options{}
	}
	if direction == "outbound" {
		return mapping.Options{Targets: d.Targets}
	}
	return mapping.Options{Sources: d.Targets, SourceRoot: d.Signed}
}
