package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vucelink/vucelink/health"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/store/pgtest"
	"github.com/vucelink/vucelink/track"
	"github.com/vucelink/vucelink/wire"
)

var operatorsCLMX = []string{"duty@sag.example", "ops@sag.example", "ops@senasica.example"}

// The same event queued twice is one mail, whoever queues it.
func TestNotify_Dedup(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		mb := startMailbox(t, "127.0.0.1:0", "", "")
		n := e.notifier(t, e.options(t, mb))
		ctx := context.Background()
		c := health.Change{Partner: "MX", From: health.Reachable, To: health.Unreachable, At: t0, Episode: t0, LastError: "connection refused"}
		n.PartnerChanged(c)
		n.PartnerChanged(c)
		ev := Event{Kind: KindPartnerIntermittent, Key: "k1", Partner: "MX"}
		for i, want := range []bool{true, false} {
			added, err := n.Notify(ctx, ev)
			if err != nil || added != want {
				t.Fatalf("Notify #%d: added %v, %v; want %v", i+1, added, err, want)
			}
		}
		start(t, n, nil)
		waitFor(t, "two mails", func() bool { return mb.count() >= 2 }, nil)
		waitFor(t, "the queue to drain", settled(t, e.db), nil)
		if got := mb.count(); got != 2 {
			t.Errorf("%d mails, want 2 (one per distinct event)", got)
		}
		if _, err := n.Notify(ctx, Event{Kind: KindPartnerRecovered}); err == nil {
			t.Error("an event without a key was queued")
		}
	})
}

// An outage seen through a real health.Tracker: dozens of failed
// attempts give one "unreachable" mail, the recovery one "recovered".
func TestOutage_OneMailEachWay(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		mb := startMailbox(t, "127.0.0.1:0", "", "")
		n := e.notifier(t, e.options(t, mb))
		tr := health.New(health.Options{Now: e.clk.Now})
		tr.Subscribe(n.PartnerChanged)
		start(t, n, nil)
		ctx := context.Background()
		ev := func(ok bool) track.Event {
			if ok {
				return track.Event{Direction: track.Outbound, Partner: "MX", Step: track.Delivered, Duration: 80 * time.Millisecond}
			}
			return track.Event{Direction: track.Outbound, Partner: "MX", Step: track.Failed, Code: "delivery.retry",
				Err: "dial tcp 203.0.113.7:443: connect: connection refused"}
		}
		tr.Record(ctx, ev(true))
		outage := e.clk.Now()
		for i := 0; i < 60; i++ { // ten minutes of failures, two workers
			e.clk.Add(10 * time.Second)
			tr.Record(ctx, ev(false))
			tr.Record(ctx, ev(false))
		}
		waitFor(t, "the unreachable mail", func() bool { return mb.count() >= 1 }, nil)
		waitFor(t, "the queue to drain", settled(t, e.db), nil)
		e.clk.Add(30 * time.Second)
		tr.Record(ctx, ev(true))
		tr.Record(ctx, ev(true))
		waitFor(t, "the recovered mail", func() bool { return mb.count() >= 2 }, nil)
		waitFor(t, "the queue to drain", settled(t, e.db), nil)

		msgs := mb.all()
		if len(msgs) != 2 {
			t.Fatalf("%d mails, want 2", len(msgs))
		}
		down, up := msgs[0], msgs[1]
		if down.Subject != "[vucelink CL] Nodo asociado inalcanzable / Partner node unreachable: MX" {
			t.Errorf("subject %q", down.Subject)
		}
		if up.Subject != "[vucelink CL] Nodo asociado recuperado / Partner node recovered: MX" {
			t.Errorf("subject %q", up.Subject)
		}
		for _, m := range msgs {
			if !slices.Equal(m.To, operatorsCLMX) || m.From != "vucelink@sag.example" {
				t.Errorf("%q from %s to %v, want %v", m.Subject, m.From, m.To, operatorsCLMX)
			}
		}
		if want := "since " + outage.Add(10*time.Second).Format("2006-01-02 15:04 UTC"); !strings.Contains(down.Text, want) ||
			!strings.Contains(down.Text, "connection refused") {
			t.Errorf("unreachable text lacks %q or the error:\n%s", want, down.Text)
		}
		if !strings.Contains(up.Text, "lasted 10m") || !strings.Contains(up.Text, "duró 10m") {
			t.Errorf("recovered text lacks the duration:\n%s", up.Text)
		}
		if tr.Status("MX").State != health.Reachable {
			t.Errorf("tracker says %s", tr.Status("MX").State)
		}
	})
}

