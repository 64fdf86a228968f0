package legacysim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vucelink/vucelink/xmlsafe"
)

// maxBody bounds what a simulated VUCE reads: 1,000+ line items fit easily.
const maxBody = 64 << 20

// Received is one request a simulated legacy VUCE got on its inbound path.
type Received struct {
	Time        time.Time
	Path        string
	Header      http.Header
	Body        []byte
	Certificate Certificate // the decoded certificate, when Err is nil
	Err         error       // why the body is not a valid native certificate
}

// Server is the receiving side of a simulated legacy VUCE: it accepts POSTs
// of certificates in its country's native format on InboundPath, records
// every one (valid or not), and answers in its own style — 200 with a
// native acknowledgment, or 400 with a native refusal when the body cannot
// be decoded. Other paths get 404, other methods 405, neither recorded. It
// is safe for concurrent use.
type Server struct {
	country string
	format  Format
	now     func() time.Time

	mu      sync.Mutex
	got     []Received
	ids     map[string]bool
	refused []Received // repeats of a number already accepted, every one recorded
	others  []Received // documents of other types, on DocumentPath
	// fault, when set, is answered to every document instead of taking
	// it (an outage, a refusal with an internal message); hold delays
	// every answer.
	fault *fault
	hold  time.Duration
}

type fault struct {
	status int
	body   string
}

// Fail makes the simulated VUCE answer every document with status and
// body (as a real one does when its database is down, say) until Fail(0, "").
func (s *Server) Fail(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = nil
	if status != 0 {
		s.fault = &fault{status, body}
	}
}

// Hold makes every answer wait d first (a slow legacy system).
func (s *Server) Hold(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = d
}

// DocumentPath is where a simulated legacy VUCE receives documents of
// types other than the phytosanitary certificate (for which it has no
// codec of its own): it records them as they come and acknowledges them.
func DocumentPath(docType string) string { return "/documentos/" + docType }

// NewServer returns the receiving side of country's legacy VUCE. It panics
// if the country has no simulated VUCE: that is a mistake in the demo's
// set-up, not a runtime condition.
func NewServer(country string) *Server {
	f, err := FormatFor(country)
	if err != nil {
		panic(err)
	}
	return &Server{country: country, format: f, now: time.Now}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, hold := s.fault, s.hold
	s.mu.Unlock()
	if hold > 0 {
		select {
		case <-time.After(hold):
		case <-r.Context().Done():
		}
	}
	if f != nil {
		http.Error(w, f.body, f.status)
		return
	}
	if strings.HasPrefix(r.URL.Path, DocumentPath("")) && r.Method == http.MethodPost {
		s.other(w, r)
		return
	}
	if r.URL.Path != InboundPath(s.country) {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rec := Received{Time: s.now(), Path: r.URL.Path, Header: r.Header.Clone()}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	rec.Body = body
	if err != nil {
		rec.Err = fmt.Errorf("reading the request: %w", err)
	} else {
		// Like a real system, it reads the encoding its XML declares.
		utf8, err := xmlsafe.ToUTF8(body)
		if err != nil {
			rec.Err = err
		} else {
			rec.Certificate, rec.Err = s.format.Decode(utf8)
		}
	}
	w.Header().Set("Content-Type", s.format.ContentType())
	a, _ := s.format.(acknowledger)
	s.mu.Lock()
	// Like a real Single Window, certificate numbers are unique: a second
	// certificate with a number already accepted is refused (409) — and
	// recorded, so a test can fail on a duplicate hand-over (Duplicates).
	if rec.Err == nil && s.ids[rec.Certificate.ID] {
		s.refused = append(s.refused, rec)
		s.mu.Unlock()
		w.WriteHeader(http.StatusConflict)
		if a != nil {
			w.Write(a.nack("certificate "+rec.Certificate.ID+" already received", rec.Time))
		}
		return
	}
	if rec.Err == nil {
		if s.ids == nil {
			s.ids = map[string]bool{}
		}
		s.ids[rec.Certificate.ID] = true
	}
	s.got = append(s.got, rec)
	s.mu.Unlock()

	if rec.Err != nil {
		w.WriteHeader(http.StatusBadRequest)
		if a != nil {
			w.Write(a.nack(rec.Err.Error(), rec.Time))
		}
		return
	}
	if a != nil {
		w.Write(a.ack(rec.Certificate.ID, rec.Time))
	}
}

// other records a document of another type, undecoded.
func (s *Server) other(w http.ResponseWriter, r *http.Request) {
	rec := Received{Time: s.now(), Path: r.URL.Path, Header: r.Header.Clone()}
	rec.Body, rec.Err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	s.mu.Lock()
	s.others = append(s.others, rec)
	s.mu.Unlock()
	if rec.Err != nil {
		http.Error(w, rec.Err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"received":true,"bytes":%d}`, len(rec.Body))
}

// Documents returns the documents of type docType received so far (bodies
// as the node handed them over), oldest first.
func (s *Server) Documents(docType string) []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Received
	for _, r := range s.others {
		if r.Path == DocumentPath(docType) {
			out = append(out, r)
		}
	}
	return out
}

// Received returns a copy of everything received so far, oldest first.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.got...)
}

// Reset forgets what was received.
func (s *Server) Reset() {
	s.mu.Lock()
	s.got, s.ids, s.refused = nil, nil, nil
	s.mu.Unlock()
}

// Duplicate is a certificate number that reached the simulated VUCE more
// than once: how many times, and how many of the repeats were marked as a
// redelivery (a hand-over the node knew was in doubt after a crash).
type Duplicate struct {
	ID           string
	Times        int
	Redeliveries int
}

// Duplicates lists every certificate number handed over more than once.
// A repeat not marked as a redelivery is a node's mistake: it handed over
// something it had already handed over.
func (s *Server) Duplicates() []Duplicate {
	s.mu.Lock()
	defer s.mu.Unlock()
	byID := map[string]*Duplicate{}
	var order []string
	for _, r := range s.refused {
		d := byID[r.Certificate.ID]
		if d == nil {
			d = &Duplicate{ID: r.Certificate.ID, Times: 1}
			byID[r.Certificate.ID] = d
			order = append(order, r.Certificate.ID)
		}
		d.Times++
		if r.Header.Get("X-Vucelink-Redelivery") != "" {
			d.Redeliveries++
		}
	}
	out := make([]Duplicate, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out
}

// Refused returns the certificates refused because their number had
// already been accepted, oldest first.
func (s *Server) Refused() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.refused...)
}

// Send posts c in format f to url, the way the legacy VUCE's client does,
// and returns the response status and body (at most 1 MiB). To use the
// forward-proxy mode, give a client whose Transport has a Proxy; url then
// names the legacy system's usual destination (the proxy intercepts it).
func Send(ctx context.Context, client *http.Client, url string, f Format, c Certificate) (status int, body []byte, err error) {
	payload, err := f.Encode(c)
	if err != nil {
		return 0, nil, fmt.Errorf("%s legacy VUCE: encoding %s: %w", f.Country(), c.ID, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, fmt.Errorf("%s legacy VUCE: %w", f.Country(), err)
	}
	req.Header.Set("Content-Type", f.ContentType())
	req.Header.Set("Accept", f.ContentType())
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s legacy VUCE: sending %s: %w", f.Country(), c.ID, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("%s legacy VUCE: reading the answer to %s: %w", f.Country(), c.ID, err)
	}
	return resp.StatusCode, body, nil
}
