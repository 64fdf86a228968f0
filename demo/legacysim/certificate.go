// Package legacysim simulates the legacy Single Windows (VUCEs) of the four
// demo countries — Chile, Colombia, Mexico and Peru. It is demo and test
// scaffolding only: no node imports it, and nothing in it is meant for
// production.
//
// Each simulated VUCE speaks its own native format for phytosanitary
// certificates (CL nested Spanish JSON, CO flat coded JSON, MX namespace-less
// XML, PE abbreviated English JSON; see FormatFor). The codecs are written by
// hand with encoding/json and encoding/xml — deliberately not with
// vucelink's mapping engine — so that they are an independent reading of
// each format against which the shipped rule files (package rules) are
// checked.
//
// Certificate is the meaning both ends must agree on: a test or the demo
// encodes a Certificate in the origin's format, lets vucelink carry it
// (native → SPS D13B → partner → native), decodes what the destination's
// Server received and compares the two with Certificate.Equal. Every field
// of Certificate is carried by all four formats; only ExporterEmail is
// excluded from the comparison, because it never leaves the origin node.
package legacysim

import (
	"fmt"
	"strings"
	"time"
)

// Certificate is the content of a phytosanitary certificate that every
// native format carries.
type Certificate struct {
	ID                    string
	IssuedAt              time.Time // minute precision; formats write it in their own zone
	IssuePlace            string
	Inspector             string // the official who signs
	InspectionPlace       string // where the consignment was examined
	AdditionalDeclaration string // optional
	Treatment             string // optional: disinfestation/disinfection treatment, as text
	Consignor, Consignee  Party
	ExportCountry         string // ISO 3166-1 alpha-2
	ImportCountry         string // ISO 3166-1 alpha-2
	PortOfEntry           string // declared point of entry
	TransportMode         string // UN/ECE Rec. 19: "1" sea, "3" road, "4" air
	MeansOfTransport      string // optional: vessel, flight or vehicle, e.g. "MSC Aurora, viaje 412N"
	Items                 []Item
	// ExporterEmail is where the exporter wants news of the certificate.
	// The origin's node keeps it (to tell the exporter when delivery
	// fails); it is not part of the standard document and never reaches
	// the partner, so Equal ignores it.
	ExporterEmail string
}

// Party is an exporter or importer.
type Party struct {
	Name, Address string
	Country       string // ISO 3166-1 alpha-2
}

// Item is one line of the consignment.
type Item struct {
	Description    string
	CommonName     string
	ScientificName string
	NetWeight      string // decimal as written, compared as text: "12500.5" and "12500.50" differ
	Unit           string // UN/ECE Rec. 20, e.g. KGM
	Packages       int
	PackageType    string // UN/ECE Rec. 21, e.g. BX
	OriginCountry  string // ISO 3166-1 alpha-2
}

// Equal compares two certificates field by field and lists every
// difference in words, naming c's value as "sent" and o's as "received".
// IssuedAt is compared as an instant, whatever its zone.
func (c Certificate) Equal(o Certificate) (bool, []string) {
	var diffs []string
	cmp := func(field, a, b string) {
		if a != b {
			diffs = append(diffs, fmt.Sprintf("%s: sent %q, received %q", field, a, b))
		}
	}
	cmp("ID", c.ID, o.ID)
	if !c.IssuedAt.Equal(o.IssuedAt) {
		diffs = append(diffs, fmt.Sprintf("IssuedAt: sent %s, received %s",
			c.IssuedAt.UTC().Format(time.RFC3339), o.IssuedAt.UTC().Format(time.RFC3339)))
	}
	cmp("IssuePlace", c.IssuePlace, o.IssuePlace)
	cmp("Inspector", c.Inspector, o.Inspector)
	cmp("InspectionPlace", c.InspectionPlace, o.InspectionPlace)
	cmp("AdditionalDeclaration", c.AdditionalDeclaration, o.AdditionalDeclaration)
	cmp("Treatment", c.Treatment, o.Treatment)
	for _, p := range []struct {
		name string
		a, b Party
	}{{"Consignor", c.Consignor, o.Consignor}, {"Consignee", c.Consignee, o.Consignee}} {
		cmp(p.name+".Name", p.a.Name, p.b.Name)
		cmp(p.name+".Address", p.a.Address, p.b.Address)
		cmp(p.name+".Country", p.a.Country, p.b.Country)
	}
	cmp("ExportCountry", c.ExportCountry, o.ExportCountry)
	cmp("ImportCountry", c.ImportCountry, o.ImportCountry)
	cmp("PortOfEntry", c.PortOfEntry, o.PortOfEntry)
	cmp("TransportMode", c.TransportMode, o.TransportMode)
	cmp("MeansOfTransport", c.MeansOfTransport, o.MeansOfTransport)
	if len(c.Items) != len(o.Items) {
		diffs = append(diffs, fmt.Sprintf("Items: sent %d, received %d", len(c.Items), len(o.Items)))
		return false, diffs
	}
	for i := range c.Items {
		a, b := c.Items[i], o.Items[i]
		p := fmt.Sprintf("Items[%d].", i+1)
		cmp(p+"Description", a.Description, b.Description)
		cmp(p+"CommonName", a.CommonName, b.CommonName)
		cmp(p+"ScientificName", a.ScientificName, b.ScientificName)
		cmp(p+"NetWeight", a.NetWeight, b.NetWeight)
		cmp(p+"Unit", a.Unit, b.Unit)
		if a.Packages != b.Packages {
			diffs = append(diffs, fmt.Sprintf("%sPackages: sent %d, received %d", p, a.Packages, b.Packages))
		}
		cmp(p+"PackageType", a.PackageType, b.PackageType)
		cmp(p+"OriginCountry", a.OriginCountry, b.OriginCountry)
	}
	return len(diffs) == 0, diffs
}

