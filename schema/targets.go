// A structural model of a schema set, beside the libxml2 validator: rule
// files are checked when they are loaded, before any document exists to
// validate, and the question then is not "is this document valid" but
// "can an element or attribute exist at this path, and which paths must a
// document have". libxml2 compiles the content model but exposes no API to
// walk it, so the model is read here from the XSD documents themselves. It
// keeps only what those questions need — names, nesting, required-ness —
// and refuses the constructs it does not model rather than guess.

package schema

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

const (
	xsdNS = "http://www.w3.org/2001/XMLSchema"
	xsiNS = "http://www.w3.org/2001/XMLSchema-instance"
	xmlNS = "http://www.w3.org/XML/1998/namespace"

	// maxTargetFiles bounds the documents one schema set may read: the
	// shipped sets have a dozen; a loop of locations that each resolve to a
	// new file would otherwise read without end.
	maxTargetFiles = 200
	// maxRequiredDepth bounds the element steps of a required path.
	maxRequiredDepth = 40
	// maxRequiredVisits bounds the walk that lists required paths: every
	// path below the root is visited once, and a schema whose types nest
	// many ways can have more paths than is reasonable to list.
	maxRequiredVisits = 1 << 20
	// maxAllows bounds the names an error lists.
	maxAllows = 12
)

// Targets is the element structure of a schema set below one global
// element: which child elements and attributes each element may have, and
// which it must. It implements mapping.TargetChecker. It is read-only once
// loaded, so safe for concurrent use.
type Targets struct {
	root     qname
	top      *model
	required []string
}

// LoadTargets reads the schema set whose entry document is entry in fsys
// and returns the element structure below the global element root, given
// in Clark notation ("{uri}local", or "local" in no namespace).
//
// xs:include and xs:import are followed as Load follows them: a relative
// schemaLocation against the including document's directory, an absolute
// one only through catalog.xml beside the entry (see catalog). A location
// that resolves to no file in fsys is an error naming it, and so is any
// construct the model does not support (xs:redefine, xs:override, a
// referenced head of a substitution group): a checker that silently knew
// less than the schema would report paths missing that are not.
func LoadTargets(fsys fs.FS, entry, root string) (*Targets, error) {
	if !fs.ValidPath(entry) {
		return nil, fmt.Errorf("schema: entry %q is not a valid fs path", entry)
	}
	rootName, err := parseClark(root)
	if err != nil {
		return nil, fmt.Errorf("schema: root %q: %w", root, err)
	}
	cat, err := catalogFor(fsys, entry)
	if err != nil && !errors.Is(err, errNoCatalog) {
		return nil, fmt.Errorf("schema: %s: %w", entry, err)
	}
	s := newSchemaSet(fsys, cat)
	if err := s.load(entry, "", loadEntry, ""); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	t, err := s.targets(rootName)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return t, nil
}

// CheckTarget returns nil if the schema has an element or attribute at
// path, else an error saying which step fails and what the schema allows
// there, names in Clark notation. Path steps are joined by "/", the first
// is the root; a last step "@name" is an attribute. Below an element a
// wildcard (xs:any) accepts, everything is accepted.
func (t *Targets) CheckTarget(p string) error {
	steps, err := splitPath(p)
	if err != nil {
		return err
	}
	for _, st := range steps[:len(steps)-1] {
		if st.attr {
			return fmt.Errorf("%s is an attribute: only the last step can be", st)
		}
	}
	if steps[0].attr || steps[0].name != t.root {
		return fmt.Errorf("the root is %s, not %s", t.root, steps[0])
	}
	m, cur := t.top, steps[0].name
	for _, st := range steps[1:] {
		if m.any {
			return nil
		}
		if st.attr {
			if m.anyAttr || m.attrBy[st.name] != nil || st.name.ns == xsiNS && xsiAttrs[st.name.local] {
				return nil
			}
			names := make([]string, len(m.attrs))
			for j, a := range m.attrs {
				names[j] = a.name.String()
			}
			return fmt.Errorf("%s has no attribute %s; it allows %s", cur, st.name, allows(names, "no attributes"))
		}
		if m.simple {
			return fmt.Errorf("%s has simple content: no child elements", cur)
		}
		if k := m.byName[st.name]; k != nil {
			m, cur = k.typ, k.name
			continue
		}
		for _, w := range m.wild {
			if w.matches(st.name.ns) {
				return nil
			}
		}
		names := make([]string, 0, len(m.kids)+len(m.wild))
		for _, k := range m.kids {
			names = append(names, k.name.String())
		}
		for _, w := range m.wild {
			names = append(names, w.String())
		}
		return fmt.Errorf("%s is not an element of %s; it allows %s", st.name, cur, allows(names, "no child elements"))
	}
	return nil
}

