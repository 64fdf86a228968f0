// Package proxy puts vucelink in the legacy VUCE's path, in both
// directions.
//
// Outbound (legacy VUCE → partner) a document reaches vucelink either as a
// reverse proxy (the legacy system posts to the URL it always used, which now
// points at vucelink: Outbound.ServeHTTP) or as a forward proxy (the legacy
// system's HTTP client uses vucelink as HTTP_PROXY: Outbound.ForwardProxy,
// built on goproxy). Either way the native payload is mapped to the standard
// XML, signed by the authorized official and delivered to the partner node,
// and the legacy caller gets an answer in the shape it expects.
//
// Inbound (partner → legacy VUCE) Inbound.ServeHTTP authenticates the partner
// node (mutual TLS and basic credentials), verifies the document's
// signature, maps only the signed element to the native format and hands it
// to the legacy VUCE, answering the partner with a receipt.
//
// Like net/http/httputil.ReverseProxy, both are structs whose fields are the
// extension points; the node package fills them from configuration.
package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"strings"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/beevik/etree"
	"github.com/elazarl/goproxy"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/track"
	"github.com/vucelink/vucelink/wire"
)

// Queue commits signed documents for delivery. Enqueue returns the stored
// document: the one given, or the one already stored under the same ID
// with the same content (store.ErrConflict if the content differs).
type Queue interface {
	Enqueue(ctx context.Context, d *store.Document) (*store.Document, error)
	// Wait returns a channel that receives the document when delivery
	// reaches a verdict, and a function to stop waiting. It is called
	// before Enqueue, with the tracking ID the document will have.
	Wait(trackingID string) (<-chan *store.Document, func())
}

// LocalExporterEmail is the name of the rule files' local value holding the
// exporter's email address.
const LocalExporterEmail = "exporter_email"

// Mapper translates a native payload into the standard document.
type Mapper interface {
	Map(input []byte) (*mapping.Output, error)
}

// Validator checks a standard document against its document type's
// schema; *schema.Schema implements it. The error for a document that
// breaks the schema is a *schema.ValidationError, one violation per path.
type Validator interface {
	ValidateElement(el *etree.Element) error
}

// Signer applies an enveloped signature to a document's root element.
type Signer interface {
	SignElement(root *etree.Element) (*etree.Element, error)
}

// DetailedSigner is a Signer that also says what it did, for the track:
// for a certificate of origin, whether the exporter's signature was kept
// from the payload or applied by the node, and who signed.
type DetailedSigner interface {
	Signer
	SignElementDetail(root *etree.Element) (signed *etree.Element, detail string, err error)
}

// ErrUnsignable is wrapped by a Signer's error when the document, not the
// node, is at fault: a signature it already carries does not verify, or
// it lacks one the node cannot apply. The legacy VUCE is answered 422 and
// nothing is queued.
var ErrUnsignable = errors.New("the document cannot be signed as it is")

// Route is one kind of outbound document the legacy VUCE sends.
type Route struct {
	Name     string
	Document string // document type, e.g. "sps"
	Method   string
	Path     string
	// ForwardHosts are the hosts (host or host:port) the legacy client
	// addresses through the forward proxy for this route.
	ForwardHosts []string
	// Partner fixes the destination country; empty means Spec.Destination is
	// read from the mapped document.
	Partner string
	Mapper  Mapper
	Signer  Signer
	Spec    *DocumentSpec
	// Validator, if set, checks every mapped document before it is signed:
	// a document that breaks the schema is refused, never sent.
	Validator Validator
	// Wait is how long the legacy caller's answer may wait for the
	// partner's verdict; after that it is answered "sent" and delivery
	// continues from the outbox. Zero answers as soon as the document is
	// committed.
	Wait time.Duration
	// Response renders the legacy caller's answer; see ResponseData.
	Status      int
	ContentType string
	Body        *template.Template
	ErrorBody   *template.Template
	// ByDestination, if set, is asked once the mapped document names its
	// destination: a non-nil route gives the document type, rules, spec,
	// validator and signer this destination takes instead (a country
	// reached through the IPPC ePhyto Hub takes SPS 17A where partner
	// nodes take D13B), and the same payload is mapped again with them.
	// The legacy caller's answer (Wait, Status, ContentType, Body,
	// ErrorBody) stays this route's. Nil, or a nil answer, keeps this
	// route's document.
	ByDestination func(country string) *Route
}

// ResponseData is what response templates see.
type ResponseData struct {
	TrackingID string
	DocumentID string
	Document   string
	Partner    string
	Outcome    string
	Reasons    []wire.Reason
	Error      string
}

