package notify

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// queued is a message due to be sent.
type queued struct {
	id                           int64
	key, kind, channel           string
	to                           []string
	subject, text, html, payload string
	created                      time.Time
	attempts                     int
}

// Run sends due messages until ctx ends: the ones queued since the last
// pass, the ones whose retry is due, the ones a rate limit held back.
func (n *Notifier) Run(ctx context.Context) {
	for ctx.Err() == nil {
		wait := n.opts.PollInterval
		next, err := n.sendDue(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				n.log.ErrorContext(ctx, "notify: reading the queue failed", "error", n.redact(err))
			}
		case !next.IsZero():
			wait = min(wait, max(next.Sub(n.now()), 0))
		}
		if wait > 0 {
			sleep(ctx, n.wakeSend, wait)
		}
	}
}

// sendDue makes one pass over the due messages and returns when the next
// one is due (zero if none is waiting).
func (n *Notifier) sendDue(ctx context.Context) (time.Time, error) {
	now := n.now()
	due, err := n.due(ctx, now)
	if err != nil {
		return time.Time{}, err
	}
	var sent map[string][]time.Time
	if len(due) > 0 {
		if sent, err = n.sentLastHour(ctx, now); err != nil {
			return time.Time{}, err
		}
	}
	for _, m := range due {
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		if m.channel == "email" {
			if free := n.limited(m, sent); !free.IsZero() {
				n.log.InfoContext(ctx, "notification held back by the rate limit", "id", m.id, "kind", m.kind,
					"max_per_hour", n.opts.MaxPerHour, "until", free)
				if err := n.exec(ctx, `UPDATE notifications SET next_try = ? WHERE id = ?`, free.UnixNano(), m.id); err != nil {
					return time.Time{}, err
				}
				continue
			}
		}
		if err := n.send(ctx, m); err != nil {
			if ctx.Err() != nil {
				return time.Time{}, ctx.Err()
			}
			if err := n.failed(ctx, m, err); err != nil {
				return time.Time{}, err
			}
			continue
		}
		at := n.now()
		// Recorded even if ctx ends now: the server has the message.
		if err := n.exec(context.WithoutCancel(ctx), `UPDATE notifications SET sent_at = ?, next_try = NULL, attempts = attempts + 1, last_error = '' WHERE id = ?`,
			at.UnixNano(), m.id); err != nil {
			return time.Time{}, err
		}
		if m.channel == "email" {
			for _, a := range m.to {
				a = strings.ToLower(a)
				sent[a] = append(sent[a], at)
			}
		}
		n.log.InfoContext(ctx, "notification sent", "id", m.id, "kind", m.kind, "channel", m.channel, "attempts", m.attempts+1)
	}
	var next sql.NullInt64
	if err := n.db.QueryRowContext(ctx, `SELECT MIN(next_try) FROM notifications WHERE sent_at IS NULL AND next_try IS NOT NULL`).Scan(&next); err != nil || !next.Valid {
		return time.Time{}, err
	}
	return time.Unix(0, next.Int64), nil
}

// due reads the due messages, oldest first; all of them before sending
// any, since the database may be a single connection.
func (n *Notifier) due(ctx context.Context, now time.Time) ([]queued, error) {
	rows, err := n.db.QueryContext(ctx, n.sql(`SELECT id, dedup_key, kind, channel, recipients, subject, body_text, body_html, payload, created, attempts
		FROM notifications WHERE sent_at IS NULL AND next_try IS NOT NULL AND next_try <= ? ORDER BY next_try, id LIMIT 50`), now.UnixNano())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []queued
	for rows.Next() {
		var m queued
		var to string
		var created int64
		if err := rows.Scan(&m.id, &m.key, &m.kind, &m.channel, &to, &m.subject, &m.text, &m.html, &m.payload, &created, &m.attempts); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(to), &m.to); err != nil {
			return nil, fmt.Errorf("notification %d: recipients: %w", m.id, err)
		}
		m.created = time.Unix(0, created)
		out = append(out, m)
	}
	return out, rows.Err()
}

// sentLastHour returns, per recipient address (lower case), when emails
// to it were sent in the last hour, oldest first. The recipient lists are
// split here rather than in SQL (json_each, jsonb_array_elements_text),
// which the two databases spell differently; an hour's mail is little.
func (n *Notifier) sentLastHour(ctx context.Context, now time.Time) (map[string][]time.Time, error) {
	rows, err := n.db.QueryContext(ctx, n.sql(`SELECT id, recipients, sent_at FROM notifications
		WHERE channel = 'email' AND sent_at IS NOT NULL AND sent_at > ? ORDER BY sent_at, id`), now.Add(-time.Hour).UnixNano())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]time.Time{}
	for rows.Next() {
		var id, at int64
		var to string
		if err := rows.Scan(&id, &to, &at); err != nil {
			return nil, err
		}
		var addrs []string
		if err := json.Unmarshal([]byte(to), &addrs); err != nil {
			return nil, fmt.Errorf("notification %d: recipients: %w", id, err)
		}
		for _, a := range addrs {
			a = strings.ToLower(a)
			out[a] = append(out[a], time.Unix(0, at))
		}
	}
	return out, rows.Err()
}

