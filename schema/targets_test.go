package schema

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/rules"
)

var _ mapping.TargetChecker = (*Targets)(nil)

// targetsFS holds the synthetic schema sets, one directory each.
var targetsFS = os.DirFS("testdata/targets")

// clark writes a path given with prefixes ("x:Doc/x:ID/@schemeID") in
// Clark notation, so that the tables stay readable.
func clark(ns map[string]string, p string) string {
	steps := strings.Split(p, "/")
	for i, s := range steps {
		at := ""
		if rest, ok := strings.CutPrefix(s, "@"); ok {
			at, s = "@", rest
		}
		if prefix, local, ok := strings.Cut(s, ":"); ok && !strings.HasPrefix(s, "{") {
			uri, known := ns[prefix]
			if !known {
				panic("clark: unknown prefix " + prefix)
			}
			s = "{" + uri + "}" + local
		}
		steps[i] = at + s
	}
	return strings.Join(steps, "/")
}

func loadTargets(tb testing.TB, fsys fs.FS, entry, root string) *Targets {
	tb.Helper()
	tg, err := LoadTargets(fsys, entry, root)
	if err != nil {
		tb.Fatal(err)
	}
	return tg
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// The synthetic schemas compile with libxml2 too: the model is tested
// against schemas the validator accepts, not against ones only it reads.
func TestTargets_FixturesCompile(t *testing.T) {
	for _, entry := range []string{"basic/main.xsd", "unqual/main.xsd", "inc/main.xsd"} {
		if _, err := Load(targetsFS, entry); err != nil {
			t.Errorf("%s: %v", entry, err)
		}
	}
}

func TestTargets_CheckTarget(t *testing.T) {
	x := map[string]string{"x": "urn:x", "y": "urn:y", "z": "urn:z", "q": "urn:q",
		"xsi": "http://www.w3.org/2001/XMLSchema-instance"}
	u := map[string]string{"u": "urn:u"}
	m := map[string]string{"m": "urn:m", "o": "urn:o", "r": "urn:r"}
	type tc struct {
		path string
		want string // "" for nil
	}
	sets := []struct {
		entry, root string
		ns          map[string]string
		cases       []tc
	}{{
		entry: "basic/main.xsd", root: "{urn:x}Doc", ns: x,
		cases: []tc{
			{"x:Doc", ""},
			{"x:Doc/x:ID", ""},
			// simple content extension: its attributes, no children
			{"x:Doc/x:ID/@schemeID", ""},
			{"x:Doc/x:ID/x:Bogus", "{urn:x}ID has simple content: no child elements"},
			{"x:Doc/x:Note/@languageID", ""},
			{"x:Doc/x:Note/@bogus", "{urn:x}Note has no attribute bogus; it allows languageID"},
			// a child element the root does not have: the list is bounded
			{"x:Doc/x:Bogus", "{urn:x}Bogus is not an element of {urn:x}Doc; it allows {urn:x}ID, {urn:x}Note, " +
				"{urn:x}Shared, {urn:x}A, {urn:x}B, {urn:x}Single, {urn:x}InOptional, {urn:x}HeaderLine, " +
				"{urn:x}HeaderExtra, {urn:x}TrailerLine, {urn:x}Bag, {urn:x}OpenOther, … (11 more)"},
			{"y:Q", "the root is {urn:x}Doc, not {urn:y}Q"},
			{"Doc", "the root is {urn:x}Doc, not Doc"},
			{"x:Doc/x:Shared", ""}, // element ref
			{"x:Doc/x:A", ""},      // choice branches
			{"x:Doc/x:B", ""},
			{"x:Doc/x:Single", ""},
			{"x:Doc/x:InOptional", ""},
			{"x:Doc/x:HeaderLine", ""}, // group ref
			{"x:Doc/x:HeaderExtra", ""},
			{"x:Doc/x:TrailerLine", ""},
			{"x:Doc/x:Bag/x:Apple", ""}, // xs:all
			{"x:Doc/x:Bag/x:Pear", ""},
			// attributeGroup (nested) and a global attribute by ref
			{"x:Doc/@lang", ""},
			{"x:Doc/@channel", ""},
			{"x:Doc/@auditor", ""},
			{"x:Doc/@x:version", ""},
			{"x:Doc/@version", "{urn:x}Doc has no attribute version; it allows lang, channel, auditor, {urn:x}version"},
			{"x:Doc/@xsi:nil", ""},
			// maxOccurs="0": declared, but never allowed
			{"x:Doc/x:Gone", "{urn:x}Gone is not an element of {urn:x}Doc; it allows {urn:x}ID, {urn:x}Note, " +
				"{urn:x}Shared, {urn:x}A, {urn:x}B, {urn:x}Single, {urn:x}InOptional, {urn:x}HeaderLine, " +
				"{urn:x}HeaderExtra, {urn:x}TrailerLine, {urn:x}Bag, {urn:x}OpenOther, … (11 more)"},
			// xs:any ##other and xs:anyAttribute: anything in another namespace, at any depth
			{"x:Doc/x:OpenOther/x:Known", ""},
			{"x:Doc/x:OpenOther/y:Whatever", ""},
			{"x:Doc/x:OpenOther/y:Whatever/Deep/@z", ""},
			{"x:Doc/x:OpenOther/@q:anything", ""},
			{"x:Doc/x:OpenOther/@plain", ""},
			{"x:Doc/x:OpenOther/x:Bogus", "{urn:x}Bogus is not an element of {urn:x}OpenOther; it allows {urn:x}Known, any element in a namespace other than urn:x"},
			{"x:Doc/x:OpenOther/Local", "Local is not an element of {urn:x}OpenOther; it allows {urn:x}Known, any element in a namespace other than urn:x"},
			// ##local
			{"x:Doc/x:OpenLocal/Foo/Bar", ""},
			{"x:Doc/x:OpenLocal/y:Foo", "{urn:y}Foo is not an element of {urn:x}OpenLocal; it allows any element in no namespace"},
			// a list with ##targetNamespace
			// (and form="unqualified" under elementFormDefault="qualified")
			{"x:Doc/x:OpenList/Fixed", ""},
			{"x:Doc/x:OpenList/y:Foo", ""},
			{"x:Doc/x:OpenList/x:Foo", ""},
			{"x:Doc/x:OpenList/x:Fixed", ""},
			{"x:Doc/x:OpenList/z:Foo", "{urn:z}Foo is not an element of {urn:x}OpenList; it allows Fixed, any element in namespace urn:x or urn:y"},
			{"x:Doc/x:OpenList/Foo", "Foo is not an element of {urn:x}OpenList; it allows Fixed, any element in namespace urn:x or urn:y"},
			{"x:Doc/x:OpenList/Fixed/x:Foo", "Fixed has simple content: no child elements"},
			// ##any
			{"x:Doc/x:OpenAny/z:Foo/Bar/@baz", ""},
			{"x:Doc/x:OpenAny/@bogus", "{urn:x}OpenAny has no attribute bogus; it allows no attributes"},
			// complexContent extension: the base's particles and attributes, then its own
			{"x:Doc/x:Party/x:Name", ""},
			{"x:Doc/x:Party/x:Phone", ""},
			{"x:Doc/x:Party/x:Email", ""},
			{"x:Doc/x:Party/@id", ""},
			{"x:Doc/x:Party/@role", ""},
			{"x:Doc/x:Party/@note", ""},
			// complexContent restriction: its own particles; the base's
			// attributes but the prohibited one
			{"x:Doc/x:Brief/x:Name", ""},
			{"x:Doc/x:Brief/x:Phone", "{urn:x}Phone is not an element of {urn:x}Brief; it allows {urn:x}Name"},
			{"x:Doc/x:Brief/@id", ""},
			{"x:Doc/x:Brief/@note", "{urn:x}Brief has no attribute note; it allows id"},
			// simpleContent restriction keeps the base's attributes
			{"x:Doc/x:Amount/@currency", ""},
			{"x:Doc/x:Amount/@precision", ""},
			{"x:Doc/x:Amount/@scale", "{urn:x}Amount has no attribute scale; it allows currency, precision"},
			// a recursive type
			{"x:Doc/x:Part/x:Part/x:Part/x:Label", ""},
			{"x:Doc/x:Part/x:Part/x:Bogus", "{urn:x}Bogus is not an element of {urn:x}Part; it allows {urn:x}Label, {urn:x}Part"},
			// no type: xs:anyType, anything below
			{"x:Doc/x:Anything/y:Foo/Bar/@baz", ""},
			{"x:Doc/x:Inline/x:Child", ""},
			{"x:Doc/x:Inline/@kind", ""},
			{"x:Doc/x:Code/x:Sub", "{urn:x}Code has simple content: no child elements"},
			{"x:Doc/x:Empty/x:Sub", "{urn:x}Sub is not an element of {urn:x}Empty; it allows no child elements"},
			// malformed paths
			{"", "empty path"},
			{"x:Doc/@lang/x:ID", "@lang is an attribute: only the last step can be"},
			{"x:Doc//x:ID", `path {urn:x}Doc//{urn:x}ID: step 2: "" is not a name`},
			{"{urn:x}Doc/{urn:xID", `path {urn:x}Doc/{urn:xID: step 2: "{urn:xID": no closing brace`},
		},
	}, {
		entry: "unqual/main.xsd", root: "{urn:u}R", ns: u,
		cases: []tc{
			{"u:R/Plain/Inner", ""},
			{"u:R/u:Qual", ""},
			{"u:R/u:Global", ""},
			{"u:R/u:Plain", "{urn:u}Plain is not an element of {urn:u}R; it allows Plain, {urn:u}Qual, {urn:u}Global"},
			{"u:R/Plain/u:Inner", "{urn:u}Inner is not an element of Plain; it allows Inner"},
			{"u:R/Qual", "Qual is not an element of {urn:u}R; it allows Plain, {urn:u}Qual, {urn:u}Global"},
			{"u:R/@u:a", ""},
			{"u:R/@b", ""},
			{"u:R/@a", "{urn:u}R has no attribute a; it allows {urn:u}a, b"},
		},
	}, {
		entry: "inc/main.xsd", root: "{urn:m}M", ns: m,
		cases: []tc{
			{"m:M/m:T/m:TLeaf", ""},  // include
			{"m:M/m:C/m:CItem", ""},  // chameleon include
			{"m:M/o:Other/Leaf", ""}, // import through a catalog uri entry, and its include
			{"m:M/o:Other/@at", ""},  //
			{"m:M/m:O2/Leaf", ""},    // an imported type
			{"m:M/m:R/r:RLeaf", ""},  // import through a rewriteURI entry
			{"m:M/m:C/CItem", "CItem is not an element of {urn:m}C; it allows {urn:m}CItem"},
			{"m:M/o:Other/o:Leaf", "{urn:o}Leaf is not an element of {urn:o}Other; it allows Leaf"},
		},
	}}
	for _, set := range sets {
		tg := loadTargets(t, targetsFS, set.entry, set.root)
		for _, c := range set.cases {
			p := c.path
			if !strings.HasPrefix(p, "{") {
				p = clark(set.ns, p)
			}
			if got := errText(tg.CheckTarget(p)); got != c.want {
				t.Errorf("%s: CheckTarget(%s):\n got %q\nwant %q", set.entry, c.path, got, c.want)
			}
		}
	}
}

func TestTargets_Required(t *testing.T) {
	cases := []struct {
		entry, root string
		ns          map[string]string
		want        []string
	}{{
		entry: "basic/main.xsd", root: "{urn:x}Doc", ns: map[string]string{"x": "urn:x"},
		want: []string{
			"x:Doc/@lang",
			"x:Doc/x:Amount",
			"x:Doc/x:Amount/@currency", // required by the restriction, optional in the base
			"x:Doc/x:Anything",
			"x:Doc/x:Bag/x:Apple", // below an optional element
			"x:Doc/x:Brief/@id",
			"x:Doc/x:Brief/x:Name",
			"x:Doc/x:Code",
			"x:Doc/x:HeaderLine",
			"x:Doc/x:ID",
			"x:Doc/x:Inline",
			"x:Doc/x:Inline/@kind",
			"x:Doc/x:Inline/x:Child",
			"x:Doc/x:OpenOther/x:Known",
			"x:Doc/x:Part/x:Label", // and not again below x:Part/x:Part
			"x:Doc/x:Party",
			"x:Doc/x:Party/@id",
			"x:Doc/x:Party/@role",
			"x:Doc/x:Party/x:Email",
			"x:Doc/x:Party/x:Name",
			"x:Doc/x:Shared",
			"x:Doc/x:Single", // the only branch of its choice
			// not x:A, x:B (a choice), x:InOptional (an optional
			// sequence), x:TrailerLine (an optional group)
		},
	}, {
		entry: "unqual/main.xsd", root: "{urn:u}R", ns: map[string]string{"u": "urn:u"},
		want: []string{"u:R/@u:a", "u:R/Plain", "u:R/Plain/Inner"},
	}, {
		entry: "inc/main.xsd", root: "{urn:m}M", ns: map[string]string{"m": "urn:m", "o": "urn:o", "r": "urn:r"},
		want: []string{
			"m:M/m:C", "m:M/m:C/m:CItem",
			"m:M/m:O2/@at", "m:M/m:O2/Leaf",
			"m:M/m:R/r:RLeaf",
			"m:M/m:T", "m:M/m:T/m:TLeaf",
			"m:M/o:Other", "m:M/o:Other/@at", "m:M/o:Other/Leaf",
		},
	}}
	for _, c := range cases {
		tg := loadTargets(t, targetsFS, c.entry, c.root)
		var want []string
		for _, p := range c.want {
			want = append(want, clark(c.ns, p))
		}
		slices.Sort(want)
		got := tg.Required()
		if !slices.Equal(got, want) {
			t.Errorf("%s: Required():\n got %s\nwant %s", c.entry, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
		}
	}
}

func TestTargets_LoadErrors(t *testing.T) {
	cases := []struct {
		entry, root string
		want        []string // each in the error
	}{
		{"missing/main.xsd", "{urn:x}Doc", []string{"missing/main.xsd: xs:import nothere.xsd: schema document not found: missing/nothere.xsd"}},
		{"uncataloged/main.xsd", "{urn:x}Doc", []string{"uncataloged/main.xsd: schema document http://example.com/y.xsd: an absolute location is read only through catalog.xml"}},
		{"redefine/main.xsd", "{urn:x}Doc", []string{"redefine/main.xsd: xs:redefine is not supported"}},
		{"override/main.xsd", "{urn:x}Doc", []string{"override/main.xsd: xs:override is not supported"}},
		{"subst/main.xsd", "{urn:x}Doc", []string{"subst/main.xsd: element {urn:x}Shape is the head of a substitution group ({urn:x}Circle): not supported"}},
		{"undeclared/main.xsd", "{urn:x}Doc", []string{"undeclared/main.xsd:", "type {urn:x}NoSuchType is not declared"}},
		{"nsmismatch/main.xsd", "{urn:x}Doc", []string{`nsmismatch/z.xsd: imported for namespace "urn:y" but its targetNamespace is "urn:z"`}},
		{"basic/main.xsd", "{urn:x}Nope", []string{"no global element {urn:x}Nope"}},
		{"basic/main.xsd", "{urn:x", []string{`root "{urn:x"`}},
		{"nothere/main.xsd", "{urn:x}Doc", []string{"schema document not found: nothere/main.xsd"}},
		{"../basic/main.xsd", "{urn:x}Doc", []string{"not a valid fs path"}},
	}
	for _, c := range cases {
		_, err := LoadTargets(targetsFS, c.entry, c.root)
		if err == nil {
			t.Errorf("%s: LoadTargets succeeded", c.entry)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", c.entry, err, w)
			}
		}
	}
}

// The shipped schema sets, as the rules load them.
var realTargets = []struct {
	name, entry, root string
	examples          []string // globs in rules.FS
	onDisk            []string // globs relative to this directory
}{
	{"sps", "documents/sps-d13b/SPSCertificate_11p0.xsd", "{" + rsmNS + "}SPSCertificate",
		[]string{"*/examples/sps/*.standard.xml"}, []string{"../rules/testdata/*.sps.xml"}},
	{"cod", "documents/cod/cod_ver_1.8.2_AllianceProfile.xsd", "{" + soapNS + "}Envelope",
		[]string{"*/examples/cod/*.standard.xml"}, nil},
	{"customs", "documents/customs.xsd", "{" + decNS + "}Declaration",
		[]string{"*/examples/customs/*.standard.xml"}, nil},
}

const (
	rsmNS   = "urn:un:unece:uncefact:data:standard:SPSCertificate:11"
	ramNS   = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:14"
	udtNS   = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15"
	soapNS  = "http://www.w3.org/2001/12/soap-envelope"
	decNS   = "urn:pacific-alliance:customs:declaration:1"
	dsigNS  = "http://www.w3.org/2000/09/xmldsig#"
	xmlnsNS = "xmlns"
)

// docElem is an element of a document: its path and its children's and
// attributes' last steps.
type docElem struct {
	path  string
	steps map[string]bool
}

// docPaths lists the document's elements with their paths in Clark
// notation, leaving out XML signatures (the schemas leave them to the
// signature verifier) and namespace declarations.
func docPaths(root *etree.Element) []docElem {
	var out []docElem
	var walk func(e *etree.Element, parent string)
	walk = func(e *etree.Element, parent string) {
		name := qname{e.NamespaceURI(), e.Tag}
		if name.ns == dsigNS {
			return
		}
		p := name.String()
		if parent != "" {
			p = parent + "/" + p
		}
		de := docElem{path: p, steps: map[string]bool{}}
		for _, a := range e.Attr {
			if a.Space == xmlnsNS || a.Space == "" && a.Key == "xmlns" {
				continue
			}
			de.steps["@"+qname{a.NamespaceURI(), a.Key}.String()] = true
		}
		for _, c := range e.ChildElements() {
			de.steps[qname{c.NamespaceURI(), c.Tag}.String()] = true
		}
		out = append(out, de)
		for _, c := range e.ChildElements() {
			walk(c, p)
		}
	}
	walk(root, "")
	return out
}

// lastSlash is where a path's last step starts, past the slashes inside
// a namespace URI.
func lastSlash(p string) int {
	depth := 0
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case '}':
			depth++
		case '{':
			depth--
		case '/':
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// Every golden document is valid (the test checks it with libxml2), so
// every path in it must be one the model allows, and every path the model
// requires below an element of it must be there.
func TestTargets_RealSchemasAgreeWithExamples(t *testing.T) {
	for _, rs := range realTargets {
		t.Run(rs.name, func(t *testing.T) {
			tg := loadTargets(t, rules.FS, rs.entry, rs.root)
			sch, err := Load(rules.FS, rs.entry)
			if err != nil {
				t.Fatal(err)
			}
			required := map[string][]string{} // parent → last steps
			for _, r := range tg.Required() {
				i := lastSlash(r)
				required[r[:i]] = append(required[r[:i]], r[i+1:])
			}
			docs := map[string][]byte{}
			for _, g := range rs.examples {
				names, err := fs.Glob(rules.FS, g)
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range names {
					if docs[n], err = fs.ReadFile(rules.FS, n); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, g := range rs.onDisk {
				names, err := filepath.Glob(g)
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range names {
					if docs[n], err = os.ReadFile(n); err != nil {
						t.Fatal(err)
					}
				}
			}
			if len(docs) == 0 {
				t.Fatal("no example documents")
			}
			for name, b := range docs {
				if err := sch.Validate(b); err != nil {
					t.Errorf("%s is not valid, so it proves nothing here: %v", name, err)
					continue
				}
				doc := etree.NewDocument()
				if err := doc.ReadFromBytes(b); err != nil {
					t.Fatal(name, err)
				}
				for _, de := range docPaths(doc.Root()) {
					if err := tg.CheckTarget(de.path); err != nil {
						t.Errorf("%s: %s: %v", name, de.path, err)
					}
					for s := range de.steps {
						if strings.HasPrefix(s, "@") {
							if err := tg.CheckTarget(de.path + "/" + s); err != nil {
								t.Errorf("%s: %s/%s: %v", name, de.path, s, err)
							}
						}
					}
					for _, s := range required[de.path] {
						if !de.steps[s] {
							t.Errorf("%s: %s has no %s, which the model says is required", name, de.path, s)
						}
					}
				}
			}
			t.Logf("%d documents, %d required paths", len(docs), len(tg.Required()))
		})
	}
}

func TestTargets_RealSchemas(t *testing.T) {
	sps := func(p string) string {
		return clark(map[string]string{"rsm": rsmNS, "ram": ramNS, "udt": udtNS}, p)
	}
	cod := func(p string) string { return clark(map[string]string{"env": soapNS}, p) }
	dec := func(p string) string { return clark(map[string]string{"dec": decNS}, p) }
	cases := []struct {
		name     string
		check    map[string]string // path → error ("" for nil)
		required []string
		optional []string // allowed, not required
	}{{
		name: "sps",
		check: map[string]string{
			sps("rsm:SPSCertificate/rsm:SPSExchangedDocument/ram:IssueDateTime/udt:DateTimeString/@format"):                                                      "",
			sps("rsm:SPSCertificate/rsm:SPSConsignment/ram:IncludedSPSConsignmentItem/ram:IncludedSPSTradeLineItem/ram:NetWeightMeasure/@unitCodeListVersionID"): "",
			sps("rsm:SPSCertificate/rsm:SPSExchangedDocument/ram:Bogus"): "{" + ramNS + "}Bogus is not an element of {" + rsmNS + "}SPSExchangedDocument; it allows " +
				"{" + ramNS + "}Name, {" + ramNS + "}ID, {" + ramNS + "}TypeCode, {" + ramNS + "}StatusCode, {" + ramNS + "}IssueDateTime, {" + ramNS + "}IssuerSPSParty, " +
				"{" + ramNS + "}IncludedSPSNote, {" + ramNS + "}ReferenceSPSReferencedDocument, {" + ramNS + "}SignatorySPSAuthentication",
			sps("rsm:SPSCertificate/rsm:SPSExchangedDocument/ram:ID/@bogus"):  "{" + ramNS + "}ID has no attribute bogus; it allows schemeID, schemeName, schemeAgencyID, schemeAgencyName, schemeVersionID, schemeDataURI, schemeURI",
			sps("rsm:SPSCertificate/rsm:SPSExchangedDocument/ram:ID/ram:Sub"): "{" + ramNS + "}ID has simple content: no child elements",
			// the profile's DateTime allows only DateTimeString, not the official choice's DateTime
			sps("rsm:SPSCertificate/rsm:SPSExchangedDocument/ram:IssueDateTime/udt:DateTime"): "{" + udtNS + "}DateTime is not an element of {" + ramNS + "}IssueDateTime; it allows {" + udtNS + "}DateTimeString",
			sps("rsm:SPSCertificate/ram:SPSExchangedDocument"):                                "{" + ramNS + "}SPSExchangedDocument is not an element of {" + rsmNS + "}SPSCertificate; it allows {" + rsmNS + "}SPSExchangedDocument, {" + rsmNS + "}SPSConsignment",
		},
		required: []string{
			sps("rsm:SPSCertificate/rsm:SPSExchangedDocument"),
			sps("rsm:SPSCertificate/rsm:SPSExchangedDocument/ram:ID"),
			sps("rsm:SPSCertificate/rsm:SPSExchangedDocument/ram:IssueDateTime/udt:DateTimeString"),
			sps("rsm:SPSCertificate/rsm:SPSConsignment/ram:IncludedSPSConsignmentItem/ram:IncludedSPSTradeLineItem/ram:SequenceNumeric"),
			// ProfileMeasureType restricts udt:MeasureType's optional unitCode to required
			sps("rsm:SPSCertificate/rsm:SPSConsignment/ram:IncludedSPSConsignmentItem/ram:IncludedSPSTradeLineItem/ram:NetWeightMeasure/@unitCode"),
			// below an optional element (SpecifiedSPSPerson is optional in SPSPartyType)
			sps("rsm:SPSCertificate/rsm:SPSExchangedDocument/ram:IssuerSPSParty/ram:SpecifiedSPSPerson/ram:Name"),
		},
		optional: []string{
			sps("rsm:SPSCertificate/rsm:SPSExchangedDocument/ram:Name"),
			sps("rsm:SPSCertificate/rsm:SPSExchangedDocument/ram:StatusCode"),
			sps("rsm:SPSCertificate/rsm:SPSExchangedDocument/ram:ID/@schemeID"),
		},
	}, {
		name: "cod",
		check: map[string]string{
			// local elements are in no namespace
			cod("env:Envelope/env:CertOrigin/CODEH/CODExporter/COD/FormA18/Exporter/ExporterCountry"): "",
			cod("env:Envelope/env:CertOrigin/env:CODEH"):                                              "{" + soapNS + "}CODEH is not an element of {" + soapNS + "}CertOrigin; it allows CODEH, any element in namespace " + dsigNS,
			// the signatures: xs:any in the XML Signature namespace, anything below
			cod("env:Envelope/env:CertOrigin/{" + dsigNS + "}Signature/{" + dsigNS + "}SignedInfo/@Id"): "",
			cod("env:Envelope/env:Header/{urn:anything}Token/@x"):                                       "",
			cod("env:Envelope/env:Header/env:Token"):                                                    "{" + soapNS + "}Token is not an element of {" + soapNS + "}Header; it allows any element in a namespace other than " + soapNS,
			cod("env:Envelope/@{urn:anything}attr"):                                                     "",
			cod("env:Envelope/env:CertOrigin/CODEH/@bogus"):                                             "CODEH has no attribute bogus; it allows id",
			cod("env:Envelope/env:CertOrigin/CODEH/CODExporter/COD/CODVer/Sub"):                         "CODVer has simple content: no child elements",
			// maxOccurs="0" in GoodsListA: declared, never allowed
			cod("env:Envelope/env:CertOrigin/CODEH/CODExporter/COD/FormR252/GoodsList/Goods/GoodsItemFOB"): "GoodsItemFOB is not an element of Goods; it allows GoodsOrderNo, GoodsInvoiceOrderNo, GoodsItemCode, GoodsItemName, GoodsItemWeightAmount, GoodsItemMeasureUnit, GoodsItemOriginRules, GoodsDeclarationDate",
		},
		required: []string{
			cod("env:Envelope/env:CertOrigin"),
			cod("env:Envelope/env:CertOrigin/CODEH/@id"),
			cod("env:Envelope/env:CertOrigin/CODEH/CODExporter/COD/@id"),
			cod("env:Envelope/env:CertOrigin/CODEH/CODExporter/COD/CODVer"),
			cod("env:Envelope/env:CertOrigin/CODEH/EH/EHURL"),
			cod("env:Envelope/env:CertOrigin/CODEH/CODExporter/COD/FormA18/Exporter/ExporterAddress"),
		},
		optional: []string{
			cod("env:Envelope/env:Header"),
			// the form is a choice
			cod("env:Envelope/env:CertOrigin/CODEH/CODExporter/COD/FormA18"),
			cod("env:Envelope/env:CertOrigin/CODEH/EH/EHEmail"),
		},
	}, {
		name: "customs",
		check: map[string]string{
			dec("dec:Declaration/dec:GoodsShipment/dec:GovernmentAgencyGoodsItem/dec:Commodity/dec:GoodsMeasure/dec:TariffQuantity/@unitCode"): "",
			dec("dec:Declaration/dec:Bogus"): "{" + decNS + "}Bogus is not an element of {" + decNS + "}Declaration; it allows " +
				"{" + decNS + "}FunctionalReferenceID, {" + decNS + "}TypeCode, {" + decNS + "}IssueDateTime, {" + decNS + "}DeclarationOfficeID, {" + decNS + "}ExitOffice, " +
				"{" + decNS + "}Declarant, {" + decNS + "}Exporter, {" + decNS + "}BorderTransportMeans, {" + decNS + "}GoodsShipment, any element in namespace " + dsigNS,
			dec("dec:Declaration/dec:Exporter/@bogus"):                                            "{" + decNS + "}Exporter has no attribute bogus; it allows no attributes",
			dec("dec:Declaration/dec:TypeCode/dec:Sub"):                                           "{" + decNS + "}TypeCode has simple content: no child elements",
			dec("dec:Declaration/dec:Exporter/dec:Address/dec:Country"):                           "{" + decNS + "}Country is not an element of {" + decNS + "}Address; it allows {" + decNS + "}Line, {" + decNS + "}CityName, {" + decNS + "}CountryCode",
			"{" + decNS + "}Declaration/{" + dsigNS + "}Signature/{" + dsigNS + "}SignatureValue": "",
		},
		required: []string{
			dec("dec:Declaration/dec:FunctionalReferenceID"),
			dec("dec:Declaration/dec:GoodsShipment/dec:GovernmentAgencyGoodsItem"),
			dec("dec:Declaration/dec:GoodsShipment/dec:GovernmentAgencyGoodsItem/dec:StatisticalValueAmount/@currencyID"),
			dec("dec:Declaration/dec:ExitOffice/dec:ID"),
		},
		optional: []string{
			dec("dec:Declaration/dec:ExitOffice"),
			dec("dec:Declaration/dec:GoodsShipment/dec:AdditionalDocument"),
			dec("dec:Declaration/dec:GoodsShipment/dec:Importer/dec:ID"),
		},
	}}
	for i, c := range cases {
		rs := realTargets[i]
		t.Run(c.name, func(t *testing.T) {
			tg := loadTargets(t, rules.FS, rs.entry, rs.root)
			for p, want := range c.check {
				if got := errText(tg.CheckTarget(p)); got != want {
					t.Errorf("CheckTarget(%s):\n got %q\nwant %q", p, got, want)
				}
			}
			req := tg.Required()
			for _, p := range c.required {
				if !slices.Contains(req, p) {
					t.Errorf("%s is not in Required", p)
				}
				if err := tg.CheckTarget(p); err != nil {
					t.Errorf("required %s: %v", p, err)
				}
			}
			for _, p := range c.optional {
				if slices.Contains(req, p) {
					t.Errorf("%s is in Required", p)
				}
				if err := tg.CheckTarget(p); err != nil {
					t.Errorf("optional %s: %v", p, err)
				}
			}
			if !slices.IsSorted(req) {
				t.Error("Required is not sorted")
			}
		})
	}
}

// Loads share nothing but read-only leaf models, and a Targets is never
// written once loaded: run with -race.
func TestTargets_Concurrent(t *testing.T) {
	rs := realTargets[0]
	done := make(chan *Targets)
	for range 4 {
		go func() {
			tg, err := LoadTargets(rules.FS, rs.entry, rs.root)
			if err != nil {
				t.Error(err)
			}
			done <- tg
		}()
	}
	var all []*Targets
	for range 4 {
		if tg := <-done; tg != nil {
			all = append(all, tg)
		}
	}
	tg := all[0]
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, p := range tg.Required() {
				if err := tg.CheckTarget(p); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
