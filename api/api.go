// Package api is a node's local HTTP API for people and legacy systems:
// where is a document, what happened to it, and the status changes the
// legacy VUCE reports (the importing authority used a certificate, or asks
// for a replacement). It is served on the admin listener behind
// access.Protect with Permit: every caller is authenticated, and what it
// does is recorded under its authenticated identity, never under a name a
// request body gives. docs/openapi.yaml describes it.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/ops"
	"github.com/vucelink/vucelink/store"
)

// Prefix is where the API is mounted; documents and partners live under it.
const (
	Prefix          = "/api/v1/"
	documentsPrefix = "/api/v1/documents"
	partnersPrefix  = "/api/v1/partners"
)

// Store is what the API reads and changes.
type Store interface {
	Get(ctx context.Context, trackingID string) (*store.Document, error)
	Find(ctx context.Context, direction, partner, docType, docID string) (*store.Document, error)
	History(ctx context.Context, trackingID string) ([]store.Transition, error)
	List(ctx context.Context, f store.Filter) ([]*store.Document, error)
	Paused(ctx context.Context) (map[string]bool, error)
	Backlog(ctx context.Context) (map[string]map[lifecycle.State]int, error)
	PartnerEvents(ctx context.Context, partner string) ([]store.PartnerEvent, error)
}

// Handler serves the API.
type Handler struct {
	Store Store
	// Ops performs the actions (resend, status changes, partner pause);
	// the web console uses the same Service.
	Ops *ops.Service
	// Partners are the configured partner countries.
	Partners []string
	// Evidence writes a document's evidence bundle (api/evidence.go).
	Evidence Exporter
	// Hub, if set, tells where a document exchanged through the IPPC
	// ePhyto Hub stands there (nil: not through the hub); shown with the
	// document (GET /documents/{id}).
	Hub func(ctx context.Context, d *store.Document) (*HubStatus, error)
}

// HubStatus is a document's envelope at the IPPC ePhyto Hub and the hub's
// tracking state of it (PendingDelivery, Delivered, DeliveredWithWarnings,
// FailedDelivery, DeliveredNotReadable, EnvelopeNotExists).
type HubStatus struct {
	Envelope string `json:"envelope"`
	Status   string `json:"status"`
}

// Document is the API's view of a document.
type Document struct {
	TrackingID string          `json:"tracking_id"`
	Direction  string          `json:"direction"`
	Partner    string          `json:"partner"`
	Type       string          `json:"document_type"`
	DocumentID string          `json:"document_id"`
	Digest     string          `json:"digest"`
	State      lifecycle.State `json:"state"`
	Attempts   int             `json:"attempts"`
	NextTry    *time.Time      `json:"next_try,omitempty"`
	LastError  string          `json:"last_error,omitempty"`
	Receipt    any             `json:"receipt,omitempty"`
	Created    time.Time       `json:"created"`
	Updated    time.Time       `json:"updated"`
	Seq        int64           `json:"seq"`
	History    []Transition    `json:"history,omitempty"`
	Hub        *HubStatus      `json:"hub,omitempty"`
}

// Transition is one history entry.
type Transition struct {
	At     time.Time       `json:"at"`
	From   lifecycle.State `json:"from,omitempty"`
	To     lifecycle.State `json:"to"`
	Actor  string          `json:"actor"`
	Reason string          `json:"reason,omitempty"`
}

func view(d *store.Document) Document {
	v := Document{TrackingID: d.TrackingID, Direction: d.Direction, Partner: d.Partner, Type: d.Type, DocumentID: d.DocumentID,
		Digest: d.Digest, State: d.State, Attempts: d.Attempts, LastError: d.LastError, Created: d.Created, Updated: d.Updated, Seq: d.Seq}
	if !d.NextTry.IsZero() {
		t := d.NextTry
		v.NextTry = &t
	}
	if d.Receipt != nil {
		v.Receipt = d.Receipt
	}
	return v
}

// Permit is who may do what through the API: every role reads; the
// legacy VUCE (role legacy) reports status changes of this node's
// documents; everything else that changes something is an operator's.
func Permit(id access.Identity, r *http.Request) error {
	if id.Role != access.Operator && isEvidence(r) {
		return fmt.Errorf("%w: evidence bundles are for the operator role", access.ErrForbidden)
	}
	if !access.IsWrite(r) || id.Role == access.Operator {
		return nil
	}
	if id.Role == access.Legacy {
		if strings.HasPrefix(r.URL.Path, documentsPrefix+"/") && strings.HasSuffix(r.URL.Path, "/status") {
			return nil
		}
		return fmt.Errorf("%w: the legacy role may only report status changes (POST %s/{id}/status)", access.ErrForbidden, documentsPrefix)
	}
	return fmt.Errorf("%w: this needs the operator role", access.ErrForbidden)
}

// actor is who the history records for r: the authenticated identity.
// Without one (the handler mounted without access.Protect) nothing is done.
func actor(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, ok := access.FromContext(r.Context())
	if !ok {
		problem(w, http.StatusUnauthorized, "authentication required")
		return "", false
	}
	return id.Actor(), true
}