// The demo's fixed content, per country.
type product struct{ desc, common, scientific string }

var (
	products = map[string][]product{
		"CL": {{"Uva de mesa fresca", "Uva", "Vitis vinifera"}, {"Cerezas frescas", "Cereza", "Prunus avium"}, {"Arándanos frescos", "Arándano", "Vaccinium corymbosum"}, {"Manzanas frescas", "Manzana", "Malus domestica"}},
		"CO": {{"Rosas cortadas frescas", "Rosa", "Rosa spp."}, {"Banano fresco", "Banano", "Musa acuminata"}, {"Claveles cortados frescos", "Clavel", "Dianthus caryophyllus"}, {"Uchuva fresca", "Uchuva", "Physalis peruviana"}},
		"MX": {{"Limón persa fresco", "Limón", "Citrus latifolia"}, {"Aguacate Hass fresco", "Aguacate", "Persea americana"}, {"Mango Ataulfo fresco", "Mango", "Mangifera indica"}, {"Frambuesa fresca", "Frambuesa", "Rubus idaeus"}},
		"PE": {{"Palta Hass fresca", "Palta", "Persea americana"}, {"Arándanos frescos", "Arándano", "Vaccinium corymbosum"}, {"Espárragos frescos", "Espárrago", "Asparagus officinalis"}, {"Uva Red Globe fresca", "Uva", "Vitis vinifera"}},
		// The hub's associated states (hubFormats).
		"AU": {{"Fresh table grapes", "Grape", "Vitis vinifera"}, {"Fresh citrus (oranges)", "Orange", "Citrus sinensis"}, {"Barley grain for malting", "Barley", "Hordeum vulgare"}, {"Fresh cherries", "Cherry", "Prunus avium"}},
		"CA": {{"Seed potatoes", "Potato", "Solanum tuberosum"}, {"Fresh blueberries", "Blueberry", "Vaccinium angustifolium"}, {"Canola seed for crushing", "Canola", "Brassica napus"}, {"Christmas trees, cut", "Balsam fir", "Abies balsamea"}},
		"NZ": {{"Fresh kiwifruit", "Kiwifruit", "Actinidia chinensis"}, {"Fresh apples", "Apple", "Malus domestica"}, {"Sawn pine timber", "Radiata pine", "Pinus radiata"}, {"Fresh onions", "Onion", "Allium cepa"}},
		"SG": {{"Live ornamental plants (orchids)", "Orchid", "Dendrobium spp."}, {"Cut orchid flowers", "Orchid", "Vanda spp."}, {"Aquarium plants", "Java fern", "Microsorum pteropus"}, {"Fresh curry leaves", "Curry leaf", "Murraya koenigii"}},
	}
	parties = map[string]Party{
		"CL": {"Exportadora Frutícola del Maule S.A.", "Av. Circunvalación 1450, Talca", "CL"},
		"CO": {"Flores de la Sabana S.A.S.", "Km 7 vía Funza, Cundinamarca", "CO"},
		"MX": {"Frutas Selectas de Michoacán S.A. de C.V.", "Carretera Uruapan-Pátzcuaro km 3, Uruapan", "MX"},
		"PE": {"Agroexportadora Costa Norte S.A.C.", "Panamericana Norte km 560, Trujillo", "PE"},
		"AR": {"Importadora del Plata S.R.L.", "Av. Corrientes 1234, Buenos Aires", "AR"},
		"AU": {"Riverland Fresh Exports Pty Ltd", "14 Sturt Highway, Renmark SA 5341", "AU"},
		"CA": {"Maritime Seed Potato Co-operative Ltd.", "220 Main Street, Grand Falls NB E3Z 2W5", "CA"},
		"NZ": {"Bay of Plenty Orchards Ltd", "61 Totara Street, Mount Maunganui 3116", "NZ"},
		"SG": {"Lion City Orchids Pte. Ltd.", "5 Mandai Road #02-11, Singapore 779391", "SG"},
	}
	places = map[string]string{"CL": "Valparaíso", "CO": "Bogotá", "MX": "Manzanillo", "PE": "Callao", "AR": "Buenos Aires",
		"AU": "Melbourne", "CA": "Halifax", "NZ": "Tauranga", "SG": "Singapore"}
	inspectionSites = map[string]string{
		"CL": "Sitio de inspección SAG, Puerto de Valparaíso",
		"CO": "Puesto de control ICA, Aeropuerto El Dorado",
		"MX": "Punto de verificación SENASICA, Puerto de Manzanillo",
		"PE": "Planta de empaque certificada SENASA, Chao, La Libertad",
		"AU": "DAFF approved arrangement AA-1450, Renmark",
		"CA": "CFIA registered warehouse, Port of Halifax",
		"NZ": "MPI transitional facility 2931, Mount Maunganui",
		"SG": "NParks plant health inspection point, Changi Airfreight Centre",
	}
	inspectors = map[string]string{"CL": "Ana Pérez Soto", "CO": "Carlos Gómez Ruiz", "MX": "María Hernández López", "PE": "Jorge Quispe Mamani",
		"AU": "Olivia O'Brien", "CA": "Jean-François Tremblay", "NZ": "Aroha Ngata", "SG": "Tan Wei Ming"}
	treatments = map[string]string{
		"CL": "Fumigación con bromuro de metilo, 48 g/m³ durante 2 h a ≥ 21 °C",
		"CO": "Inmersión en solución de hipoclorito de sodio < 200 ppm",
		"MX": "Tratamiento hidrotérmico: 46,1 °C durante 75 min",
		"PE": "Tratamiento en frío: ≤ 2,22 °C durante 18 días",
		"AU": "Cold disinfestation: ≤ 1.0 °C for 16 days",
		"CA": "Heat treatment: 56 °C core temperature for 30 min (HT)",
		"NZ": "Methyl bromide fumigation, 48 g/m³ for 24 h at ≥ 15 °C",
		"SG": "Hot water immersion: 49 °C for 10 min",
	}
	neighbours = map[[2]string]bool{{"CL", "PE"}: true, {"PE", "CL"}: true, {"CO", "PE"}: true, {"PE", "CO"}: true}
)