// addOutbound puts an outbound document through accepted → sent →
// incomplete at the given times.
func addOutbound(t *testing.T, st store.Store, id, docID, contact string, accepted, gaveUp time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.Add(ctx, &store.Document{TrackingID: id, Direction: store.Outbound, Partner: "MX", Type: "sps", DocumentID: docID,
		Digest: "sha256:" + id, State: lifecycle.Accepted, Contact: contact, Created: accepted, NextTry: accepted}, "legacy", "accepted"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Transition(ctx, id, accepted.Add(time.Second), store.Change{To: lifecycle.Sent, Actor: "outbox"}); err != nil {
		t.Fatal(err)
	}
	msg := "Post \"https://mx.example/vucelink\": dial tcp 203.0.113.7:443: i/o timeout"
	if _, err := st.Transition(ctx, id, gaveUp, store.Change{To: lifecycle.Incomplete, Actor: "outbox",
		Reason: "gave up after 40 attempts over 24h0m0s", LastError: &msg}); err != nil {
		t.Fatal(err)
	}
}

// An incomplete document, read from the audit trail: one mail to both
// countries' operators, another to the exporter; the cursor advances, and
// re-reading the trail from the start repeats nothing.
func TestWatch_IncompleteToOperatorsAndExporter(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		mb := startMailbox(t, "127.0.0.1:0", "", "")
		ctx := context.Background()
		addOutbound(t, e.st, "CL-OLD", "2025-OLD", "old@fruta.example", t0.Add(-96*time.Hour), t0.Add(-72*time.Hour)) // stale: no mail
		addOutbound(t, e.st, "CL-20260301-0001", "2026-ABC", "exporter@fruta.example", t0, t0.Add(24*time.Hour))
		addOutbound(t, e.st, "CL-20260301-0002", "2026-DEF", "", t0, t0.Add(24*time.Hour)) // no contact: operators only
		e.clk.Add(24*time.Hour + time.Minute)
		n := e.notifier(t, e.options(t, mb))
		start(t, n, e.st)

		waitFor(t, "three mails", func() bool { return mb.count() >= 3 }, nil)
		events, _ := e.st.EventsAfter(ctx, 0, 100)
		lastID := events[len(events)-1].ID
		waitFor(t, "the cursor", func() bool { c, _ := e.st.Cursor(ctx, CursorName); return c == lastID }, nil)
		waitFor(t, "the queue to drain", settled(t, e.db), nil)

		var toOps, toExporter []received
		for _, m := range mb.all() {
			if slices.Equal(m.To, []string{"exporter@fruta.example"}) {
				toExporter = append(toExporter, m)
			} else {
				toOps = append(toOps, m)
			}
		}
		if len(toOps) != 2 || len(toExporter) != 1 {
			t.Fatalf("%d mails to operators, %d to the exporter; want 2 and 1", len(toOps), len(toExporter))
		}
		slices.SortFunc(toOps, func(a, b received) int { return strings.Compare(a.Subject, b.Subject) })
		ops := toOps[0]
		if want := "[vucelink CL] Documento incompleto / Incomplete document: sps 2026-ABC (MX)"; ops.Subject != want {
			t.Errorf("subject %q, want %q", ops.Subject, want)
		}
		if !slices.Equal(ops.To, operatorsCLMX) {
			t.Errorf("operators' mail to %v", ops.To)
		}
		for _, part := range []string{ops.Text, ops.HTML} {
			for _, want := range []string{"CL-20260301-0001", "2026-ABC", "MX", "i/o timeout", "paper",
				"https://vucelink.sag.example/console/documents/CL-20260301-0001"} {
				if !strings.Contains(part, want) {
					t.Errorf("operators' mail lacks %q:\n%s", want, part)
				}
			}
		}
		if es, en := strings.Index(ops.Text, "Seguimiento"), strings.Index(ops.Text, "Tracking ID"); es < 0 || en < es {
			t.Errorf("Spanish should come first:\n%s", ops.Text)
		}
		ex := toExporter[0]
		if !strings.Contains(ex.Subject, "2026-ABC") || !strings.Contains(ex.Text, "CL-20260301-0001") ||
			strings.Contains(ex.Text, "ops@") || strings.Contains(ex.Text, "i/o timeout") {
			t.Errorf("exporter's mail %q:\n%s", ex.Subject, ex.Text)
		}
		if got := ex.Header.Get("Auto-Submitted"); got != "auto-generated" {
			t.Errorf("Auto-Submitted %q", got)
		}

		// A crash before the cursor moved: the trail is read again, nothing
		// new is queued.
		rows := queryInt(t, e.db, `SELECT COUNT(*) FROM notifications`)
		if err := e.st.SetCursor(ctx, CursorName, 0); err != nil {
			t.Fatal(err)
		}
		n.Wake()
		waitFor(t, "the cursor again", func() bool { c, _ := e.st.Cursor(ctx, CursorName); return c == lastID }, nil)
		if got := queryInt(t, e.db, `SELECT COUNT(*) FROM notifications`); got != rows || mb.count() != 3 {
			t.Errorf("re-reading the trail: %d rows (was %d), %d mails", got, rows, mb.count())
		}
	})
}

