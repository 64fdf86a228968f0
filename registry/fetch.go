package registry

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/vucelink/vucelink/xmlsafe"
)

// Doer sends an HTTP request: an *http.Client configured for mutual TLS
// with the partners.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Fetcher defaults.
const (
	DefaultInterval = time.Hour
	DefaultMaxBytes = 4 << 20
	DefaultTimeout  = 30 * time.Second
)

// FetcherOptions configure a Fetcher.
type FetcherOptions struct {
	// Client fetches the lists of partners added without a client of
	// their own.
	Client Doer
	// Lists, if set, keeps the last good list of each partner, so that a
	// restarted node — and every replica of one — has its partners'
	// officials before any fetch of its own (the node keeps them in its
	// store). Dir, if set and Lists is not, keeps them as <Dir>/<CC>.xml.
	Lists Lists
	Dir   string
	// Interval between fetches of a partner's list (DefaultInterval);
	// RetryInterval after a failed one (the smaller of Interval and five
	// minutes).
	Interval, RetryInterval time.Duration
	// FollowInterval between two looks of Follow at Lists (the smaller of
	// Interval and a minute).
	FollowInterval time.Duration
	// Timeout bounds one fetch (DefaultTimeout).
	Timeout time.Duration
	// MaxBytes bounds a list document (DefaultMaxBytes).
	MaxBytes int64
	// Logger receives what happens (slog.Default if nil).
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Status is where a partner's list stands, for the console and metrics.
type Status struct {
	Country, URL string
	// Sequence, IssuedAt, NextUpdate and Officials describe the list in
	// force (zero if none).
	Sequence             uint64
	IssuedAt, NextUpdate time.Time
	Officials            int
	// Stale: past NextUpdate plus the grace period, or no list at all.
	Stale bool
	// LastAttempt and LastSuccess are the times of the last fetch and of
	// the last that succeeded (got a list that verified, or "not
	// modified"); LastError is the last fetch's error, "" after a success.
	LastAttempt, LastSuccess time.Time
	LastError                string
}

// Fetcher keeps partners' lists current: it fetches each from its URL on
// a schedule, verifies it and puts it in force in the partner's Registry.
// On any failure the list in force stays, and the error is logged and
// kept in Status.
type Fetcher struct {
	o        FetcherOptions
	mu       sync.Mutex
	partners map[string]*partner
}

type partner struct {
	country string
	url     string
	reg     *Registry
	client  Doer

	mu      sync.Mutex // serializes fetches (and adoptions) of this partner
	etag    string     // of the list in force
	refused [32]byte   // SHA-256 of the last kept list refused (logged once)
	status  Status     // guarded by Fetcher.mu
}

// Lists keeps each partner's last good list: its signed document, as
// fetched and verified. Whatever it returns is verified again before it is
// put in force.
type Lists interface {
	// Load returns the list kept for country, nil if there is none.
	Load(ctx context.Context, country string) ([]byte, error)
	// Save keeps data as country's list.
	Save(ctx context.Context, country string, data []byte) error
}

// DirLists keeps lists in a directory, as <CC>.xml.
type DirLists string

// Load reads dir/<country>.xml (nil if it does not exist).
func (d DirLists) Load(_ context.Context, country string) ([]byte, error) {
	data, err := os.ReadFile(d.path(country))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// Save writes dir/<country>.xml atomically.
func (d DirLists) Save(_ context.Context, country string, data []byte) error {
	return WriteFileAtomic(d.path(country), data, 0o644)
}

func (d DirLists) path(country string) string { return filepath.Join(string(d), country+".xml") }

// NewFetcher returns a Fetcher without partners (Add them).
func NewFetcher(o FetcherOptions) (*Fetcher, error) {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = min(o.Interval, 5*time.Minute)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FollowInterval <= 0 {
		o.FollowInterval = min(o.Interval, time.Minute)
	}
	if o.Lists == nil && o.Dir != "" {
		if err := os.MkdirAll(o.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("officials fetcher: %w", err)
		}
		o.Lists = DirLists(o.Dir)
	}
	return &Fetcher{o: o, partners: map[string]*partner{}}, nil
}

// Add has the fetcher keep reg, a partner's registry, current from rawURL
// (https), fetched with client: one that trusts that partner's CA and
// presents this node's client certificate, like delivery's. A nil client
// means FetcherOptions.Client.
func (f *Fetcher) Add(rawURL string, reg *Registry, client Doer) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("officials of %s: URL %q: must be an https:// URL", reg.Country(), rawURL)
	}
	if client == nil {
		client = f.o.Client
	}
	if client == nil {
		return fmt.Errorf("officials of %s: no HTTP client", reg.Country())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cc := reg.Country()
	if _, dup := f.partners[cc]; dup {
		return fmt.Errorf("officials of %s: added twice", cc)
	}
	f.partners[cc] = &partner{country: cc, url: rawURL, reg: reg, client: client, status: Status{Country: cc, URL: rawURL, Stale: true}}
	return nil
}

func (f *Fetcher) partner(cc string) (*partner, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.partners[cc]
	if !ok {
		return nil, fmt.Errorf("officials: no partner %q", cc)
	}
	return p, nil
}

func (f *Fetcher) all() []*partner {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*partner, 0, len(f.partners))
	for _, p := range f.partners {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].country < out[j].country })
	return out
}