// Outbound handles documents leaving this node.
type Outbound struct {
	// Country is this node's country code.
	Country string
	// Routes are matched on method and path (reverse side) or on host,
	// method and path (forward side).
	Routes []*Route
	// Queue commits signed documents; the outbox delivers them.
	Queue Queue
	// Partners are the countries documents may be sent to.
	Partners map[string]bool
	// Carries, if set, says whether a partner takes a document type (a
	// country reached through the ePhyto Hub takes SPS 17A only); a
	// document it refuses is answered 422 before it is signed or queued,
	// instead of being refused by the partner a day of retries later.
	Carries func(partner, docType string) error
	// Recorder receives one event per step; nil records nothing.
	Recorder track.Recorder
	// MaxBodyBytes bounds the native payload; zero means 8 MiB.
	MaxBodyBytes int64
	// Logger for problems not tied to a document; nil discards.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// ServeHTTP is the reverse side: the legacy VUCE posts to a configured path.
func (o *Outbound) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := o.match("", r.Method, r.URL.Path)
	if route == nil {
		http.Error(w, fmt.Sprintf("vucelink: no route for %s %s", r.Method, r.URL.Path), http.StatusNotFound)
		return
	}
	res := o.handle(r.Context(), route, r.Body)
	w.Header().Set("Content-Type", res.contentType)
	w.Header().Set(wire.HeaderTrackingID, res.trackingID)
	w.WriteHeader(res.status)
	w.Write(res.body)
}

// ForwardProxy returns the forward side: an HTTP proxy for the legacy
// system's client. Plain-HTTP requests to a route's ForwardHosts are handled
// like reverse-side requests; every other request, and every CONNECT tunnel,
// is refused, so vucelink is never an open proxy. CONNECT is refused rather
// than intercepted because intercepting TLS would need a CA the legacy
// system trusts — and goproxy's built-in CA has a public key.
func (o *Outbound) ForwardProxy() http.Handler {
	p := goproxy.NewProxyHttpServer()
	// Nothing is ever forwarded; a transport that cannot dial makes sure.
	p.Tr = &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("vucelink forward proxy does not forward")
	}}
	p.NonproxyHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "vucelink: this is a forward proxy; use it through HTTP_PROXY", http.StatusBadRequest)
	})
	p.OnRequest().HandleConnectFunc(func(host string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
		ctx.Resp = goproxy.NewResponse(ctx.Req, "text/plain", http.StatusForbidden,
			"vucelink: CONNECT is not allowed; send documents over plain HTTP to a configured partner host\n")
		o.logger().Warn("forward proxy refused CONNECT", "host", host)
		return &goproxy.ConnectAction{Action: goproxy.ConnectReject}, host
	})
	p.OnRequest().DoFunc(func(r *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
		route := o.match(r.URL.Host, r.Method, r.URL.Path)
		if route == nil {
			o.logger().Warn("forward proxy refused request", "host", r.URL.Host, "method", r.Method, "path", r.URL.Path)
			return r, goproxy.NewResponse(r, "text/plain", http.StatusForbidden,
				fmt.Sprintf("vucelink: %s %s%s is not a configured partner route\n", r.Method, r.URL.Host, r.URL.Path))
		}
		res := o.handle(r.Context(), route, r.Body)
		resp := goproxy.NewResponse(r, res.contentType, res.status, string(res.body))
		resp.Header.Set(wire.HeaderTrackingID, res.trackingID)
		return r, resp
	})
	return p
}

// Handles reports whether a reverse-side route matches method and path.
func (o *Outbound) Handles(method, path string) bool { return o.match("", method, path) != nil }