// Required lists, sorted, every path the schema requires whenever its
// parent element is present: child elements reached from the parent only
// through required particles (minOccurs ≥ 1, never a branch of a choice
// between several) and attributes with use="required". Paths below
// optional elements are listed too; a type is not expanded again below
// itself, nor below maxRequiredDepth element steps.
func (t *Targets) Required() []string {
	return append([]string(nil), t.required...)
}

// xsiAttrs are the attributes every element may have without its type
// declaring them (XML Schema Part 1, 3.2.7).
var xsiAttrs = map[string]bool{"type": true, "nil": true, "schemaLocation": true, "noNamespaceSchemaLocation": true}

func allows(names []string, none string) string {
	switch {
	case len(names) == 0:
		return none
	case len(names) > maxAllows:
		return fmt.Sprintf("%s, … (%d more)", strings.Join(names[:maxAllows], ", "), len(names)-maxAllows)
	}
	return strings.Join(names, ", ")
}

// qname is an expanded name.
type qname struct{ ns, local string }

// String is the name in Clark notation.
func (q qname) String() string {
	if q.ns == "" {
		return q.local
	}
	return "{" + q.ns + "}" + q.local
}

type step struct {
	name qname
	attr bool
}

func (s step) String() string {
	if s.attr {
		return "@" + s.name.String()
	}
	return s.name.String()
}

// splitPath splits at the slashes outside braces: a namespace URI has
// slashes of its own.
func splitPath(p string) ([]step, error) {
	if p == "" {
		return nil, errors.New("empty path")
	}
	var steps []step
	start, depth := 0, 0
	for i := 0; i <= len(p); i++ {
		if i < len(p) {
			switch p[i] {
			case '{':
				depth++
				continue
			case '}':
				depth--
				continue
			case '/':
				if depth > 0 {
					continue
				}
			default:
				continue
			}
		}
		raw := p[start:i]
		start = i + 1
		st := step{}
		if rest, ok := strings.CutPrefix(raw, "@"); ok {
			st.attr, raw = true, rest
		}
		n, err := parseClark(raw)
		if err != nil {
			return nil, fmt.Errorf("path %s: step %d: %w", p, len(steps)+1, err)
		}
		st.name = n
		steps = append(steps, st)
	}
	return steps, nil
}

func parseClark(s string) (qname, error) {
	var q qname
	if rest, ok := strings.CutPrefix(s, "{"); ok {
		ns, local, ok := strings.Cut(rest, "}")
		if !ok {
			return q, fmt.Errorf("%q: no closing brace", s)
		}
		q.ns, s = ns, local
	}
	if s == "" || strings.ContainsAny(s, "{}/@: \t\r\n") {
		return q, fmt.Errorf("%q is not a name", s)
	}
	q.local = s
	return q, nil
}

// model is what a type allows below an element of it.
type model struct {
	any     bool // anything below is accepted: anyType, or an element a wildcard let in
	simple  bool // simple content: text, no child elements
	kids    []*particle
	byName  map[qname]*particle
	wild    []wildcard
	attrs   []*attrUse
	attrBy  map[qname]*attrUse
	anyAttr bool
	// mayRequire: some path below an element of this type is required.
	mayRequire bool
}

var (
	anyModel    = &model{any: true}
	simpleModel = &model{simple: true}
)

func newModel() *model {
	return &model{byName: map[qname]*particle{}, attrBy: map[qname]*attrUse{}}
}

// particle is a child element a model allows: one per name, however many
// times the name occurs in the content model.
type particle struct {
	name     qname
	required bool
	// many: the element may occur more than once in its parent.
	many bool
	decl *etree.Element // the xs:element declaring it (global for a ref)
	doc  *schemaDoc
	typ  *model
}

type attrUse struct {
	name     qname
	required bool
}

func (m *model) addKid(p *particle) {
	if old := m.byName[p.name]; old != nil {
		old.required = old.required || p.required
		old.many = true // declared twice in one content model
		return
	}
	c := *p
	m.kids = append(m.kids, &c)
	m.byName[p.name] = &c
}

func (m *model) addAttr(a attrUse, prohibited bool) {
	if old := m.attrBy[a.name]; old != nil {
		if prohibited {
			delete(m.attrBy, a.name)
			for i, x := range m.attrs {
				if x == old {
					m.attrs = append(m.attrs[:i:i], m.attrs[i+1:]...)
					break
				}
			}
			return
		}
		old.required = a.required
		return
	}
	if prohibited {
		return
	}
	c := a
	m.attrs = append(m.attrs, &c)
	m.attrBy[a.name] = &c
}