// LoadPersisted puts in force each partner's kept list (Lists), verified
// again as if just fetched. A partner without one is skipped; a list that
// no longer verifies (a root rotated away, say) is reported and left where
// it is for an operator to look at.
func (f *Fetcher) LoadPersisted(ctx context.Context) error {
	if f.o.Lists == nil {
		return nil
	}
	var errs []error
	for _, p := range f.all() {
		p.mu.Lock()
		l, _, err := f.adopt(ctx, p)
		p.mu.Unlock()
		if err != nil {
			f.o.Logger.Error("officials list not loaded", "partner", p.country, "error", err)
			errs = append(errs, err)
			continue
		}
		if l != nil {
			f.o.Logger.Info("officials list loaded", "partner", p.country, "sequence", l.Sequence, "officials", len(l.Officials))
		}
	}
	return errors.Join(errs...)
}

// Follow puts in force, every FollowInterval until ctx ends, the lists
// kept since by another process sharing Lists — the replica holding the
// fetch role, or one an operator asked to fetch now — so a replica that
// does not fetch trusts what the one that does trusts, a revocation
// included, within FollowInterval.
func (f *Fetcher) Follow(ctx context.Context) {
	if f.o.Lists == nil {
		return
	}
	t := time.NewTicker(f.o.FollowInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, p := range f.all() {
			p.mu.Lock()
			l, changed, err := f.adopt(ctx, p)
			p.mu.Unlock()
			if changed {
				f.o.Logger.Info("officials list taken from the store (fetched by another replica)", "partner", p.country,
					"sequence", l.Sequence, "officials", len(l.Officials))
			}
			if err != nil && ctx.Err() == nil {
				f.o.Logger.Warn("officials list kept by another replica not taken", "partner", p.country, "error", err)
			}
		}
	}
}

// adopt puts p's kept list in force if it is not already (p.mu held): l is
// the list in force after it, nil if none. A kept list refused once is not
// reported again until it changes.
func (f *Fetcher) adopt(ctx context.Context, p *partner) (l *List, changed bool, err error) {
	data, err := f.o.Lists.Load(ctx, p.country)
	if err != nil || data == nil {
		if err != nil {
			err = fmt.Errorf("officials of %s: kept list: %w", p.country, err)
		}
		return p.reg.List(), false, err
	}
	l, changed, err = p.reg.Accept(data)
	if err != nil {
		sum := sha256.Sum256(data)
		if sum == p.refused {
			return p.reg.List(), false, nil
		}
		p.refused = sum
		return p.reg.List(), false, fmt.Errorf("officials of %s: kept list: %w", p.country, err)
	}
	if changed {
		// Its ETag is another process's business: the next fetch asks
		// without one.
		p.etag = ""
		f.update(p, nil, false)
	}
	return l, changed, nil
}