// An inbound document refused with reasons: both countries' operators
// are told, with the reasons.
func TestWatch_ReceivedWithErrors(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		mb := startMailbox(t, "127.0.0.1:0", "", "")
		ctx := context.Background()
		rc := &wire.Receipt{TrackingID: "MX-20260301-77", DocumentID: "MX-2026-9", DocumentType: "sps", From: "MX", To: "CL",
			Outcome: wire.ReceivedWithErrors, Time: t0, Reasons: []wire.Reason{
				{Code: "mapping", Field: "consignee.country", Message: "unknown country code \"XX\""},
				{Code: "rules.product", Message: "HS code 0806.10 needs a treatment"},
			}}
		for _, d := range []*store.Document{
			{TrackingID: rc.TrackingID, Direction: store.Inbound, Partner: "MX", Type: "sps", DocumentID: "MX-2026-9", Digest: "sha256:1",
				State: lifecycle.ReceivedWithErrors, Receipt: rc, Created: t0},
			// Received correctly, and an outbound refused by the partner: no mail from this watcher.
			{TrackingID: "MX-20260301-78", Direction: store.Inbound, Partner: "MX", Type: "sps", DocumentID: "MX-2026-10", Digest: "sha256:2",
				State: lifecycle.ReceivedCorrectly, Created: t0},
		} {
			if _, err := e.st.Add(ctx, d, "partner:MX", "received"); err != nil {
				t.Fatal(err)
			}
		}
		n := e.notifier(t, e.options(t, mb))
		start(t, n, e.st)
		waitFor(t, "the mail", func() bool { return mb.count() >= 1 }, nil)
		waitFor(t, "the cursor", func() bool { c, _ := e.st.Cursor(ctx, CursorName); return c == 2 }, nil)
		waitFor(t, "the queue to drain", settled(t, e.db), nil)
		msgs := mb.all()
		if len(msgs) != 1 {
			t.Fatalf("%d mails, want 1", len(msgs))
		}
		m := msgs[0]
		if want := "[vucelink CL] Documento recibido con errores / Document received with errors: sps MX-2026-9 (MX)"; m.Subject != want {
			t.Errorf("subject %q", m.Subject)
		}
		if !slices.Equal(m.To, operatorsCLMX) {
			t.Errorf("to %v", m.To)
		}
		for _, want := range []string{"MX-20260301-77", `mapping: unknown country code "XX" (consignee.country)`, "rules.product: HS code 0806.10"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("text lacks %q:\n%s", want, m.Text)
			}
		}
		if !strings.Contains(m.HTML, "mapping: unknown country code &#34;XX&#34; (consignee.country)") {
			t.Errorf("HTML should escape the reasons:\n%s", m.HTML)
		}
	})
}

func certificate(t *testing.T, cn string, serial int64, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Country: []string{"CL"}},
		NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Certificates near expiry: one warning per certificate and threshold,