// match finds the route for a request. host is empty on the reverse side.
func (o *Outbound) match(host, method, path string) *Route {
	for _, rt := range o.Routes {
		if rt.Method != method || rt.Path != path {
			continue
		}
		if host == "" {
			return rt
		}
		for _, h := range rt.ForwardHosts {
			if strings.EqualFold(h, host) || strings.EqualFold(h, hostOnly(host)) {
				return rt
			}
		}
	}
	return nil
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

type result struct {
	status      int
	contentType string
	body        []byte
	trackingID  string
}

// handle runs one document through map → sign → deliver and renders the
// legacy caller's answer.
func (o *Outbound) handle(ctx context.Context, rt *Route, body io.Reader) result {
	now := o.now()
	ev := track.Event{
		Node:       o.Country,
		TrackingID: wire.NewTrackingID(o.Country, now),
		Document:   rt.Document,
		Direction:  track.Outbound,
		Partner:    rt.Partner,
	}
	data := ResponseData{TrackingID: ev.TrackingID, Document: rt.Document, Partner: rt.Partner}
	fail := func(status int, step string, err error) result {
		ev.Step, ev.Err, ev.Detail = track.Failed, err.Error(), step
		o.record(ctx, ev)
		data.Error = err.Error()
		if data.Outcome == "" {
			data.Outcome = "not-sent"
		}
		return o.render(rt, status, rt.ErrorBody, data)
	}

	limit := o.MaxBodyBytes
	if limit <= 0 {
		limit = 8 << 20
	}
	payload, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return fail(http.StatusBadRequest, "read", fmt.Errorf("reading payload: %w", err))
	}
	if int64(len(payload)) > limit {
		return fail(http.StatusRequestEntityTooLarge, "read", fmt.Errorf("payload larger than %d bytes", limit))
	}
	ev.Step, ev.Detail = track.Accepted, fmt.Sprintf("route %s, %d bytes", rt.Name, len(payload))
	o.record(ctx, ev)

	start := time.Now()
	out, err := rt.Mapper.Map(payload)
	if err != nil {
		return fail(http.StatusUnprocessableEntity, "map", fmt.Errorf("mapping: %w", err))
	}
	// The exporter's address will be an e-mail recipient: refuse anything
	// but one plain address now, not when a notification is due.
	contact, err := CheckEmail(out.Local[LocalExporterEmail])
	if err != nil {
		return fail(http.StatusUnprocessableEntity, "map", fmt.Errorf("mapping: %w", localError(rt.Mapper, payload, LocalExporterEmail, err)))
	}
	root := out.XML.Root()
	id, err := rt.Spec.ID(root)
	if err != nil {
		return fail(http.StatusUnprocessableEntity, "map", err)
	}
	ev.DocumentID, data.DocumentID = id, id
	if ev.Partner == "" {
		dest, err := rt.Spec.Destination(root)
		if err != nil {
			return fail(http.StatusUnprocessableEntity, "map", err)
		}
		ev.Partner, data.Partner = dest, dest
	}
	if ev.Partner == o.Country {
		return fail(http.StatusUnprocessableEntity, "map", fmt.Errorf("destination country %s is this node's own country", ev.Partner))
	}
	if !o.Partners[ev.Partner] {
		return fail(http.StatusUnprocessableEntity, "map", fmt.Errorf("destination %s is not a configured partner", ev.Partner))
	}
	if rt.ByDestination != nil {
		if alt := rt.ByDestination(ev.Partner); alt != nil {
			if out, root, contact, err = o.remap(rt, alt, payload, id, ev.Partner); err != nil {
				return fail(http.StatusUnprocessableEntity, "map", err)
			}
			r := *alt
			r.Name, r.Wait, r.Status, r.ContentType, r.Body, r.ErrorBody = rt.Name, rt.Wait, rt.Status, rt.ContentType, rt.Body, rt.ErrorBody
			rt = &r
			ev.Document, data.Document = rt.Document, rt.Document
		}
	}
	if o.Carries != nil {
		if err := o.Carries(ev.Partner, rt.Document); err != nil {
			return fail(http.StatusUnprocessableEntity, "map", err)
		}
	}
	ev.Step, ev.Detail, ev.Duration = track.Mapped, "native → "+rt.Document+" standard XML", time.Since(start)
	o.record(ctx, ev)

	if rt.Validator != nil {
		start = time.Now()
		if err := rt.Validator.ValidateElement(root); err != nil {
			return fail(http.StatusUnprocessableEntity, "validate", fmt.Errorf("the mapped %s document breaks its schema (fix the rules or the payload): %w", rt.Document, err))
		}
		ev.Step, ev.Detail, ev.Duration = track.Validated, "valid against the "+rt.Document+" schema", time.Since(start)
		o.record(ctx, ev)
	}

	start = time.Now()
	var signed *etree.Element
	var signDetail string
	if ds, ok := rt.Signer.(DetailedSigner); ok {
		signed, signDetail, err = ds.SignElementDetail(root)
	} else {
		signed, err = rt.Signer.SignElement(root)
	}
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrUnsignable) {
			status = http.StatusUnprocessableEntity
		}
		return fail(status, "sign", fmt.Errorf("signing: %w", err))
	}
	out.XML.SetRoot(signed)
	var buf bytes.Buffer
	if _, err := out.XML.WriteTo(&buf); err != nil {
		return fail(http.StatusInternalServerError, "sign", fmt.Errorf("serializing signed document: %w", err))
	}
	ev.Step, ev.Detail, ev.Duration = track.Signed, fmt.Sprintf("%d bytes", buf.Len()), time.Since(start)
	if signDetail != "" {
		ev.Detail += "; " + signDetail
	}
	o.record(ctx, ev)

	// The waiter is registered before the document is queued: a delivery
	// faster than this handler would otherwise settle unseen.
	var verdict <-chan *store.Document
	if rt.Wait > 0 {
		var stop func()
		verdict, stop = o.Queue.Wait(ev.TrackingID)
		defer stop()
	}
	doc, err := o.Queue.Enqueue(ctx, &store.Document{
		TrackingID: ev.TrackingID, Direction: store.Outbound, Partner: ev.Partner, Type: rt.Document,
		DocumentID: id, Digest: wire.Digest(buf.Bytes()), State: lifecycle.Accepted, Body: buf.Bytes(),
		NextTry: now, Created: now,
		// The rule file's local exporter_email: who to tell if delivery
		// fails. It stays on this node.
		Contact: contact,
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return fail(http.StatusConflict, "queue", fmt.Errorf("document %s was already sent to %s with different content: send a replacement with a new ID", id, ev.Partner))
	case err != nil:
		return fail(http.StatusServiceUnavailable, "queue", fmt.Errorf("committing the document: %w", err))
	}
	if doc.TrackingID != ev.TrackingID {
		// The same document, sent again: answer with the first tracking ID
		// and its current state; nothing new is delivered.
		data.TrackingID, data.Outcome = doc.TrackingID, string(doc.State)
		ev.TrackingID, ev.Step, ev.Detail = doc.TrackingID, track.Accepted, "repeat of an already accepted document, not sent again"
		o.record(ctx, ev)
		return o.render(rt, rt.Status, rt.Body, data)
	}
	ev.Step, ev.Detail, ev.Duration = track.Queued, "committed to the outbox", 0
	o.record(ctx, ev)

	if rt.Wait > 0 {
		timer := time.NewTimer(rt.Wait)
		defer timer.Stop()
		select {
		case d := <-verdict:
			doc = d
		case <-timer.C:
		case <-ctx.Done():
		}
	}
	data.Outcome = string(doc.State)
	switch doc.State {
	case lifecycle.ReceivedWithErrors:
		if doc.Receipt != nil {
			data.Reasons = doc.Receipt.Reasons
			data.Error = fmt.Sprintf("partner %s answered %s", ev.Partner, doc.Receipt.Error())
		}
		return o.render(rt, http.StatusUnprocessableEntity, rt.ErrorBody, data)
	case lifecycle.Incomplete:
		data.Error = "delivery given up: " + doc.LastError
		return o.render(rt, http.StatusBadGateway, rt.ErrorBody, data)
	case lifecycle.Accepted:
		if rt.Wait > 0 {
			// No verdict within the wait: the outbox has it in hand.
			data.Outcome = string(lifecycle.Sent)
		}
	}
	return o.render(rt, rt.Status, rt.Body, data)
}

