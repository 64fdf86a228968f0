package legacysim

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strconv"
	"time"
)

// Format is one legacy system's native format.
type Format interface {
	Country() string
	ContentType() string
	Encode(Certificate) ([]byte, error)
	Decode([]byte) (Certificate, error)
}

// Countries with a simulated legacy VUCE.
func Countries() []string { return []string{"CL", "CO", "MX", "PE"} }

// FormatFor returns a country's native format.
func FormatFor(country string) (Format, error) {
	switch country {
	case "CL":
		return clFormat{}, nil
	case "CO":
		return coFormat{}, nil
	case "MX":
		return mxFormat{}, nil
	case "PE":
		return peFormat{}, nil
	}
	return nil, fmt.Errorf("no simulated legacy VUCE for %q", country)
}

// OutboundPath is where a country's legacy VUCE posts the certificates it
// sends abroad (the URL that now points at vucelink).
func OutboundPath(country string) string {
	return map[string]string{
		"CL": "/api/v1/certificados-fitosanitarios",
		"CO": "/vuce/fito/enviar",
		"MX": "/ventanilla/fitosanitario/exportacion",
		"PE": "/vuce/api/phyto/outbound",
	}[country]
}

// InboundPath is where a country's legacy VUCE receives certificates from
// abroad.
func InboundPath(country string) string {
	return map[string]string{
		"CL": "/api/v1/recepcion/fitosanitarios",
		"CO": "/vuce/fito/recibir",
		"MX": "/ventanilla/fitosanitario/importacion",
		"PE": "/vuce/api/phyto/inbound",
	}[country]
}

// Country codes as each legacy system writes them.
var (
	mxCountryNames = map[string]string{"CL": "Chile", "CO": "Colombia", "MX": "México", "PE": "Perú", "AR": "Argentina"}
	peAlpha3       = map[string]string{"CL": "CHL", "CO": "COL", "MX": "MEX", "PE": "PER", "AR": "ARG"}
	coNumeric      = map[string]string{"CL": "152", "CO": "170", "MX": "484", "PE": "604", "AR": "032"}
)

func lookup(m map[string]string, k, what string) (string, error) {
	if v, ok := m[k]; ok {
		return v, nil
	}
	return "", fmt.Errorf("unknown %s %q", what, k)
}

func reverse(m map[string]string, v, what string) (string, error) {
	for k, x := range m {
		if x == v {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown %s %q", what, v)
}

func zone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // tzdata is embedded via the mapping package and time/tzdata below
	}
	return loc
}

// ---------------------------------------------------------------------
// CL — nested JSON with Spanish names, RFC 3339 UTC timestamps, ISO alpha-2
// countries, UN/ECE codes; the transport mode as a word.
//
//	{"certificado":{"numero":"CL-FITO-2026-000001","fechaEmision":"2026-11-25T14:07:00Z",
//	  "lugarEmision":"Valparaíso","inspector":"Ana Pérez Soto","declaracionAdicional":"…"},
//	 "exportador":{"nombre":"…","direccion":"…","pais":"CL"},"destinatario":{…},
//	 "envio":{"paisOrigen":"CL","paisDestino":"MX","puertoEntrada":"Manzanillo","medioTransporte":"MARITIMO"},
//	 "productos":[{"descripcion":"…","nombreComun":"Uva","nombreCientifico":"Vitis vinifera",
//	   "pesoNeto":1250.5,"unidad":"KGM","bultos":120,"tipoBulto":"BX","paisOrigen":"CL"}]}
type clFormat struct{}

type clDoc struct {
	Certificado struct {
		Numero               string `json:"numero"`
		FechaEmision         string `json:"fechaEmision"`
		LugarEmision         string `json:"lugarEmision"`
		Inspector            string `json:"inspector"`
		DeclaracionAdicional string `json:"declaracionAdicional,omitempty"`
	} `json:"certificado"`
	Exportador   clParty `json:"exportador"`
	Destinatario clParty `json:"destinatario"`
	Envio        struct {
		PaisOrigen      string `json:"paisOrigen"`
		PaisDestino     string `json:"paisDestino"`
		PuertoEntrada   string `json:"puertoEntrada"`
		MedioTransporte string `json:"medioTransporte"`
	} `json:"envio"`
	Productos []clItem `json:"productos"`
}

