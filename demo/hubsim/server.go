// Package hubsim simulates the IPPC ePhyto Hub for the demo and tests:
// the DeliveryService operations a national system uses (DeliverEnvelope,
// GetEnvelopeTrackingInfo, GetImportEnvelopeHeaders,
// PULLSingleImportEnvelope, the three Acknowledge… operations,
// GetActiveNppos) over SOAP 1.1 or 1.2, with a client certificate per
// NPPO, the hub's validations answered with SOAP faults (From must be
// the caller, To a known NPPO, the content an SPS certificate), and the
// tracking states. Scaffolding beside legacysim, not production: nothing
// in the production path imports it.
//
// Tests can take it down (503), make the next calls of an operation fail
// with a fault or a malformed answer, and hold acknowledgements.
package hubsim

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/hub"
	"github.com/vucelink/vucelink/xmlsafe"
)

const (
	nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	nsCert17 = "urn:un:unece:uncefact:data:standard:SPSCertificate:17"
)

// Member is an NPPO the hub knows.
type Member struct {
	Country string
	// ClientCAs: a caller whose TLS client certificate chains to one of
	// these is this NPPO.
	ClientCAs *x509.CertPool
	// Signing are the certificates the NPPO signs with (GetActiveNppos).
	Signing []*x509.Certificate
}

// Envelope is one envelope at the hub.
type Envelope struct {
	hub.Envelope
	Acks []string // every acknowledgement, in order ("ack", "advanced: …", "failed: …")
}

// Server is the simulated hub; serve it over TLS with client
// certificates requested (tls.RequireAnyClientCert).
type Server struct {
	mu        sync.Mutex
	members   map[string]Member
	envelopes map[string]*Envelope
	order     []string
	seq       int
	down      bool
	failNext  map[string]int // operation → faults to answer
	garbage   map[string]int // operation → malformed answers to give
	holdAck   chan struct{}  // non-nil: acknowledgements wait for it to close
	Calls     map[string]int // operation → calls
}

// New returns a hub with these members.
func New(members ...Member) *Server {
	s := &Server{members: map[string]Member{}, envelopes: map[string]*Envelope{}, failNext: map[string]int{},
		garbage: map[string]int{}, Calls: map[string]int{}}
	for _, m := range members {
		s.members[m.Country] = m
	}
	return s
}

// AddMember adds or replaces an NPPO.
func (s *Server) AddMember(m Member) {
	s.mu.Lock()
	s.members[m.Country] = m
	s.mu.Unlock()
}

// SetDown makes every call answer 503 (true) or be served again (false).
func (s *Server) SetDown(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

// FailNext makes the next n calls of op answer with a HubWebException.
func (s *Server) FailNext(op string, n int) { s.mu.Lock(); s.failNext[op] = n; s.mu.Unlock() }

// GarbleNext makes the next n calls of op answer with malformed XML.
func (s *Server) GarbleNext(op string, n int) { s.mu.Lock(); s.garbage[op] = n; s.mu.Unlock() }

// HoldAcks makes acknowledgements wait until the returned function is
// called; one whose caller is gone by then has no effect.
func (s *Server) HoldAcks() (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.holdAck = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.holdAck = nil
			s.mu.Unlock()
			close(ch)
		})
	}
}

// Envelopes returns a copy of every envelope, in delivery order.
func (s *Server) Envelopes() []Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Envelope, 0, len(s.order))
	for _, id := range s.order {
		e := *s.envelopes[id]
		e.Acks = append([]string(nil), e.Acks...)
		out = append(out, e)
	}
	return out
}

// Envelope returns one envelope.
func (s *Server) Envelope(id string) (Envelope, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.envelopes[id]
	if !ok {
		return Envelope{}, false
	}
	c := *e
	c.Acks = append([]string(nil), e.Acks...)
	return c, true
}