// limited returns when m may be sent without exceeding the rate limit of
// any of its recipients, or the zero time if it may be sent now.
func (n *Notifier) limited(m queued, sent map[string][]time.Time) time.Time {
	var free time.Time
	for _, a := range m.to {
		times := sent[strings.ToLower(a)]
		if len(times) < n.opts.MaxPerHour {
			continue
		}
		// Free once enough of the hour's sends have aged out.
		if t := times[len(times)-n.opts.MaxPerHour].Add(time.Hour); t.After(free) {
			free = t
		}
	}
	return free
}

// failed schedules the next attempt of m, or gives it up.
func (n *Notifier) failed(ctx context.Context, m queued, cause error) error {
	now := n.now()
	msg := n.redact(cause)
	attempts := m.attempts + 1
	if now.Sub(m.created) >= n.opts.GiveUpAfter {
		n.log.ErrorContext(ctx, "notification given up", "id", m.id, "kind", m.kind, "channel", m.channel,
			"attempts", attempts, "error", msg)
		return n.exec(ctx, `UPDATE notifications SET attempts = ?, next_try = NULL, last_error = ? WHERE id = ?`,
			attempts, "gave up: "+msg, m.id)
	}
	wait := n.backoff(attempts)
	n.log.WarnContext(ctx, "notification not sent; will retry", "id", m.id, "kind", m.kind, "channel", m.channel,
		"attempts", attempts, "error", msg, "retry_in", wait)
	return n.exec(ctx, `UPDATE notifications SET attempts = ?, next_try = ?, last_error = ? WHERE id = ?`,
		attempts, now.Add(wait).UnixNano(), msg, m.id)
}

// backoff is exponential in the attempts with "equal jitter", so messages
// that failed together (the mail server was down) do not all return
// together.
func (n *Notifier) backoff(attempts int) time.Duration {
	ceiling := min(n.opts.BackoffMin<<min(attempts-1, 30), n.opts.BackoffMax)
	if ceiling <= 0 {
		ceiling = n.opts.BackoffMax
	}
	half := ceiling / 2
	return half + rand.N(half+1)
}

func (n *Notifier) send(ctx context.Context, m queued) error {
	switch m.channel {
	case "email":
		return n.sendMail(ctx, m)
	case "webhook":
		return n.post(ctx, m)
	}
	return fmt.Errorf("unknown channel %q", m.channel)
}

func (n *Notifier) sendMail(ctx context.Context, m queued) error {
	if n.opts.SMTP.Host == "" {
		return errors.New("email is not configured (no SMTP host)")
	}
	msg := mail.NewMsg()
	if err := msg.From(n.opts.SMTP.From); err != nil {
		return err
	}
	if err := msg.To(m.to...); err != nil {
		return err
	}
	msg.Subject(m.subject)
	msg.SetDateWithValue(n.now())
	// The same message sent twice (a crash between the server's answer and
	// our record of it) has the same ID, for mail systems that drop repeats.
	msg.SetMessageIDWithValue(shortHash(m.key) + "@vucelink." + strings.ToLower(orString(n.opts.Country, "node")))
	// Out-of-office replies to a robot help nobody.
	msg.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	msg.SetGenHeader(mail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(mail.TypeTextPlain, m.text)
	if m.html != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.html)
	}
	c, err := mail.NewClient(n.opts.SMTP.Host, n.mailOpts...)
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, msg)
}

func (n *Notifier) post(ctx context.Context, m queued) error {
	if len(m.to) != 1 {
		return fmt.Errorf("webhook notification %d has %d targets", m.id, len(m.to))
	}
	target := m.to[0]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader([]byte(m.payload)))
	if err != nil {
		return fmt.Errorf("webhook %s: %v", safeURL(target), errors.Unwrap(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vucelink-notify")
	if i := strings.LastIndex(m.key, "/webhook/"); i > 0 {
		req.Header.Set("Idempotency-Key", m.key[:i]) // the event's key, as in the body
	}
	resp, err := n.client.Do(req)
	if err != nil {
		// The client's error repeats the URL, query and all.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("webhook %s: %w", safeURL(target), err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook %s answered HTTP %d", safeURL(target), resp.StatusCode)
	}
	return nil
}

func (n *Notifier) exec(ctx context.Context, q string, args ...any) error {
	_, err := n.db.ExecContext(ctx, n.sql(q), args...)
	return err
}

// redact is an error's text without the SMTP password, should a server
// or library ever echo it.
func (n *Notifier) redact(err error) string {
	s := err.Error()
	if pw := n.opts.SMTP.Password; pw != "" {
		s = strings.ReplaceAll(s, pw, "[redacted]")
	}
	return s
}

func orString(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
