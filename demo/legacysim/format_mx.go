package legacysim

import (
	"encoding/xml"
	"fmt"
	"time"
)

// mxFormat is Mexico's legacy format: proprietary XML without a namespace,
// Spanish names, countries by their Spanish name, local Mexico City time
// "yyyy-MM-dd HH:mm", units, package types and transport modes as Spanish
// words, numbered line items, remarks as typed elements.
//
//	<?xml version="1.0" encoding="UTF-8"?>
//	<certificadoFitosanitario folio="MX-FITO-2026-000001">
//	  <emision fecha="2026-11-25 08:30" lugar="Manzanillo" inspector="María Hernández López"></emision>
//	  <inspeccion lugar="Punto de verificación SENASICA, Puerto de Manzanillo"></inspeccion>
//	  <remitente><nombre>…</nombre><domicilio>…</domicilio><pais>México</pais></remitente>
//	  <destinatario><nombre>…</nombre><domicilio>…</domicilio><pais>Perú</pais></destinatario>
//	  <ruta origen="México" destino="Perú" puntoEntrada="Callao" transporte="Marítimo" vehiculo="MSC Aurora, viaje 412N"></ruta>
//	  <observaciones>
//	    <observacion tipo="declaración adicional"><texto>El envío se encuentra libre de …</texto></observacion>
//	    <observacion tipo="tratamiento"><texto>Tratamiento hidrotérmico …</texto></observacion>
//	  </observaciones>
//	  <mercancias>
//	    <mercancia partida="1">
//	      <descripcion>Limón persa fresco</descripcion><nombreComun>Limón</nombreComun>
//	      <nombreCientifico>Citrus latifolia</nombreCientifico>
//	      <pesoNeto unidad="kilogramo">1250.5</pesoNeto><bultos tipo="caja">120</bultos>
//	      <origen>México</origen>
//	    </mercancia>
//	  </mercancias>
//	</certificadoFitosanitario>
//
// Unknown elements and attributes are ignored, as XML consumers usually do.
// It acknowledges with <acuse estado="recibido" folio="…" fecha="…"/> and
// refuses with <acuse estado="rechazado" fecha="…"><motivo>…</motivo></acuse>.
type mxFormat struct{}

type mxDoc struct {
	XMLName xml.Name `xml:"certificadoFitosanitario"`
	Folio   string   `xml:"folio,attr"`
	Emision struct {
		Fecha     string `xml:"fecha,attr"`
		Lugar     string `xml:"lugar,attr"`
		Inspector string `xml:"inspector,attr"`
	} `xml:"emision"`
	Inspeccion struct {
		Lugar string `xml:"lugar,attr"`
	} `xml:"inspeccion"`
	Remitente    mxParty `xml:"remitente"`
	Destinatario mxParty `xml:"destinatario"`
	Ruta         struct {
		Origen       string `xml:"origen,attr"`
		Destino      string `xml:"destino,attr"`
		PuntoEntrada string `xml:"puntoEntrada,attr"`
		Transporte   string `xml:"transporte,attr"`
		Vehiculo     string `xml:"vehiculo,attr,omitempty"`
	} `xml:"ruta"`
	Observaciones []mxNote `xml:"observaciones>observacion"`
	Mercancias    []mxItem `xml:"mercancias>mercancia"`
}

type mxNote struct {
	Tipo  string `xml:"tipo,attr"`
	Texto string `xml:"texto"`
}