// StatusRequest is the body of a reported status change. Who reports it
// is the authenticated caller.
type StatusRequest struct {
	State  lifecycle.State `json:"state"`
	Reason string          `json:"reason"`
	// ReplacedBy is the document ID of the new document, required with
	// state "replaced": the new document must already have been sent to
	// the same partner.
	ReplacedBy string `json:"replaced_by"`
}

// ServeHTTP routes API requests.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, partnersPrefix) {
		h.partners(w, r, strings.Trim(strings.TrimPrefix(r.URL.Path, partnersPrefix), "/"))
		return
	}
	if !strings.HasPrefix(r.URL.Path, documentsPrefix) {
		problem(w, http.StatusNotFound, "no such API resource")
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, documentsPrefix)
	action := func(name string) (string, bool) {
		if id, ok := strings.CutSuffix(strings.TrimPrefix(rest, "/"), "/"+name); ok && r.Method == http.MethodPost {
			return id, true
		}
		return "", false
	}
	switch {
	case rest == "" || rest == "/":
		if r.Method != http.MethodGet {
			problem(w, http.StatusMethodNotAllowed, "use GET to list documents")
			return
		}
		h.list(w, r)
	case strings.HasSuffix(rest, "/status"):
		id, ok := action("status")
		if !ok {
			problem(w, http.StatusMethodNotAllowed, "use POST to report a status change")
			return
		}
		h.status(w, r, id)
	case strings.HasSuffix(rest, "/resend"):
		id, ok := action("resend")
		if !ok {
			problem(w, http.StatusMethodNotAllowed, "use POST to resend")
			return
		}
		h.resend(w, r, id)
	case strings.HasSuffix(rest, "/evidence"):
		h.evidence(w, r, strings.TrimSuffix(strings.TrimPrefix(rest, "/"), "/evidence"))
	case strings.HasSuffix(rest, "/paper"):
		id, ok := action("paper")
		if !ok {
			problem(w, http.StatusMethodNotAllowed, "use POST to hand a document over to paper")
			return
		}
		h.paper(w, r, id)
	default:
		if r.Method != http.MethodGet {
			problem(w, http.StatusMethodNotAllowed, "use GET to read a document")
			return
		}
		h.get(w, r, strings.TrimPrefix(rest, "/"))
	}
}

// operatorRequest is the body of an operator action. Who acts is the
// authenticated caller.
type operatorRequest struct {
	Reason string `json:"reason"`
}

// decode reads a JSON body into v, strictly. An "actor" field, which
// earlier versions took on trust, is refused with the reason.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength == 0 {
		return true
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if strings.Contains(err.Error(), `unknown field "actor"`) {
			problem(w, http.StatusBadRequest, "actor: not accepted; the history records the authenticated caller")
			return false
		}
		problem(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	return true
}

func decodeOperator(w http.ResponseWriter, r *http.Request) (req operatorRequest, who string, ok bool) {
	if who, ok = actor(w, r); !ok {
		return req, "", false
	}
	return req, who, decode(w, r, &req)
}

// resend sends a document again now: an incomplete one goes back in the
// queue, one waiting for its next try skips the wait.
func (h *Handler) resend(w http.ResponseWriter, r *http.Request, id string) {
	req, who, ok := decodeOperator(w, r)
	if !ok {
		return
	}
	d, err := h.Ops.Resend(r.Context(), id, who, req.Reason)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, view(d))
}

// paper records that an undelivered document travels on paper instead
// (contingency): electronic delivery stops.
func (h *Handler) paper(w http.ResponseWriter, r *http.Request, id string) {
	req, who, ok := decodeOperator(w, r)
	if !ok {
		return
	}
	d, err := h.Ops.HandleOnPaper(r.Context(), id, who, req.Reason)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, view(d))
}

// fail answers with the status that fits an action's error.
func fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ops.ErrNotFound):
		problem(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ops.ErrInvalid):
		problem(w, http.StatusUnprocessableEntity, strings.TrimPrefix(err.Error(), ops.ErrInvalid.Error()+": "))
	case errors.Is(err, ops.ErrState), errors.Is(err, lifecycle.ErrIllegal):
		problem(w, http.StatusConflict, err.Error())
	default:
		problem(w, http.StatusInternalServerError, err.Error())
	}
}

// Partner is the API's view of a partner.
type Partner struct {
	Code    string                  `json:"code"`
	Paused  bool                    `json:"paused"`
	Backlog map[lifecycle.State]int `json:"backlog"`
	Events  []store.PartnerEvent    `json:"events,omitempty"`
}

