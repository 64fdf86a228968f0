package rules

// The shipped code tables (tables/unece-rec21-package-types.yaml, …) and
// the schema profile's code-list types (documents/sps-d13b/AllianceCodeLists.xsd)
// are generated from the official code-list schemas in
// ../shared/standards/codelists/; the product never reads that directory.
//go:generate go run ./internal/codelists/gen -src ../../shared/standards/codelists -out .
