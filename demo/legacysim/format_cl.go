package legacysim

import (
	"fmt"
	"time"
)

// clFormat is Chile's legacy format: nested JSON with Spanish names, RFC
// 3339 timestamps in UTC ("Z" only), ISO 3166 alpha-2 countries, UN/ECE
// Rec. 20 units and Rec. 21 package codes, the transport mode as a Spanish
// word, weights as JSON numbers, remarks as a typed list.
//
//	{
//	  "certificado": {
//	    "numero": "CL-FITO-2026-000001", "fechaEmision": "2026-11-25T14:30:00Z",
//	    "lugarEmision": "Valparaíso", "inspector": "Ana Pérez Soto",
//	    "lugarInspeccion": "Sitio de inspección SAG, Puerto de Valparaíso",
//	    "observaciones": [
//	      {"tipo": "DECLARACION_ADICIONAL", "texto": "El envío se encuentra libre de …"},
//	      {"tipo": "TRATAMIENTO", "texto": "Fumigación con bromuro de metilo …"}]},
//	  "exportador": {"nombre": "…", "direccion": "…", "pais": "CL"},
//	  "destinatario": {"nombre": "…", "direccion": "…", "pais": "MX"},
//	  "envio": {"paisOrigen": "CL", "paisDestino": "MX", "puertoEntrada": "Manzanillo",
//	    "medioTransporte": "MARITIMO", "identificacionTransporte": "MSC Aurora, viaje 412N"},
//	  "productos": [{"descripcion": "Uva de mesa fresca", "nombreComun": "Uva",
//	    "nombreCientifico": "Vitis vinifera", "pesoNeto": 1250.5, "unidad": "KGM",
//	    "bultos": 120, "tipoBulto": "BX", "paisOrigen": "CL"}]
//	}
//
// It acknowledges with {"estado": "RECIBIDO", "numero": …, "fechaRecepcion": …}
// and refuses with {"estado": "RECHAZADO", "motivo": …}.
type clFormat struct{}

type clDoc struct {
	Certificado struct {
		Numero          string   `json:"numero"`
		FechaEmision    string   `json:"fechaEmision"`
		LugarEmision    string   `json:"lugarEmision"`
		Inspector       string   `json:"inspector"`
		LugarInspeccion string   `json:"lugarInspeccion"`
		Observaciones   []clNote `json:"observaciones,omitempty"`
	} `json:"certificado"`
	Exportador   clParty `json:"exportador"`
	Destinatario clParty `json:"destinatario"`
	Envio        struct {
		PaisOrigen               string `json:"paisOrigen"`
		PaisDestino              string `json:"paisDestino"`
		PuertoEntrada            string `json:"puertoEntrada"`
		MedioTransporte          string `json:"medioTransporte"`
		IdentificacionTransporte string `json:"identificacionTransporte,omitempty"`
	} `json:"envio"`
	Productos []clItem `json:"productos"`
}

type clNote struct {
	Tipo  string `json:"tipo"`
	Texto string `json:"texto"`
}

type clParty struct {
	Nombre    string `json:"nombre"`
	Direccion string `json:"direccion"`
	Pais      string `json:"pais"`
	Correo    string `json:"correo,omitempty"`
}

type clItem struct {
	Descripcion      string `json:"descripcion"`
	NombreComun      string `json:"nombreComun"`
	NombreCientifico string `json:"nombreCientifico"`
	PesoNeto         number `json:"pesoNeto"`
	Unidad           string `json:"unidad"`
	Bultos           int    `json:"bultos"`
	TipoBulto        string `json:"tipoBulto"`
	PaisOrigen       string `json:"paisOrigen"`
}

var (
	clTransport = newCodes("medio de transporte", "1", "MARITIMO", "3", "TERRESTRE", "4", "AEREO")
	clNotes     = newCodes("tipo de observación", noteAD, "DECLARACION_ADICIONAL", noteTreatment, "TRATAMIENTO")
)

// clLayout is RFC 3339 restricted to UTC, as SICEX writes it.
const clLayout = "2006-01-02T15:04:05Z"