// however often they are checked.
func TestCheckCertificates(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		mb := startMailbox(t, "127.0.0.1:0", "", "")
		n := e.notifier(t, e.options(t, mb))
		ctx := context.Background()
		certs := []Cert{
			{"signing", certificate(t, "Oficial SAG", 1, t0.Add(10*24*time.Hour))},
			{"tls-server", certificate(t, "vucelink.sag.example", 2, t0.Add(400*24*time.Hour))},
			{"partner-ca MX", certificate(t, "SENASICA CA", 3, t0.Add(-time.Hour))},
			{"nil is skipped", nil},
		}
		for _, step := range []struct {
			advance time.Duration
			want    int
		}{
			{0, 2},                          // 10 days (the 30-day warning) and expired
			{time.Hour, 0},                  // checked again: nothing new
			{4 * 24 * time.Hour, 1},         // under 7 days now
			{5*24*time.Hour + time.Hour, 1}, // under a day
			{time.Hour, 0},
		} {
			e.clk.Add(step.advance)
			got, err := n.CheckCertificates(ctx, certs)
			if err != nil || got != step.want {
				t.Fatalf("after %s: %d new warnings, %v; want %d", step.advance, got, err, step.want)
			}
		}
		start(t, n, nil)
		waitFor(t, "four mails", func() bool { return mb.count() >= 4 }, nil)
		waitFor(t, "the queue to drain", settled(t, e.db), nil)
		var subjects []string
		for _, m := range mb.all() {
			subjects = append(subjects, m.Subject)
			if !slices.Equal(m.To, []string{"duty@sag.example", "ops@sag.example"}) {
				t.Errorf("%q to %v: only own operators", m.Subject, m.To)
			}
		}
		slices.Sort(subjects)
		want := []string{
			"[vucelink CL] Certificado por vencer / Certificate expiring: signing CN=Oficial SAG,C=CL",
			"[vucelink CL] Certificado por vencer / Certificate expiring: signing CN=Oficial SAG,C=CL",
			"[vucelink CL] Certificado por vencer / Certificate expiring: signing CN=Oficial SAG,C=CL",
			"[vucelink CL] Certificado vencido / Certificate expired: partner-ca MX CN=SENASICA CA,C=CL",
		}
		if !slices.Equal(subjects, want) {
			t.Errorf("subjects\n%s\nwant\n%s", strings.Join(subjects, "\n"), strings.Join(want, "\n"))
		}
		var days []string
		for _, m := range mb.all() {
			if i := strings.Index(m.Text, "certificate expires on"); i >= 0 {
				line := m.Text[i:]
				days = append(days, line[strings.Index(line, "("):strings.Index(line, ")")+1])
			}
		}
		slices.Sort(days)
		if !slices.Equal(days, []string{"(in 10 days)", "(in 5 days)", "(in less than a day)"}) {
			t.Errorf("days left %q", days)
		}
	})
}

// The mail server is down when the first message is due; the retry after
// the backoff delivers it, nothing lost, and the failure is on record.
func TestSMTPDownThenUp(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		o := e.options(t, &mailbox{addr: addr})
		n := e.notifier(t, o)
		start(t, n, nil)
		n.PartnerChanged(health.Change{Partner: "MX", From: health.Reachable, To: health.Unreachable, At: t0, Episode: t0})
		db := e.db
		waitFor(t, "a failed attempt", func() bool {
			return queryInt(t, db, `SELECT COUNT(*) FROM notifications WHERE attempts >= 1 AND last_error != ''`) == 1
		}, nil)
		var lastErr string
		var next int64
		db.QueryRow(`SELECT last_error, next_try FROM notifications`).Scan(&lastErr, &next)
		if wait := time.Unix(0, next).Sub(t0); wait < o.BackoffMin/2 || wait > o.BackoffMin {
			t.Errorf("first retry in %s, want within [%s, %s]", wait, o.BackoffMin/2, o.BackoffMin)
		}
		if !strings.Contains(lastErr, "dial") {
			t.Errorf("last error %q", lastErr)
		}

		mb := startMailbox(t, addr, "", "")
		waitFor(t, "the retried mail", func() bool { return mb.count() == 1 }, func() { e.clk.Add(10 * time.Second); n.Wake() })
		waitFor(t, "the queue to drain", settled(t, db), nil)
		var attempts int
		var sentAt int64
		db.QueryRow(`SELECT attempts, sent_at, last_error FROM notifications`).Scan(&attempts, &sentAt, &lastErr)
		if attempts < 2 || sentAt == 0 || lastErr != "" {
			t.Errorf("after delivery: attempts %d, sent_at %d, last_error %q", attempts, sentAt, lastErr)
		}
		if !strings.Contains(e.logs.String(), "will retry") {
			t.Errorf("the failure was not logged:\n%s", e.logs)
		}
	})
}