// remap maps payload again with alt's rules, for destination dest (see
// Route.ByDestination), and checks the document it makes is the same
// document for the same destination.
func (o *Outbound) remap(rt, alt *Route, payload []byte, id, dest string) (*mapping.Output, *etree.Element, string, error) {
	out, err := alt.Mapper.Map(payload)
	if err != nil {
		return nil, nil, "", fmt.Errorf("mapping for %s (route %s sends %s there): %w", dest, rt.Name, alt.Document, err)
	}
	contact, err := CheckEmail(out.Local[LocalExporterEmail])
	if err != nil {
		return nil, nil, "", fmt.Errorf("mapping: %w", localError(alt.Mapper, payload, LocalExporterEmail, err))
	}
	root := out.XML.Root()
	got, err := alt.Spec.ID(root)
	if err != nil {
		return nil, nil, "", err
	}
	if got != id {
		return nil, nil, "", fmt.Errorf("the %s rules give document ID %q where the %s rules give %q: fix the rules", alt.Document, got, rt.Document, id)
	}
	if alt.Spec.HasDestination() {
		d, err := alt.Spec.Destination(root)
		if err != nil {
			return nil, nil, "", err
		}
		if d != dest {
			return nil, nil, "", fmt.Errorf("the %s rules give destination %q where the %s rules give %q: fix the rules", alt.Document, d, rt.Document, dest)
		}
	}
	return out, root, contact, nil
}