// SetTracking sets an envelope's tracking state (and message), as the
// hub does when it gives up on one.
func (s *Server) SetTracking(id, state, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.envelopes[id]; ok {
		e.HUBTrackingInfo, e.HubDeliveryError = state, message
	}
}

// caller names the NPPO whose client certificate made the request.
func (s *Server) caller(r *http.Request) (string, bool) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return "", false
	}
	leaf := r.TLS.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range r.TLS.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for cc, m := range s.members {
		if m.ClientCAs == nil {
			continue
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: m.ClientCAs, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
			return cc, true
		}
	}
	return "", false
}

type hubError struct{ code, msg string }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	soap12 := strings.HasPrefix(r.Header.Get("Content-Type"), "application/soap+xml")
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		http.Error(w, "hub under maintenance", http.StatusServiceUnavailable)
		return
	}
	doc, err := xmlsafe.Parse(data, xmlsafe.Limits{MaxBytes: 16 << 20})
	if err != nil {
		s.fault(w, soap12, "", "soap:Client", "not XML: "+err.Error())
		return
	}
	var op *etree.Element
	if root := doc.Root(); root != nil {
		if b := root.SelectElement("Body"); b != nil && len(b.ChildElements()) > 0 {
			op = b.ChildElements()[0]
		}
	}
	if op == nil {
		s.fault(w, soap12, "", "soap:Client", "no operation in the SOAP Body")
		return
	}
	name := op.Tag
	s.mu.Lock()
	s.Calls[name]++
	garble := s.garbage[name] > 0
	if garble {
		s.garbage[name]--
	}
	fail := s.failNext[name] > 0
	if fail {
		s.failNext[name]--
	}
	s.mu.Unlock()
	if garble {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write([]byte(`<soap:Envelope xmlns:soap="` + nsSOAP11 + `"><soap:Body><` + name + `Response><unclosed>`))
		return
	}
	if fail {
		s.fault(w, soap12, name, "soap:Server", "simulated hub failure")
		return
	}
	who, ok := s.caller(r)
	if !ok {
		s.fault(w, soap12, name, "soap:Client", "client certificate of no known NPPO")
		return
	}
	if strings.HasPrefix(name, "Acknowledge") || strings.HasPrefix(name, "AdvancedAcknowledge") {
		s.mu.Lock()
		hold := s.holdAck
		s.mu.Unlock()
		if hold != nil {
			// A held acknowledgement takes effect when released, and only
			// if its caller still waits: one whose caller died (or gave
			// up) was lost on the way, as on a real network.
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
			if r.Context().Err() != nil {
				return
			}
		}
	}
	res, herr := s.operation(who, name, op)
	if herr != nil {
		s.fault(w, soap12, name, herr.code, herr.msg)
		return
	}
	s.answer(w, soap12, name, res)
}

func param(op *etree.Element, name string) string {
	for _, c := range op.ChildElements() {
		if c.Tag == name {
			return strings.TrimSpace(c.Text())
		}
	}
	return ""
}

func headerEl(parent *etree.Element, tag string, h hub.Header, withContent bool, content string) {
	e := parent.CreateElement(tag)
	for _, f := range [][2]string{{"From", h.From}, {"To", h.To}, {"CertificateType", fmt.Sprint(h.CertificateType)},
		{"CertificateStatus", fmt.Sprint(h.CertificateStatus)}, {"NPPOCertificateNumber", h.NPPOCertificateNumber},
		{"hubDeliveryNumber", h.HubDeliveryNumber}, {"HUBTrackingInfo", h.HUBTrackingInfo}, {"hubDeliveryErrorMessage", h.HubDeliveryError}} {
		if f[1] == "" && f[0] == "hubDeliveryErrorMessage" {
			continue
		}
		c := e.CreateElement("ent:" + f[0])
		c.SetText(f[1])
	}
	if withContent {
		c := e.CreateElement("ent:Content")
		c.SetText(content)
	}
}

