package notify

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/vucelink/vucelink/health"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/store"
)

// Kinds of events.
const (
	KindIncomplete         = "document.incomplete"
	KindReceivedWithErrors = "document.received-with-errors"
	// KindRefused: a document this node sent was received with errors
	// by its partner, or the IPPC ePhyto Hub could not deliver it
	// (FailedDelivery): Reasons carry the partner's or the hub's words.
	KindRefused             = "document.refused"
	KindPartnerUnreachable  = "partner.unreachable"
	KindPartnerIntermittent = "partner.intermittent"
	KindPartnerRecovered    = "partner.recovered"
	KindCertificateExpiring = "certificate.expiring"
	// KindRulesRefused: a change to the rules directory failed its checks
	// and the rules in force stayed (Reasons: each problem, file:line).
	KindRulesRefused = "rules.refused"
)

// Event is what a notification is about. It is also the JSON body posted
// to webhooks.
type Event struct {
	Kind string `json:"kind"`
	// Key identifies the event: the same event queued twice has the same
	// key, and only the first is sent. Webhook receivers can drop repeats
	// by it (it is also sent as the Idempotency-Key header).
	Key          string    `json:"key"`
	Node         string    `json:"node"` // the country of the node notifying
	At           time.Time `json:"at"`
	Partner      string    `json:"partner,omitempty"`
	TrackingID   string    `json:"tracking_id,omitempty"`
	DocumentType string    `json:"document_type,omitempty"`
	DocumentID   string    `json:"document_id,omitempty"`
	State        string    `json:"state,omitempty"`
	Error        string    `json:"error,omitempty"`
	Reasons      []string  `json:"reasons,omitempty"`
	// Since is when a partner's trouble began (partner events).
	Since       time.Time `json:"since,omitzero"`
	Certificate *CertInfo `json:"certificate,omitempty"`
	ConsoleURL  string    `json:"console_url,omitempty"`
	// Contact is the exporter's address; it gets its own email and is
	// never posted to webhooks.
	Contact string `json:"-"`
}

// CertInfo describes a certificate that is about to expire.
type CertInfo struct {
	Kind     string    `json:"kind"` // what the node uses it for
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	Serial   string    `json:"serial"`
	NotAfter time.Time `json:"not_after"`
	DaysLeft int       `json:"days_left"` // whole days to NotAfter; negative once expired by a day or more
}

// Feed is what Watch needs of the store (store.Store has it).
type Feed interface {
	EventsAfter(ctx context.Context, after int64, limit int) ([]store.Event, error)
	Cursor(ctx context.Context, name string) (int64, error)
	SetCursor(ctx context.Context, name string, id int64) error
	Get(ctx context.Context, trackingID string) (*store.Document, error)
}

// CursorName is Watch's position in the audit trail.
const CursorName = "notify"

// Watch reads the audit trail from its cursor and queues a notification
// for every outbound document that became incomplete and every inbound
// document received with errors, until ctx ends. The cursor moves past
// an event only once its notification is committed to the queue, so a
// crash repeats work rather than losing it, and the repeat is dropped by
// its key. Events older than MaxEventAge (a node that catches up on a
// long history) are passed over without a message.
func (n *Notifier) Watch(ctx context.Context, feed Feed) {
	failures := 0
	for ctx.Err() == nil {
		wait := n.opts.PollInterval
		progressed, err := n.watchStep(ctx, feed)
		switch {
		case err != nil && ctx.Err() == nil:
			failures++
			wait = min(n.opts.PollInterval<<min(failures, 6), time.Minute)
			n.log.WarnContext(ctx, "notify: reading the audit trail failed; will retry", "error", err, "retry_in", wait)
		case progressed:
			failures, wait = 0, 0
		}
		if wait > 0 {
			sleep(ctx, n.wakeWatch, wait)
		}
	}
}

func (n *Notifier) watchStep(ctx context.Context, feed Feed) (progressed bool, err error) {
	cur, err := feed.Cursor(ctx, CursorName)
	if err != nil {
		return false, err
	}
	events, err := feed.EventsAfter(ctx, cur, 100)
	if err != nil || len(events) == 0 {
		return false, err
	}
	last := cur
	defer func() {
		if last > cur {
			// Recorded even if ctx ends now: what is queued is done.
			if serr := feed.SetCursor(context.WithoutCancel(ctx), CursorName, last); serr != nil && err == nil {
				err = serr
			}
			progressed = err == nil
		}
	}()
	for _, e := range events {
		var kind string
		switch {
		case e.Direction == store.Outbound && e.To == lifecycle.Incomplete:
			kind = KindIncomplete
		case e.Direction == store.Inbound && e.To == lifecycle.ReceivedWithErrors:
			kind = KindReceivedWithErrors
		case e.Direction == store.Outbound && e.To == lifecycle.ReceivedWithErrors:
			kind = KindRefused
		}
		if kind != "" && n.now().Sub(e.At) <= n.opts.MaxEventAge {
			d, err := feed.Get(ctx, e.TrackingID)
			if err != nil {
				return false, fmt.Errorf("document %s: %w", e.TrackingID, err)
			}
			if _, err := n.Notify(ctx, documentEvent(kind, e, d)); err != nil {
				return false, err
			}
		}
		last = e.ID
	}
	return true, nil
}

