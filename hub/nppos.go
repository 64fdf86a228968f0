package hub

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vucelink/vucelink/store"
)

// Records keeps small durable records beside the documents (store.Store
// implements it): envelope IDs of what was handed to the hub, the last
// good list of NPPOs.
type Records interface {
	Put(ctx context.Context, kind, key string, value []byte, expires time.Time) error
	Value(ctx context.Context, kind, key string) ([]byte, error)
}

const (
	kindNPPOs    = "hub-nppos"
	kindEnvelope = "hub-envelope"
)

func parseCertificate(s string) (*x509.Certificate, error) {
	s = strings.TrimSpace(s)
	if b, _ := pem.Decode([]byte(s)); b != nil {
		return x509.ParseCertificate(b.Bytes)
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// Directory is the hub's list of active NPPOs and their signing
// certificates (GetActiveNppos), fetched on an interval like a partner's
// officials list: the last good list stays in force (and in the store, so
// a restarted node trusts what it trusted) when a fetch fails or answers
// something unusable.
type Directory struct {
	Client  *Client
	Records Records
	// Roots are configured trust anchors per country (hub.trust): a
	// signer chaining to one is trusted even before (or without) the
	// hub's list naming its certificate.
	Roots  map[string][]*x509.Certificate
	Logger *slog.Logger

	mu      sync.RWMutex
	certs   map[string][]*x509.Certificate
	fetched time.Time
	lastErr error
}

type storedList struct {
	Fetched time.Time           `json:"fetched"`
	Certs   map[string][]string `json:"certificates"` // country → base64 DER
}

// Load reads the last good list from the store.
func (d *Directory) Load(ctx context.Context) error {
	b, err := d.Records.Value(ctx, kindNPPOs, "list")
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || b == nil {
		return err
	}
	var s storedList
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("stored NPPO list: %w", err)
	}
	m := map[string][]*x509.Certificate{}
	for cc, list := range s.Certs {
		for _, c := range list {
			if x, err := parseCertificate(c); err == nil {
				m[cc] = append(m[cc], x)
			}
		}
	}
	d.mu.Lock()
	d.certs, d.fetched = m, s.Fetched
	d.mu.Unlock()
	return nil
}

// Refresh fetches the list now. A failure leaves the list in force.
func (d *Directory) Refresh(ctx context.Context) error {
	list, err := d.Client.GetActiveNppos(ctx)
	if err == nil && len(list) == 0 {
		err = errors.New("GetActiveNppos: the hub listed no NPPO; keeping the last good list")
	}
	if err != nil {
		d.mu.Lock()
		d.lastErr = err
		d.mu.Unlock()
		return err
	}
	m := map[string][]*x509.Certificate{}
	s := storedList{Fetched: time.Now().UTC(), Certs: map[string][]string{}}
	for _, n := range list {
		for _, c := range n.Certificates {
			m[n.Country] = append(m[n.Country], c)
			s.Certs[n.Country] = append(s.Certs[n.Country], base64.StdEncoding.EncodeToString(c.Raw))
		}
	}
	b, _ := json.Marshal(s)
	if err := d.Records.Put(ctx, kindNPPOs, "list", b, time.Time{}); err != nil {
		return fmt.Errorf("keeping the NPPO list: %w", err)
	}
	d.mu.Lock()
	d.certs, d.fetched, d.lastErr = m, s.Fetched, nil
	d.mu.Unlock()
	return nil
}

// Run refreshes the list every interval until ctx ends.
func (d *Directory) Run(ctx context.Context, interval time.Duration) {
	for {
		if err := d.Refresh(ctx); err != nil && ctx.Err() == nil && d.Logger != nil {
			d.Logger.Warn("hub NPPO list not refreshed; the last good list stays in force", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// Trust returns what a certificate from country may chain to: the hub's
// published certificates of that NPPO and the configured roots. Nil when
// there is neither.
func (d *Directory) Trust(country string) *x509.CertPool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if len(d.certs[country]) == 0 && len(d.Roots[country]) == 0 {
		return nil
	}
	pool := x509.NewCertPool()
	for _, c := range d.certs[country] {
		pool.AddCert(c)
	}
	for _, c := range d.Roots[country] {
		pool.AddCert(c)
	}
	return pool
}

// Status says when the list was last fetched and the last error since.
func (d *Directory) Status() (fetched time.Time, countries int, err error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.fetched, len(d.certs), d.lastErr
}