// operation runs one call for NPPO who and fills the response element.
func (s *Server) operation(who, name string, op *etree.Element) (func(*etree.Element), *hubError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch name {
	case "DeliverEnvelope":
		envEl := op.SelectElement("env")
		if envEl == nil {
			return nil, &hubError{"soap:Client", "DeliverEnvelope without env"}
		}
		var h hub.Header
		fmt.Sscan(param(envEl, "CertificateType"), &h.CertificateType)
		fmt.Sscan(param(envEl, "CertificateStatus"), &h.CertificateStatus)
		h.From, h.To, h.NPPOCertificateNumber = param(envEl, "From"), param(envEl, "To"), param(envEl, "NPPOCertificateNumber")
		content := ""
		if c := envEl.SelectElement("Content"); c != nil {
			content = c.Text()
		}
		switch {
		case h.From != who:
			return nil, &hubError{"soap:Client", fmt.Sprintf("From %q does not match the caller's certificate (%s)", h.From, who)}
		case s.members[h.To].Country == "":
			return nil, &hubError{"soap:Client", fmt.Sprintf("To %q is not a known NPPO", h.To)}
		case h.NPPOCertificateNumber == "":
			return nil, &hubError{"soap:Client", "NPPOCertificateNumber is required"}
		case h.CertificateType != 851 && h.CertificateType != 657:
			return nil, &hubError{"soap:Client", fmt.Sprintf("CertificateType %d is not a phytosanitary certificate", h.CertificateType)}
		}
		cd, err := xmlsafe.Parse([]byte(content), xmlsafe.Limits{MaxBytes: 16 << 20})
		if err != nil || cd.Root() == nil || cd.Root().Tag != "SPSCertificate" || cd.Root().NamespaceURI() != nsCert17 {
			return nil, &hubError{"soap:Client", "the content is not an SPS 17A certificate"}
		}
		s.seq++
		h.HubDeliveryNumber = fmt.Sprintf("%s%s-%08d", h.From, h.To, s.seq)
		h.HUBTrackingInfo = hub.PendingDelivery
		s.envelopes[h.HubDeliveryNumber] = &Envelope{Envelope: hub.Envelope{Header: h, Content: content}}
		s.order = append(s.order, h.HubDeliveryNumber)
		return func(r *etree.Element) { headerEl(r, "tns:DeliverEnvelopeResult", h, false, "") }, nil
	case "GetEnvelopeTrackingInfo":
		id := param(op, "hubTrackingNumber")
		e, ok := s.envelopes[id]
		h := hub.Header{HubDeliveryNumber: id, HUBTrackingInfo: hub.EnvelopeNotExists}
		if ok && e.From == who {
			h = e.Header
		}
		return func(r *etree.Element) { headerEl(r, "tns:GetEnvelopeTrackingInfoResult", h, false, "") }, nil
	case "GetImportEnvelopeHeaders":
		var list []hub.Header
		for _, id := range s.order {
			if e := s.envelopes[id]; e.To == who && e.HUBTrackingInfo == hub.PendingDelivery {
				list = append(list, e.Header)
			}
		}
		return func(r *etree.Element) {
			res := r.CreateElement("tns:GetImportEnvelopeHeadersResult")
			for _, h := range list {
				headerEl(res, "ent:EnvelopeHeader", h, false, "")
			}
		}, nil
	case "PULLSingleImportEnvelope":
		id := param(op, "hubTrackingNumber")
		e, ok := s.envelopes[id]
		if !ok || e.To != who {
			return nil, &hubError{"soap:Client", "envelope " + id + " does not exist for " + who}
		}
		env := e.Envelope
		return func(r *etree.Element) {
			headerEl(r, "tns:PULLSingleImportEnvelopeResult", env.Header, true, env.Content)
		}, nil
	case "AcknowledgeEnvelopeReceipt", "AdvancedAcknowledgeEnvelopeReceipt", "AcknowledgeFailedEnvelopeReceipt":
		id := param(op, "hubTrackingNumber")
		e, ok := s.envelopes[id]
		if !ok || e.To != who {
			return nil, &hubError{"soap:Client", "envelope " + id + " does not exist for " + who}
		}
		switch name {
		case "AcknowledgeEnvelopeReceipt":
			e.HUBTrackingInfo = hub.Delivered
			e.Acks = append(e.Acks, "ack")
		case "AdvancedAcknowledgeEnvelopeReceipt":
			e.HUBTrackingInfo, e.HubDeliveryError = hub.DeliveredWithWarnings, param(op, "warningMessage")
			e.Acks = append(e.Acks, "advanced: "+e.HubDeliveryError)
		default:
			e.HUBTrackingInfo, e.HubDeliveryError = hub.FailedDelivery, param(op, "message")
			e.Acks = append(e.Acks, "failed: "+e.HubDeliveryError)
		}
		return nil, nil
	case "GetActiveNppos":
		ccs := make([]string, 0, len(s.members))
		for cc := range s.members {
			ccs = append(ccs, cc)
		}
		sort.Strings(ccs)
		members := s.members
		return func(r *etree.Element) {
			res := r.CreateElement("tns:GetActiveNpposResult")
			for _, cc := range ccs {
				n := res.CreateElement("ent:Nppo")
				n.CreateElement("ent:Country").SetText(cc)
				n.CreateElement("ent:Receive").SetText("true")
				n.CreateElement("ent:Send").SetText("true")
				for _, c := range members[cc].Signing {
					sig := n.CreateElement("ent:Signature")
					sig.CreateElement("dn").SetText(c.Subject.String())
					sig.CreateElement("certificate").SetText(base64.StdEncoding.EncodeToString(c.Raw))
				}
			}
		}, nil
	}
	return nil, &hubError{"soap:Client", "operation " + name + " is not simulated"}
}

