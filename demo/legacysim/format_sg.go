package legacysim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// sgFormat is Singapore's national system's format (simulated; a hub
// member): JSON in sections (header, parties keyed by role code, route,
// endorsements, goods), the issue time as compact "yyyyMMdd'T'HHmm" in
// Singapore time, the transport mode as its UN/ECE Rec. 19 number, and —
// unlike any Alliance format — each quantity as one string with its code:
// "1250.5 KGM", "120 BX".
//
//	{
//	  "header": {"certNo": "SG-FITO-2026-000001", "issued": "20261126T0730", "placeOfIssue": "Singapore",
//	             "authorisedOfficer": "Tan Wei Ming", "inspectedAt": "NParks plant health inspection point, …"},
//	  "parties": {"CZ": {"name": "…", "address": "…", "country": "SG", "email": "…"},
//	              "CN": {"name": "…", "address": "…", "country": "PE"}},
//	  "route": {"from": "SG", "to": "PE", "pointOfEntry": "Callao", "mode": 4, "conveyance": "…"},
//	  "endorsements": {"additionalDeclaration": "…", "treatment": "…"},
//	  "goods": [{"line": 1, "description": "…", "commonName": "…", "scientificName": "…",
//	             "netQuantity": "1250.5 KGM", "packaging": "120 BX", "origin": "SG"}]
//	}
//
// CZ and CN are the UN/EDIFACT party qualifiers for consignor and
// consignee. It acknowledges with {"result": "ACCEPTED", "certNo": …}.
type sgFormat struct{}

type sgDoc struct {
	Header struct {
		CertNo            string `json:"certNo"`
		Issued            string `json:"issued"`
		PlaceOfIssue      string `json:"placeOfIssue"`
		AuthorisedOfficer string `json:"authorisedOfficer"`
		InspectedAt       string `json:"inspectedAt"`
	} `json:"header"`
	Parties struct {
		CZ sgParty `json:"CZ"`
		CN sgParty `json:"CN"`
	} `json:"parties"`
	Route struct {
		From         string `json:"from"`
		To           string `json:"to"`
		PointOfEntry string `json:"pointOfEntry,omitempty"`
		Mode         int    `json:"mode"`
		Conveyance   string `json:"conveyance,omitempty"`
	} `json:"route"`
	Endorsements *struct {
		AdditionalDeclaration string `json:"additionalDeclaration,omitempty"`
		Treatment             string `json:"treatment,omitempty"`
	} `json:"endorsements,omitempty"`
	Goods []sgGoods `json:"goods"`
}

type sgParty struct {
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	Country string `json:"country"`
	Email   string `json:"email,omitempty"`
}

type sgGoods struct {
	Line           int    `json:"line"`
	Description    string `json:"description"`
	CommonName     string `json:"commonName,omitempty"`
	ScientificName string `json:"scientificName,omitempty"`
	NetQuantity    string `json:"netQuantity"`
	Packaging      string `json:"packaging"`
	Origin         string `json:"origin"`
}

var sgZone = zone("Asia/Singapore")

const sgLayout = "20060102T1504"

func (sgFormat) Country() string     { return "SG" }
func (sgFormat) ContentType() string { return "application/json" }

func (sgFormat) Encode(c Certificate) ([]byte, error) {
	var d sgDoc
	h := &d.Header
	h.CertNo, h.Issued, h.PlaceOfIssue, h.AuthorisedOfficer, h.InspectedAt = c.ID, c.IssuedAt.In(sgZone).Format(sgLayout), c.IssuePlace, c.Inspector, c.InspectionPlace
	d.Parties.CZ = sgParty{c.Consignor.Name, c.Consignor.Address, c.Consignor.Country, c.ExporterEmail}
	d.Parties.CN = sgParty{c.Consignee.Name, c.Consignee.Address, c.Consignee.Country, ""}
	mode, err := strconv.Atoi(c.TransportMode)
	if err != nil {
		return nil, fmt.Errorf("SG: transport mode %q is not a Rec. 19 number", c.TransportMode)
	}
	d.Route.From, d.Route.To, d.Route.PointOfEntry, d.Route.Mode, d.Route.Conveyance = c.ExportCountry, c.ImportCountry, c.PortOfEntry, mode, c.MeansOfTransport
	if c.AdditionalDeclaration != "" || c.Treatment != "" {
		d.Endorsements = &struct {
			AdditionalDeclaration string `json:"additionalDeclaration,omitempty"`
			Treatment             string `json:"treatment,omitempty"`
		}{c.AdditionalDeclaration, c.Treatment}
	}
	for i, it := range c.Items {
		d.Goods = append(d.Goods, sgGoods{i + 1, it.Description, it.CommonName, it.ScientificName,
			it.NetWeight + " " + it.Unit, strconv.Itoa(it.Packages) + " " + it.PackageType, it.OriginCountry})
	}
	return encodeJSON(d)
}

// quantity reads "VALUE CODE".
func quantity(s string) (value, code string, err error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return "", "", fmt.Errorf("%q is not a quantity and its code (\"1250.5 KGM\")", s)
	}
	return f[0], f[1], nil
}

func (sgFormat) Decode(b []byte) (Certificate, error) {
	var d sgDoc
	if err := decodeJSON(b, &d); err != nil {
		return Certificate{}, fmt.Errorf("SG: %w", err)
	}
	var v conv
	h := d.Header
	c := Certificate{ID: h.CertNo, IssuePlace: h.PlaceOfIssue, Inspector: h.AuthorisedOfficer, InspectionPlace: h.InspectedAt,
		Consignor:     Party{d.Parties.CZ.Name, d.Parties.CZ.Address, d.Parties.CZ.Country},
		Consignee:     Party{d.Parties.CN.Name, d.Parties.CN.Address, d.Parties.CN.Country},
		ExportCountry: d.Route.From, ImportCountry: d.Route.To, PortOfEntry: d.Route.PointOfEntry,
		TransportMode: strconv.Itoa(d.Route.Mode), MeansOfTransport: d.Route.Conveyance, ExporterEmail: d.Parties.CZ.Email}
	t, err := time.ParseInLocation(sgLayout, h.Issued, sgZone)
	if err != nil {
		v.fail(fmt.Errorf("header.issued: %w", err))
	}
	c.IssuedAt = t
	if e := d.Endorsements; e != nil {
		c.AdditionalDeclaration, c.Treatment = e.AdditionalDeclaration, e.Treatment
	}
	for i, g := range d.Goods {
		if g.Line != i+1 {
			v.fail(fmt.Errorf("goods %d has line %d", i+1, g.Line))
		}
		w, unit, err := quantity(g.NetQuantity)
		v.fail(err)
		n, pkg, err := quantity(g.Packaging)
		v.fail(err)
		count, err := strconv.Atoi(n)
		if n != "" && err != nil {
			v.fail(fmt.Errorf("goods %d: packaging count %q", i+1, n))
		}
		c.Items = append(c.Items, Item{g.Description, g.CommonName, g.ScientificName, w, unit, count, pkg, g.Origin})
	}
	if v.err == nil {
		v.err = validate(c)
	}
	if v.err != nil {
		return Certificate{}, fmt.Errorf("SG: %w", v.err)
	}
	return c, nil
}

func (sgFormat) ack(id string, _ time.Time) []byte {
	b, _ := encodeJSON(map[string]string{"result": "ACCEPTED", "certNo": id})
	return b
}

func (sgFormat) nack(reason string, _ time.Time) []byte {
	b, _ := encodeJSON(map[string]string{"result": "REJECTED", "reason": reason})
	return b
}
