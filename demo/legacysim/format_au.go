package legacysim

import (
	"encoding/xml"
	"fmt"
	"time"
)

// auFormat is Australia's national system's format (simulated; a hub
// member): XML in its own namespace, English names, the issue time in
// ISO 8601 with Sydney's offset, ISO alpha-2 countries and UN/ECE codes as
// attributes, endorsements by kind, each commodity's net quantity with
// its unit as an attribute. Unlike every Alliance format, everything sits
// in a namespace, and any prefix (or none) is accepted for it.
//
//	<PhytoCertificate xmlns="urn:au:gov:agriculture:exdoc:phyto:2" number="AU-FITO-2026-000001" issued="2026-11-26T07:30:00+11:00">
//	  <Issue place="Melbourne" officer="Olivia O'Brien"/>
//	  <Inspection site="DAFF approved arrangement AA-1450, Renmark"/>
//	  <Consignor country="AU"><Name>…</Name><Address>…</Address><Email>…</Email></Consignor>
//	  <Consignee country="PE"><Name>…</Name><Address>…</Address></Consignee>
//	  <Route export="AU" import="PE" entry="Callao" mode="sea" conveyance="MSC Aurora, viaje 412N"/>
//	  <Endorsement kind="ADDITIONAL_DECLARATION">…</Endorsement>
//	  <Endorsement kind="TREATMENT">…</Endorsement>
//	  <Commodity line="1">
//	    <Description>Fresh table grapes</Description><CommonName>Grape</CommonName><BotanicalName>Vitis vinifera</BotanicalName>
//	    <NetQuantity unit="KGM">1250.5</NetQuantity><Packages type="BX">120</Packages><Origin>AU</Origin>
//	  </Commodity>
//	</PhytoCertificate>
//
// It acknowledges with <Receipt xmlns="…" status="ACCEPTED" number="…"/>.
type auFormat struct{}

// AUNamespace is the namespace of Australia's simulated format.
const AUNamespace = "urn:au:gov:agriculture:exdoc:phyto:2"

type auDoc struct {
	XMLName xml.Name `xml:"urn:au:gov:agriculture:exdoc:phyto:2 PhytoCertificate"`
	Number  string   `xml:"number,attr"`
	Issued  string   `xml:"issued,attr"`
	Issue   struct {
		Place   string `xml:"place,attr"`
		Officer string `xml:"officer,attr"`
	} `xml:"Issue"`
	Inspection struct {
		Site string `xml:"site,attr"`
	} `xml:"Inspection"`
	Consignor auParty `xml:"Consignor"`
	Consignee auParty `xml:"Consignee"`
	Route     struct {
		Export     string `xml:"export,attr"`
		Import     string `xml:"import,attr"`
		Entry      string `xml:"entry,attr,omitempty"`
		Mode       string `xml:"mode,attr"`
		Conveyance string `xml:"conveyance,attr,omitempty"`
	} `xml:"Route"`
	Endorsements []auEndorsement `xml:"Endorsement"`
	Commodities  []auCommodity   `xml:"Commodity"`
}

type auParty struct {
	Country string `xml:"country,attr"`
	Name    string `xml:"Name"`
	Address string `xml:"Address,omitempty"`
	Email   string `xml:"Email,omitempty"`
}

type auEndorsement struct {
	Kind string `xml:"kind,attr"`
	Text string `xml:",chardata"`
}

type auCommodity struct {
	Line          int    `xml:"line,attr"`
	Description   string `xml:"Description"`
	CommonName    string `xml:"CommonName,omitempty"`
	BotanicalName string `xml:"BotanicalName,omitempty"`
	NetQuantity   struct {
		Unit  string `xml:"unit,attr"`
		Value string `xml:",chardata"`
	} `xml:"NetQuantity"`
	Packages struct {
		Type  string `xml:"type,attr"`
		Count int    `xml:",chardata"`
	} `xml:"Packages"`
	Origin string `xml:"Origin"`
}

var (
	auTransport    = newCodes("transport mode", "1", "sea", "2", "rail", "3", "road", "4", "air")
	auEndorsements = newCodes("endorsement kind", noteAD, "ADDITIONAL_DECLARATION", noteTreatment, "TREATMENT")
	auZone         = zone("Australia/Sydney")
)

