// Package hub connects a node to the IPPC ePhyto Hub: a SOAP client for
// the operations a national system uses (soap.go), a delivery.Deliverer
// that hands certificates for hub countries to the hub and follows them
// with the hub's tracking (deliver.go), the hub's list of NPPOs and their
// signing certificates, kept like the officials lists (nppos.go), and the
// poller that pulls what the hub holds for this country, verifies it,
// hands it over exactly once and only then acknowledges it (poller.go).
//
// The hub speaks document/literal SOAP, as its WSDL says
// (ephyto-prod.wsdl: binding DeliveryServiceSoapBinding, SOAP 1.1; the
// client also speaks 1.2 for deployments that bind it). Requests are built
// with etree; every answer is parsed with xmlsafe, bounded, before any
// tree is built: the hub is another party's server.
package hub

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/xmlsafe"
)

// Namespaces of the hub's WSDL.
const (
	// NS is the service's namespace (operations and their parameters).
	NS = "http://ephyto.ippc.int/"
	// NSEntities is the namespace of the envelope and its header.
	NSEntities = "http://ephyto.ippc.int/HUB.Entities"
	nsSOAP11   = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAP12   = "http://www.w3.org/2003/05/soap-envelope"
	// actionPrefix + operation is each operation's SOAPAction.
	actionPrefix = "http://ephyto.ippc.int/IDeliveryService/"
)

// Tracking states the hub reports (HUBTrackingInfo).
const (
	PendingDelivery       = "PendingDelivery"
	Delivered             = "Delivered"
	FailedDelivery        = "FailedDelivery"
	EnvelopeNotExists     = "EnvelopeNotExists"
	DeliveredWithWarnings = "DeliveredWithWarnings"
	DeliveredNotReadable  = "DeliveredNotReadable"
)

var (
	// ErrUnavailable: the hub could not be reached or did not answer
	// (network, timeout, HTTP 5xx without a SOAP fault). Try later.
	ErrUnavailable = errors.New("hub unavailable")
	// ErrMalformed: the hub answered with something that is not the
	// answer the operation has (not XML, not SOAP, missing parts).
	ErrMalformed = errors.New("malformed hub answer")
)

// Fault is a SOAP fault the hub answered with (HubWebException).
type Fault struct {
	Operation string
	Code      string // faultcode (1.1) or Code/Value (1.2)
	Message   string // HubWebException/message, or faultstring / Reason/Text
}

func (f *Fault) Error() string {
	return fmt.Sprintf("hub refused %s: %s (%s)", f.Operation, f.Message, f.Code)
}

// Header is the envelope header (EnvelopeHeader in the WSDL).
type Header struct {
	From, To              string // NPPO country codes
	CertificateType       int    // 851 phytosanitary, 657 re-export
	CertificateStatus     int    // 70 issued, 40 withdrawn, …
	NPPOCertificateNumber string
	HubDeliveryNumber     string // the hub's envelope ID
	HUBTrackingInfo       string
	HubDeliveryError      string // hubDeliveryErrorMessage
}

// Envelope is a header with its content: the signed certificate, as text.
type Envelope struct {
	Header
	Content string
}

// NPPO is one member of the hub as GetActiveNppos lists it.
type NPPO struct {
	Country       string
	Send, Receive bool
	// Certificates the NPPO signs with (from Signature/certificate).
	Certificates []*x509.Certificate
}

// Client calls the hub. Its zero value is not usable: set URL and HTTP.
type Client struct {
	// URL is the hub's DeliveryService endpoint.
	URL string
	// HTTP carries the calls; its transport presents this node's client
	// certificate (the hub knows each national system by it).
	HTTP *http.Client
	// SOAP12 sends SOAP 1.2 (application/soap+xml) instead of the WSDL's
	// SOAP 1.1 (text/xml with SOAPAction).
	SOAP12 bool
	// Limits bound every answer (zero values: xmlsafe's defaults, 8 MiB).
	Limits xmlsafe.Limits
}

// NewHTTPClient returns the HTTP client for the hub: TLS 1.2 or later,
// the hub's server certificate checked against roots (nil: the system's),
// this node's client certificate from cert, no ambient proxy.
func NewHTTPClient(roots *x509.CertPool, cert func(*tls.CertificateRequestInfo) (*tls.Certificate, error), timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		Proxy:                 nil,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, GetClientCertificate: cert},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
	}}
}

func param(parent *etree.Element, name, value string) {
	e := parent.CreateElement("tns:" + name)
	e.SetText(value)
}

