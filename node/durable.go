package node

// The durable side of a node: the store (SQLite for one process,
// PostgreSQL for replicas), the outbox on it, the actions people take, and
// the background work — some of which only one replica may do at a time.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/api"
	"github.com/vucelink/vucelink/callback"
	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/console"
	"github.com/vucelink/vucelink/health"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/notify"
	"github.com/vucelink/vucelink/ops"
	"github.com/vucelink/vucelink/outbox"
	"github.com/vucelink/vucelink/registry"
	"github.com/vucelink/vucelink/statusmsg"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/wire"
)

// openStore opens the store and builds on it the outbox, notifications,
// the officials fetcher, the actions, the API and the console. It runs at
// Start, not New, so that validating a configuration creates no files.
func (n *Node) openStore() error {
	cfg := n.Config
	st, err := openStore(cfg.Store, n)
	if err != nil {
		return err
	}
	partners := cfg.PartnerCodes() // partner nodes and hub countries
	n.Store = st
	if n.hub != nil {
		// Before the outbox exists: its workers read the deliverer.
		n.hub.deliverer.Records = st
	}
	n.Outbox = outbox.New(cfg.Node.Country, st, n.deliverer, outbox.Options{
		Partners: partners, Concurrency: cfg.Outbox.Concurrency, Lease: cfg.Outbox.Lease,
		BackoffMin: cfg.Outbox.BackoffMin, BackoffMax: cfg.Outbox.BackoffMax, GiveUpAfter: cfg.Outbox.GiveUpAfter,
	}, n.recorder, n.logger.With("component", "outbox"))
	n.Outbound.Queue = queue{st, n.Outbox}
	n.Inbound.Ledger = st
	fail := func(err error) error { st.Close(); return err }
	if err := n.buildNotifier(st); err != nil {
		return fail(err)
	}
	if err := n.buildFetcher(st); err != nil {
		return fail(err)
	}
	n.ops = &ops.Service{Store: st, Messages: statusMessages{country: cfg.Node.Country, signers: n.signers}, Waker: n.Outbox, Partners: partners}
	n.api = &api.Handler{Store: st, Ops: n.ops, Partners: partners, Hub: n.hubAPIStatus(st)}
	if len(cfg.Console.Users) > 0 {
		users := make([]console.User, len(cfg.Console.Users))
		for i, u := range cfg.Console.Users {
			users[i] = console.User{Name: u.Name, Role: console.Role(u.Role), PasswordHash: []byte(u.PasswordHash)}
		}
		clients, err := access.NewClientAddr("console.trusted_proxies", cfg.Console.TrustedProxies)
		if err != nil {
			return fail(err)
		}
		c, err := console.New(console.Options{
			ClientAddr: clients.Of,
			Country:    cfg.Node.Country, Partners: partners, Users: users, Store: st, Ops: n.ops,
			Sessions:      st, // any replica serves a logged-in operator
			Expiry:        n.expiry,
			Health:        n.partnerHealth,
			ExpiryWarning: cfg.Console.ExpiryWarning, SessionIdle: cfg.Console.SessionIdle, SessionMax: cfg.Console.SessionMax,
			InsecureCookies: cfg.Console.InsecureCookies, Logger: n.logger.With("component", "console"),
			Hub: n.hubConsoleStatus(st), // node/hub.go
		})
		if err != nil {
			return fail(err)
		}
		n.console = c
	}
	n.metrics.WatchBacklog(st)
	return nil
}

// openStore opens the configured store. A SQLite store is this process's
// alone, so leases left in it are from a process that no longer runs; a
// PostgreSQL store's leases may be other replicas' and are left to expire.
func openStore(c config.Store, n *Node) (store.Store, error) {
	ctx := context.Background()
	if c.Driver == "postgres" {
		st, err := store.OpenPostgres(ctx, c.DSN, n.logger.With("component", "store"))
		if err != nil {
			return nil, fmt.Errorf("store.dsn: %w", err)
		}
		return st, nil
	}
	st, err := store.OpenSQLite(ctx, c.Path)
	if err != nil {
		return nil, fmt.Errorf("store.path: %w", err)
	}
	if err := st.ReleaseLeases(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("store.path: %w", err)
	}
	return st, nil
}

