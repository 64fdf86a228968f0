// Package codelists writes the code tables and the schema profile's code
// list types that vucelink ships, from the official code-list schemas:
//
//	UN/ECE Recommendation 21 package types   UNECE_PackageTypeCode_2006.xsd
//	UN/ECE Recommendation 20 weight units    UNECE_MeasurementUnitCommonCodeWeight_4.xsd
//	UN/ECE Recommendation 19 transport modes UNECE_TransportModeCode_2.xsd
//	ISO 3166-1 alpha-2 countries             ISO_ISOTwo-letterCountryCode_SecondEdition2006.xsd
//
// as UN/CEFACT publishes them with its 17A XML schemas (code list modules
// schema version 1.1, 18MAR17; copied unmodified to
// ../shared/standards/codelists/, provenance in PROVENANCE.md there).
//
// The outputs are committed under rules/ — a node never needs the source
// files — and regenerated with `go generate ./rules/` (gen/ is the
// command; see rules/gen.go); rules' tests fail when a committed file
// differs from what Generate makes of the sources.
//
//	tables/unece-rec21-package-types.yaml   code → code, each with its name
//	tables/unece-rec20-weight-units.yaml
//	tables/unece-rec19-transport-modes.yaml
//	tables/iso3166-alpha2.yaml
//	documents/sps-d13b/AllianceCodeLists.xsd  the lists as xsd:simpleTypes in the ram namespace,
//	                                          used by the Alliance's ram profile
package codelists

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// list is one code list: where it comes from and what it becomes.
type list struct {
	source  string // file in the code-list directory
	what    string // for people
	table   string // rules/tables/… output
	xsdType string // the simpleType in AllianceCodeLists.xsd
	// base is the type the simpleType restricts: where the profile puts
	// it on an attribute that restricts the udt's, the type must derive
	// from the udt's (XML Schema's rule for a restriction), not from
	// xsd:token.
	base string
}

var lists = []list{
	{"UNECE_PackageTypeCode_2006.xsd", "UN/ECE Recommendation 21 package type codes, code list version 2006", "tables/unece-rec21-package-types.yaml", "PackageTypeCodeContentType", "xsd:token"},
	{"UNECE_MeasurementUnitCommonCodeWeight_4.xsd", "UN/ECE Recommendation 20 unit codes for weights, code list version 4", "tables/unece-rec20-weight-units.yaml", "WeightUnitCodeContentType", "clm6Recommendation20:MeasurementUnitCommonCodeContentType"},
	{"UNECE_TransportModeCode_2.xsd", "UN/ECE Recommendation 19 transport mode codes, code list version 2", "tables/unece-rec19-transport-modes.yaml", "TransportModeCodeContentType", "xsd:token"},
	{"ISO_ISOTwo-letterCountryCode_SecondEdition2006.xsd", "ISO 3166-1 alpha-2 country codes, UN/CEFACT identifier list SecondEdition2006", "tables/iso3166-alpha2.yaml", "CountryCodeContentType", "xsd:token"},
}

const ramNS = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:14"

// code is one entry of a code list.
type code struct{ value, name string }

// Generate reads every list and returns the files to write, by name.
func Generate(src string) (map[string][]byte, error) {
	out := map[string][]byte{}
	var xsd bytes.Buffer
	xsd.WriteString(xsdHeader)
	for _, l := range lists {
		raw, err := os.ReadFile(filepath.Join(src, l.source))
		if err != nil {
			return nil, err
		}
		codes, version, err := parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.source, err)
		}
		if len(codes) == 0 {
			return nil, fmt.Errorf("%s: no codes", l.source)
		}
		out[l.table] = table(l, version, codes)
		writeType(&xsd, l, version, codes)
	}
	xsd.WriteString("</xsd:schema>\n")
	out["documents/sps-d13b/AllianceCodeLists.xsd"] = xsd.Bytes()
	return out, nil
}

