// Package rules holds the mapping rule files vucelink ships, per country
// and document type, and the code tables they share:
//
//	<CC>/<document>.outbound.yaml   native payload → standard XML
//	<CC>/<document>.inbound.yaml    standard XML → native payload
//	tables/*.yaml                   code tables (countries, units, …)
//	documents/<document>.yaml       a document type's configuration (and its XSD)
//	<CC>/examples/<document>/       example pairs, run by `vucelink rules test`
//
// They are embedded in the binary so a node runs without any file besides
// its configuration; a node may instead read them from disk (rules_dir) so
// analysts can change them without a rebuild. README.md explains how a rule
// file reads, the canonical SPS D13B structure every outbound file produces
// and how to add a country; ../mapping/README.md is the rule language.
package rules

import "embed"

// FS is the shipped rule files, rooted at this directory.
//
//go:embed */*.yaml documents */examples
var FS embed.FS