// inherit copies base's attributes into m (before m's own).
func (m *model) inheritAttrs(base *model) {
	for _, a := range base.attrs {
		m.addAttr(*a, false)
	}
}

// wildcard is an xs:any's namespace constraint.
type wildcard struct {
	kind string          // "##any", "##other" or "list"
	tns  string          // the schema document's target namespace, for ##other
	list map[string]bool // for "list"; "" is no namespace
}

func (w wildcard) matches(ns string) bool {
	switch w.kind {
	case "##any":
		return true
	case "##other":
		return ns != w.tns && ns != ""
	}
	return w.list[ns]
}

// String describes the wildcard for an error; namespaces are written
// without braces so that they are not taken for a name's.
func (w wildcard) String() string {
	switch w.kind {
	case "##any":
		return "any element"
	case "##other":
		if w.tns == "" {
			return "any element in a namespace"
		}
		return "any element in a namespace other than " + w.tns
	}
	var ns []string
	local := false
	for n := range w.list {
		if n == "" {
			local = true
		} else {
			ns = append(ns, n)
		}
	}
	sort.Strings(ns)
	var parts []string
	if len(ns) > 0 {
		parts = append(parts, "namespace "+strings.Join(ns, " or "))
	}
	if local {
		parts = append(parts, "no namespace")
	}
	return "any element in " + strings.Join(parts, " or ")
}

func parseWildcard(e *etree.Element, doc *schemaDoc) (wildcard, error) {
	v := strings.TrimSpace(attrValue(e, "namespace"))
	switch v {
	case "", "##any":
		return wildcard{kind: "##any"}, nil
	case "##other":
		return wildcard{kind: "##other", tns: doc.tns}, nil
	}
	w := wildcard{kind: "list", list: map[string]bool{}}
	for _, tok := range strings.Fields(v) {
		switch tok {
		case "##targetNamespace":
			w.list[doc.tns] = true
		case "##local":
			w.list[""] = true
		case "##any", "##other":
			return w, fmt.Errorf("%s: xs:%s namespace %q: %s only alone", doc.file, e.Tag, v, tok)
		default:
			w.list[tok] = true
		}
	}
	return w, nil
}

// schemaDoc is one XSD document as it is read into the set.
type schemaDoc struct {
	file string
	tns  string
	// chameleon: included without a targetNamespace of its own, so its
	// names in no namespace are in the including document's.
	chameleon     bool
	elemQualified bool
	attrQualified bool
}

// comp is a global component: its declaration and where it is.
type comp struct {
	e   *etree.Element
	doc *schemaDoc
}

type loadKind int

const (
	loadEntry loadKind = iota
	loadInclude
	loadImport
)

// schemaSet is the schema set being read: its global components, and the
// models built from them.
type schemaSet struct {
	fsys     fs.FS
	cat      *catalog
	loaded   map[string]bool   // fs path + "\x00" + target namespace
	imported map[string]string // namespace → the fs path its first import read
	files    int

	elements, types, groups, attrGroups, attributes map[qname]comp
	substitutes                                     map[qname][]qname // head → members

	models   map[*etree.Element]*model // complexType → its model
	building map[*etree.Element]bool   // complex types whose base chain, elements whose substitution head, is being read
	elemMods map[*etree.Element]*model // xs:element → its type's model
}

func newSchemaSet(fsys fs.FS, cat *catalog) *schemaSet {
	return &schemaSet{
		fsys:        fsys,
		cat:         cat,
		loaded:      map[string]bool{},
		imported:    map[string]string{},
		elements:    map[qname]comp{},
		types:       map[qname]comp{},
		groups:      map[qname]comp{},
		attrGroups:  map[qname]comp{},
		attributes:  map[qname]comp{},
		substitutes: map[qname][]qname{},
		models:      map[*etree.Element]*model{},
		building:    map[*etree.Element]bool{},
		elemMods:    map[*etree.Element]*model{},
	}
}

// locate resolves a schemaLocation in the document from to a path in the
// fs.FS, as Load's loader does.
func (s *schemaSet) locate(from, loc string) (string, error) {
	u, err := url.Parse(loc)
	if err == nil && u.Scheme != "" || strings.HasPrefix(loc, "/") {
		if s.cat != nil {
			if p, ok := s.cat.resolve(loc); ok {
				return p, nil
			}
		}
		return "", fmt.Errorf("%s: schema document %s: an absolute location is read only through %s beside the entry, which does not map it", from, loc, catalogName)
	}
	p := path.Clean(path.Join(path.Dir(from), loc))
	if !fs.ValidPath(p) {
		return "", fmt.Errorf("%s: schema document %s resolves outside the schema directory", from, loc)
	}
	return p, nil
}