type clParty struct {
	Nombre    string `json:"nombre"`
	Direccion string `json:"direccion"`
	Pais      string `json:"pais"`
}

type clItem struct {
	Descripcion      string      `json:"descripcion"`
	NombreComun      string      `json:"nombreComun"`
	NombreCientifico string      `json:"nombreCientifico"`
	PesoNeto         json.Number `json:"pesoNeto"`
	Unidad           string      `json:"unidad"`
	Bultos           int         `json:"bultos"`
	TipoBulto        string      `json:"tipoBulto"`
	PaisOrigen       string      `json:"paisOrigen"`
}

var clTransport = map[string]string{"1": "MARITIMO", "3": "TERRESTRE", "4": "AEREO"}

func (clFormat) Country() string     { return "CL" }
func (clFormat) ContentType() string { return "application/json" }

func (clFormat) Encode(c Certificate) ([]byte, error) {
	var d clDoc
	d.Certificado.Numero = c.ID
	d.Certificado.FechaEmision = c.IssuedAt.UTC().Format(time.RFC3339)
	d.Certificado.LugarEmision = c.IssuePlace
	d.Certificado.Inspector = c.Inspector
	d.Certificado.DeclaracionAdicional = c.AdditionalDeclaration
	d.Exportador = clParty{c.Consignor.Name, c.Consignor.Address, c.Consignor.Country}
	d.Destinatario = clParty{c.Consignee.Name, c.Consignee.Address, c.Consignee.Country}
	d.Envio.PaisOrigen, d.Envio.PaisDestino, d.Envio.PuertoEntrada = c.ExportCountry, c.ImportCountry, c.PortOfEntry
	var err error
	if d.Envio.MedioTransporte, err = lookup(clTransport, c.Transport, "transport mode"); err != nil {
		return nil, err
	}
	for _, it := range c.Items {
		d.Productos = append(d.Productos, clItem{it.Description, it.CommonName, it.ScientificName, json.Number(it.NetWeight), it.Unit, it.Packages, it.PackageType, it.OriginCountry})
	}
	return json.Marshal(d)
}

func (clFormat) Decode(b []byte) (Certificate, error) {
	var d clDoc
	if err := strictJSON(b, &d); err != nil {
		return Certificate{}, err
	}
	t, err := time.Parse(time.RFC3339, d.Certificado.FechaEmision)
	if err != nil {
		return Certificate{}, fmt.Errorf("fechaEmision: %w", err)
	}
	mode, err := reverse(clTransport, d.Envio.MedioTransporte, "medioTransporte")
	if err != nil {
		return Certificate{}, err
	}
	c := Certificate{
		ID: d.Certificado.Numero, IssuedAt: t, IssuePlace: d.Certificado.LugarEmision, Inspector: d.Certificado.Inspector,
		AdditionalDeclaration: d.Certificado.DeclaracionAdicional,
		Consignor:             Party{d.Exportador.Nombre, d.Exportador.Direccion, d.Exportador.Pais},
		Consignee:             Party{d.Destinatario.Nombre, d.Destinatario.Direccion, d.Destinatario.Pais},
		ExportCountry:         d.Envio.PaisOrigen, ImportCountry: d.Envio.PaisDestino, PortOfEntry: d.Envio.PuertoEntrada, Transport: mode,
	}
	for _, p := range d.Productos {
		c.Items = append(c.Items, Item{p.Descripcion, p.NombreComun, p.NombreCientifico, p.PesoNeto.String(), p.Unidad, p.Bultos, p.TipoBulto, p.PaisOrigen})
	}
	return c, nil
}

// ---------------------------------------------------------------------
// MX — proprietary XML without a namespace, Spanish names, countries by
// their Spanish name, local Mexico City time "2026-11-25 08:30", units and
// packages as words.
//
//	<certificadoFitosanitario folio="MX-FITO-2026-000002">
//	  <emision fecha="2026-11-25 08:30" lugar="Manzanillo" inspector="…"/>
//	  <remitente><nombre>…</nombre><domicilio>…</domicilio><pais>México</pais></remitente>
//	  <destinatario>…</destinatario>
//	  <ruta origen="México" destino="Perú" puntoEntrada="Callao" transporte="Marítimo"/>
//	  <declaracionAdicional>…</declaracionAdicional>
//	  <mercancias><mercancia partida="1"><descripcion>…</descripcion><nombreComun>…</nombreComun>
//	    <nombreCientifico>…</nombreCientifico><pesoNeto unidad="kilogramo">1250.5</pesoNeto>
//	    <bultos tipo="caja">120</bultos><origen>México</origen></mercancia></mercancias>
//	</certificadoFitosanitario>
type mxFormat struct{}