func envelope(soap12 bool) (*etree.Document, *etree.Element) {
	doc := etree.NewDocument()
	ns := nsSOAP11
	if soap12 {
		ns = nsSOAP12
	}
	env := doc.CreateElement("soap:Envelope")
	env.CreateAttr("xmlns:soap", ns)
	env.CreateAttr("xmlns:tns", hub.NS)
	env.CreateAttr("xmlns:ent", hub.NSEntities)
	return doc, env.CreateElement("soap:Body")
}

func (s *Server) answer(w http.ResponseWriter, soap12 bool, name string, fill func(*etree.Element)) {
	doc, body := envelope(soap12)
	r := body.CreateElement("tns:" + name + "Response")
	if fill != nil {
		fill(r)
	}
	write(w, soap12, http.StatusOK, doc)
}

func (s *Server) fault(w http.ResponseWriter, soap12 bool, name, code, msg string) {
	doc, body := envelope(soap12)
	f := body.CreateElement("soap:Fault")
	if soap12 {
		if code == "soap:Client" {
			code = "soap:Sender"
		} else {
			code = "soap:Receiver"
		}
		f.CreateElement("soap:Code").CreateElement("soap:Value").SetText(code)
		f.CreateElement("soap:Reason").CreateElement("soap:Text").SetText(msg)
		d := f.CreateElement("soap:Detail").CreateElement("tns:HubWebException")
		d.CreateElement("tns:message").SetText(msg)
	} else {
		f.CreateElement("faultcode").SetText(code)
		f.CreateElement("faultstring").SetText(msg)
		d := f.CreateElement("detail").CreateElement("tns:HubWebException")
		d.CreateElement("tns:message").SetText(msg)
	}
	write(w, soap12, http.StatusInternalServerError, doc)
}

func write(w http.ResponseWriter, soap12 bool, status int, doc *etree.Document) {
	ct := "text/xml; charset=utf-8"
	if soap12 {
		ct = "application/soap+xml; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	var b bytes.Buffer
	doc.WriteTo(&b)
	w.Write(b.Bytes())
}

// Count is how many calls of op the hub has had (answered or not).
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Calls[op]
}