// buildNotifier starts notifications if configured. The queue is a table
// in the store's database, shared by every replica; only the replica
// holding the "notify" role sends (runBackground).
func (n *Node) buildNotifier(st store.Store) error {
	cfg := n.Config
	nc := cfg.Notify
	if nc.SMTP.Host == "" && len(nc.Webhooks) == 0 {
		return nil
	}
	db, ok := st.(interface{ DB() *sql.DB })
	if !ok {
		return fmt.Errorf("notify: store.driver %s keeps no SQL database for the queue", cfg.Store.Driver)
	}
	partnerOps := map[string][]string{}
	for cc, p := range cfg.Partners {
		partnerOps[cc] = p.Operators
	}
	hubOperators(cfg, partnerOps) // node/hub.go
	nt, err := notify.New(db.DB(), notify.Options{
		Country: cfg.Node.Country, ConsoleURL: nc.ConsoleURL, Operators: nc.Operators, PartnerOperators: partnerOps,
		SMTP: notify.SMTP{Host: nc.SMTP.Host, Port: nc.SMTP.Port, Username: nc.SMTP.Username, Password: nc.SMTP.Password,
			Auth: nc.SMTP.Auth, From: nc.SMTP.From, TLS: nc.SMTP.TLS, Timeout: nc.SMTP.Timeout},
		Webhooks: nc.Webhooks, MaxPerHour: nc.MaxPerHour, ExpiryWarning: cfg.Console.ExpiryWarning,
		Logger: n.logger.With("component", "notify"),
	})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	n.notifier = nt
	// Each replica tracks its own deliveries' health, and so dates a
	// partner's trouble episode (the message's key) a little differently:
	// only the replica holding the notify role tells people, or every
	// replica would send its own message of the same outage.
	n.health.Subscribe(func(c health.Change) {
		if n.notifying.Load() {
			nt.PartnerChanged(c)
		}
	})
	n.rules.alertTo(nt) // a refused change to rules_dir is e-mailed to the operators
	return nil
}

// buildFetcher sets up the fetching of partners' officials lists, whose
// last good version each is kept in the store: every replica trusts what
// the one holding the fetch role fetched.
func (n *Node) buildFetcher(st store.Store) error {
	if len(n.registries) == 0 {
		return nil
	}
	cfg := n.Config
	f, err := registry.NewFetcher(registry.FetcherOptions{Lists: officialsLists{st: st, dir: cfg.Officials.CacheDir},
		Interval: cfg.Officials.FetchInterval, Logger: n.logger.With("component", "officials")})
	if err != nil {
		return fmt.Errorf("officials: %w", err)
	}
	for _, r := range n.registries {
		if err := f.Add(r.url, r.reg, r.client); err != nil {
			return fmt.Errorf("partners.%s.officials_url: %w", r.country, err)
		}
	}
	// A list that no longer verifies is logged and left for an
	// operator; the node still starts, on the configured officials.
	f.LoadPersisted(context.Background())
	n.fetcher = f
	return nil
}

// officialsKind is the kind of the store's records that are partners'
// officials lists, keyed by country.
const officialsKind = "officials-list"

// officialsLists keeps partners' officials lists in the store
// (registry.Lists). A list an earlier release kept as a file in
// officials.cache_dir is taken from there, and into the store, while the
// store has none for that partner; nothing is written there any more.
type officialsLists struct {
	st  store.Store
	dir string
}

func (l officialsLists) Load(ctx context.Context, country string) ([]byte, error) {
	data, err := l.st.Value(ctx, officialsKind, country)
	if !errors.Is(err, store.ErrNotFound) || l.dir == "" {
		return data, err
	}
	data, err = registry.DirLists(l.dir).Load(ctx, country)
	if err != nil || data == nil {
		return nil, err
	}
	// Verified before it is put in force, like any kept list.
	return data, l.Save(ctx, country, data)
}

func (l officialsLists) Save(ctx context.Context, country string, data []byte) error {
	return l.st.Put(ctx, officialsKind, country, data, time.Time{})
}