type mxDoc struct {
	XMLName xml.Name `xml:"certificadoFitosanitario"`
	Folio   string   `xml:"folio,attr"`
	Emision struct {
		Fecha     string `xml:"fecha,attr"`
		Lugar     string `xml:"lugar,attr"`
		Inspector string `xml:"inspector,attr"`
	} `xml:"emision"`
	Remitente    mxParty `xml:"remitente"`
	Destinatario mxParty `xml:"destinatario"`
	Ruta         struct {
		Origen       string `xml:"origen,attr"`
		Destino      string `xml:"destino,attr"`
		PuntoEntrada string `xml:"puntoEntrada,attr"`
		Transporte   string `xml:"transporte,attr"`
	} `xml:"ruta"`
	DeclaracionAdicional string   `xml:"declaracionAdicional,omitempty"`
	Mercancias           []mxItem `xml:"mercancias>mercancia"`
}

type mxParty struct {
	Nombre    string `xml:"nombre"`
	Domicilio string `xml:"domicilio"`
	Pais      string `xml:"pais"`
}

type mxItem struct {
	Partida          int    `xml:"partida,attr"`
	Descripcion      string `xml:"descripcion"`
	NombreComun      string `xml:"nombreComun"`
	NombreCientifico string `xml:"nombreCientifico"`
	PesoNeto         struct {
		Unidad string `xml:"unidad,attr"`
		Valor  string `xml:",chardata"`
	} `xml:"pesoNeto"`
	Bultos struct {
		Tipo     string `xml:"tipo,attr"`
		Cantidad int    `xml:",chardata"`
	} `xml:"bultos"`
	Origen string `xml:"origen"`
}

var (
	mxUnits     = map[string]string{"KGM": "kilogramo", "TNE": "tonelada"}
	mxPackages  = map[string]string{"BX": "caja", "CT": "cartón", "PK": "paquete"}
	mxTransport = map[string]string{"1": "Marítimo", "3": "Terrestre", "4": "Aéreo"}
	mxZone      = zone("America/Mexico_City")
)

const mxLayout = "2006-01-02 15:04"

func (mxFormat) Country() string     { return "MX" }
func (mxFormat) ContentType() string { return "application/xml" }

func (mxFormat) Encode(c Certificate) ([]byte, error) {
	var d mxDoc
	var err error
	d.Folio = c.ID
	d.Emision.Fecha = c.IssuedAt.In(mxZone).Format(mxLayout)
	d.Emision.Lugar, d.Emision.Inspector = c.IssuePlace, c.Inspector
	party := func(p Party) (mxParty, error) {
		n, err := lookup(mxCountryNames, p.Country, "country")
		return mxParty{p.Name, p.Address, n}, err
	}
	if d.Remitente, err = party(c.Consignor); err != nil {
		return nil, err
	}
	if d.Destinatario, err = party(c.Consignee); err != nil {
		return nil, err
	}
	if d.Ruta.Origen, err = lookup(mxCountryNames, c.ExportCountry, "country"); err != nil {
		return nil, err
	}
	if d.Ruta.Destino, err = lookup(mxCountryNames, c.ImportCountry, "country"); err != nil {
		return nil, err
	}
	d.Ruta.PuntoEntrada = c.PortOfEntry
	if d.Ruta.Transporte, err = lookup(mxTransport, c.Transport, "transport mode"); err != nil {
		return nil, err
	}
	d.DeclaracionAdicional = c.AdditionalDeclaration
	for i, it := range c.Items {
		var m mxItem
		m.Partida = i + 1
		m.Descripcion, m.NombreComun, m.NombreCientifico = it.Description, it.CommonName, it.ScientificName
		m.PesoNeto.Valor = it.NetWeight
		if m.PesoNeto.Unidad, err = lookup(mxUnits, it.Unit, "unit"); err != nil {
			return nil, err
		}
		m.Bultos.Cantidad = it.Packages
		if m.Bultos.Tipo, err = lookup(mxPackages, it.PackageType, "package type"); err != nil {
			return nil, err
		}
		if m.Origen, err = lookup(mxCountryNames, it.OriginCountry, "country"); err != nil {
			return nil, err
		}
		d.Mercancias = append(d.Mercancias, m)
	}
	out, err := xml.Marshal(d)
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}

