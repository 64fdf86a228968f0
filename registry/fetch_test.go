package registry

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/xmlsafe"
)

// listServer is CL's node as far as its list goes: Handler over the file
// publish writes, on a real HTTPS listener that requires MX's client
// certificate. It counts conditional requests answered "not modified".
type listServer struct {
	srv         *httptest.Server
	file        string
	mu          sync.Mutex
	notModified int
}

func newListServer(t *testing.T, p *pki, file string) *listServer {
	t.Helper()
	ls := &listServer{file: file}
	h := NewHandler(file, slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	mux.HandleFunc(Path, func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code == http.StatusNotModified {
			ls.mu.Lock()
			ls.notModified++
			ls.mu.Unlock()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
	serverTLS, _ := p.mTLS()
	ls.srv = httptest.NewUnstartedServer(mux)
	ls.srv.TLS = serverTLS
	ls.srv.StartTLS()
	t.Cleanup(ls.srv.Close)
	return ls
}

func (ls *listServer) url() string { return ls.srv.URL + Path }

func (ls *listServer) serve(t *testing.T, data []byte) {
	t.Helper()
	if err := WriteFileAtomic(ls.file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mxClient(t *testing.T, p *pki) *http.Client {
	_, clientTLS := p.mTLS()
	tr := &http.Transport{TLSClientConfig: clientTLS}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// The whole path: CL publishes, MX fetches over mutual TLS and verifies;
// CL revokes and republishes, MX refuses the official's next document;
// every bad list (tampered, another country's root, rolled back) and an
// unreachable CL leave MX with its last good list; a restart of MX keeps
// it from disk.
func TestFetch_EndToEnd(t *testing.T) {
	p := newPKI(t)
	clDir, mxDir := t.TempDir(), t.TempDir()
	src := p.clSource(t, clDir)
	published := filepath.Join(clDir, "officials.xml")
	ls := newListServer(t, p, published)
	v1 := p.publish(t, src)
	ls.serve(t, v1)

	persist := filepath.Join(mxDir, "officials")
	newMX := func() (*Registry, *Fetcher) {
		t.Helper()
		reg, err := New("CL", []*x509.Certificate{p.cl.Cert}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		f, err := NewFetcher(FetcherOptions{Client: mxClient(t, p), Dir: persist, Logger: slog.New(slog.DiscardHandler), Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Add(ls.url(), reg, nil); err != nil {
			t.Fatal(err)
		}
		return reg, f
	}
	reg, f := newMX()
	ctx := context.Background()
	status := func() Status {
		t.Helper()
		st := f.Status()
		if len(st) != 1 || st[0].Country != "CL" || st[0].URL != ls.url() {
			t.Fatalf("status %+v", st)
		}
		return st[0]
	}

	// 1. Fetched, verified, in force: Ana may sign an SPS certificate.
	if err := f.FetchAll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := reg.Authorize(p.ana.Cert, "sps", time.Now()); err != nil {
		t.Fatal(err)
	}
	if st := status(); st.Sequence != 1 || st.Officials != 2 || st.LastError != "" || st.LastSuccess.IsZero() || st.Stale {
		t.Errorf("after the first fetch: %+v", st)
	}
	// Fetched again unchanged: a conditional request, answered 304.
	if err := f.Fetch(ctx, "CL"); err != nil {
		t.Fatal(err)
	}
	if ls.notModified != 1 {
		t.Errorf("%d answers 304, want 1", ls.notModified)
	}

	// 2. CL revokes Ana and republishes: MX refuses her next document.
	revokedAt := time.Now().Add(-time.Second)
	if _, err := src.Revoke("CL-SAG-1", nil, revokedAt, "key compromise"); err != nil {
		t.Fatal(err)
	}
	v2 := p.publish(t, src)
	ls.serve(t, v2)
	if err := f.Fetch(ctx, "CL"); err != nil {
		t.Fatal(err)
	}
	err := reg.Authorize(p.ana.Cert, "sps", time.Now())
	if !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), "key compromise") {
		t.Fatalf("after revocation: %v", err)
	}
	if err := reg.Authorize(p.jorge.Cert, "sps", time.Now()); err != nil {
		t.Errorf("Jorge after Ana's revocation: %v", err)
	}
	lastGood := status().LastSuccess

	// 3. Every bad list is refused, and the last good one stays in force.
	cut := bytes.Index(v2, []byte("<ds:Signature"))
	unsigned := append(v2[:cut:cut], "</OfficialsList>"...)
	mxSigned, err := p.mxSigner.Sign(bytes.Replace(unsigned, []byte("<Sequence>2<"), []byte("<Sequence>9<"), 1))
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		data []byte
		want error
	}{
		{"tampered", bytes.Replace(v2, []byte("<Name>Ana Pérez Soto"), []byte("<Name>Ana Perez Soto"), 1), certs.ErrBadSignature},
		{"signed by another country's root", mxSigned, certs.ErrUntrustedSigner},
		{"rolled back", v1, ErrRollback},
	}
	for _, tt := range bad {
		ls.serve(t, tt.data)
		err := f.Fetch(ctx, "CL")
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		st := status()
		if st.Sequence != 2 || !errors.Is(reg.Authorize(p.ana.Cert, "sps", time.Now()), ErrRevoked) {
			t.Errorf("%s: the last good list is not in force: %+v", tt.name, st)
		}
		if st.LastError == "" || !st.LastSuccess.Equal(lastGood) || st.LastAttempt.Before(lastGood) {
			t.Errorf("%s: status %+v", tt.name, st)
		}
	}

	// 4. CL unreachable: still the last good list.
	ls.serve(t, v2)
	if err := f.Fetch(ctx, "CL"); err != nil {
		t.Fatal(err)
	}
	ls.srv.Close()
	if err := f.Fetch(ctx, "CL"); err == nil {
		t.Fatal("fetched from a stopped server")
	}
	if st := status(); st.Sequence != 2 || st.LastError == "" {
		t.Errorf("server stopped: %+v", st)
	}

	// 5. MX restarts: the persisted list is in force before any fetch, and
	// still a floor against rollback.
	reg2, f2 := newMX()
	if err := reg2.Authorize(p.jorge.Cert, "sps", time.Now()); !errors.Is(err, ErrNoList) {
		t.Fatalf("before loading: %v", err)
	}
	if err := f2.LoadPersisted(ctx); err != nil {
		t.Fatal(err)
	}
	if err := reg2.Authorize(p.jorge.Cert, "sps", time.Now()); err != nil {
		t.Errorf("Jorge after restart: %v", err)
	}
	if err := reg2.Authorize(p.ana.Cert, "sps", time.Now()); !errors.Is(err, ErrRevoked) {
		t.Errorf("Ana after restart: %v", err)
	}
	if st := f2.Status(); st[0].Sequence != 2 || !st[0].LastAttempt.IsZero() {
		t.Errorf("status after restart: %+v", st)
	}
	if _, _, err := reg2.Accept(v1); !errors.Is(err, ErrRollback) {
		t.Errorf("rollback after restart: %v", err)
	}

	// A persisted list that no longer verifies is reported, not trusted.
	if err := os.WriteFile(filepath.Join(persist, "CL.xml"), bytes.Replace(v2, []byte("Jorge Soto"), []byte("Jorge Sotx"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	reg3, f3 := newMX()
	if err := f3.LoadPersisted(ctx); !errors.Is(err, certs.ErrBadSignature) {
		t.Errorf("tampered persisted list: %v", err)
	}
	if reg3.List() != nil {
		t.Error("a tampered persisted list is in force")
	}
}

// Run fetches at once and then on schedule, and stops with its context.
func TestFetcher_Run(t *testing.T) {
	p := newPKI(t)
	clDir := t.TempDir()
	src := p.clSource(t, clDir)
	ls := newListServer(t, p, filepath.Join(clDir, "officials.xml"))
	ls.serve(t, p.publish(t, src))
	reg, err := New("CL", []*x509.Certificate{p.cl.Cert}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFetcher(FetcherOptions{Client: mxClient(t, p), Interval: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Add(ls.url(), reg, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v", what, f.Status())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("the first list", func() bool { l := reg.List(); return l != nil && l.Sequence == 1 })
	if _, err := src.Revoke("CL-SAG-2", nil, time.Now(), "retired"); err != nil {
		t.Fatal(err)
	}
	ls.serve(t, p.publish(t, src))
	waitFor("the second list", func() bool { return reg.List().Sequence == 2 })
	if err := reg.Authorize(p.jorge.Cert, "sps", time.Now()); !errors.Is(err, ErrRevoked) {
		t.Errorf("after the scheduled fetch: %v", err)
	}
}

func TestFetch_Limits(t *testing.T) {
	p := newPKI(t)
	huge := bytes.Repeat([]byte("<a/>"), 1024)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
			return
		case "/maintenance":
			w.Write([]byte("<html>maintenance</html>"))
			return
		}
		w.Write(huge)
	}))
	defer srv.Close()
	f, err := NewFetcher(FetcherOptions{Client: srv.Client(), MaxBytes: 1024, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := New("CL", []*x509.Certificate{p.cl.Cert}, Options{})
	if err := f.Add(srv.URL+"/officials.xml", reg, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Fetch(context.Background(), "CL"); !errors.Is(err, xmlsafe.ErrTooLarge) {
		t.Errorf("oversized list: %v", err)
	}
	reg2, _ := New("PE", []*x509.Certificate{p.cl.Cert}, Options{})
	if err := f.Add(srv.URL+"/missing", reg2, srv.Client()); err != nil {
		t.Fatal(err)
	}
	if err := f.Fetch(context.Background(), "PE"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
	reg4, _ := New("AR", []*x509.Certificate{p.cl.Cert}, Options{})
	if err := f.Add(srv.URL+"/maintenance", reg4, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Fetch(context.Background(), "AR"); !errors.Is(err, ErrInvalidList) {
		t.Errorf("not a list: %v", err)
	}
	if st := f.Status(); len(st) != 3 || st[0].Country != "AR" || st[0].LastError == "" || !st[0].Stale {
		t.Errorf("status: %+v", st)
	}
	reg3, _ := New("CO", []*x509.Certificate{p.cl.Cert}, Options{})
	if err := f.Add("http://127.0.0.1/officials.xml", reg3, nil); err == nil {
		t.Error("accepted a plain http:// URL")
	}
	if err := f.Add(srv.URL+"/again", reg, nil); err == nil {
		t.Error("accepted a partner twice")
	}
	noClient, err := NewFetcher(FetcherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := noClient.Add(srv.URL, reg, nil); err == nil || !strings.Contains(err.Error(), "no HTTP client") {
		t.Errorf("no client: %v", err)
	}
	// A canceled context stops the fetch.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Fetch(ctx, "CL"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

func TestHandler(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "officials.xml")
	h := NewHandler(file, slog.New(slog.DiscardHandler))
	get := func(method string, header ...string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, Path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := get("GET"); w.Code != http.StatusServiceUnavailable {
		t.Errorf("no file yet: %d", w.Code)
	}
	src := p.clSource(t, dir)
	v1 := p.publish(t, src)
	if err := WriteFileAtomic(file, v1, 0o644); err != nil {
		t.Fatal(err)
	}
	w := get("GET")
	if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), v1) || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/xml") {
		t.Fatalf("GET: %d %q", w.Code, w.Header())
	}
	etag := w.Header().Get("ETag")
	if w := get("GET", "If-None-Match", etag); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", w.Code)
	}
	if w := get("HEAD"); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("HEAD: %d, %d bytes", w.Code, w.Body.Len())
	}
	if w := get("POST"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
	// A file that is not a list is not served: the previous one is.
	if err := WriteFileAtomic(file, []byte("<half"), 0o644); err != nil {
		t.Fatal(err)
	}
	if w := get("GET"); !bytes.Equal(w.Body.Bytes(), v1) {
		t.Errorf("after a bad file: %q", w.Body.String())
	}
	// A new list, same size or not, is served at once.
	v2 := p.publish(t, src)
	if err := WriteFileAtomic(file, v2, 0o644); err != nil {
		t.Fatal(err)
	}
	w = get("GET")
	if !bytes.Equal(w.Body.Bytes(), v2) || w.Header().Get("ETag") == etag {
		t.Errorf("after republishing: %d bytes, etag %s", w.Body.Len(), w.Header().Get("ETag"))
	}
	if _, err := io.Copy(io.Discard, w.Body); err != nil {
		t.Fatal(err)
	}
}