// The queue is in the database: messages queued (and failed once) before
// a restart are sent by the next process.
func TestRestart_QueueSurvives(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		down := l.Addr().String()
		l.Close()
		n1 := e.notifier(t, e.options(t, &mailbox{addr: down}))
		stop := start(t, n1, nil)
		ctx := context.Background()
		for _, p := range []string{"MX", "PE"} {
			if _, err := n1.Notify(ctx, Event{Kind: KindPartnerUnreachable, Key: "partner:" + p, Partner: p, Since: t0}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "failed attempts", func() bool {
			return queryInt(t, e.db, `SELECT COUNT(*) FROM notifications WHERE attempts >= 1`) == 2
		}, nil)
		stop()
		e.reopen(t)
		mb := startMailbox(t, "127.0.0.1:0", "", "")
		e.clk.Add(time.Hour) // past every backoff
		n2 := e.notifier(t, e.options(t, mb))
		start(t, n2, nil)
		waitFor(t, "both mails", func() bool { return mb.count() >= 2 }, nil)
		waitFor(t, "the queue to drain", settled(t, e.db), nil)
		var subjects []string
		for _, m := range mb.all() {
			subjects = append(subjects, m.Subject)
		}
		slices.Sort(subjects)
		if len(subjects) != 2 || !strings.HasSuffix(subjects[0], ": MX") || !strings.HasSuffix(subjects[1], ": PE") {
			t.Errorf("subjects %q", subjects)
		}
	})
}

// Over the hourly limit, messages wait; an hour later they go.
func TestRateLimit(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		mb := startMailbox(t, "127.0.0.1:0", "", "")
		o := e.options(t, mb)
		o.MaxPerHour = 2
		o.Operators, o.PartnerOperators = []string{"ops@sag.example"}, map[string][]string{"PE": {"ops@senasa.example"}}
		n := e.notifier(t, o)
		ctx := context.Background()
		for _, p := range []string{"MX", "CO", "AR"} {
			if _, err := n.Notify(ctx, Event{Kind: KindPartnerUnreachable, Key: "k-" + p, Partner: p, Since: t0}); err != nil {
				t.Fatal(err)
			}
		}
		// To another address as well: that one is not over its limit, but the
		// message waits for the busiest of its recipients.
		n.Notify(ctx, Event{Kind: KindPartnerUnreachable, Key: "k-PE", Partner: "PE", Since: t0})
		start(t, n, nil)
		db := e.db
		waitFor(t, "two mails and two held back", func() bool {
			return mb.count() == 2 && queryInt(t, db, `SELECT COUNT(*) FROM notifications WHERE sent_at IS NULL AND next_try > ?`, t0.UnixNano()) == 2
		}, nil)
		if got := queryInt(t, db, `SELECT COUNT(*) FROM notifications WHERE next_try = ?`, t0.Add(time.Hour).UnixNano()); got != 2 {
			t.Errorf("%d messages wait until an hour after the first sends, want 2", got)
		}
		e.clk.Add(59 * time.Minute)
		n.Wake()
		time.Sleep(50 * time.Millisecond) // a few passes: still held
		if mb.count() != 2 {
			t.Fatalf("%d mails before the hour is over", mb.count())
		}
		e.clk.Add(time.Minute)
		n.Wake()
		waitFor(t, "the held-back mails", func() bool { return mb.count() == 4 }, nil)
		waitFor(t, "the queue to drain", settled(t, db), nil)
		if !strings.Contains(e.logs.String(), "rate limit") {
			t.Error("holding back was not logged")
		}
	})
}