func (mxFormat) Decode(b []byte) (Certificate, error) {
	var d mxDoc
	if err := xml.Unmarshal(b, &d); err != nil {
		return Certificate{}, err
	}
	var c Certificate
	var err error
	c.ID = d.Folio
	if c.IssuedAt, err = time.ParseInLocation(mxLayout, d.Emision.Fecha, mxZone); err != nil {
		return c, fmt.Errorf("emision/@fecha: %w", err)
	}
	c.IssuePlace, c.Inspector = d.Emision.Lugar, d.Emision.Inspector
	party := func(p mxParty) (Party, error) {
		cc, err := reverse(mxCountryNames, p.Pais, "país")
		return Party{p.Nombre, p.Domicilio, cc}, err
	}
	if c.Consignor, err = party(d.Remitente); err != nil {
		return c, err
	}
	if c.Consignee, err = party(d.Destinatario); err != nil {
		return c, err
	}
	if c.ExportCountry, err = reverse(mxCountryNames, d.Ruta.Origen, "país"); err != nil {
		return c, err
	}
	if c.ImportCountry, err = reverse(mxCountryNames, d.Ruta.Destino, "país"); err != nil {
		return c, err
	}
	c.PortOfEntry = d.Ruta.PuntoEntrada
	if c.Transport, err = reverse(mxTransport, d.Ruta.Transporte, "transporte"); err != nil {
		return c, err
	}
	c.AdditionalDeclaration = d.DeclaracionAdicional
	for i, m := range d.Mercancias {
		if m.Partida != i+1 {
			return c, fmt.Errorf("mercancia %d has partida %d", i+1, m.Partida)
		}
		it := Item{Description: m.Descripcion, CommonName: m.NombreComun, ScientificName: m.NombreCientifico,
			NetWeight: m.PesoNeto.Valor, Packages: m.Bultos.Cantidad}
		if it.Unit, err = reverse(mxUnits, m.PesoNeto.Unidad, "unidad"); err != nil {
			return c, err
		}
		if it.PackageType, err = reverse(mxPackages, m.Bultos.Tipo, "tipo de bulto"); err != nil {
			return c, err
		}
		if it.OriginCountry, err = reverse(mxCountryNames, m.Origen, "país"); err != nil {
			return c, err
		}
		c.Items = append(c.Items, it)
	}
	return c, nil
}

// ---------------------------------------------------------------------
// PE — JSON with English abbreviations, "dd/MM/yyyy HH:mm" in Lima time,
// ISO alpha-3 countries, transport as SEA/AIR/ROAD.
//
//	{"certNo":"PE-FITO-2026-000003","issueDate":"25/11/2026 09:21","issuePlace":"Callao",
//	 "officer":"…","addlDecl":"…","shipper":{"name":"…","addr":"…","ctry":"PER"},
//	 "receiver":{…},"origin":"PER","destination":"COL","entryPoint":"Bogotá","transport":"SEA",
//	 "lines":[{"desc":"…","common":"Palta","botanical":"Persea americana","netQty":1250.5,
//	   "uom":"KGM","pkgs":120,"pkgType":"BX","ctryOrigin":"PER"}]}
type peFormat struct{}

type peDoc struct {
	CertNo      string   `json:"certNo"`
	IssueDate   string   `json:"issueDate"`
	IssuePlace  string   `json:"issuePlace"`
	Officer     string   `json:"officer"`
	AddlDecl    string   `json:"addlDecl,omitempty"`
	Shipper     peParty  `json:"shipper"`
	Receiver    peParty  `json:"receiver"`
	Origin      string   `json:"origin"`
	Destination string   `json:"destination"`
	EntryPoint  string   `json:"entryPoint"`
	Transport   string   `json:"transport"`
	Lines       []peLine `json:"lines"`
}

type peParty struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
	Ctry string `json:"ctry"`
}

