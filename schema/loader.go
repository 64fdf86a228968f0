package schema

/*
#cgo pkg-config: libxml-2.0
#include <stdlib.h>
*/
import "C"

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// baseURI prefixes the location libxml2 is given for a file of the fs.FS
// being loaded: vucelink:///sps-d13b/SPSCertificate_11p0.xsd. Relative
// schemaLocations resolve against it like paths; nothing outside the fs.FS
// has such a location.
const baseURI = "vucelink:///"

// catalogName is the catalog Load reads next to the entry schema, if there
// is one (an OASIS XML catalog; the subset below).
const catalogName = "catalog.xml"

// maxSchemaFile bounds one schema document read from the fs.FS.
const maxSchemaFile = 64 << 20

// A load session: the files one Load may read. libxml2's entity loader is
// process-wide and its import parsers carry no context of ours, so Loads
// take turns (loadMu) and the loader finds the session in current. Outside
// a Load current is nil and the loader refuses everything.
type session struct {
	fsys    fs.FS
	catalog *catalog
	files   []string // fs paths served, in order
	missing []string // locations asked for that resolve to no file
}

var (
	loadMu  sync.Mutex
	current atomic.Pointer[session]
)

// resolve maps a location libxml2 asks for to a path in the session's fs.FS.
func (s *session) resolve(loc string) (string, bool) {
	if s.catalog != nil {
		if p, ok := s.catalog.resolve(loc); ok {
			return p, true
		}
	}
	if rest, ok := strings.CutPrefix(loc, baseURI); ok {
		p := path.Clean(rest)
		return p, fs.ValidPath(p)
	}
	return "", false
}

//export vucelinkSchemaLoad
func vucelinkSchemaLoad(url *C.char, data **C.char, n *C.int, resolved **C.char) C.int {
	s := current.Load()
	if s == nil {
		return 0
	}
	loc := C.GoString(url)
	p, ok := s.resolve(loc)
	if !ok {
		s.missing = append(s.missing, loc)
		return 0
	}
	b, err := readBounded(s.fsys, p)
	if err != nil {
		s.missing = append(s.missing, fmt.Sprintf("%s (%v)", loc, err))
		return 0
	}
	s.files = append(s.files, p)
	*n = C.int(len(b))
	*data = (*C.char)(C.CBytes(b))
	*resolved = C.CString(baseURI + p)
	return 1
}

func readBounded(fsys fs.FS, p string) ([]byte, error) {
	if fi, err := fs.Stat(fsys, p); err == nil && fi.Size() > maxSchemaFile {
		return nil, fmt.Errorf("larger than %d bytes", maxSchemaFile)
	}
	return fs.ReadFile(fsys, p)
}

// catalog is the part of OASIS XML Catalogs 1.1 that schema sets need:
// uri and system entries (one location) and rewriteURI and rewriteSystem
// entries (a location prefix), with relative targets resolved against the
// catalog's directory. xmllint reads the same file (XML_CATALOG_FILES), so
// the two validators see the same documents. Any other entry is an error,
// not silently ignored.
type catalog struct {
	dir      string            // the catalog's directory in the fs.FS
	exact    map[string]string // location → fs path
	prefixes []rewrite         // longest prefix first
}

type rewrite struct{ from, to string }

type catalogXML struct {
	XMLName xml.Name `xml:"urn:oasis:names:tc:entity:xmlns:xml:catalog catalog"`
	Entries []struct {
		XMLName        xml.Name
		Name           string `xml:"name,attr"`
		URI            string `xml:"uri,attr"`
		SystemID       string `xml:"systemId,attr"`
		URIStartString string `xml:"uriStartString,attr"`
		SysStartString string `xml:"systemIdStartString,attr"`
		RewritePrefix  string `xml:"rewritePrefix,attr"`
	} `xml:",any"`
}

func loadCatalog(fsys fs.FS, file string) (*catalog, error) {
	b, err := readBounded(fsys, file)
	if err != nil {
		return nil, err
	}
	var doc catalogXML
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	c := &catalog{dir: path.Dir(file), exact: map[string]string{}}
	target := func(rel string) (string, error) {
		if rel == "" || strings.Contains(rel, ":") || path.IsAbs(rel) {
			return "", fmt.Errorf("%s: target %q must be a path relative to the catalog", file, rel)
		}
		return path.Join(c.dir, rel), nil
	}
	for _, e := range doc.Entries {
		switch e.XMLName.Local {
		case "uri", "system":
			from := e.Name
			if e.XMLName.Local == "system" {
				from = e.SystemID
			}
			to, err := target(e.URI)
			if err != nil {
				return nil, err
			}
			if from == "" {
				return nil, fmt.Errorf("%s: <%s> without a location", file, e.XMLName.Local)
			}
			c.exact[from] = to
		case "rewriteURI", "rewriteSystem":
			from := e.URIStartString
			if e.XMLName.Local == "rewriteSystem" {
				from = e.SysStartString
			}
			if from == "" || e.RewritePrefix == "" {
				return nil, fmt.Errorf("%s: <%s> needs a start string and a rewritePrefix", file, e.XMLName.Local)
			}
			to, err := target(e.RewritePrefix)
			if err != nil {
				return nil, err
			}
			c.prefixes = append(c.prefixes, rewrite{from, to})
		default:
			return nil, fmt.Errorf("%s: catalog entry <%s> is not supported (uri, system, rewriteURI, rewriteSystem are)", file, e.XMLName.Local)
		}
	}
	sort.SliceStable(c.prefixes, func(i, j int) bool { return len(c.prefixes[i].from) > len(c.prefixes[j].from) })
	return c, nil
}

func (c *catalog) resolve(loc string) (string, bool) {
	if p, ok := c.exact[loc]; ok {
		return p, true
	}
	for _, r := range c.prefixes {
		if rest, ok := strings.CutPrefix(loc, r.from); ok {
			p := path.Clean(path.Join(r.to, rest))
			return p, fs.ValidPath(p)
		}
	}
	return "", false
}

// errNoCatalog is what a missing catalog.xml reads as: optional.
var errNoCatalog = errors.New("no catalog")

func catalogFor(fsys fs.FS, entry string) (*catalog, error) {
	file := path.Join(path.Dir(entry), catalogName)
	if _, err := fs.Stat(fsys, file); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errNoCatalog
		}
		return nil, err
	}
	return loadCatalog(fsys, file)
}

// cString is C.CString for a Go string that must be freed.
func cString(s string) (*C.char, func()) {
	c := C.CString(s)
	return c, func() { C.free(unsafe.Pointer(c)) }
}