// The hourly limit counts what was sent before a restart (or by the
// replica that held the sender before): the history is in the queue, not
// in the process.
func TestRateLimit_CountsSentBeforeRestart(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		mb := startMailbox(t, "127.0.0.1:0", "", "")
		o := e.options(t, mb)
		o.MaxPerHour = 2
		o.Operators, o.PartnerOperators = []string{"ops@sag.example"}, nil
		ctx := context.Background()
		n1 := e.notifier(t, o)
		for _, p := range []string{"MX", "CO"} {
			if _, err := n1.Notify(ctx, Event{Kind: KindPartnerUnreachable, Key: "k-" + p, Partner: p, Since: t0}); err != nil {
				t.Fatal(err)
			}
		}
		stop := start(t, n1, nil)
		waitFor(t, "two mails", func() bool { return mb.count() == 2 }, nil)
		waitFor(t, "the queue to drain", settled(t, e.db), nil)
		stop()

		e.clk.Add(10 * time.Minute)
		n2 := e.notifier(t, o)
		if _, err := n2.Notify(ctx, Event{Kind: KindPartnerUnreachable, Key: "k-AR", Partner: "AR", Since: t0}); err != nil {
			t.Fatal(err)
		}
		start(t, n2, nil)
		waitFor(t, "the third held back", func() bool {
			return queryInt(t, e.db, `SELECT COUNT(*) FROM notifications WHERE sent_at IS NULL AND next_try = ?`, t0.Add(time.Hour).UnixNano()) == 1
		}, nil)
		if mb.count() != 2 {
			t.Fatalf("%d mails within the hour, limit 2", mb.count())
		}
	})
}

// Webhooks get the event as JSON, each URL its own retried delivery; a
// token in a URL stays out of errors and logs.
func TestWebhooks(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		var mu sync.Mutex
		got := map[string][]Event{}
		keys := map[string]string{}
		var failA atomic.Int32
		failA.Store(2)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/a" && failA.Add(-1) >= 0 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			b, _ := io.ReadAll(r.Body)
			var ev Event
			if err := json.Unmarshal(b, &ev); err != nil || r.Header.Get("Content-Type") != "application/json" {
				http.Error(w, "bad", http.StatusBadRequest)
				return
			}
			if strings.Contains(string(b), "exporter@") {
				t.Errorf("the exporter's address was posted: %s", b)
			}
			mu.Lock()
			got[r.URL.Path] = append(got[r.URL.Path], ev)
			keys[r.URL.Path] = r.Header.Get("Idempotency-Key")
			mu.Unlock()
		}))
		defer srv.Close()
		o := e.options(t, nil) // email off: webhooks only
		o.Webhooks = []string{srv.URL + "/a?token=S3CRET-T0KEN", srv.URL + "/b"}
		addOutbound(t, e.st, "CL-20260301-0009", "2026-XYZ", "exporter@fruta.example", t0, t0.Add(time.Hour))
		e.clk.Add(time.Hour)
		n := e.notifier(t, o)
		start(t, n, e.st)
		db := e.db
		waitFor(t, "a failed webhook", func() bool {
			return queryInt(t, db, `SELECT COUNT(*) FROM notifications WHERE last_error LIKE '%HTTP 503%'`) == 1
		}, nil)
		var lastErr string
		db.QueryRow(`SELECT last_error FROM notifications WHERE last_error != ''`).Scan(&lastErr)
		waitFor(t, "both webhooks", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got["/a"]) == 1 && len(got["/b"]) == 1
		}, func() { e.clk.Add(time.Minute); n.Wake() })
		waitFor(t, "the queue to drain", settled(t, db), nil)
		mu.Lock()
		defer mu.Unlock()
		for _, p := range []string{"/a", "/b"} {
			ev := got[p][0]
			if ev.Kind != KindIncomplete || ev.Key != keys[p] || !strings.HasPrefix(ev.Key, "incomplete:CL-20260301-0009:") ||
				ev.Node != "CL" || ev.Partner != "MX" || ev.TrackingID != "CL-20260301-0009" || ev.DocumentID != "2026-XYZ" ||
				!strings.Contains(ev.Error, "i/o timeout") || ev.ConsoleURL != "https://vucelink.sag.example/console/documents/CL-20260301-0009" {
				t.Errorf("%s got %+v (Idempotency-Key %q)", p, ev, keys[p])
			}
		}
		if rows := queryInt(t, db, `SELECT COUNT(*) FROM notifications WHERE channel = 'webhook'`); rows != 2 ||
			queryInt(t, db, `SELECT COUNT(*) FROM notifications WHERE channel = 'email'`) != 0 {
			t.Errorf("%d webhook rows; want 2 and no email", rows)
		}
		if strings.Contains(lastErr, "S3CRET") || strings.Contains(e.logs.String(), "S3CRET") {
			t.Errorf("the URL's token leaked: %q\n%s", lastErr, e.logs)
		}
	})
}