func (o *Outbound) render(rt *Route, status int, tmpl *template.Template, data ResponseData) result {
	var buf bytes.Buffer
	isJSON := jsonMediaType(rt.ContentType)
	err := tmpl.Execute(&buf, data)
	if err == nil && isJSON && !json.Valid(buf.Bytes()) {
		// Values are escaped for the content type when the template is
		// parsed (config.ParseResponseTemplate); invalid JSON is a
		// template written wrong (an action outside quotes, say).
		err = errors.New("rendered body is not valid JSON")
	}
	if err != nil {
		// A template that validated at load but fails on this data: still
		// answer with the tracking ID so nothing is untraceable.
		o.logger().Error("response template failed", "route", rt.Name, "tracking_id", data.TrackingID, "error", err)
		buf.Reset()
		if isJSON {
			b, _ := json.Marshal(map[string]string{"tracking_id": data.TrackingID})
			buf.Write(b)
		} else {
			fmt.Fprintf(&buf, "tracking_id=%s\n", data.TrackingID)
		}
	}
	return result{status: status, contentType: rt.ContentType, body: buf.Bytes(), trackingID: data.TrackingID}
}

// jsonMediaType reports whether a response content type is JSON
// (application/json or application/*+json), as config.EscapingFor decides.
func jsonMediaType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	sub, ok := strings.CutPrefix(mt, "application/")
	return ok && (sub == "json" || strings.HasSuffix(sub, "+json"))
}

// MaxEmailBytes bounds an e-mail address: the 256 octets of an SMTP path
// less its angle brackets.
const MaxEmailBytes = 254

// CheckEmail checks an e-mail address taken from a payload and returns it
// trimmed of surrounding white space. Empty is allowed (the address is
// optional). Otherwise it must be exactly one plain address, user@domain
// (an RFC 5322 addr-spec): no display name, no list, no comment, no angle
// brackets or quoting, no control, invisible or space character, at most
// MaxEmailBytes bytes.
func CheckEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", nil
	case len(s) > MaxEmailBytes:
		return "", fmt.Errorf("e-mail address is %d bytes long; at most %d are allowed", len(s), MaxEmailBytes)
	}
	for _, r := range s {
		if r == utf8.RuneError {
			// An invalid byte, or U+FFFD where a decoder met one.
			return "", fmt.Errorf("e-mail address %q is not valid UTF-8", s)
		}
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return "", fmt.Errorf("e-mail address %q contains the control character %U; give one plain address (user@domain)", s, r)
		}
	}
	addr, err := mail.ParseAddress(s)
	if err != nil {
		if list, lerr := mail.ParseAddressList(s); lerr == nil && len(list) > 1 {
			return "", fmt.Errorf("e-mail address %q is a list of %d addresses; give exactly one plain address (user@domain)", s, len(list))
		}
		return "", fmt.Errorf("e-mail address %q is not an address (%v); give one plain address (user@domain)", s, err)
	}
	if addr.Name != "" {
		return "", fmt.Errorf("e-mail address %q has a display name (%q); give only the plain address (user@domain)", s, addr.Name)
	}
	if addr.Address != s || strings.ContainsFunc(s, unicode.IsSpace) || strings.Contains(s, `"`) {
		return "", fmt.Errorf("e-mail address %q is not plain; give user@domain without angle brackets, comments, quoting or spaces", s)
	}
	return s, nil
}

// localError names a local value that failed a check after mapping, as a
// mapping error names a field: local:NAME (from SOURCE, rule line N): …
// The source and line come from mapping again with an explanation, when
// the mapper can (a *mapping.Rules can); this costs a second mapping, but
// only for a payload that is refused.
func localError(m Mapper, payload []byte, name string, err error) error {
	target := "local:" + name
	err = fmt.Errorf("%w: %s", mapping.ErrBadValue, err)
	if x, ok := m.(interface {
		MapExplain([]byte) (*mapping.Output, error)
	}); ok {
		if out, xerr := x.MapExplain(payload); xerr == nil {
			for _, o := range out.Explain {
				if o.Path == target {
					return mapping.Errors{{Target: target, Source: o.From, Line: o.Line, Err: err}}
				}
			}
		}
	}
	return fmt.Errorf("%s: %w", target, err)
}

func (o *Outbound) record(ctx context.Context, e track.Event) {
	if o.Recorder != nil {
		e.Time = o.now()
		o.Recorder.Record(ctx, e)
	}
}

func (o *Outbound) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Outbound) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}
