// Package legacysim simulates the legacy Single Windows (VUCEs) of the demo
// countries. It is demo and test scaffolding, never part of a node.
//
// Each simulated VUCE speaks its own native format for phytosanitary
// certificates (see the Format implementations), coded by hand with
// encoding/json and encoding/xml — deliberately not with vucelink's mapping
// engine, so that the demo checks the rule files against an independent
// reading of each format. Certificate is the meaning both ends must agree
// on: the demo encodes a Certificate at the origin, lets vucelink carry it,
// decodes what the destination's VUCE received and compares.
package legacysim

import (
	"fmt"
	"time"
)

// Certificate is the content of a phytosanitary certificate that every
// native format carries.
type Certificate struct {
	ID                    string
	IssuedAt              time.Time // minute precision
	IssuePlace            string
	Inspector             string // the official who signed on paper
	AdditionalDeclaration string
	Consignor, Consignee  Party
	ExportCountry         string // ISO 3166 alpha-2
	ImportCountry         string // ISO 3166 alpha-2
	PortOfEntry           string
	Transport             string // UN/ECE Rec. 19 mode: 1 sea, 3 road, 4 air
	Items                 []Item
}

// Party is an exporter or importer.
type Party struct {
	Name, Address string
	Country       string // ISO 3166 alpha-2
}

// Item is one line of the consignment.
type Item struct {
	Description    string
	CommonName     string
	ScientificName string
	NetWeight      string // decimal as written, e.g. "12500.5"
	Unit           string // UN/ECE Rec. 20, e.g. KGM
	Packages       int
	PackageType    string // UN/ECE Rec. 21, e.g. BX
	OriginCountry  string // ISO 3166 alpha-2
}

// Equal compares two certificates field by field and lists every
// difference in words.
func (c Certificate) Equal(o Certificate) (bool, []string) {
	var diffs []string
	cmp := func(field, a, b string) {
		if a != b {
			diffs = append(diffs, fmt.Sprintf("%s: sent %q, received %q", field, a, b))
		}
	}
	cmp("ID", c.ID, o.ID)
	if !c.IssuedAt.Equal(o.IssuedAt) {
		diffs = append(diffs, fmt.Sprintf("IssuedAt: sent %s, received %s", c.IssuedAt.UTC().Format(time.RFC3339), o.IssuedAt.UTC().Format(time.RFC3339)))
	}
	cmp("IssuePlace", c.IssuePlace, o.IssuePlace)
	cmp("Inspector", c.Inspector, o.Inspector)
	cmp("AdditionalDeclaration", c.AdditionalDeclaration, o.AdditionalDeclaration)
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
	cmp("Transport", c.Transport, o.Transport)
	if len(c.Items) != len(o.Items) {
		diffs = append(diffs, fmt.Sprintf("Items: sent %d, received %d", len(c.Items), len(o.Items)))
	} else {
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
	}
	return len(diffs) == 0, diffs
}

type product struct{ desc, common, scientific string }

var products = map[string][]product{
	"CL": {{"Uva de mesa fresca", "Uva", "Vitis vinifera"}, {"Cerezas frescas", "Cereza", "Prunus avium"}, {"Arándanos frescos", "Arándano", "Vaccinium corymbosum"}, {"Manzanas frescas", "Manzana", "Malus domestica"}},
	"CO": {{"Rosas cortadas frescas", "Rosa", "Rosa spp."}, {"Banano fresco", "Banano", "Musa acuminata"}, {"Aguacate Hass fresco", "Aguacate", "Persea americana"}, {"Uchuva fresca", "Uchuva", "Physalis peruviana"}},
	"MX": {{"Limón persa fresco", "Limón", "Citrus latifolia"}, {"Aguacate Hass fresco", "Aguacate", "Persea americana"}, {"Mango Ataulfo fresco", "Mango", "Mangifera indica"}, {"Frambuesa fresca", "Frambuesa", "Rubus idaeus"}},
	"PE": {{"Palta Hass fresca", "Palta", "Persea americana"}, {"Arándanos frescos", "Arándano", "Vaccinium corymbosum"}, {"Espárragos frescos", "Espárrago", "Asparagus officinalis"}, {"Uva Red Globe fresca", "Uva", "Vitis vinifera"}},
}

var parties = map[string]Party{
	"CL": {"Exportadora Frutícola del Maule S.A.", "Av. Circunvalación 1450, Talca", "CL"},
	"CO": {"Flores de la Sabana S.A.S.", "Km 7 vía Funza, Cundinamarca", "CO"},
	"MX": {"Frutas Selectas de Michoacán S.A. de C.V.", "Carretera Uruapan-Pátzcuaro km 3, Uruapan", "MX"},
	"PE": {"Agroexportadora Costa Norte S.A.C.", "Panamericana Norte km 560, Trujillo", "PE"},
	"AR": {"Importadora del Plata S.R.L.", "Av. Corrientes 1234, Buenos Aires", "AR"},
}

var places = map[string]string{"CL": "Valparaíso", "CO": "Bogotá", "MX": "Manzanillo", "PE": "Callao", "AR": "Buenos Aires"}

var inspectors = map[string]string{"CL": "Ana Pérez Soto", "CO": "Carlos Gómez Ruiz", "MX": "María Hernández López", "PE": "Jorge Quispe Mamani"}

// Sample returns a deterministic, realistic certificate from one country
// to another with the given number of line items.
func Sample(from, to string, seq, items int) Certificate {
	ps := products[from]
	if len(ps) == 0 {
		ps = products["CL"]
	}
	c := Certificate{
		ID:                    fmt.Sprintf("%s-FITO-2026-%06d", from, seq),
		IssuedAt:              time.Date(2026, 11, 25, 13+seq%8, (seq*7)%60, 0, 0, time.UTC),
		IssuePlace:            places[from],
		Inspector:             inspectors[from],
		AdditionalDeclaration: "El envío se encuentra libre de Ceratitis capitata & Lobesia botrana según inspección oficial.",
		Consignor:             parties[from],
		Consignee:             parties[to],
		ExportCountry:         from,
		ImportCountry:         to,
		PortOfEntry:           places[to],
		Transport:             []string{"1", "4", "3"}[seq%3],
	}
	if c.Consignee.Name == "" {
		c.Consignee = Party{"Importador de " + to, "Dirección principal", to}
	}
	if c.PortOfEntry == "" {
		c.PortOfEntry = "Puerto principal de " + to
	}
	units := []string{"KGM", "KGM", "TNE"}
	pkgs := []string{"BX", "CT", "BX", "PK"}
	for i := 0; i < items; i++ {
		p := ps[i%len(ps)]
		c.Items = append(c.Items, Item{
			Description:    p.desc,
			CommonName:     p.common,
			ScientificName: p.scientific,
			NetWeight:      fmt.Sprintf("%d.%d", 1000+(i*137+seq*31)%9000, i%10),
			Unit:           units[i%len(units)],
			Packages:       10 + (i*17)%490,
			PackageType:    pkgs[i%len(pkgs)],
			OriginCountry:  from,
		})
	}
	return c
}