func documentEvent(kind string, e store.Event, d *store.Document) Event {
	ev := Event{Kind: kind, At: e.At, Partner: e.Partner, TrackingID: e.TrackingID, DocumentType: e.Type,
		DocumentID: e.DocumentID, State: string(e.To), Error: d.LastError}
	switch kind {
	case KindIncomplete:
		ev.Key = fmt.Sprintf("incomplete:%s:%d", e.TrackingID, e.ID)
		ev.Contact = d.Contact
	case KindReceivedWithErrors, KindRefused:
		ev.Key = fmt.Sprintf("%s:%s:%d", strings.TrimPrefix(kind, "document."), e.TrackingID, e.ID)
		if d.Receipt != nil {
			for _, r := range d.Receipt.Reasons {
				s := r.Code + ": " + r.Message
				if r.Field != "" {
					s += " (" + r.Field + ")"
				}
				ev.Reasons = append(ev.Reasons, s)
			}
		}
		if len(ev.Reasons) == 0 && e.Reason != "" {
			ev.Reasons = []string{e.Reason}
		}
	}
	if ev.Error == "" {
		ev.Error = e.Reason
	}
	return ev
}

// PartnerChanged queues a message when a partner becomes unreachable or
// intermittent, or recovers from either; use it as a health.Tracker
// subscriber. A trouble episode gives at most one message per state it
// reaches, however often the tracker reports it: the key names the
// partner, the episode's start and the state.
func (n *Notifier) PartnerChanged(c health.Change) {
	var kind, what string
	switch {
	case c.To == health.Unreachable:
		kind, what = KindPartnerUnreachable, "unreachable"
	case c.To == health.Intermittent:
		kind, what = KindPartnerIntermittent, "intermittent"
	case c.To == health.Reachable && (c.From == health.Unreachable || c.From == health.Intermittent):
		kind, what = KindPartnerRecovered, "recovered"
	default:
		return
	}
	episode := c.Episode
	if episode.IsZero() {
		episode = c.At
	}
	// The subscriber interface carries no context: the tracker calls it on
	// the delivery path, which must not wait long on the queue.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e := Event{Kind: kind, Key: fmt.Sprintf("partner:%s:%d:%s", c.Partner, episode.UnixNano(), what),
		At: c.At, Partner: c.Partner, State: string(c.To), Error: c.LastError, Since: episode.UTC()}
	if _, err := n.Notify(ctx, e); err != nil {
		n.log.Error("notify: queueing a partner change", "partner", c.Partner, "to", string(c.To), "error", err)
	}
}

// Cert is a certificate the node relies on, and what for ("signing",
// "tls-server", "partner-ca MX", …).
type Cert struct {
	Kind string
	*x509.Certificate
}

// CheckCertificates queues a warning for each certificate that expires
// within ExpiryWarning, one per certificate and threshold: at
// ExpiryWarning, 7 days, 1 day and expiry (the thresholds shorter than
// ExpiryWarning). Checking again (say, hourly) repeats nothing until the
// next threshold is crossed. It returns how many warnings were new.
func (n *Notifier) CheckCertificates(ctx context.Context, certs []Cert) (int, error) {
	now := n.now()
	limits := []time.Duration{0} // ascending
	for _, l := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
		if l < n.opts.ExpiryWarning {
			limits = append(limits, l)
		}
	}
	limits = append(limits, n.opts.ExpiryWarning)
	queued := 0
	for _, c := range certs {
		if c.Certificate == nil {
			continue
		}
		left := c.NotAfter.Sub(now)
		// The tightest threshold crossed: a certificate first seen with 5
		// days left gets the 7-day warning, not the 30-day one as well.
		var limit time.Duration = -1
		for _, l := range limits {
			if left <= l {
				limit = l
				break
			}
		}
		if limit < 0 {
			continue
		}
		issuer := sha256.Sum256(c.RawIssuer)
		serial := c.SerialNumber.Text(16)
		key := fmt.Sprintf("cert:%s:%s:%d:%s", hex.EncodeToString(issuer[:8]), serial, c.NotAfter.Unix(), limitName(limit))
		days := int(left.Hours() / 24)
		if left <= 0 {
			days = -int((-left).Hours() / 24)
		}
		state := "expiring"
		if left <= 0 {
			state = "expired"
		}
		e := Event{Kind: KindCertificateExpiring, Key: key, At: now, State: state, Certificate: &CertInfo{
			Kind: c.Kind, Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: strings.ToUpper(serial),
			NotAfter: c.NotAfter.UTC(), DaysLeft: days}}
		added, err := n.Notify(ctx, e)
		if err != nil {
			return queued, err
		}
		if added {
			queued++
		}
	}
	return queued, nil
}

func limitName(d time.Duration) string {
	if d == 0 {
		return "expired"
	}
	return fmt.Sprintf("%dh", int(d.Hours()))
}

func sleep(ctx context.Context, wake <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-t.C:
	}
}