// Sample returns a deterministic, realistic certificate from one country to
// another with the given number of line items. Different seq values vary
// the issue time (some cross midnight in American zones), the transport,
// and whether a treatment is declared (odd seq) or not (even seq). The
// destination may be a country without a simulated VUCE (e.g. "AR").
func Sample(from, to string, seq, items int) Certificate {
	ps := products[from]
	if len(ps) == 0 {
		ps = products["CL"]
	}
	c := Certificate{
		ID:                    fmt.Sprintf("%s-FITO-2026-%06d", from, seq),
		IssuedAt:              time.Date(2026, 11, 25, (13+seq*5)%24, (seq*7)%60, 0, 0, time.UTC),
		IssuePlace:            places[from],
		Inspector:             inspectors[from],
		InspectionPlace:       inspectionSites[from],
		AdditionalDeclaration: `El envío se encuentra libre de Ceratitis capitata & Lobesia botrana según inspección oficial ("Resolución 3.410").`,
		Consignor:             parties[from],
		Consignee:             parties[to],
		ExporterEmail:         fmt.Sprintf("exportaciones+%d@%s.exporter.example", seq, strings.ToLower(from)),
		ExportCountry:         from,
		ImportCountry:         to,
		PortOfEntry:           places[to],
	}
	if seq%2 == 1 {
		c.Treatment = treatments[from]
	}
	switch {
	case neighbours[[2]string{from, to}] && seq%3 == 0:
		c.TransportMode, c.MeansOfTransport = "3", fmt.Sprintf("Camión placa %s-%04d", from, 1000+seq%9000)
	case seq%2 == 0:
		c.TransportMode, c.MeansOfTransport = "1", fmt.Sprintf("MSC Aurora, viaje %03dN", seq%1000)
	default:
		c.TransportMode, c.MeansOfTransport = "4", fmt.Sprintf("LATAM Cargo LA%04d", 1400+seq%600)
	}
	if c.Consignor.Name == "" {
		c.Consignor = Party{"Exportador de " + from, "Dirección principal", from}
	}
	if c.Consignee.Name == "" {
		c.Consignee = Party{"Importador de " + to, "Dirección principal", to}
	}
	if c.PortOfEntry == "" {
		c.PortOfEntry = "Puerto principal de " + to
	}
	pkgs := []string{"BX", "CT", "BX", "PK"}
	for i := 0; i < items; i++ {
		p := ps[i%len(ps)]
		it := Item{
			Description:    p.desc,
			CommonName:     p.common,
			ScientificName: p.scientific,
			Packages:       10 + (i*17+seq)%490,
			PackageType:    pkgs[i%len(pkgs)],
			OriginCountry:  from,
		}
		// Weights as a person would type them: one decimal, whole kilograms,
		// and tonnes with trailing zeros that must survive every hop.
		switch i % 3 {
		case 0:
			it.NetWeight, it.Unit = fmt.Sprintf("%d.%d", 800+(i*137+seq*31)%19000, i%10), "KGM"
		case 1:
			it.NetWeight, it.Unit = fmt.Sprintf("%d", 500+(i*71+seq)%5000), "KGM"
		default:
			it.NetWeight, it.Unit = fmt.Sprintf("%d.%03d", 1+(i+seq)%20, (i*50)%1000), "TNE"
		}
		c.Items = append(c.Items, it)
	}
	return c
}