func (clFormat) Country() string     { return "CL" }
func (clFormat) ContentType() string { return "application/json" }

func (clFormat) Encode(c Certificate) ([]byte, error) {
	var v conv
	var d clDoc
	d.Certificado.Numero = c.ID
	d.Certificado.FechaEmision = c.IssuedAt.UTC().Format(clLayout)
	d.Certificado.LugarEmision = c.IssuePlace
	d.Certificado.Inspector = c.Inspector
	d.Certificado.LugarInspeccion = c.InspectionPlace
	for _, n := range notesOf(c) {
		d.Certificado.Observaciones = append(d.Certificado.Observaciones, clNote{v.to(clNotes, n[0]), n[1]})
	}
	d.Exportador = clParty{c.Consignor.Name, c.Consignor.Address, c.Consignor.Country, c.ExporterEmail}
	d.Destinatario = clParty{c.Consignee.Name, c.Consignee.Address, c.Consignee.Country, ""}
	d.Envio.PaisOrigen, d.Envio.PaisDestino, d.Envio.PuertoEntrada = c.ExportCountry, c.ImportCountry, c.PortOfEntry
	d.Envio.MedioTransporte = v.to(clTransport, c.TransportMode)
	d.Envio.IdentificacionTransporte = c.MeansOfTransport
	for _, it := range c.Items {
		d.Productos = append(d.Productos, clItem{it.Description, it.CommonName, it.ScientificName,
			number(it.NetWeight), it.Unit, it.Packages, it.PackageType, it.OriginCountry})
	}
	if v.err != nil {
		return nil, fmt.Errorf("CL: %w", v.err)
	}
	return encodeJSON(d)
}

func (clFormat) Decode(b []byte) (Certificate, error) {
	var d clDoc
	if err := decodeJSON(b, &d); err != nil {
		return Certificate{}, fmt.Errorf("CL: %w", err)
	}
	var v conv
	c := Certificate{
		ID:               d.Certificado.Numero,
		IssuePlace:       d.Certificado.LugarEmision,
		Inspector:        d.Certificado.Inspector,
		InspectionPlace:  d.Certificado.LugarInspeccion,
		Consignor:        Party{d.Exportador.Nombre, d.Exportador.Direccion, d.Exportador.Pais},
		Consignee:        Party{d.Destinatario.Nombre, d.Destinatario.Direccion, d.Destinatario.Pais},
		ExportCountry:    d.Envio.PaisOrigen,
		ImportCountry:    d.Envio.PaisDestino,
		PortOfEntry:      d.Envio.PuertoEntrada,
		TransportMode:    v.from(clTransport, d.Envio.MedioTransporte),
		MeansOfTransport: d.Envio.IdentificacionTransporte,
	}
	t, err := time.Parse(clLayout, d.Certificado.FechaEmision)
	if err != nil {
		v.fail(fmt.Errorf("fechaEmision: %w", err))
	}
	c.IssuedAt = t
	for _, n := range d.Certificado.Observaciones {
		if kind := v.from(clNotes, n.Tipo); kind != "" {
			v.fail(setNote(&c, kind, n.Texto))
		}
	}
	for _, p := range d.Productos {
		c.Items = append(c.Items, Item{p.Descripcion, p.NombreComun, p.NombreCientifico,
			string(p.PesoNeto), p.Unidad, p.Bultos, p.TipoBulto, p.PaisOrigen})
	}
	if v.err == nil {
		v.err = validate(c)
	}
	if v.err != nil {
		return Certificate{}, fmt.Errorf("CL: %w", v.err)
	}
	return c, nil
}

func (clFormat) ack(id string, at time.Time) []byte {
	b, _ := encodeJSON(map[string]string{"estado": "RECIBIDO", "numero": id, "fechaRecepcion": at.UTC().Format(clLayout)})
	return b
}

func (clFormat) nack(reason string, _ time.Time) []byte {
	b, _ := encodeJSON(map[string]string{"estado": "RECHAZADO", "motivo": reason})
	return b
}
