package legacysim

import (
	"fmt"
	"time"
)

// coFormat is Colombia's legacy format: flat JSON with short Spanish keys —
// no nested objects, only lists of flat records (items, obs) — and codes
// instead of names: ISO 3166 numeric countries, the institute's own numeric
// unit, package and remark codes, the UN/ECE Rec. 19 transport digit,
// "yyyyMMddHHmm" in Bogotá time, weights as strings.
//
//	{
//	  "num_cert": "CO-FITO-2026-000001", "fec_emi": "202611250930",
//	  "lug_emi": "Bogotá", "funcionario": "Carlos Gómez Ruiz",
//	  "lug_insp": "Puesto de control ICA, Aeropuerto El Dorado",
//	  "exp_nom": "…", "exp_dir": "…", "exp_pais": "170",
//	  "imp_nom": "…", "imp_dir": "…", "imp_pais": "152",
//	  "pais_orig": "170", "pais_dest": "152", "pto_ingreso": "Valparaíso",
//	  "medio_transp": "4", "id_transp": "LATAM Cargo LA1401",
//	  "obs": [{"t": "1", "x": "El envío se encuentra libre de …"}, {"t": "2", "x": "Inmersión en …"}],
//	  "items": [{"d": "Rosas cortadas frescas", "nc": "Rosa", "ncie": "Rosa spp.",
//	    "pn": "1250.5", "um": "01", "cb": 120, "tb": "10", "po": "170"}]
//	}
//
// Codes: um 01 kilogram, 02 tonne; tb 10 box, 20 carton, 30 package; obs t
// 1 additional declaration, 2 treatment. It acknowledges with
// {"cod_resp": "00", "num_cert": …, "fec_rec": …} and refuses with
// {"cod_resp": "99", "desc_resp": …}.
type coFormat struct{}

type coDoc struct {
	NumCert     string   `json:"num_cert"`
	FecEmi      string   `json:"fec_emi"`
	LugEmi      string   `json:"lug_emi"`
	Funcionario string   `json:"funcionario"`
	LugInsp     string   `json:"lug_insp"`
	ExpNom      string   `json:"exp_nom"`
	ExpDir      string   `json:"exp_dir"`
	ExpEmail    string   `json:"exp_email,omitempty"`
	ExpPais     string   `json:"exp_pais"`
	ImpNom      string   `json:"imp_nom"`
	ImpDir      string   `json:"imp_dir"`
	ImpPais     string   `json:"imp_pais"`
	PaisOrig    string   `json:"pais_orig"`
	PaisDest    string   `json:"pais_dest"`
	PtoIngreso  string   `json:"pto_ingreso"`
	MedioTransp string   `json:"medio_transp"`
	IDTransp    string   `json:"id_transp,omitempty"`
	Obs         []coObs  `json:"obs,omitempty"`
	Items       []coItem `json:"items"`
}

type coObs struct {
	T string `json:"t"`
	X string `json:"x"`
}

type coItem struct {
	D    string `json:"d"`
	NC   string `json:"nc"`
	NCie string `json:"ncie"`
	PN   string `json:"pn"`
	UM   string `json:"um"`
	CB   int    `json:"cb"`
	TB   string `json:"tb"`
	PO   string `json:"po"`
}

var (
	coUnits     = newCodes("unidad", "KGM", "01", "TNE", "02")
	coPackages  = newCodes("tipo de bulto", "BX", "10", "CT", "20", "PK", "30")
	coTransport = newCodes("medio de transporte", "1", "1", "3", "3", "4", "4")
	coObsTypes  = newCodes("tipo de observación", noteAD, "1", noteTreatment, "2")
	coZone      = zone("America/Bogota")
)

const coLayout = "200601021504"

func (coFormat) Country() string     { return "CO" }
func (coFormat) ContentType() string { return "application/json" }

func (coFormat) Encode(c Certificate) ([]byte, error) {
	var v conv
	d := coDoc{
		NumCert:     c.ID,
		FecEmi:      c.IssuedAt.In(coZone).Format(coLayout),
		LugEmi:      c.IssuePlace,
		Funcionario: c.Inspector,
		LugInsp:     c.InspectionPlace,
		ExpNom:      c.Consignor.Name,
		ExpDir:      c.Consignor.Address,
		ExpEmail:    c.ExporterEmail,
		ExpPais:     v.to(coCountries, c.Consignor.Country),
		ImpNom:      c.Consignee.Name,
		ImpDir:      c.Consignee.Address,
		ImpPais:     v.to(coCountries, c.Consignee.Country),
		PaisOrig:    v.to(coCountries, c.ExportCountry),
		PaisDest:    v.to(coCountries, c.ImportCountry),
		PtoIngreso:  c.PortOfEntry,
		MedioTransp: v.to(coTransport, c.TransportMode),
		IDTransp:    c.MeansOfTransport,
	}
	for _, n := range notesOf(c) {
		d.Obs = append(d.Obs, coObs{v.to(coObsTypes, n[0]), n[1]})
	}
	for _, it := range c.Items {
		d.Items = append(d.Items, coItem{it.Description, it.CommonName, it.ScientificName, it.NetWeight,
			v.to(coUnits, it.Unit), it.Packages, v.to(coPackages, it.PackageType), v.to(coCountries, it.OriginCountry)})
	}
	if v.err != nil {
		return nil, fmt.Errorf("CO: %w", v.err)
	}
	return encodeJSON(d)
}

func (coFormat) Decode(b []byte) (Certificate, error) {
	var d coDoc
	if err := decodeJSON(b, &d); err != nil {
		return Certificate{}, fmt.Errorf("CO: %w", err)
	}
	var v conv
	c := Certificate{
		ID:               d.NumCert,
		IssuePlace:       d.LugEmi,
		Inspector:        d.Funcionario,
		InspectionPlace:  d.LugInsp,
		Consignor:        Party{d.ExpNom, d.ExpDir, v.from(coCountries, d.ExpPais)},
		Consignee:        Party{d.ImpNom, d.ImpDir, v.from(coCountries, d.ImpPais)},
		ExportCountry:    v.from(coCountries, d.PaisOrig),
		ImportCountry:    v.from(coCountries, d.PaisDest),
		PortOfEntry:      d.PtoIngreso,
		TransportMode:    v.from(coTransport, d.MedioTransp),
		MeansOfTransport: d.IDTransp,
	}
	t, err := time.ParseInLocation(coLayout, d.FecEmi, coZone)
	if err != nil {
		v.fail(fmt.Errorf("fec_emi: %w", err))
	}
	c.IssuedAt = t
	for _, o := range d.Obs {
		if kind := v.from(coObsTypes, o.T); kind != "" {
			v.fail(setNote(&c, kind, o.X))
		}
	}
	for _, it := range d.Items {
		c.Items = append(c.Items, Item{it.D, it.NC, it.NCie, it.PN, v.from(coUnits, it.UM), it.CB,
			v.from(coPackages, it.TB), v.from(coCountries, it.PO)})
	}
	if v.err == nil {
		v.err = validate(c)
	}
	if v.err != nil {
		return Certificate{}, fmt.Errorf("CO: %w", v.err)
	}
	return c, nil
}

func (coFormat) ack(id string, at time.Time) []byte {
	b, _ := encodeJSON(map[string]string{"cod_resp": "00", "num_cert": id, "fec_rec": at.In(coZone).Format(coLayout)})
	return b
}

func (coFormat) nack(reason string, _ time.Time) []byte {
	b, _ := encodeJSON(map[string]string{"cod_resp": "99", "desc_resp": reason})
	return b
}