// SMTP authentication: a wrong password fails (and is retried), a right
// one delivers; neither appears in an error or a log line.
func TestSMTPAuth_PasswordNeverLogged(t *testing.T) {
	const good, bad = "g00d-Pa55word", "wr0ng-Pa55word"
	eachStore(t, func(t *testing.T, e *env) {
		mb := startMailbox(t, "127.0.0.1:0", "vucelink", good)
		o := e.options(t, mb)
		o.SMTP.Username, o.SMTP.Password = "vucelink", bad
		n := e.notifier(t, o)
		stop := start(t, n, nil)
		n.PartnerChanged(health.Change{Partner: "MX", From: health.Unreachable, To: health.Reachable, At: t0.Add(time.Hour), Episode: t0})
		db := e.db
		waitFor(t, "a refused login", func() bool {
			return queryInt(t, db, `SELECT COUNT(*) FROM notifications WHERE last_error != ''`) == 1
		}, nil)
		stop()
		var lastErr string
		db.QueryRow(`SELECT last_error FROM notifications`).Scan(&lastErr)
		if !strings.Contains(strings.ToLower(lastErr), "auth") {
			t.Errorf("last error %q should say authentication failed", lastErr)
		}

		o.SMTP.Password = good
		e.clk.Add(time.Hour)
		n = e.notifier(t, o)
		start(t, n, nil)
		waitFor(t, "the mail", func() bool { return mb.count() == 1 }, nil)
		if m := mb.all()[0]; !strings.Contains(m.Subject, "recuperado / Partner node recovered: MX") || !strings.Contains(m.Text, "lasted 1h") {
			t.Errorf("%q\n%s", m.Subject, m.Text)
		}
		for _, pw := range []string{good, bad} {
			if strings.Contains(lastErr, pw) || strings.Contains(e.logs.String(), pw) {
				t.Errorf("password %q leaked", pw)
			}
		}
	})
}

func TestNew_Validates(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		for _, tc := range []struct {
			name string
			mod  func(*Options)
			want string
		}{
			{"tls policy", func(o *Options) { o.SMTP = SMTP{Host: "mail.example", From: "a@b.example", TLS: "maybe"} }, "tls"},
			{"no sender", func(o *Options) { o.SMTP = SMTP{Host: "mail.example"} }, "From"},
			{"auth", func(o *Options) {
				o.SMTP = SMTP{Host: "mail.example", From: "a@b.example", Username: "u", Password: "pw-XYZ", Auth: "magic"}
			}, "auth"},
			{"webhook", func(o *Options) { o.Webhooks = []string{"ftp://user:pw-XYZ@hooks.example/x"} }, "webhook"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				o := e.options(t, nil)
				tc.mod(&o)
				_, err := New(e.db.DB, o)
				if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "pw-XYZ") {
					t.Errorf("error %v, want one about %s without the password", err, tc.want)
				}
			})
		}
	})
}

// Replicas on PostgreSQL share one queue: the same event queued by each is
// one message, sent once, by the one replica that runs the sender.
func TestReplicas_OneQueue(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	mb := startMailbox(t, "127.0.0.1:0", "", "")
	clk := &clock{t: t0}
	var notifiers []*Notifier
	var db testDB
	for range 2 {
		st, err := store.OpenPostgres(context.Background(), dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		e := &env{st: st, db: testDB{DB: st.DB(), postgres: true}, clk: clk, logs: &syncBuffer{}}
		db = e.db
		notifiers = append(notifiers, e.notifier(t, e.options(t, mb)))
	}
	ctx := context.Background()
	ev := Event{Kind: KindPartnerUnreachable, Key: "partner:MX:1:unreachable", Partner: "MX", Since: t0}
	added := 0
	for _, n := range notifiers {
		ok, err := n.Notify(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			added++
		}
	}
	if added != 1 {
		t.Fatalf("%d replicas queued the event, want 1", added)
	}
	start(t, notifiers[1], nil)
	waitFor(t, "the mail", func() bool { return mb.count() >= 1 }, nil)
	waitFor(t, "the queue to drain", settled(t, db), nil)
	if got := mb.count(); got != 1 {
		t.Errorf("%d mails, want 1", got)
	}
}
