// Package notify tells people when something needs their attention: a
// document given up (to the operators of both countries and, separately,
// to the exporter), a partner node unreachable, flapping or recovered, an
// inbound document received with errors, a certificate about to expire.
//
// Messages are bilingual (Spanish first, then English), rendered from
// embedded templates when they are queued, and kept in a durable queue —
// a table in the node's own store, SQLite or PostgreSQL — until they are
// sent, so a restart or an SMTP outage loses none. Every message has a dedup key
// derived from what it is about (the transition of the audit trail, the
// partner's trouble episode, the certificate and the warning threshold);
// queueing the same key again does nothing, which makes every producer
// safe to repeat: the audit-trail watcher after a crash, the health
// tracker during an outage, the certificate check every hour.
//
// Delivery is at least once: a message is marked sent after the SMTP
// server (or webhook) accepted it, so a crash in between sends it again,
// with the same Message-ID (derived from the key) for mail systems that
// drop repeats. Failed sends are retried with jittered exponential
// backoff, for up to GiveUpAfter. Webhooks receive every event as JSON
// (type Event), one queued row per URL, retried the same way.
//
// Rate limit: at most MaxPerHour emails reach one recipient address in
// any sliding hour. A message over the limit is not dropped: it waits in
// the queue until the oldest of that hour's messages is an hour old. A
// message with several recipients waits for the busiest of them.
//
// One Run (sender) and one Watch (audit-trail reader) per database: with
// replicas on PostgreSQL, the replica holding the node's "notify" role
// (store.Singleton). Any replica may queue (Notify): the dedup key makes
// the replicas' repeats one message.
package notify

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// Options configure a Notifier. Zero values take the defaults in
// parentheses.
type Options struct {
	Country          string              // this node, e.g. "CL": named in every subject
	ConsoleURL       string              // the node's console base URL; documents link to <ConsoleURL>/console/documents/<tracking id>
	Operators        []string            // this node's operators
	PartnerOperators map[string][]string // each partner country's operators, by country code
	SMTP             SMTP                // email is off while SMTP.Host is empty
	Webhooks         []string            // URLs that get every event as JSON
	MaxPerHour       int                 // emails per recipient address in any sliding hour (20)
	ExpiryWarning    time.Duration       // first warning before a certificate expires (30 days)
	PollInterval     time.Duration       // longest idle wait of Run and Watch (1 s)
	BackoffMin       time.Duration       // first wait after a failed send (30 s)
	BackoffMax       time.Duration       // longest wait between sends (30 min)
	GiveUpAfter      time.Duration       // a message this old is no longer retried (7 days)
	MaxEventAge      time.Duration       // audit-trail events older than this are not notified (24 h)
	HTTPClient       *http.Client        // for webhooks (15 s timeout)
	Now              func() time.Time    // the clock (time.Now)
	Logger           *slog.Logger
}

// SMTP is the mail server messages are sent through.
type SMTP struct {
	Host     string
	Port     int    // default by TLS: 587 (starttls), 465 (tls), 25 (none)
	Username string // authenticate when set
	Password string
	Auth     string // plain (default), login, cram-md5, scram-sha-1, scram-sha-256
	From     string // the envelope and header sender
	// TLS is "starttls" (default: STARTTLS required), "tls" (implicit
	// TLS) or "none". Plain and login authentication are refused without
	// TLS except to a server on the loopback interface.
	TLS     string
	Timeout time.Duration // per connection (30 s)
}

// Notifier queues and sends notifications.
type Notifier struct {
	db        *sql.DB
	postgres  bool // the database's SQL dialect: PostgreSQL, else SQLite
	opts      Options
	now       func() time.Time
	log       *slog.Logger
	client    *http.Client
	mailOpts  []mail.Option
	tmpl      *templates
	wakeSend  chan struct{}
	wakeWatch chan struct{}
}

const schema = `
CREATE TABLE IF NOT EXISTS notifications (
  id         INTEGER PRIMARY KEY,
  dedup_key  TEXT NOT NULL UNIQUE,
  kind       TEXT NOT NULL,
  channel    TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
  recipients TEXT NOT NULL,
  subject    TEXT NOT NULL DEFAULT '',
  body_text  TEXT NOT NULL DEFAULT '',
  body_html  TEXT NOT NULL DEFAULT '',
  payload    TEXT NOT NULL DEFAULT '{}',
  created    INTEGER NOT NULL,
  next_try   INTEGER,
  attempts   INTEGER NOT NULL DEFAULT 0,
  sent_at    INTEGER,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (next_try) WHERE sent_at IS NULL AND next_try IS NOT NULL;
CREATE INDEX IF NOT EXISTS notifications_sent ON notifications (sent_at) WHERE sent_at IS NOT NULL;
`