// runBackground runs the outbox and everything else in the background
// until ctx ends. The outbox runs in every replica (claims keep them
// apart); callbacks (their order), notifications, the officials fetch and
// the expiry watch are roles one replica holds at a time (store.Singleton:
// an advisory lock with PostgreSQL), taken over when it dies.
func (n *Node) runBackground(ctx context.Context) {
	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	role := func(name string, f func(context.Context)) {
		run(func(ctx context.Context) { n.Store.Singleton(ctx, name, f) })
	}
	run(n.Outbox.Run)
	client := &http.Client{Timeout: n.Config.Legacy.Timeout, Transport: &http.Transport{Proxy: nil}}
	callbackRole := func(name, url, docType, direction string) {
		d := &callback.Dispatcher{Name: name, URL: url, Feed: n.Store, Client: client,
			Logger: n.logger.With("component", "callback"),
			Match:  func(e store.Event) bool { return e.Type == docType && e.Direction == direction }}
		role("callback:"+name, d.Run)
	}
	for _, r := range n.Config.Routes {
		if r.Callback != nil {
			callbackRole("route:"+r.Name, r.Callback.URL, r.Document, store.Outbound)
		}
	}
	for _, in := range n.Config.Legacy.Inbound {
		if in.Callback != nil {
			callbackRole("inbound:"+in.Document, in.Callback.URL, in.Document, store.Inbound)
		}
	}
	if n.fetcher != nil {
		role("officials-fetch", n.fetcher.Run)
		run(n.fetcher.Follow) // every replica: what the fetching one kept
	}
	if nt := n.notifier; nt != nil {
		role("notify", func(ctx context.Context) {
			n.notifying.Store(true)
			defer n.notifying.Store(false)
			var inner sync.WaitGroup
			inner.Add(1)
			go func() { defer inner.Done(); nt.Run(ctx) }()
			nt.Watch(ctx, n.Store)
			inner.Wait()
		})
	}
	role("expiry-watch", func(ctx context.Context) { n.watchExpiry(ctx, n.notifier) })
	n.startHub(ctx, role)
	run(func(ctx context.Context) { n.rules.watch(ctx, 2*time.Second) })
	run(func(ctx context.Context) {
		// Intermittent partners become reachable after a quiet window even
		// when nothing is sent to them.
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				n.health.Tick()
			}
		}
	})
	wg.Wait()
}

// queue commits documents to the store and wakes the partner's workers.
type queue struct {
	st store.Store
	ob *outbox.Outbox
}

func (q queue) Enqueue(ctx context.Context, d *store.Document) (*store.Document, error) {
	existing, err := q.st.Add(ctx, d, "legacy", "accepted from the legacy VUCE")
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return existing, nil
	}
	q.ob.Notify(d.Partner)
	return d, nil
}

func (q queue) Wait(trackingID string) (<-chan *store.Document, func()) { return q.ob.Wait(trackingID) }

// statusMessages writes the signed status message that tells a partner
// of a change made here (ops.Messages); ops commits it with the change.
type statusMessages struct {
	country string
	signers map[string]*signer
}

func (m statusMessages) StatusMessage(d *store.Document, to lifecycle.State, reason, replacedBy string, at time.Time) (*store.Document, error) {
	signer, ok := m.signers[d.Type]
	if !ok {
		return nil, fmt.Errorf("no signing official configured for %s", d.Type)
	}
	msg := &statusmsg.Message{DocumentType: d.Type, DocumentID: d.DocumentID, TrackingID: d.TrackingID, State: to, Reason: reason, Time: at, ReplacedBy: replacedBy}
	doc := msg.Element()
	signed, err := signer.SignElement(doc.Root())
	if err != nil {
		return nil, err
	}
	doc.SetRoot(signed)
	body, err := doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	return &store.Document{
		TrackingID: wire.NewTrackingID(m.country, at), Direction: store.Outbound, Partner: d.Partner,
		Type: statusmsg.Type, DocumentID: msg.ID(), Digest: wire.Digest(body), State: lifecycle.Accepted, Body: body,
		NextTry: at, Created: at,
	}, nil
}
