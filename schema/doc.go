// Package schema validates standard documents against their XML Schema:
// every outbound document before it is signed, every inbound one after its
// signatures are verified and before the legacy VUCE sees it. A violation
// names the element's path in the document (with the document's own
// prefixes), its line, and what the schema expected there.
//
// # Why libxml2
//
// Go has no complete XML Schema 1.0 validator. The candidates were a
// pure-Go validator (none handles the UN/CEFACT schemas' imports, facets
// and identity of types well enough), calling out to xmllint per document
// (a process per document, and errors only as text), and libxml2 through
// cgo. libxml2 is what xmllint and xmlsec1 use, is in every distribution,
// and compiles a schema once and then validates from any number of
// goroutines, each with a validation context of its own. Its verdicts are
// checked against `xmllint --schema` in the tests. The price is cgo: the
// binary links libxml2 (Debian: libxml2-dev to build, libxml2 to run), and
// the Dockerfile builds accordingly.
//
// # What libxml2 may read
//
// Schema documents come only from the fs.FS given to Load (the rules
// directory): a relative schemaLocation resolves inside it, an absolute
// one (the official UN/CEFACT files name http://www.unece.org/ addresses)
// only through a catalog.xml beside the entry schema. The process-wide
// external entity loader refuses everything else, at load time and ever
// after. Documents are parsed without network access and without entity
// substitution; a document type declaration stops the parser before any
// of it is read, so no entity (internal or external) is ever processed.
// The node's own parser (package xmlsafe) has refused such documents
// before they get here; this is the second line.
//
// Targets (targets.go) is the other half: the schema's element structure,
// read in Go, so that rule files are checked against the schema when they
// load (libxml2 does not expose a compiled content model).
package schema