// partners serves GET /partners, GET /partners/{cc} and
// POST /partners/{cc}/{pause|resume|resend}.
func (h *Handler) partners(w http.ResponseWriter, r *http.Request, rest string) {
	cc, action, _ := strings.Cut(rest, "/")
	if cc != "" && !slices.Contains(h.Partners, cc) {
		problem(w, http.StatusNotFound, fmt.Sprintf("%q is not a configured partner", cc))
		return
	}
	ctx := r.Context()
	switch {
	case r.Method == http.MethodGet && action == "":
		paused, err := h.Store.Paused(ctx)
		if err != nil {
			problem(w, http.StatusInternalServerError, err.Error())
			return
		}
		backlog, err := h.Store.Backlog(ctx)
		if err != nil {
			problem(w, http.StatusInternalServerError, err.Error())
			return
		}
		var out []Partner
		for _, p := range h.Partners {
			if cc != "" && p != cc {
				continue
			}
			v := Partner{Code: p, Paused: paused[p], Backlog: backlog[p]}
			if v.Backlog == nil {
				v.Backlog = map[lifecycle.State]int{}
			}
			if cc != "" {
				if v.Events, err = h.Store.PartnerEvents(ctx, p); err != nil {
					problem(w, http.StatusInternalServerError, err.Error())
					return
				}
			}
			out = append(out, v)
		}
		if cc != "" {
			writeJSON(w, http.StatusOK, out[0])
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"partners": out})
	case r.Method == http.MethodPost && cc != "" && (action == "pause" || action == "resume" || action == "resend"):
		req, who, ok := decodeOperator(w, r)
		if !ok {
			return
		}
		n, err := h.Ops.Partner(ctx, cc, ops.PartnerAction(action), who, req.Reason)
		if err != nil {
			fail(w, err)
			return
		}
		result := map[string]any{"partner": cc, "action": action}
		if action == "resend" {
			result["resent"] = n
		}
		writeJSON(w, http.StatusOK, result)
	default:
		problem(w, http.StatusMethodNotAllowed, "GET /api/v1/partners[/{code}] or POST /api/v1/partners/{code}/pause|resume|resend")
	}
}

// load reads a document or answers why it cannot.
func (h *Handler) load(w http.ResponseWriter, r *http.Request, id string) (*store.Document, bool) {
	d, err := h.Store.Get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		problem(w, http.StatusNotFound, fmt.Sprintf("no document with tracking ID %q", id))
		return nil, false
	}
	if err != nil {
		problem(w, http.StatusInternalServerError, err.Error())
		return nil, false
	}
	return d, true
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, id string) {
	d, ok := h.load(w, r, id)
	if !ok {
		return
	}
	hist, err := h.Store.History(r.Context(), id)
	if err != nil {
		problem(w, http.StatusInternalServerError, err.Error())
		return
	}
	v := view(d)
	for _, t := range hist {
		v.History = append(v.History, Transition(t))
	}
	if h.Hub != nil {
		if v.Hub, err = h.Hub(r.Context(), d); err != nil {
			problem(w, http.StatusInternalServerError, err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.Filter{Direction: q.Get("direction"), Partner: q.Get("partner"), State: lifecycle.State(q.Get("state"))}
	var errs []string
	if f.Direction != "" && f.Direction != store.Inbound && f.Direction != store.Outbound {
		errs = append(errs, "direction: must be inbound or outbound")
	}
	if f.State != "" && !lifecycle.Valid(f.State) {
		errs = append(errs, fmt.Sprintf("state: unknown state %q", f.State))
	}
	for key, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(key); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				errs = append(errs, key+": must be an RFC 3339 time")
			}
			*dst = t
		}
	}
	for key, dst := range map[string]*int64{"limit": nil, "after": &f.AfterSeq} {
		if v := q.Get(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				errs = append(errs, key+": must be a non-negative integer")
			}
			if dst != nil {
				*dst = n
			} else {
				f.Limit = int(n)
			}
		}
	}
	if len(errs) > 0 {
		problem(w, http.StatusBadRequest, strings.Join(errs, "; "))
		return
	}
	docs, err := h.Store.List(r.Context(), f)
	if err != nil {
		problem(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := struct {
		Documents []Document `json:"documents"`
		Next      string     `json:"next,omitempty"`
	}{Documents: []Document{}}
	for _, d := range docs {
		out.Documents = append(out.Documents, view(d))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if len(docs) == min(limit, 1000) {
		nq := r.URL.Query()
		nq.Set("after", strconv.FormatInt(docs[len(docs)-1].Seq, 10))
		out.Next = documentsPrefix + "?" + nq.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request, id string) {
	who, ok := actor(w, r)
	if !ok {
		return
	}
	var req StatusRequest
	if r.ContentLength == 0 {
		problem(w, http.StatusBadRequest, "body: a JSON object with state (and reason, replaced_by) is required")
		return
	}
	if !decode(w, r, &req) {
		return
	}
	d, err := h.Ops.ChangeStatus(r.Context(), id, req.State, who, req.Reason, req.ReplacedBy)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, view(d))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// problem answers with an RFC 9457 problem document.
func problem(w http.ResponseWriter, status int, detail string) { access.Problem(w, status, detail) }
