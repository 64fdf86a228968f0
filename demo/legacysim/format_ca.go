package legacysim

import (
	"encoding/xml"
	"fmt"
	"time"
)

// caFormat is Canada's national system's format (simulated; a hub
// member): XML without a namespace, English element names, the issue time
// "yyyy-MM-dd HH:mm" in Halifax time, ISO alpha-3 countries, UN/ECE codes.
//
//	<phytosanitaryCertificate>
//	  <certificateNumber>CA-FITO-2026-000001</certificateNumber>
//	  <dateOfIssue>2026-11-25 09:30</dateOfIssue><placeOfIssue>Halifax</placeOfIssue>
//	  <authorizedInspector>Jean-François Tremblay</authorizedInspector><placeOfInspection>…</placeOfInspection>
//	  <exporter><name>…</name><address>…</address><country>CAN</country><email>…</email></exporter>
//	  <consignee><name>…</name><address>…</address><country>PER</country></consignee>
//	  <countryOfExport>CAN</countryOfExport><countryOfDestination>PER</countryOfDestination>
//	  <pointOfEntry>Callao</pointOfEntry><meansOfConveyance mode="1">MSC Aurora, viaje 412N</meansOfConveyance>
//	  <additionalDeclaration>…</additionalDeclaration><treatment>…</treatment>
//	  <commodity><description>…</description><commonName>…</commonName><botanicalName>…</botanicalName>
//	    <netWeight unit="KGM">1250.5</netWeight><packages type="BX">120</packages><placeOfOrigin>CAN</placeOfOrigin></commodity>
//	</phytosanitaryCertificate>
//
// It acknowledges with <ack status="received" certificateNumber="…"/>.
type caFormat struct{}

type caDoc struct {
	XMLName               xml.Name `xml:"phytosanitaryCertificate"`
	CertificateNumber     string   `xml:"certificateNumber"`
	DateOfIssue           string   `xml:"dateOfIssue"`
	PlaceOfIssue          string   `xml:"placeOfIssue"`
	AuthorizedInspector   string   `xml:"authorizedInspector"`
	PlaceOfInspection     string   `xml:"placeOfInspection"`
	Exporter              caParty  `xml:"exporter"`
	Consignee             caParty  `xml:"consignee"`
	CountryOfExport       string   `xml:"countryOfExport"`
	CountryOfDestination  string   `xml:"countryOfDestination"`
	PointOfEntry          string   `xml:"pointOfEntry,omitempty"`
	MeansOfConveyance     caMeans  `xml:"meansOfConveyance"`
	AdditionalDeclaration string   `xml:"additionalDeclaration,omitempty"`
	Treatment             string   `xml:"treatment,omitempty"`
	Commodities           []caItem `xml:"commodity"`
}

type caMeans struct {
	Mode string `xml:"mode,attr"`
	Name string `xml:",chardata"`
}

type caParty struct {
	Name    string `xml:"name"`
	Address string `xml:"address,omitempty"`
	Country string `xml:"country"`
	Email   string `xml:"email,omitempty"`
}

type caItem struct {
	Description   string `xml:"description"`
	CommonName    string `xml:"commonName,omitempty"`
	BotanicalName string `xml:"botanicalName,omitempty"`
	NetWeight     struct {
		Unit  string `xml:"unit,attr"`
		Value string `xml:",chardata"`
	} `xml:"netWeight"`
	Packages struct {
		Type  string `xml:"type,attr"`
		Count int    `xml:",chardata"`
	} `xml:"packages"`
	PlaceOfOrigin string `xml:"placeOfOrigin"`
}

var caZone = zone("America/Halifax")

const caLayout = "2006-01-02 15:04"

func (caFormat) Country() string     { return "CA" }
func (caFormat) ContentType() string { return "application/xml" }

func (caFormat) Encode(c Certificate) ([]byte, error) {
	var v conv
	d := caDoc{CertificateNumber: c.ID, DateOfIssue: c.IssuedAt.In(caZone).Format(caLayout), PlaceOfIssue: c.IssuePlace,
		AuthorizedInspector: c.Inspector, PlaceOfInspection: c.InspectionPlace,
		Exporter:             caParty{c.Consignor.Name, c.Consignor.Address, v.to(peCountries, c.Consignor.Country), c.ExporterEmail},
		Consignee:            caParty{c.Consignee.Name, c.Consignee.Address, v.to(peCountries, c.Consignee.Country), ""},
		CountryOfExport:      v.to(peCountries, c.ExportCountry),
		CountryOfDestination: v.to(peCountries, c.ImportCountry), PointOfEntry: c.PortOfEntry,
		MeansOfConveyance:     caMeans{c.TransportMode, c.MeansOfTransport},
		AdditionalDeclaration: c.AdditionalDeclaration, Treatment: c.Treatment}
	for _, it := range c.Items {
		var ci caItem
		ci.Description, ci.CommonName, ci.BotanicalName, ci.PlaceOfOrigin = it.Description, it.CommonName, it.ScientificName, v.to(peCountries, it.OriginCountry)
		ci.NetWeight.Unit, ci.NetWeight.Value = it.Unit, it.NetWeight
		ci.Packages.Type, ci.Packages.Count = it.PackageType, it.Packages
		d.Commodities = append(d.Commodities, ci)
	}
	if v.err != nil {
		return nil, fmt.Errorf("CA: %w", v.err)
	}
	b, err := xml.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	return append([]byte(xml.Header), b...), nil
}

func (caFormat) Decode(b []byte) (Certificate, error) {
	var d caDoc
	if err := xml.Unmarshal(b, &d); err != nil {
		return Certificate{}, fmt.Errorf("CA: %w", err)
	}
	var v conv
	c := Certificate{ID: d.CertificateNumber, IssuePlace: d.PlaceOfIssue, Inspector: d.AuthorizedInspector, InspectionPlace: d.PlaceOfInspection,
		Consignor:     Party{d.Exporter.Name, d.Exporter.Address, v.from(peCountries, d.Exporter.Country)},
		Consignee:     Party{d.Consignee.Name, d.Consignee.Address, v.from(peCountries, d.Consignee.Country)},
		ExportCountry: v.from(peCountries, d.CountryOfExport), ImportCountry: v.from(peCountries, d.CountryOfDestination),
		PortOfEntry: d.PointOfEntry, TransportMode: d.MeansOfConveyance.Mode, MeansOfTransport: d.MeansOfConveyance.Name,
		AdditionalDeclaration: d.AdditionalDeclaration, Treatment: d.Treatment, ExporterEmail: d.Exporter.Email}
	t, err := time.ParseInLocation(caLayout, d.DateOfIssue, caZone)
	if err != nil {
		v.fail(fmt.Errorf("dateOfIssue: %w", err))
	}
	c.IssuedAt = t
	for _, ci := range d.Commodities {
		c.Items = append(c.Items, Item{ci.Description, ci.CommonName, ci.BotanicalName, ci.NetWeight.Value, ci.NetWeight.Unit,
			ci.Packages.Count, ci.Packages.Type, v.from(peCountries, ci.PlaceOfOrigin)})
	}
	if v.err == nil {
		v.err = validate(c)
	}
	if v.err != nil {
		return Certificate{}, fmt.Errorf("CA: %w", v.err)
	}
	return c, nil
}

func (caFormat) ack(id string, _ time.Time) []byte {
	return []byte(`<ack status="received" certificateNumber="` + xmlEscape(id) + `"/>`)
}

func (caFormat) nack(reason string, _ time.Time) []byte {
	return []byte(`<ack status="rejected"><reason>` + xmlEscape(reason) + `</reason></ack>`)
}