const auLayout = "2006-01-02T15:04:05-07:00"

func (auFormat) Country() string     { return "AU" }
func (auFormat) ContentType() string { return "application/xml" }

func (auFormat) Encode(c Certificate) ([]byte, error) {
	var v conv
	d := auDoc{Number: c.ID, Issued: c.IssuedAt.In(auZone).Format(auLayout),
		Consignor: auParty{c.Consignor.Country, c.Consignor.Name, c.Consignor.Address, c.ExporterEmail},
		Consignee: auParty{c.Consignee.Country, c.Consignee.Name, c.Consignee.Address, ""}}
	d.Issue.Place, d.Issue.Officer = c.IssuePlace, c.Inspector
	d.Inspection.Site = c.InspectionPlace
	d.Route.Export, d.Route.Import, d.Route.Entry = c.ExportCountry, c.ImportCountry, c.PortOfEntry
	d.Route.Mode, d.Route.Conveyance = v.to(auTransport, c.TransportMode), c.MeansOfTransport
	for _, n := range notesOf(c) {
		d.Endorsements = append(d.Endorsements, auEndorsement{v.to(auEndorsements, n[0]), n[1]})
	}
	for i, it := range c.Items {
		cm := auCommodity{Line: i + 1, Description: it.Description, CommonName: it.CommonName, BotanicalName: it.ScientificName, Origin: it.OriginCountry}
		cm.NetQuantity.Unit, cm.NetQuantity.Value = it.Unit, it.NetWeight
		cm.Packages.Type, cm.Packages.Count = it.PackageType, it.Packages
		d.Commodities = append(d.Commodities, cm)
	}
	if v.err != nil {
		return nil, fmt.Errorf("AU: %w", v.err)
	}
	b, err := xml.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("AU: %w", err)
	}
	return append([]byte(xml.Header), b...), nil
}

func (auFormat) Decode(b []byte) (Certificate, error) {
	var d auDoc
	if err := xml.Unmarshal(b, &d); err != nil {
		return Certificate{}, fmt.Errorf("AU: %w", err)
	}
	var v conv
	c := Certificate{
		ID: d.Number, IssuePlace: d.Issue.Place, Inspector: d.Issue.Officer, InspectionPlace: d.Inspection.Site,
		Consignor:     Party{d.Consignor.Name, d.Consignor.Address, d.Consignor.Country},
		Consignee:     Party{d.Consignee.Name, d.Consignee.Address, d.Consignee.Country},
		ExportCountry: d.Route.Export, ImportCountry: d.Route.Import, PortOfEntry: d.Route.Entry,
		TransportMode: v.from(auTransport, d.Route.Mode), MeansOfTransport: d.Route.Conveyance,
		ExporterEmail: d.Consignor.Email,
	}
	t, err := time.Parse(time.RFC3339, d.Issued) // any offset, "Z" too
	if err != nil {
		v.fail(fmt.Errorf("issued: %w", err))
	}
	c.IssuedAt = t
	for _, e := range d.Endorsements {
		if kind := v.from(auEndorsements, e.Kind); kind != "" {
			v.fail(setNote(&c, kind, e.Text))
		}
	}
	for i, cm := range d.Commodities {
		if cm.Line != i+1 {
			v.fail(fmt.Errorf("commodity %d has line %d", i+1, cm.Line))
		}
		c.Items = append(c.Items, Item{cm.Description, cm.CommonName, cm.BotanicalName, cm.NetQuantity.Value, cm.NetQuantity.Unit,
			cm.Packages.Count, cm.Packages.Type, cm.Origin})
	}
	if v.err == nil {
		v.err = validate(c)
	}
	if v.err != nil {
		return Certificate{}, fmt.Errorf("AU: %w", v.err)
	}
	return c, nil
}

func (auFormat) ack(id string, _ time.Time) []byte {
	return []byte(`<Receipt xmlns="` + AUNamespace + `" status="ACCEPTED" number="` + xmlEscape(id) + `"/>`)
}

func (auFormat) nack(reason string, _ time.Time) []byte {
	return []byte(`<Receipt xmlns="` + AUNamespace + `" status="REJECTED"><Reason>` + xmlEscape(reason) + `</Reason></Receipt>`)
}
