package legacysim

import (
	"fmt"
	"time"
)

// peFormat is Peru's legacy format: JSON with abbreviated English names,
// "dd/MM/yyyy HH:mm" in Lima time, ISO 3166 alpha-3 countries, UN/ECE Rec.
// 20 units and Rec. 21 package codes, the transport mode as SEA/ROAD/AIR,
// weights as JSON numbers, remarks as a typed list.
//
//	{
//	  "certNo": "PE-FITO-2026-000001", "issueDate": "25/11/2026 09:30",
//	  "issuePlace": "Callao", "officer": "Jorge Quispe Mamani",
//	  "inspectionSite": "Planta de empaque certificada SENASA, Chao, La Libertad",
//	  "remarks": [{"type": "AD", "text": "El envío se encuentra libre de …"},
//	              {"type": "TRT", "text": "Tratamiento en frío …"}],
//	  "shipper": {"name": "…", "addr": "…", "ctry": "PER"},
//	  "receiver": {"name": "…", "addr": "…", "ctry": "CHL"},
//	  "origin": "PER", "destination": "CHL", "entryPoint": "Valparaíso",
//	  "transport": "AIR", "conveyance": "LATAM Cargo LA1401",
//	  "lines": [{"desc": "Palta Hass fresca", "common": "Palta", "botanical": "Persea americana",
//	    "netQty": 1250.5, "uom": "KGM", "pkgs": 120, "pkgType": "BX", "ctryOrigin": "PER"}]
//	}
//
// It acknowledges with {"status": "OK", "certNo": …, "receivedAt": …} and
// refuses with {"status": "ERROR", "message": …}.
type peFormat struct{}

type peDoc struct {
	CertNo         string     `json:"certNo"`
	IssueDate      string     `json:"issueDate"`
	IssuePlace     string     `json:"issuePlace"`
	Officer        string     `json:"officer"`
	InspectionSite string     `json:"inspectionSite"`
	Remarks        []peRemark `json:"remarks,omitempty"`
	Shipper        peParty    `json:"shipper"`
	Receiver       peParty    `json:"receiver"`
	Origin         string     `json:"origin"`
	Destination    string     `json:"destination"`
	EntryPoint     string     `json:"entryPoint"`
	Transport      string     `json:"transport"`
	Conveyance     string     `json:"conveyance,omitempty"`
	Lines          []peLine   `json:"lines"`
}

type peRemark struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type peParty struct {
	Name  string `json:"name"`
	Addr  string `json:"addr"`
	Ctry  string `json:"ctry"`
	Email string `json:"email,omitempty"`
}

type peLine struct {
	Desc       string `json:"desc"`
	Common     string `json:"common"`
	Botanical  string `json:"botanical"`
	NetQty     number `json:"netQty"`
	UOM        string `json:"uom"`
	Pkgs       int    `json:"pkgs"`
	PkgType    string `json:"pkgType"`
	CtryOrigin string `json:"ctryOrigin"`
}

var (
	peTransport = newCodes("transport", "1", "SEA", "3", "ROAD", "4", "AIR")
	peRemarks   = newCodes("remark type", noteAD, "AD", noteTreatment, "TRT")
	peZone      = zone("America/Lima")
)

const peLayout = "02/01/2006 15:04"

func (peFormat) Country() string     { return "PE" }
func (peFormat) ContentType() string { return "application/json" }

func (peFormat) Encode(c Certificate) ([]byte, error) {
	var v conv
	d := peDoc{
		CertNo:         c.ID,
		IssueDate:      c.IssuedAt.In(peZone).Format(peLayout),
		IssuePlace:     c.IssuePlace,
		Officer:        c.Inspector,
		InspectionSite: c.InspectionPlace,
		Shipper:        peParty{c.Consignor.Name, c.Consignor.Address, v.to(peCountries, c.Consignor.Country), c.ExporterEmail},
		Receiver:       peParty{c.Consignee.Name, c.Consignee.Address, v.to(peCountries, c.Consignee.Country), ""},
		Origin:         v.to(peCountries, c.ExportCountry),
		Destination:    v.to(peCountries, c.ImportCountry),
		EntryPoint:     c.PortOfEntry,
		Transport:      v.to(peTransport, c.TransportMode),
		Conveyance:     c.MeansOfTransport,
	}
	for _, n := range notesOf(c) {
		d.Remarks = append(d.Remarks, peRemark{v.to(peRemarks, n[0]), n[1]})
	}
	for _, it := range c.Items {
		d.Lines = append(d.Lines, peLine{it.Description, it.CommonName, it.ScientificName, number(it.NetWeight),
			it.Unit, it.Packages, it.PackageType, v.to(peCountries, it.OriginCountry)})
	}
	if v.err != nil {
		return nil, fmt.Errorf("PE: %w", v.err)
	}
	return encodeJSON(d)
}

func (peFormat) Decode(b []byte) (Certificate, error) {
	var d peDoc
	if err := decodeJSON(b, &d); err != nil {
		return Certificate{}, fmt.Errorf("PE: %w", err)
	}
	var v conv
	c := Certificate{
		ID:               d.CertNo,
		IssuePlace:       d.IssuePlace,
		Inspector:        d.Officer,
		InspectionPlace:  d.InspectionSite,
		Consignor:        Party{d.Shipper.Name, d.Shipper.Addr, v.from(peCountries, d.Shipper.Ctry)},
		Consignee:        Party{d.Receiver.Name, d.Receiver.Addr, v.from(peCountries, d.Receiver.Ctry)},
		ExportCountry:    v.from(peCountries, d.Origin),
		ImportCountry:    v.from(peCountries, d.Destination),
		PortOfEntry:      d.EntryPoint,
		TransportMode:    v.from(peTransport, d.Transport),
		MeansOfTransport: d.Conveyance,
	}
	t, err := time.ParseInLocation(peLayout, d.IssueDate, peZone)
	if err != nil {
		v.fail(fmt.Errorf("issueDate: %w", err))
	}
	c.IssuedAt = t
	for _, r := range d.Remarks {
		if kind := v.from(peRemarks, r.Type); kind != "" {
			v.fail(setNote(&c, kind, r.Text))
		}
	}
	for _, l := range d.Lines {
		c.Items = append(c.Items, Item{l.Desc, l.Common, l.Botanical, string(l.NetQty), l.UOM, l.Pkgs, l.PkgType,
			v.from(peCountries, l.CtryOrigin)})
	}
	if v.err == nil {
		v.err = validate(c)
	}
	if v.err != nil {
		return Certificate{}, fmt.Errorf("PE: %w", v.err)
	}
	return c, nil
}

func (peFormat) ack(id string, at time.Time) []byte {
	b, _ := encodeJSON(map[string]string{"status": "OK", "certNo": id, "receivedAt": at.In(peZone).Format(peLayout)})
	return b
}

func (peFormat) nack(reason string, _ time.Time) []byte {
	b, _ := encodeJSON(map[string]string{"status": "ERROR", "message": reason})
	return b
}