// New returns a Notifier keeping its queue in db: the store's database
// (store.SQLite's or store.Postgres's DB), whose kind it asks. On SQLite it
// creates its table if missing; on PostgreSQL the store's migrations have
// (0002_notifications.sql), since replicas starting together must not race
// to create it. A SQLite store has one connection, so the Notifier never
// holds a query open across another.
func New(db *sql.DB, o Options) (*Notifier, error) {
	if o.MaxPerHour <= 0 {
		o.MaxPerHour = 20
	}
	if o.ExpiryWarning <= 0 {
		o.ExpiryWarning = 30 * 24 * time.Hour
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = 30 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 30 * time.Minute
	}
	o.BackoffMax = max(o.BackoffMax, o.BackoffMin)
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = 7 * 24 * time.Hour
	}
	if o.MaxEventAge <= 0 {
		o.MaxEventAge = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	client := o.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	n := &Notifier{db: db, opts: o, now: o.Now, log: o.Logger, client: client,
		wakeSend: make(chan struct{}, 1), wakeWatch: make(chan struct{}, 1)}
	var err error
	if n.mailOpts, err = mailOptions(o.SMTP); err != nil {
		return nil, err
	}
	for _, u := range o.Webhooks {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("notify: webhook %q is not an http(s) URL", safeURL(u))
		}
	}
	if n.tmpl, err = loadTemplates(); err != nil {
		return nil, err
	}
	// The constructor's signature has no context; these are quick.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if n.postgres, err = isPostgres(ctx, db); err != nil {
		return nil, err
	}
	if n.postgres {
		if _, err := db.ExecContext(ctx, `SELECT 1 FROM notifications LIMIT 0`); err != nil {
			return nil, fmt.Errorf("notify: the queue's table is missing (the store's migrations create it: open the store first): %w", err)
		}
		return n, nil
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("notify: creating the queue: %w", err)
	}
	return n, nil
}

// isPostgres tells the two databases a store may be apart by asking.
func isPostgres(ctx context.Context, db *sql.DB) (bool, error) {
	var v string
	if db.QueryRowContext(ctx, `SELECT sqlite_version()`).Scan(&v) == nil {
		return false, nil
	}
	if err := db.QueryRowContext(ctx, `SELECT version()`).Scan(&v); err != nil {
		return false, fmt.Errorf("notify: asking the database its kind: %w", err)
	}
	if !strings.HasPrefix(v, "PostgreSQL") {
		return false, fmt.Errorf("notify: the queue needs SQLite or PostgreSQL, not %q", v)
	}
	return true, nil
}