func headerElements(parent *etree.Element, h Header) {
	for _, f := range [][2]string{
		{"From", h.From}, {"To", h.To}, {"CertificateType", fmt.Sprint(h.CertificateType)},
		{"CertificateStatus", fmt.Sprint(h.CertificateStatus)}, {"NPPOCertificateNumber", h.NPPOCertificateNumber},
	} {
		e := parent.CreateElement("ent:" + f[0])
		e.SetText(f[1])
	}
}

// request builds the SOAP envelope of an operation; fill writes its
// parameters into the operation element.
func (c *Client) request(op string, fill func(opEl *etree.Element)) ([]byte, string) {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	ns := nsSOAP11
	if c.SOAP12 {
		ns = nsSOAP12
	}
	env := doc.CreateElement("soap:Envelope")
	env.CreateAttr("xmlns:soap", ns)
	env.CreateAttr("xmlns:tns", NS)
	env.CreateAttr("xmlns:ent", NSEntities)
	body := env.CreateElement("soap:Body")
	opEl := body.CreateElement("tns:" + op)
	if fill != nil {
		fill(opEl)
	}
	b, _ := doc.WriteToBytes()
	return b, actionPrefix + op
}

// call posts one operation and returns its response element
// (<op>Response), or a *Fault, or an error wrapping ErrUnavailable or
// ErrMalformed.
func (c *Client) call(ctx context.Context, op string, fill func(*etree.Element)) (*etree.Element, error) {
	body, action := c.request(op, fill)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if c.SOAP12 {
		req.Header.Set("Content-Type", `application/soap+xml; charset=utf-8; action="`+action+`"`)
	} else {
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"`+action+`"`)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", op, ErrUnavailable, err)
	}
	defer resp.Body.Close()
	lim := c.Limits
	if lim.MaxBytes == 0 {
		lim.MaxBytes = 8 << 20
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, lim.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: reading the answer: %v", op, ErrUnavailable, err)
	}
	doc, perr := xmlsafe.Parse(data, lim)
	if perr == nil {
		if f := fault(doc.Root(), op); f != nil {
			return nil, f
		}
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return nil, fmt.Errorf("%s: %w: HTTP %d: %s", op, ErrUnavailable, resp.StatusCode, snippet(data))
	}
	if perr != nil {
		return nil, fmt.Errorf("%s: %w: HTTP %d, not XML: %v", op, ErrMalformed, resp.StatusCode, perr)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %w: HTTP %d: %s", op, ErrMalformed, resp.StatusCode, snippet(data))
	}
	root := doc.Root()
	if root == nil || root.Tag != "Envelope" || (root.NamespaceURI() != nsSOAP11 && root.NamespaceURI() != nsSOAP12) {
		return nil, fmt.Errorf("%s: %w: not a SOAP envelope", op, ErrMalformed)
	}
	b := child(root, root.NamespaceURI(), "Body")
	if b == nil {
		return nil, fmt.Errorf("%s: %w: no SOAP Body", op, ErrMalformed)
	}
	r := child(b, NS, op+"Response")
	if r == nil {
		return nil, fmt.Errorf("%s: %w: no %sResponse in the SOAP Body", op, ErrMalformed, op)
	}
	return r, nil
}

// fault reads a SOAP 1.1 or 1.2 fault, if the answer is one.
func fault(root *etree.Element, op string) *Fault {
	if root == nil || root.Tag != "Envelope" {
		return nil
	}
	ns := root.NamespaceURI()
	b := child(root, ns, "Body")
	if b == nil {
		return nil
	}
	f := child(b, ns, "Fault")
	if f == nil {
		return nil
	}
	out := &Fault{Operation: op}
	if ns == nsSOAP12 {
		if c := child(f, ns, "Code"); c != nil {
			out.Code = text(child(c, ns, "Value"))
		}
		if r := child(f, ns, "Reason"); r != nil {
			out.Message = text(child(r, ns, "Text"))
		}
	} else {
		out.Code = text(child(f, "", "faultcode"))
		out.Message = text(child(f, "", "faultstring"))
	}
	// The hub's own message, when it gives one, says more.
	for _, d := range f.FindElements(".//HubWebException") {
		if m := text(child(d, "*", "message")); m != "" {
			out.Message = m
		}
	}
	if out.Message == "" {
		out.Message = "SOAP fault without a message"
	}
	return out
}

// child returns e's first child element named local in namespace ns ("*":
// any namespace).
func child(e *etree.Element, ns, local string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if c.Tag == local && (ns == "*" || c.NamespaceURI() == ns) {
			return c
		}
	}
	return nil
}

func text(e *etree.Element) string {
	if e == nil {
		return ""
	}
	return strings.TrimSpace(e.Text())
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(bytes.ToValidUTF8(b, nil)))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// readHeader reads an EnvelopeHeader's fields (qualified in the entities
// namespace; read in any namespace, as implementations differ).
func readHeader(e *etree.Element) (Header, error) {
	var h Header
	h.From = text(child(e, "*", "From"))
	h.To = text(child(e, "*", "To"))
	h.NPPOCertificateNumber = text(child(e, "*", "NPPOCertificateNumber"))
	h.HubDeliveryNumber = text(child(e, "*", "hubDeliveryNumber"))
	h.HUBTrackingInfo = text(child(e, "*", "HUBTrackingInfo"))
	h.HubDeliveryError = text(child(e, "*", "hubDeliveryErrorMessage"))
	for _, f := range []struct {
		name string
		dst  *int
	}{{"CertificateType", &h.CertificateType}, {"CertificateStatus", &h.CertificateStatus}} {
		if s := text(child(e, "*", f.name)); s != "" {
			if _, err := fmt.Sscan(s, f.dst); err != nil {
				return h, fmt.Errorf("%w: %s %q is not a number", ErrMalformed, f.name, s)
			}
		}
	}
	return h, nil
}

// DeliverEnvelope hands an envelope to the hub and returns its header as
// the hub recorded it (with hubDeliveryNumber, the envelope's ID).
func (c *Client) DeliverEnvelope(ctx context.Context, env Envelope) (Header, error) {
	r, err := c.call(ctx, "DeliverEnvelope", func(op *etree.Element) {
		e := op.CreateElement("tns:env")
		headerElements(e, env.Header)
		ct := e.CreateElement("ent:Content")
		ct.SetText(env.Content)
	})
	if err != nil {
		return Header{}, err
	}
	res := child(r, "*", "DeliverEnvelopeResult")
	if res == nil {
		return Header{}, fmt.Errorf("DeliverEnvelope: %w: no DeliverEnvelopeResult", ErrMalformed)
	}
	h, err := readHeader(res)
	if err != nil {
		return h, fmt.Errorf("DeliverEnvelope: %w", err)
	}
	if h.HubDeliveryNumber == "" {
		return h, fmt.Errorf("DeliverEnvelope: %w: no hubDeliveryNumber in the result", ErrMalformed)
	}
	return h, nil
}

// GetEnvelopeTrackingInfo returns an envelope's header with its tracking
// state.
func (c *Client) GetEnvelopeTrackingInfo(ctx context.Context, envelopeID string) (Header, error) {
	r, err := c.call(ctx, "GetEnvelopeTrackingInfo", func(op *etree.Element) { param(op, "hubTrackingNumber", envelopeID) })
	if err != nil {
		return Header{}, err
	}
	res := child(r, "*", "GetEnvelopeTrackingInfoResult")
	if res == nil {
		return Header{}, fmt.Errorf("GetEnvelopeTrackingInfo: %w: no GetEnvelopeTrackingInfoResult", ErrMalformed)
	}
	h, err := readHeader(res)
	if err != nil {
		return h, fmt.Errorf("GetEnvelopeTrackingInfo: %w", err)
	}
	switch h.HUBTrackingInfo {
	case PendingDelivery, Delivered, FailedDelivery, EnvelopeNotExists, DeliveredWithWarnings, DeliveredNotReadable:
	default:
		return h, fmt.Errorf("GetEnvelopeTrackingInfo: %w: unknown HUBTrackingInfo %q", ErrMalformed, h.HUBTrackingInfo)
	}
	return h, nil
}

// GetImportEnvelopeHeaders lists the envelopes waiting for this country.
func (c *Client) GetImportEnvelopeHeaders(ctx context.Context, country string) ([]Header, error) {
	r, err := c.call(ctx, "GetImportEnvelopeHeaders", func(op *etree.Element) { param(op, "countryCode", country) })
	if err != nil {
		return nil, err
	}
	res := child(r, "*", "GetImportEnvelopeHeadersResult")
	if res == nil {
		return nil, nil // none waiting
	}
	var out []Header
	for _, e := range res.ChildElements() {
		if e.Tag != "EnvelopeHeader" {
			continue
		}
		h, err := readHeader(e)
		if err != nil {
			return nil, fmt.Errorf("GetImportEnvelopeHeaders: %w", err)
		}
		if h.HubDeliveryNumber == "" {
			return nil, fmt.Errorf("GetImportEnvelopeHeaders: %w: a header without hubDeliveryNumber", ErrMalformed)
		}
		out = append(out, h)
	}
	return out, nil
}

// PULLSingleImportEnvelope fetches one envelope with its content.
func (c *Client) PULLSingleImportEnvelope(ctx context.Context, envelopeID string) (Envelope, error) {
	r, err := c.call(ctx, "PULLSingleImportEnvelope", func(op *etree.Element) { param(op, "hubTrackingNumber", envelopeID) })
	if err != nil {
		return Envelope{}, err
	}
	res := child(r, "*", "PULLSingleImportEnvelopeResult")
	if res == nil {
		return Envelope{}, fmt.Errorf("PULLSingleImportEnvelope: %w: no envelope %s in the answer", ErrMalformed, envelopeID)
	}
	h, err := readHeader(res)
	if err != nil {
		return Envelope{}, fmt.Errorf("PULLSingleImportEnvelope: %w", err)
	}
	ct := child(res, "*", "Content")
	if ct == nil || strings.TrimSpace(ct.Text()) == "" {
		return Envelope{}, fmt.Errorf("PULLSingleImportEnvelope: %w: envelope %s has no content", ErrMalformed, envelopeID)
	}
	if h.HubDeliveryNumber == "" {
		h.HubDeliveryNumber = envelopeID
	}
	// The content is the certificate as the exporting NPPO signed it: its
	// text, exactly, is what the signature covers.
	return Envelope{Header: h, Content: ct.Text()}, nil
}

// AcknowledgeEnvelopeReceipt tells the hub the envelope was received.
func (c *Client) AcknowledgeEnvelopeReceipt(ctx context.Context, envelopeID string) error {
	_, err := c.call(ctx, "AcknowledgeEnvelopeReceipt", func(op *etree.Element) { param(op, "hubTrackingNumber", envelopeID) })
	return err
}

// AdvancedAcknowledgeEnvelopeReceipt acknowledges with warnings.
func (c *Client) AdvancedAcknowledgeEnvelopeReceipt(ctx context.Context, envelopeID, warning string) error {
	_, err := c.call(ctx, "AdvancedAcknowledgeEnvelopeReceipt", func(op *etree.Element) {
		param(op, "hubTrackingNumber", envelopeID)
		param(op, "warningMessage", warning)
	})
	return err
}

// AcknowledgeFailedEnvelopeReceipt tells the hub the envelope could not
// be accepted, and why.
func (c *Client) AcknowledgeFailedEnvelopeReceipt(ctx context.Context, envelopeID, message string) error {
	_, err := c.call(ctx, "AcknowledgeFailedEnvelopeReceipt", func(op *etree.Element) {
		param(op, "hubTrackingNumber", envelopeID)
		param(op, "message", message)
	})
	return err
}

// GetActiveNppos lists the hub's members with their signing certificates.
// A certificate that does not parse is skipped (and reported in the
// returned error's absence: the rest of the list stays usable); an NPPO
// without any is listed without.
func (c *Client) GetActiveNppos(ctx context.Context) ([]NPPO, error) {
	r, err := c.call(ctx, "GetActiveNppos", nil)
	if err != nil {
		return nil, err
	}
	res := child(r, "*", "GetActiveNpposResult")
	if res == nil {
		return nil, fmt.Errorf("GetActiveNppos: %w: no GetActiveNpposResult", ErrMalformed)
	}
	var out []NPPO
	for _, e := range res.ChildElements() {
		if e.Tag != "Nppo" {
			continue
		}
		n := NPPO{Country: text(child(e, "*", "Country")),
			Send: strings.EqualFold(text(child(e, "*", "Send")), "true"), Receive: strings.EqualFold(text(child(e, "*", "Receive")), "true")}
		if n.Country == "" {
			return nil, fmt.Errorf("GetActiveNppos: %w: an Nppo without Country", ErrMalformed)
		}
		for _, s := range e.ChildElements() {
			if s.Tag != "Signature" {
				continue
			}
			if c, err := parseCertificate(text(child(s, "*", "certificate"))); err == nil {
				n.Certificates = append(n.Certificates, c)
			}
		}
		out = append(out, n)
	}
	return out, nil
}