// load reads file into the set. For an include, tns is the including
// document's target namespace; for an import, the namespace the import
// names.
// via says where the location came from, for the error if it names no file.
func (s *schemaSet) load(file, tns string, kind loadKind, via string) error {
	b, err := readBounded(s.fsys, file)
	if err != nil {
		if via != "" {
			via += ": "
		}
		return fmt.Errorf("%sschema document not found: %s (%v)", via, file, err)
	}
	xd := etree.NewDocument()
	if err := xd.ReadFromBytes(b); err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	root := xd.Root()
	if root == nil || !isXSD(root, "schema") {
		return fmt.Errorf("%s: not an XML Schema document (no xs:schema root)", file)
	}
	doc := &schemaDoc{
		file:          file,
		tns:           attrValue(root, "targetNamespace"),
		elemQualified: attrValue(root, "elementFormDefault") == "qualified",
		attrQualified: attrValue(root, "attributeFormDefault") == "qualified",
	}
	switch kind {
	case loadInclude:
		switch {
		case doc.tns == "" && tns != "":
			doc.tns, doc.chameleon = tns, true
		case doc.tns != tns:
			return fmt.Errorf("%s: included into namespace %q but its targetNamespace is %q", file, tns, doc.tns)
		}
	case loadImport:
		if doc.tns != tns {
			return fmt.Errorf("%s: imported for namespace %q but its targetNamespace is %q", file, tns, doc.tns)
		}
	}
	key := file + "\x00" + doc.tns
	if s.loaded[key] {
		return nil
	}
	s.loaded[key] = true
	if s.files++; s.files > maxTargetFiles {
		return fmt.Errorf("%s: the schema set reads more than %d documents", file, maxTargetFiles)
	}

	for _, c := range root.ChildElements() {
		if c.NamespaceURI() != xsdNS {
			return fmt.Errorf("%s: unexpected element %s in xs:schema", file, c.FullTag())
		}
		switch c.Tag {
		case "annotation", "notation":
		case "include":
			loc := attrValue(c, "schemaLocation")
			if loc == "" {
				return fmt.Errorf("%s: xs:include without a schemaLocation", file)
			}
			p, err := s.locate(file, loc)
			if err != nil {
				return err
			}
			if err := s.load(p, doc.tns, loadInclude, file+": xs:include "+loc); err != nil {
				return err
			}
		case "import":
			ns, loc := attrValue(c, "namespace"), attrValue(c, "schemaLocation")
			if ns == doc.tns {
				return fmt.Errorf("%s: xs:import of the document's own namespace %q", file, ns)
			}
			if loc == "" {
				// The import only declares the namespace; a reference into
				// it then fails as a component not found.
				continue
			}
			p, err := s.locate(file, loc)
			if err != nil {
				return err
			}
			// libxml2 reads the first import of a namespace and skips the
			// others with a warning; the model sees what the validator sees.
			if first, ok := s.imported[ns]; ok && first != p {
				continue
			}
			s.imported[ns] = p
			if err := s.load(p, ns, loadImport, file+": xs:import "+loc); err != nil {
				return err
			}
		case "redefine", "override":
			return fmt.Errorf("%s: xs:%s is not supported", file, c.Tag)
		case "element", "complexType", "simpleType", "group", "attributeGroup", "attribute":
			name := attrValue(c, "name")
			if name == "" {
				return fmt.Errorf("%s: global xs:%s without a name", file, c.Tag)
			}
			q := qname{doc.tns, name}
			table := map[string]map[qname]comp{
				"element": s.elements, "complexType": s.types, "simpleType": s.types,
				"group": s.groups, "attributeGroup": s.attrGroups, "attribute": s.attributes,
			}[c.Tag]
			if old, dup := table[q]; dup {
				return fmt.Errorf("%s: xs:%s %s is declared twice (also in %s)", file, c.Tag, q, old.doc.file)
			}
			table[q] = comp{c, doc}
			if c.Tag == "element" {
				if sg := attrValue(c, "substitutionGroup"); sg != "" {
					for _, h := range strings.Fields(sg) {
						head, err := resolveQName(c, h, doc)
						if err != nil {
							return err
						}
						s.substitutes[head] = append(s.substitutes[head], q)
					}
				}
			}
		default:
			return fmt.Errorf("%s: xs:%s is not supported", file, c.Tag)
		}
	}
	return nil
}