// sql rewrites a statement written with ? placeholders for the database
// ($1, $2, … on PostgreSQL; no statement here has a ? in a literal).
func (n *Notifier) sql(q string) string {
	if !n.postgres {
		return q
	}
	var b strings.Builder
	i := 0
	for _, r := range q {
		if r == '?' {
			i++
			fmt.Fprintf(&b, "$%d", i)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func mailOptions(s SMTP) ([]mail.Option, error) {
	if s.Host == "" {
		return nil, nil
	}
	if s.From == "" {
		return nil, errors.New("notify: smtp: a From address is required")
	}
	if err := mail.NewMsg().From(s.From); err != nil {
		return nil, fmt.Errorf("notify: smtp: from %q: %w", s.From, err)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := []mail.Option{mail.WithTimeout(timeout)}
	port := s.Port
	switch strings.ToLower(s.TLS) {
	case "", "starttls":
		opts, port = append(opts, mail.WithTLSPolicy(mail.TLSMandatory)), or(port, 587)
	case "tls":
		opts, port = append(opts, mail.WithSSL()), or(port, 465)
	case "none":
		opts, port = append(opts, mail.WithTLSPolicy(mail.NoTLS)), or(port, 25)
	default:
		return nil, fmt.Errorf("notify: smtp: tls %q is not starttls, tls or none", s.TLS)
	}
	opts = append(opts, mail.WithPort(port))
	if s.Username != "" {
		auth := map[string]mail.SMTPAuthType{"": mail.SMTPAuthPlain, "plain": mail.SMTPAuthPlain, "login": mail.SMTPAuthLogin,
			"cram-md5": mail.SMTPAuthCramMD5, "scram-sha-1": mail.SMTPAuthSCRAMSHA1, "scram-sha-256": mail.SMTPAuthSCRAMSHA256}[strings.ToLower(s.Auth)]
		if auth == "" {
			return nil, fmt.Errorf("notify: smtp: unknown auth %q", s.Auth)
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(s.Username), mail.WithPassword(s.Password))
	}
	return opts, nil
}

func or(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// Wake makes Run and Watch look at their work now rather than at their
// next poll.
func (n *Notifier) Wake() {
	for _, ch := range []chan struct{}{n.wakeSend, n.wakeWatch} {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Notify queues e: one email per audience its kind has (see the package
// doc), and one webhook call per configured URL. It reports whether
// anything new was queued: false when e.Key was queued before.
func (n *Notifier) Notify(ctx context.Context, e Event) (bool, error) {
	if e.Key == "" || e.Kind == "" {
		return false, errors.New("notify: an event needs a kind and a key")
	}
	e.Node = n.opts.Country
	if e.At.IsZero() {
		e.At = n.now()
	}
	e.At = e.At.UTC()
	if e.TrackingID != "" && n.opts.ConsoleURL != "" {
		e.ConsoleURL = strings.TrimRight(n.opts.ConsoleURL, "/") + "/console/documents/" + url.PathEscape(e.TrackingID)
	}
	rows, err := n.rows(e)
	if err != nil {
		return false, err
	}
	if len(rows) == 0 {
		n.log.WarnContext(ctx, "notification has nobody to go to", "kind", e.Kind, "key", e.Key)
		return false, nil
	}
	now := n.now().UnixNano()
	added := 0
	err = n.tx(ctx, func(tx *sql.Tx) error {
		for _, r := range rows {
			rcpts, _ := json.Marshal(r.to)
			res, err := tx.ExecContext(ctx, n.sql(`INSERT INTO notifications (dedup_key, kind, channel, recipients, subject, body_text, body_html, payload, created, next_try)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING`),
				r.key, e.Kind, r.channel, string(rcpts), r.subject, r.text, r.html, r.payload, now, now)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			added += int(k)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("notify: queueing %s: %w", e.Key, err)
	}
	if added > 0 {
		n.log.InfoContext(ctx, "notification queued", "kind", e.Kind, "key", e.Key, "messages", added,
			"tracking_id", e.TrackingID, "partner", e.Partner)
		select {
		case n.wakeSend <- struct{}{}:
		default:
		}
	}
	return added > 0, nil
}

// row is one queued message.
type row struct {
	key, channel        string
	to                  []string
	subject, text, html string
	payload             string
}

func (n *Notifier) rows(e Event) ([]row, error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var out []row
	if n.opts.SMTP.Host != "" {
		for _, a := range n.audiences(e) {
			if len(a.to) == 0 {
				continue
			}
			subject, text, html, err := n.tmpl.render(a.template, e)
			if err != nil {
				return nil, fmt.Errorf("notify: rendering %s: %w", a.template, err)
			}
			out = append(out, row{key: e.Key + "/email/" + a.name, channel: "email", to: a.to,
				subject: subject, text: text, html: html, payload: string(payload)})
		}
	}
	for _, u := range n.opts.Webhooks {
		out = append(out, row{key: e.Key + "/webhook/" + shortHash(u), channel: "webhook", to: []string{u}, payload: string(payload)})
	}
	return out, nil
}

type audience struct {
	name, template string
	to             []string
}

// audiences says who is told what about an event.
func (n *Notifier) audiences(e Event) []audience {
	operators := recipients(n.opts.Operators, n.opts.PartnerOperators[e.Partner])
	switch e.Kind {
	case KindIncomplete:
		return []audience{
			{"operators", "incomplete", operators},
			// The exporter gets its own message: it must not see the
			// operators' addresses, and needs other words.
			{"exporter", "incomplete_exporter", recipients([]string{e.Contact})},
		}
	case KindReceivedWithErrors:
		return []audience{{"operators", "received_errors", operators}}
	case KindRefused:
		return []audience{{"operators", "refused", operators}}
	case KindPartnerUnreachable, KindPartnerIntermittent, KindPartnerRecovered:
		return []audience{{"operators", "partner", operators}}
	case KindCertificateExpiring:
		return []audience{{"operators", "certificate", recipients(n.opts.Operators)}}
	case KindRulesRefused:
		return []audience{{"operators", "rules", recipients(n.opts.Operators)}}
	}
	return nil
}

// recipients merges address lists, without blanks or repeats.
func recipients(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, a := range l {
			a = strings.TrimSpace(a)
			if a != "" && !slices.ContainsFunc(out, func(b string) bool { return strings.EqualFold(a, b) }) {
				out = append(out, a)
			}
		}
	}
	return out
}

func (n *Notifier) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := n.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

// safeURL is a URL fit for logs and errors: no credentials, no query
// (webhook URLs often carry a token there).
func safeURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
