package legacysim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	_ "time/tzdata" // the formats use American zones
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// Received is one request a simulated legacy VUCE got.
type Received struct {
	Time        time.Time
	Path        string
	Header      http.Header
	Body        []byte
	Certificate Certificate
	Err         error // decoding error, if the body was not valid in the native format
}

// Server is a simulated legacy VUCE's receiving side.
type Server struct {
	country string
	format  Format
	mu      sync.Mutex
	got     []Received
}

// NewServer returns the receiving side of country's legacy VUCE.
func NewServer(country string) *Server {
	f, err := FormatFor(country)
	if err != nil {
		panic(err)
	}
	return &Server{country: country, format: f}
}

// ServeHTTP accepts certificates on InboundPath in the native format.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != InboundPath(s.country) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec := Received{Time: time.Now(), Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	rec.Certificate, rec.Err = s.format.Decode(body)
	s.mu.Lock()
	s.got = append(s.got, rec)
	s.mu.Unlock()
	if rec.Err != nil {
		http.Error(w, fmt.Sprintf("documento no válido: %v", rec.Err), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"recibido":true,"certificado":%q}`, rec.Certificate.ID)
}

// Received returns a copy of everything received so far.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.got...)
}

// Reset forgets what was received.
func (s *Server) Reset() {
	s.mu.Lock()
	s.got = nil
	s.mu.Unlock()
}

// Send posts a certificate in a native format to url, the way the legacy
// VUCE's client does. The client may be configured with a proxy (the
// forward side).
func Send(ctx context.Context, client *http.Client, url string, f Format, c Certificate) (int, []byte, error) {
	body, err := f.Encode(c)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", f.ContentType())
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}