var versionLine = regexp.MustCompile(`(?m)^\s*(Code list version|Identifier list version|Code list name|Identifier list name):\s*(.+?)\s*$`)

// parse reads the enumerations of a code-list schema, with their
// ccts:Name, and the list's name and version from its header comment.
func parse(raw []byte) ([]code, string, error) {
	var header []string
	for _, m := range versionLine.FindAllSubmatch(raw, -1) {
		header = append(header, string(m[1])+": "+string(m[2]))
	}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	var codes []code
	var cur *code
	var inName bool
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Local == "enumeration":
				for _, a := range t.Attr {
					if a.Name.Local == "value" {
						codes = append(codes, code{value: a.Value})
						cur = &codes[len(codes)-1]
					}
				}
			case t.Name.Local == "Name" && cur != nil:
				inName = true
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "enumeration":
				cur = nil
			case "Name":
				inName = false
			}
		case xml.CharData:
			if inName && cur != nil {
				cur.name += strings.Join(strings.Fields(string(t)), " ")
			}
		}
	}
	return codes, strings.Join(header, "; "), nil
}

func table(l list, version string, codes []code) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# GENERATED by rules/internal/codelists from %s (%s) — do not edit;\n", l.source, version)
	fmt.Fprintf(&b, "# run `go generate ./rules/`. Source: UN/CEFACT code list schemas released with the 17A\n")
	fmt.Fprintf(&b, "# XML schemas (../shared/standards/codelists/, see PROVENANCE.md there).\n")
	fmt.Fprintf(&b, "# Each code maps to itself: a rule passes a standard code through this table to refuse\n")
	fmt.Fprintf(&b, "# one the list lacks, or looks a country's word up in its own table and falls back here.\n")
	fmt.Fprintf(&b, "description: %s\n", strconv.Quote(fmt.Sprintf("%s (%d codes)", l.what, len(codes))))
	b.WriteString("values:\n")
	for _, c := range codes {
		k := strconv.Quote(c.value)
		fmt.Fprintf(&b, "  %s: %s", k, k)
		if c.name != "" {
			fmt.Fprintf(&b, "  # %s", c.name)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

const xsdHeader = `<?xml version="1.0" encoding="UTF-8"?>
<!--
GENERATED by rules/internal/codelists — do not edit; run go generate ./rules/.

The code lists the Alliance's ram profile checks values against, as simple types in the ram
namespace (included by ReusableAggregateBusinessInformationEntity_14p0_AllianceProfile.xsd).
Each is copied from the official UN/CEFACT code-list schema named above it, released with
the 17A XML schemas (../shared/standards/codelists/, see PROVENANCE.md there): the values,
not the annotations.
-->
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema"
            xmlns:clm6Recommendation20="urn:un:unece:uncefact:codelist:standard:UNECE:MeasurementUnitCommonCode:9"
            targetNamespace="` + ramNS + `"
            elementFormDefault="qualified" attributeFormDefault="unqualified">
  <xsd:import namespace="urn:un:unece:uncefact:codelist:standard:UNECE:MeasurementUnitCommonCode:9" schemaLocation="http://www.unece.org/uncefact/codelist/standard/UNECE_MeasurementUnitCommonCode_9.xsd"/>
`

func writeType(b *bytes.Buffer, l list, version string, codes []code) {
	fmt.Fprintf(b, "  <!-- %s: %s (%s) -->\n", l.source, l.what, version)
	fmt.Fprintf(b, "  <xsd:simpleType name=%q>\n    <xsd:restriction base=%q>\n", l.xsdType, l.base)
	for _, c := range codes {
		var esc bytes.Buffer
		_ = xml.EscapeText(&esc, []byte(c.value))
		fmt.Fprintf(b, "      <xsd:enumeration value=\"%s\"/>\n", esc.String())
	}
	b.WriteString("    </xsd:restriction>\n  </xsd:simpleType>\n")
}