type mxParty struct {
	Nombre    string `xml:"nombre"`
	Domicilio string `xml:"domicilio"`
	Pais      string `xml:"pais"`
	Correo    string `xml:"correo,omitempty"`
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

type mxAck struct {
	XMLName xml.Name `xml:"acuse"`
	Estado  string   `xml:"estado,attr"`
	Folio   string   `xml:"folio,attr,omitempty"`
	Fecha   string   `xml:"fecha,attr"`
	Motivo  string   `xml:"motivo,omitempty"`
}

var (
	mxUnits     = newCodes("unidad", "KGM", "kilogramo", "TNE", "tonelada")
	mxPackages  = newCodes("tipo de bulto", "BX", "caja", "CT", "cartón", "PK", "paquete")
	mxTransport = newCodes("transporte", "1", "Marítimo", "3", "Terrestre", "4", "Aéreo")
	mxNotes     = newCodes("tipo de observación", noteAD, "declaración adicional", noteTreatment, "tratamiento")
	mxZone      = zone("America/Mexico_City")
)

const mxLayout = "2006-01-02 15:04"

func (mxFormat) Country() string     { return "MX" }
func (mxFormat) ContentType() string { return "application/xml" }

func (mxFormat) Encode(c Certificate) ([]byte, error) {
	var v conv
	var d mxDoc
	d.Folio = c.ID
	d.Emision.Fecha = c.IssuedAt.In(mxZone).Format(mxLayout)
	d.Emision.Lugar, d.Emision.Inspector = c.IssuePlace, c.Inspector
	d.Inspeccion.Lugar = c.InspectionPlace
	d.Remitente = mxParty{c.Consignor.Name, c.Consignor.Address, v.to(mxCountries, c.Consignor.Country), c.ExporterEmail}
	d.Destinatario = mxParty{c.Consignee.Name, c.Consignee.Address, v.to(mxCountries, c.Consignee.Country), ""}
	d.Ruta.Origen = v.to(mxCountries, c.ExportCountry)
	d.Ruta.Destino = v.to(mxCountries, c.ImportCountry)
	d.Ruta.PuntoEntrada = c.PortOfEntry
	d.Ruta.Transporte = v.to(mxTransport, c.TransportMode)
	d.Ruta.Vehiculo = c.MeansOfTransport
	for _, n := range notesOf(c) {
		d.Observaciones = append(d.Observaciones, mxNote{v.to(mxNotes, n[0]), n[1]})
	}
	for i, it := range c.Items {
		var m mxItem
		m.Partida = i + 1
		m.Descripcion, m.NombreComun, m.NombreCientifico = it.Description, it.CommonName, it.ScientificName
		m.PesoNeto.Valor, m.PesoNeto.Unidad = it.NetWeight, v.to(mxUnits, it.Unit)
		m.Bultos.Cantidad, m.Bultos.Tipo = it.Packages, v.to(mxPackages, it.PackageType)
		m.Origen = v.to(mxCountries, it.OriginCountry)
		d.Mercancias = append(d.Mercancias, m)
	}
	if v.err != nil {
		return nil, fmt.Errorf("MX: %w", v.err)
	}
	out, err := xml.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("MX: %w", err)
	}
	return append(append([]byte(xml.Header), out...), '\n'), nil
}

func (mxFormat) Decode(b []byte) (Certificate, error) {
	var d mxDoc
	if err := xml.Unmarshal(b, &d); err != nil {
		return Certificate{}, fmt.Errorf("MX: %w", err)
	}
	var v conv
	c := Certificate{
		ID:               d.Folio,
		IssuePlace:       d.Emision.Lugar,
		Inspector:        d.Emision.Inspector,
		InspectionPlace:  d.Inspeccion.Lugar,
		Consignor:        Party{d.Remitente.Nombre, d.Remitente.Domicilio, v.from(mxCountries, d.Remitente.Pais)},
		Consignee:        Party{d.Destinatario.Nombre, d.Destinatario.Domicilio, v.from(mxCountries, d.Destinatario.Pais)},
		ExportCountry:    v.from(mxCountries, d.Ruta.Origen),
		ImportCountry:    v.from(mxCountries, d.Ruta.Destino),
		PortOfEntry:      d.Ruta.PuntoEntrada,
		TransportMode:    v.from(mxTransport, d.Ruta.Transporte),
		MeansOfTransport: d.Ruta.Vehiculo,
	}
	t, err := time.ParseInLocation(mxLayout, d.Emision.Fecha, mxZone)
	if err != nil {
		v.fail(fmt.Errorf("emision/@fecha: %w", err))
	}
	c.IssuedAt = t
	for _, n := range d.Observaciones {
		if kind := v.from(mxNotes, n.Tipo); kind != "" {
			v.fail(setNote(&c, kind, n.Texto))
		}
	}
	for i, m := range d.Mercancias {
		if m.Partida != i+1 {
			v.fail(fmt.Errorf("mercancía %d has partida %d", i+1, m.Partida))
		}
		c.Items = append(c.Items, Item{
			Description:    m.Descripcion,
			CommonName:     m.NombreComun,
			ScientificName: m.NombreCientifico,
			NetWeight:      m.PesoNeto.Valor,
			Unit:           v.from(mxUnits, m.PesoNeto.Unidad),
			Packages:       m.Bultos.Cantidad,
			PackageType:    v.from(mxPackages, m.Bultos.Tipo),
			OriginCountry:  v.from(mxCountries, m.Origen),
		})
	}
	if v.err == nil {
		v.err = validate(c)
	}
	if v.err != nil {
		return Certificate{}, fmt.Errorf("MX: %w", v.err)
	}
	return c, nil
}

func (mxFormat) ack(id string, at time.Time) []byte {
	return mxMarshal(mxAck{Estado: "recibido", Folio: id, Fecha: at.In(mxZone).Format(mxLayout)})
}

func (mxFormat) nack(reason string, at time.Time) []byte {
	return mxMarshal(mxAck{Estado: "rechazado", Fecha: at.In(mxZone).Format(mxLayout), Motivo: reason})
}

func mxMarshal(a mxAck) []byte {
	b, _ := xml.Marshal(a)
	return append([]byte(xml.Header), b...)
}
