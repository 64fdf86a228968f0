//go:build !cgo

package schema

// Package schema validates with libxml2 through cgo (see doc.go): there is
// no pure-Go fallback, because a node that silently stopped validating
// would be worse than one that does not build. Build with CGO_ENABLED=1
// and libxml2's headers (Debian: libxml2-dev, pkg-config, gcc).
var _ = this_package_needs_cgo_and_libxml2_see_doc_go