// FetchAll fetches every partner's list, concurrently, and returns the
// errors joined.
func (f *Fetcher) FetchAll(ctx context.Context) error {
	ps := f.all()
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { errs[i] = f.fetch(ctx, p) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Fetch fetches, verifies and puts in force partner cc's list now.
func (f *Fetcher) Fetch(ctx context.Context, cc string) error {
	p, err := f.partner(cc)
	if err != nil {
		return err
	}
	return f.fetch(ctx, p)
}

// Run fetches every partner's list at once, then on schedule, until ctx
// is done.
func (f *Fetcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range f.all() {
		wg.Go(func() {
			t := time.NewTimer(0)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				wait := f.o.Interval
				if err := f.fetch(ctx, p); err != nil {
					wait = f.o.RetryInterval
				}
				t.Reset(wait)
			}
		})
	}
	wg.Wait()
}

// Status returns every partner's status, by country.
func (f *Fetcher) Status() []Status {
	ps := f.all()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Status, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.status)
	}
	return out
}

func (f *Fetcher) fetch(ctx context.Context, p *partner) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	log := f.o.Logger.With("partner", p.country, "url", p.url)
	if f.o.Lists != nil {
		// What another replica kept is the floor: a slower fetch of an
		// older list must not replace it.
		if _, _, err := f.adopt(ctx, p); err != nil && ctx.Err() == nil {
			log.Warn("officials list kept by another replica not taken", "error", err)
		}
	}
	l, changed, err := f.get(ctx, p)
	if err != nil && ctx.Err() != nil {
		// Shutting down: not a failure of the partner's.
		return fmt.Errorf("officials of %s: %w", p.country, err)
	}
	if err != nil {
		err = fmt.Errorf("officials of %s: %w", p.country, err)
		if cur := p.reg.List(); cur != nil {
			log.Error("officials list fetch failed; keeping the list in force", "error", err, "sequence", cur.Sequence)
		} else {
			log.Error("officials list fetch failed; no list in force", "error", err)
		}
		f.update(p, err, true)
		return err
	}
	if changed {
		log.Info("officials list accepted", "sequence", l.Sequence, "officials", len(l.Officials), "next_update", l.NextUpdate)
		if f.o.Lists != nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.o.Timeout)
			perr := f.o.Lists.Save(sctx, p.country, p.reg.Bytes())
			cancel()
			if perr != nil {
				log.Error("officials list not kept: a restart (or another replica) will fetch it again", "error", perr)
			}
		}
	}
	if p.reg.Stale() {
		log.Warn("officials list is stale: past its next update, still in force", "sequence", l.Sequence, "next_update", l.NextUpdate)
	}
	f.update(p, nil, true)
	return nil
}

// get fetches and accepts; l is the list in force after it.
func (f *Fetcher) get(ctx context.Context, p *partner) (l *List, changed bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, f.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Accept", "application/xml")
	cur := p.reg.List()
	if cur != nil && p.etag != "" {
		req.Header.Set("If-None-Match", p.etag)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && cur != nil:
		return cur, false, nil
	case resp.StatusCode != http.StatusOK:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, false, fmt.Errorf("GET %s: HTTP %s", p.url, resp.Status)
	}
	data, err := xmlsafe.ReadAll(resp.Body, xmlsafe.Limits{MaxBytes: f.o.MaxBytes})
	if err != nil {
		return nil, false, fmt.Errorf("GET %s: %w", p.url, err)
	}
	l, changed, err = p.reg.Accept(data)
	if err != nil {
		return nil, false, err
	}
	p.etag = resp.Header.Get("ETag")
	return l, changed, nil
}

// update records an attempt's outcome (fetched: a fetch, not a load).
func (f *Fetcher) update(p *partner, err error, fetched bool) {
	now := f.o.Now()
	l := p.reg.List()
	stale := p.reg.Stale()
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &p.status
	if l != nil {
		s.Sequence, s.IssuedAt, s.NextUpdate, s.Officials = l.Sequence, l.IssuedAt, l.NextUpdate, len(l.Officials)
	}
	s.Stale = stale
	if !fetched {
		return
	}
	s.LastAttempt = now
	if err != nil {
		s.LastError = err.Error()
		return
	}
	s.LastSuccess, s.LastError = now, ""
}