type peLine struct {
	Desc       string      `json:"desc"`
	Common     string      `json:"common"`
	Botanical  string      `json:"botanical"`
	NetQty     json.Number `json:"netQty"`
	UOM        string      `json:"uom"`
	Pkgs       int         `json:"pkgs"`
	PkgType    string      `json:"pkgType"`
	CtryOrigin string      `json:"ctryOrigin"`
}

var (
	peTransport = map[string]string{"1": "SEA", "3": "ROAD", "4": "AIR"}
	peZone      = zone("America/Lima")
)

const peLayout = "02/01/2006 15:04"

func (peFormat) Country() string     { return "PE" }
func (peFormat) ContentType() string { return "application/json" }

func (peFormat) Encode(c Certificate) ([]byte, error) {
	var err error
	a3 := func(cc string) string {
		v, e := lookup(peAlpha3, cc, "country")
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	d := peDoc{
		CertNo: c.ID, IssueDate: c.IssuedAt.In(peZone).Format(peLayout), IssuePlace: c.IssuePlace, Officer: c.Inspector,
		AddlDecl: c.AdditionalDeclaration,
		Shipper:  peParty{c.Consignor.Name, c.Consignor.Address, a3(c.Consignor.Country)},
		Receiver: peParty{c.Consignee.Name, c.Consignee.Address, a3(c.Consignee.Country)},
		Origin:   a3(c.ExportCountry), Destination: a3(c.ImportCountry), EntryPoint: c.PortOfEntry,
	}
	if d.Transport, err = lookup(peTransport, c.Transport, "transport mode"); err != nil {
		return nil, err
	}
	for _, it := range c.Items {
		d.Lines = append(d.Lines, peLine{it.Description, it.CommonName, it.ScientificName, json.Number(it.NetWeight), it.Unit, it.Packages, it.PackageType, a3(it.OriginCountry)})
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(d)
}

func (peFormat) Decode(b []byte) (Certificate, error) {
	var d peDoc
	if err := strictJSON(b, &d); err != nil {
		return Certificate{}, err
	}
	var err error
	a2 := func(v string) string {
		cc, e := reverse(peAlpha3, v, "country")
		if e != nil && err == nil {
			err = e
		}
		return cc
	}
	t, terr := time.ParseInLocation(peLayout, d.IssueDate, peZone)
	if terr != nil {
		return Certificate{}, fmt.Errorf("issueDate: %w", terr)
	}
	c := Certificate{
		ID: d.CertNo, IssuedAt: t, IssuePlace: d.IssuePlace, Inspector: d.Officer, AdditionalDeclaration: d.AddlDecl,
		Consignor:     Party{d.Shipper.Name, d.Shipper.Addr, a2(d.Shipper.Ctry)},
		Consignee:     Party{d.Receiver.Name, d.Receiver.Addr, a2(d.Receiver.Ctry)},
		ExportCountry: a2(d.Origin), ImportCountry: a2(d.Destination), PortOfEntry: d.EntryPoint,
	}
	if c.Transport, err = reverse(peTransport, d.Transport, "transport"); err != nil {
		return c, err
	}
	for _, l := range d.Lines {
		c.Items = append(c.Items, Item{l.Desc, l.Common, l.Botanical, l.NetQty.String(), l.UOM, l.Pkgs, l.PkgType, a2(l.CtryOrigin)})
	}
	return c, err
}

// ---------------------------------------------------------------------
// CO — flat JSON with short keys and codes instead of names: ISO numeric
// countries, its own numeric unit and package codes, transport as the
// Rec. 19 digit, "yyyyMMddHHmm" in Bogotá time, weights as strings.
//
//	{"num_cert":"CO-FITO-2026-000004","fec_emi":"202611250914","lug_emi":"Bogotá","funcionario":"…",
//	 "decl_adic":"…","exp_nom":"…","exp_dir":"…","exp_pais":"170","imp_nom":"…","imp_dir":"…",
//	 "imp_pais":"152","pais_orig":"170","pais_dest":"152","pto_ingreso":"Valparaíso","medio_transp":"1",
//	 "items":[{"d":"…","nc":"Rosa","ncie":"Rosa spp.","pn":"1250.5","um":"01","cb":120,"tb":"10","po":"170"}]}
type coFormat struct{}

type coDoc struct {
	NumCert     string   `json:"num_cert"`
	FecEmi      string   `json:"fec_emi"`
	LugEmi      string   `json:"lug_emi"`
	Funcionario string   `json:"funcionario"`
	DeclAdic    string   `json:"decl_adic,omitempty"`
	ExpNom      string   `json:"exp_nom"`
	ExpDir      string   `json:"exp_dir"`
	ExpPais     string   `json:"exp_pais"`
	ImpNom      string   `json:"imp_nom"`
	ImpDir      string   `json:"imp_dir"`
	ImpPais     string   `json:"imp_pais"`
	PaisOrig    string   `json:"pais_orig"`
	PaisDest    string   `json:"pais_dest"`
	PtoIngreso  string   `json:"pto_ingreso"`
	MedioTransp string   `json:"medio_transp"`
	Items       []coItem `json:"items"`
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
	coUnits    = map[string]string{"KGM": "01", "TNE": "02"}
	coPackages = map[string]string{"BX": "10", "CT": "20", "PK": "30"}
	coZone     = zone("America/Bogota")
)

const coLayout = "200601021504"

func (coFormat) Country() string     { return "CO" }
func (coFormat) ContentType() string { return "application/json" }

func (coFormat) Encode(c Certificate) ([]byte, error) {
	var err error
	num := func(m map[string]string, k, what string) string {
		v, e := lookup(m, k, what)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	d := coDoc{
		NumCert: c.ID, FecEmi: c.IssuedAt.In(coZone).Format(coLayout), LugEmi: c.IssuePlace, Funcionario: c.Inspector,
		DeclAdic: c.AdditionalDeclaration,
		ExpNom:   c.Consignor.Name, ExpDir: c.Consignor.Address, ExpPais: num(coNumeric, c.Consignor.Country, "country"),
		ImpNom: c.Consignee.Name, ImpDir: c.Consignee.Address, ImpPais: num(coNumeric, c.Consignee.Country, "country"),
		PaisOrig: num(coNumeric, c.ExportCountry, "country"), PaisDest: num(coNumeric, c.ImportCountry, "country"),
		PtoIngreso: c.PortOfEntry, MedioTransp: c.Transport,
	}
	for _, it := range c.Items {
		d.Items = append(d.Items, coItem{it.Description, it.CommonName, it.ScientificName, it.NetWeight,
			num(coUnits, it.Unit, "unit"), it.Packages, num(coPackages, it.PackageType, "package type"), num(coNumeric, it.OriginCountry, "country")})
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(d)
}

func (coFormat) Decode(b []byte) (Certificate, error) {
	var d coDoc
	if err := strictJSON(b, &d); err != nil {
		return Certificate{}, err
	}
	var err error
	rev := func(m map[string]string, v, what string) string {
		k, e := reverse(m, v, what)
		if e != nil && err == nil {
			err = e
		}
		return k
	}
	t, terr := time.ParseInLocation(coLayout, d.FecEmi, coZone)
	if terr != nil {
		return Certificate{}, fmt.Errorf("fec_emi: %w", terr)
	}
	if _, e := strconv.Atoi(d.MedioTransp); e != nil {
		return Certificate{}, fmt.Errorf("medio_transp %q is not a code", d.MedioTransp)
	}
	c := Certificate{
		ID: d.NumCert, IssuedAt: t, IssuePlace: d.LugEmi, Inspector: d.Funcionario, AdditionalDeclaration: d.DeclAdic,
		Consignor:     Party{d.ExpNom, d.ExpDir, rev(coNumeric, d.ExpPais, "país")},
		Consignee:     Party{d.ImpNom, d.ImpDir, rev(coNumeric, d.ImpPais, "país")},
		ExportCountry: rev(coNumeric, d.PaisOrig, "país"), ImportCountry: rev(coNumeric, d.PaisDest, "país"),
		PortOfEntry: d.PtoIngreso, Transport: d.MedioTransp,
	}
	for _, it := range d.Items {
		c.Items = append(c.Items, Item{it.D, it.NC, it.NCie, it.PN, rev(coUnits, it.UM, "unidad"), it.CB, rev(coPackages, it.TB, "tipo de bulto"), rev(coNumeric, it.PO, "país")})
	}
	return c, err
}

// strictJSON decodes and refuses unknown fields: a legacy system would not
// silently accept a payload with fields it does not know.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	return dec.Decode(v)
}
