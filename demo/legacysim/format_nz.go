package legacysim

import (
	"fmt"
	"strings"
	"time"
)

// nzFormat is New Zealand's national system's format (simulated; a hub
// member): JSON with snake_case English names, the issue time in UTC
// (RFC 3339, "Z"), countries as lower-case ISO alpha-2 codes, the
// transport mode as a word, remarks as a typed list.
//
//	{
//	  "certificate_number": "NZ-FITO-2026-000001", "issued_utc": "2026-11-25T18:30:00Z",
//	  "place_of_issue": "Tauranga", "inspector": "Aroha Ngata", "inspection_place": "…",
//	  "exporter": {"name": "…", "address": "…", "country": "nz", "email": "…"},
//	  "importer": {"name": "…", "address": "…", "country": "pe"},
//	  "export_country": "nz", "import_country": "pe", "port_of_entry": "Callao",
//	  "transport": {"mode": "SEA", "vessel_or_flight": "…"},
//	  "remarks": [{"kind": "additional_declaration", "text": "…"}, {"kind": "treatment", "text": "…"}],
//	  "lines": [{"description": "…", "common_name": "…", "botanical_name": "…",
//	             "net_weight": "1250.5", "weight_unit": "KGM", "package_count": 120, "package_type": "BX", "origin": "nz"}]
//	}
//
// It acknowledges with {"accepted": true, "certificate_number": …}.
type nzFormat struct{}

type nzDoc struct {
	CertificateNumber string  `json:"certificate_number"`
	IssuedUTC         string  `json:"issued_utc"`
	PlaceOfIssue      string  `json:"place_of_issue"`
	Inspector         string  `json:"inspector"`
	InspectionPlace   string  `json:"inspection_place"`
	Exporter          nzParty `json:"exporter"`
	Importer          nzParty `json:"importer"`
	ExportCountry     string  `json:"export_country"`
	ImportCountry     string  `json:"import_country"`
	PortOfEntry       string  `json:"port_of_entry,omitempty"`
	Transport         struct {
		Mode           string `json:"mode"`
		VesselOrFlight string `json:"vessel_or_flight,omitempty"`
	} `json:"transport"`
	Remarks []nzRemark `json:"remarks,omitempty"`
	Lines   []nzLine   `json:"lines"`
}

type nzParty struct {
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	Country string `json:"country"`
	Email   string `json:"email,omitempty"`
}

type nzRemark struct {
	Kind string `json:"kind"`
	Text string `json:"text"`
}

type nzLine struct {
	Description   string `json:"description"`
	CommonName    string `json:"common_name,omitempty"`
	BotanicalName string `json:"botanical_name,omitempty"`
	NetWeight     string `json:"net_weight"`
	WeightUnit    string `json:"weight_unit"`
	PackageCount  int    `json:"package_count"`
	PackageType   string `json:"package_type"`
	Origin        string `json:"origin"`
}

var (
	nzTransport = newCodes("transport mode", "1", "SEA", "2", "RAIL", "3", "ROAD", "4", "AIR")
	nzRemarks   = newCodes("remark kind", noteAD, "additional_declaration", noteTreatment, "treatment")
)

const nzLayout = "2006-01-02T15:04:05Z"

func (nzFormat) Country() string     { return "NZ" }
func (nzFormat) ContentType() string { return "application/json" }

// nzCountry writes a country as New Zealand's system does; nzStd reads it.
func nzCountry(cc string) string { return strings.ToLower(cc) }

func nzStd(v *conv, cc string) string {
	if cc == "" || cc != strings.ToLower(cc) {
		v.fail(fmt.Errorf("country %q is not a lower-case ISO code", cc))
	}
	return strings.ToUpper(cc)
}

func (nzFormat) Encode(c Certificate) ([]byte, error) {
	var v conv
	d := nzDoc{CertificateNumber: c.ID, IssuedUTC: c.IssuedAt.UTC().Format(nzLayout), PlaceOfIssue: c.IssuePlace,
		Inspector: c.Inspector, InspectionPlace: c.InspectionPlace,
		Exporter:      nzParty{c.Consignor.Name, c.Consignor.Address, nzCountry(c.Consignor.Country), c.ExporterEmail},
		Importer:      nzParty{c.Consignee.Name, c.Consignee.Address, nzCountry(c.Consignee.Country), ""},
		ExportCountry: nzCountry(c.ExportCountry), ImportCountry: nzCountry(c.ImportCountry), PortOfEntry: c.PortOfEntry}
	d.Transport.Mode, d.Transport.VesselOrFlight = v.to(nzTransport, c.TransportMode), c.MeansOfTransport
	for _, n := range notesOf(c) {
		d.Remarks = append(d.Remarks, nzRemark{v.to(nzRemarks, n[0]), n[1]})
	}
	for _, it := range c.Items {
		d.Lines = append(d.Lines, nzLine{it.Description, it.CommonName, it.ScientificName, it.NetWeight, it.Unit, it.Packages, it.PackageType, nzCountry(it.OriginCountry)})
	}
	if v.err != nil {
		return nil, fmt.Errorf("NZ: %w", v.err)
	}
	return encodeJSON(d)
}

func (nzFormat) Decode(b []byte) (Certificate, error) {
	var d nzDoc
	if err := decodeJSON(b, &d); err != nil {
		return Certificate{}, fmt.Errorf("NZ: %w", err)
	}
	var v conv
	c := Certificate{ID: d.CertificateNumber, IssuePlace: d.PlaceOfIssue, Inspector: d.Inspector, InspectionPlace: d.InspectionPlace,
		Consignor:     Party{d.Exporter.Name, d.Exporter.Address, nzStd(&v, d.Exporter.Country)},
		Consignee:     Party{d.Importer.Name, d.Importer.Address, nzStd(&v, d.Importer.Country)},
		ExportCountry: nzStd(&v, d.ExportCountry), ImportCountry: nzStd(&v, d.ImportCountry), PortOfEntry: d.PortOfEntry,
		TransportMode: v.from(nzTransport, d.Transport.Mode), MeansOfTransport: d.Transport.VesselOrFlight, ExporterEmail: d.Exporter.Email}
	t, err := time.Parse(nzLayout, d.IssuedUTC)
	if err != nil {
		v.fail(fmt.Errorf("issued_utc: %w", err))
	}
	c.IssuedAt = t
	for _, r := range d.Remarks {
		if kind := v.from(nzRemarks, r.Kind); kind != "" {
			v.fail(setNote(&c, kind, r.Text))
		}
	}
	for _, l := range d.Lines {
		c.Items = append(c.Items, Item{l.Description, l.CommonName, l.BotanicalName, l.NetWeight, l.WeightUnit, l.PackageCount, l.PackageType, nzStd(&v, l.Origin)})
	}
	if v.err == nil {
		v.err = validate(c)
	}
	if v.err != nil {
		return Certificate{}, fmt.Errorf("NZ: %w", v.err)
	}
	return c, nil
}

func (nzFormat) ack(id string, _ time.Time) []byte {
	b, _ := encodeJSON(map[string]any{"accepted": true, "certificate_number": id})
	return b
}

func (nzFormat) nack(reason string, _ time.Time) []byte {
	b, _ := encodeJSON(map[string]any{"accepted": false, "reason": reason})
	return b
}