// targets builds the models reachable from the global element root and
// lists the required paths below it.
func (s *schemaSet) targets(root qname) (*Targets, error) {
	c, ok := s.elements[root]
	if !ok {
		return nil, fmt.Errorf("no global element %s in the schema", root)
	}
	if err := s.checkHead(root); err != nil {
		return nil, err
	}
	top, err := s.elementModel(c.e, c.doc)
	if err != nil {
		return nil, err
	}
	// Every model reachable from the root is built now, so that a Targets
	// is never written to once returned.
	seen := map[*model]bool{top: true}
	all := []*model{top}
	for i := 0; i < len(all); i++ {
		for _, k := range all[i].kids {
			if k.typ == nil {
				if k.typ, err = s.elementModel(k.decl, k.doc); err != nil {
					return nil, err
				}
			}
			if !seen[k.typ] {
				seen[k.typ] = true
				all = append(all, k.typ)
			}
		}
	}
	// The shared leaf models (anyModel, simpleModel) are never written:
	// they have no attributes or children to set mayRequire.
	for _, m := range all {
		for _, a := range m.attrs {
			if a.required {
				m.mayRequire = true
			}
		}
		for _, k := range m.kids {
			if k.required {
				m.mayRequire = true
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, m := range all {
			if m.mayRequire {
				continue
			}
			for _, k := range m.kids {
				if k.typ.mayRequire {
					m.mayRequire, changed = true, true
					break
				}
			}
		}
	}

	t := &Targets{root: root, top: top}
	visits := 0
	onPath := map[*model]bool{}
	var walk func(p string, m *model, depth int) error
	walk = func(p string, m *model, depth int) error {
		if visits++; visits > maxRequiredVisits {
			return fmt.Errorf("element %s: more than %d paths to walk for the required ones", root, maxRequiredVisits)
		}
		onPath[m] = true
		defer delete(onPath, m)
		for _, a := range m.attrs {
			if a.required {
				t.required = append(t.required, p+"/@"+a.name.String())
			}
		}
		if depth >= maxRequiredDepth {
			return nil
		}
		for _, k := range m.kids {
			kp := p + "/" + k.name.String()
			if k.required {
				t.required = append(t.required, kp)
			}
			if k.typ.mayRequire && !onPath[k.typ] {
				if err := walk(kp, k.typ, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if top.mayRequire {
		if err := walk(root.String(), top, 1); err != nil {
			return nil, err
		}
	}
	sort.Strings(t.required)
	return t, nil
}

// checkHead refuses an element others substitute for: the content model
// would have to allow them wherever it is referenced.
func (s *schemaSet) checkHead(q qname) error {
	if members := s.substitutes[q]; len(members) > 0 {
		return fmt.Errorf("%s: element %s is the head of a substitution group (%s): not supported", s.elements[q].doc.file, q, members[0])
	}
	return nil
}

// elementModel is the model of the type of the element declaration e.
func (s *schemaSet) elementModel(e *etree.Element, doc *schemaDoc) (*model, error) {
	if m, ok := s.elemMods[e]; ok {
		return m, nil
	}
	var m *model
	var err error
	if t := attrValue(e, "type"); t != "" {
		var q qname
		if q, err = resolveQName(e, t, doc); err != nil {
			return nil, err
		}
		m, err = s.typeModel(q, e, doc)
	} else if ct := xsdChild(e, "complexType"); ct != nil {
		m, err = s.complexModel(ct, doc)
	} else if xsdChild(e, "simpleType") != nil {
		m = simpleModel
	} else if sg := strings.Fields(attrValue(e, "substitutionGroup")); len(sg) > 0 {
		// A member without a type of its own has its head's.
		var head qname
		if head, err = resolveQName(e, sg[0], doc); err != nil {
			return nil, err
		}
		h, ok := s.elements[head]
		if !ok {
			return nil, fmt.Errorf("%s: element %s: substitution group head %s is not declared", doc.file, attrValue(e, "name"), head)
		}
		if s.building[e] {
			return nil, fmt.Errorf("%s: element %s: circular substitution group", doc.file, attrValue(e, "name"))
		}
		s.building[e] = true
		m, err = s.elementModel(h.e, h.doc)
		delete(s.building, e)
	} else {
		m = anyModel
	}
	if err != nil {
		return nil, err
	}
	s.elemMods[e] = m
	return m, nil
}

// typeModel is the model of the named type q, referenced from e.
func (s *schemaSet) typeModel(q qname, e *etree.Element, doc *schemaDoc) (*model, error) {
	if q.ns == xsdNS {
		switch {
		case q.local == "anyType":
			return anyModel, nil
		case builtinTypes[q.local]:
			return simpleModel, nil
		}
		return nil, fmt.Errorf("%s: xs:%s %s: %s is not a built-in type", doc.file, e.Tag, attrValue(e, "name"), q)
	}
	c, ok := s.types[q]
	if !ok {
		return nil, fmt.Errorf("%s: xs:%s %s: type %s is not declared in the schema set", doc.file, e.Tag, attrValue(e, "name"), q)
	}
	if c.e.Tag == "simpleType" {
		return simpleModel, nil
	}
	return s.complexModel(c.e, c.doc)
}

// complexModel is the model of the xs:complexType ct.
func (s *schemaSet) complexModel(ct *etree.Element, doc *schemaDoc) (*model, error) {
	if m, ok := s.models[ct]; ok {
		return m, nil
	}
	if s.building[ct] {
		return nil, fmt.Errorf("%s: complex type %s derives from itself", doc.file, typeName(ct))
	}
	s.building[ct] = true
	defer delete(s.building, ct)

	m := newModel()
	content := xsdChild(ct, "simpleContent")
	if content == nil {
		content = xsdChild(ct, "complexContent")
	}
	if content == nil {
		// A shorthand for a restriction of anyType: its own content only.
		if err := s.addContent(m, ct, doc, true, false, nil); err != nil {
			return nil, err
		}
		s.models[ct] = m
		return m, nil
	}
	d := derivation(content)
	if d == nil {
		return nil, fmt.Errorf("%s: complex type %s: xs:%s without an extension or restriction", doc.file, typeName(ct), content.Tag)
	}
	base, err := s.baseModel(d, doc, ct)
	if err != nil {
		return nil, err
	}
	extension := d.Tag == "extension"
	// Both derivations keep the base's attributes (a restriction may
	// prohibit or narrow them); only an extension keeps its wildcard.
	if !base.any {
		m.inheritAttrs(base)
	}
	if extension {
		m.anyAttr = base.anyAttr
	}
	if content.Tag == "simpleContent" {
		m.simple = true
		// The rest of a restriction (facets, its simple type) constrains
		// the text, which the model does not check.
		if err := s.addAttrs(m, d, doc, nil); err != nil {
			return nil, err
		}
		s.models[ct] = m
		return m, nil
	}
	if base.simple {
		return nil, fmt.Errorf("%s: complex type %s: complex content derived from simple content", doc.file, typeName(ct))
	}
	if extension {
		if base.any {
			// Extending anyType keeps its wildcard: anything goes.
			m.any = true
		}
		// The base's particles come first, in a sequence with the
		// extension's: their required-ness is unchanged.
		for _, k := range base.kids {
			m.addKid(k)
		}
		m.wild = append(m.wild, base.wild...)
	}
	if err := s.addContent(m, d, doc, true, false, nil); err != nil {
		return nil, err
	}
	s.models[ct] = m
	return m, nil
}

// derivation is the xs:extension or xs:restriction in a content element.
func derivation(content *etree.Element) *etree.Element {
	for _, d := range content.ChildElements() {
		if isXSD(d, "extension") || isXSD(d, "restriction") {
			return d
		}
	}
	return nil
}

// baseModel is the model of the base type of the derivation d.
func (s *schemaSet) baseModel(d *etree.Element, doc *schemaDoc, ct *etree.Element) (*model, error) {
	b := attrValue(d, "base")
	if b == "" {
		if d.Tag == "restriction" && xsdChild(d, "simpleType") != nil {
			return simpleModel, nil
		}
		return nil, fmt.Errorf("%s: complex type %s: xs:%s without a base", doc.file, typeName(ct), d.Tag)
	}
	q, err := resolveQName(d, b, doc)
	if err != nil {
		return nil, err
	}
	if q.ns == xsdNS && q.local == "anyType" {
		return anyModel, nil
	}
	return s.typeModel(q, ct, doc)
}

// addContent adds the particles and attributes among the children of
// parent (a complexType, extension, restriction, or a model group) to m.
// required says whether the particles around parent are all required.
// many says whether a particle around parent may repeat, so every
// element within it may occur more than once.
func (s *schemaSet) addContent(m *model, parent *etree.Element, doc *schemaDoc, required, many bool, groups []*etree.Element) error {
	for _, c := range parent.ChildElements() {
		if c.NamespaceURI() != xsdNS {
			return fmt.Errorf("%s: unexpected element %s in xs:%s", doc.file, c.FullTag(), parent.Tag)
		}
		switch c.Tag {
		case "annotation":
		case "attribute", "attributeGroup", "anyAttribute":
			if err := s.addAttr(m, c, doc, nil); err != nil {
				return err
			}
		case "element", "sequence", "choice", "all", "group", "any":
			if err := s.addParticle(m, c, doc, required, many, groups); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: xs:%s in xs:%s is not supported", doc.file, c.Tag, parent.Tag)
		}
	}
	return nil
}

// addAttrs adds the attribute declarations among parent's children to m.
func (s *schemaSet) addAttrs(m *model, parent *etree.Element, doc *schemaDoc, groups []*etree.Element) error {
	for _, c := range parent.ChildElements() {
		if c.NamespaceURI() != xsdNS {
			return fmt.Errorf("%s: unexpected element %s in xs:%s", doc.file, c.FullTag(), parent.Tag)
		}
		switch c.Tag {
		case "attribute", "attributeGroup", "anyAttribute":
			if err := s.addAttr(m, c, doc, groups); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *schemaSet) addAttr(m *model, c *etree.Element, doc *schemaDoc, groups []*etree.Element) error {
	switch c.Tag {
	case "anyAttribute":
		m.anyAttr = true
	case "attributeGroup":
		ref := attrValue(c, "ref")
		if ref == "" {
			return fmt.Errorf("%s: xs:attributeGroup without a ref", doc.file)
		}
		q, err := resolveQName(c, ref, doc)
		if err != nil {
			return err
		}
		g, ok := s.attrGroups[q]
		if !ok {
			return fmt.Errorf("%s: attribute group %s is not declared in the schema set", doc.file, q)
		}
		for _, x := range groups {
			if x == g.e {
				return fmt.Errorf("%s: attribute group %s refers to itself", g.doc.file, q)
			}
		}
		return s.addAttrs(m, g.e, g.doc, append(groups, g.e))
	case "attribute":
		var a attrUse
		if ref := attrValue(c, "ref"); ref != "" {
			q, err := resolveQName(c, ref, doc)
			if err != nil {
				return err
			}
			if _, ok := s.attributes[q]; !ok && q.ns != xmlNS {
				return fmt.Errorf("%s: attribute %s is not declared in the schema set", doc.file, q)
			}
			a.name = q
		} else {
			name := attrValue(c, "name")
			if name == "" {
				return fmt.Errorf("%s: xs:attribute without a name or ref", doc.file)
			}
			a.name.local = name
			if form := attrValue(c, "form"); form == "qualified" || form == "" && doc.attrQualified {
				a.name.ns = doc.tns
			}
		}
		use := attrValue(c, "use")
		a.required = use == "required"
		m.addAttr(a, use == "prohibited")
	}
	return nil
}

func (s *schemaSet) addParticle(m *model, c *etree.Element, doc *schemaDoc, required, many bool, groups []*etree.Element) error {
	minOcc, maxOcc, err := occurs(c, doc)
	if err != nil {
		return err
	}
	if maxOcc == 0 {
		return nil // may not occur at all
	}
	required = required && minOcc >= 1
	many = many || maxOcc != 1
	switch c.Tag {
	case "element":
		p := &particle{required: required, many: many, doc: doc, decl: c}
		if ref := attrValue(c, "ref"); ref != "" {
			q, err := resolveQName(c, ref, doc)
			if err != nil {
				return err
			}
			g, ok := s.elements[q]
			if !ok {
				return fmt.Errorf("%s: element %s is not declared in the schema set", doc.file, q)
			}
			if err := s.checkHead(q); err != nil {
				return err
			}
			p.name, p.decl, p.doc = q, g.e, g.doc
		} else {
			name := attrValue(c, "name")
			if name == "" {
				return fmt.Errorf("%s: xs:element without a name or ref", doc.file)
			}
			p.name.local = name
			if form := attrValue(c, "form"); form == "qualified" || form == "" && doc.elemQualified {
				p.name.ns = doc.tns
			}
		}
		m.addKid(p)
	case "any":
		w, err := parseWildcard(c, doc)
		if err != nil {
			return err
		}
		m.wild = append(m.wild, w)
	case "sequence", "all":
		return s.addContent(m, c, doc, required, many, groups)
	case "choice":
		branches := 0
		for _, b := range c.ChildElements() {
			if !isXSD(b, "annotation") {
				branches++
			}
		}
		return s.addContent(m, c, doc, required && branches == 1, many, groups)
	case "group":
		ref := attrValue(c, "ref")
		if ref == "" {
			return fmt.Errorf("%s: xs:group without a ref", doc.file)
		}
		q, err := resolveQName(c, ref, doc)
		if err != nil {
			return err
		}
		g, ok := s.groups[q]
		if !ok {
			return fmt.Errorf("%s: group %s is not declared in the schema set", doc.file, q)
		}
		for _, x := range groups {
			if x == g.e {
				return fmt.Errorf("%s: group %s contains itself", g.doc.file, q)
			}
		}
		groups = append(groups, g.e)
		for _, b := range g.e.ChildElements() {
			switch {
			case isXSD(b, "annotation"):
			case isXSD(b, "sequence"), isXSD(b, "choice"), isXSD(b, "all"):
				if err := s.addParticle(m, b, g.doc, required, many, groups); err != nil {
					return err
				}
			default:
				return fmt.Errorf("%s: group %s: unexpected %s", g.doc.file, q, b.FullTag())
			}
		}
	}
	return nil
}

// occurs reads minOccurs and maxOccurs; unbounded is -1.
func occurs(e *etree.Element, doc *schemaDoc) (minOcc, maxOcc int, err error) {
	minOcc, maxOcc = 1, 1
	if v := attrValue(e, "minOccurs"); v != "" {
		if minOcc, err = strconv.Atoi(strings.TrimSpace(v)); err != nil || minOcc < 0 {
			return 0, 0, fmt.Errorf("%s: xs:%s: minOccurs %q", doc.file, e.Tag, v)
		}
	}
	if v := strings.TrimSpace(attrValue(e, "maxOccurs")); v == "unbounded" {
		maxOcc = -1
	} else if v != "" {
		if maxOcc, err = strconv.Atoi(v); err != nil || maxOcc < 0 {
			return 0, 0, fmt.Errorf("%s: xs:%s: maxOccurs %q", doc.file, e.Tag, v)
		}
	}
	return minOcc, maxOcc, nil
}

// resolveQName resolves a QName-valued attribute value with the namespace
// declarations in scope on e: etree leaves attribute values as written.
func resolveQName(e *etree.Element, v string, doc *schemaDoc) (qname, error) {
	v = strings.TrimSpace(v)
	prefix, local, ok := strings.Cut(v, ":")
	if !ok {
		prefix, local = "", v
	}
	if local == "" || strings.Contains(local, ":") {
		return qname{}, fmt.Errorf("%s: %q is not a QName", doc.file, v)
	}
	var ns string
	switch {
	case prefix == "xml":
		ns = xmlNS
	default:
		var found bool
		ns, found = lookupNS(e, prefix)
		if !found && prefix != "" {
			return qname{}, fmt.Errorf("%s: prefix %q of %q is not declared", doc.file, prefix, v)
		}
	}
	if ns == "" && doc.chameleon {
		ns = doc.tns
	}
	return qname{ns, local}, nil
}

func lookupNS(e *etree.Element, prefix string) (string, bool) {
	for ; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if prefix == "" && a.Space == "" && a.Key == "xmlns" || prefix != "" && a.Space == "xmlns" && a.Key == prefix {
				return a.Value, true
			}
		}
	}
	return "", false
}

// attrValue is the value of e's unprefixed attribute key.
func attrValue(e *etree.Element, key string) string {
	for _, a := range e.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value
		}
	}
	return ""
}

func isXSD(e *etree.Element, local string) bool {
	return e.Tag == local && e.NamespaceURI() == xsdNS
}

func xsdChild(e *etree.Element, local string) *etree.Element {
	for _, c := range e.ChildElements() {
		if isXSD(c, local) {
			return c
		}
	}
	return nil
}

// typeName names a complex type for an error: its name, or the element
// an anonymous one belongs to.
func typeName(ct *etree.Element) string {
	if n := attrValue(ct, "name"); n != "" {
		return n
	}
	if p := ct.Parent(); p != nil {
		if n := attrValue(p, "name"); n != "" {
			return "(anonymous, of element " + n + ")"
		}
	}
	return "(anonymous)"
}

// builtinTypes are XML Schema's built-in simple types.
var builtinTypes = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`anySimpleType anyAtomicType string boolean decimal float double duration
		dateTime time date gYearMonth gYear gMonthDay gDay gMonth hexBinary base64Binary anyURI QName NOTATION
		normalizedString token language NMTOKEN NMTOKENS Name NCName ID IDREF IDREFS ENTITY ENTITIES integer
		nonPositiveInteger negativeInteger long int short byte nonNegativeInteger unsignedLong unsignedInt
		unsignedShort unsignedByte positiveInteger yearMonthDuration dayTimeDuration dateTimeStamp`) {
		builtinTypes[n] = true
	}
}

// Children returns the child elements the schema allows below the element
// at path (Clark names, as CheckTarget takes), in the order its content
// model lists them, and whether each may occur more than once there. That
// order is always a valid one: an xs:sequence fixes it, and an xs:choice or
// xs:all accepts it too. ok is false where the schema leaves the children
// open (a wildcard, anyType) or has no such element.
func (t *Targets) Children(p string) (names []string, many []bool, ok bool) {
	steps, err := splitPath(p)
	if err != nil || steps[0].attr || steps[0].name != t.root {
		return nil, nil, false
	}
	m := t.top
	for _, st := range steps[1:] {
		k := m.byName[st.name]
		if st.attr || m.any || k == nil {
			return nil, nil, false
		}
		m = k.typ
	}
	if m.any || m.simple || len(m.wild) > 0 {
		return nil, nil, false
	}
	for _, k := range m.kids {
		names = append(names, k.name.String())
		many = append(many, k.many)
	}
	return names, many, true
}
