package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/notify/mailtest"
)

// Mexico's node goes down long enough for Chile's to call it unreachable
// and give up on two certificates; it comes back and the operator resends
// them. Chile's notifications, through a real SMTP server on loopback:
// exactly one "unreachable" mail to both countries' operators, one
// "incomplete" mail to them and one to the exporter per certificate, and
// exactly one "recovered" mail.
func TestNotifications_OutageAndRecovery(t *testing.T) {
	mail, err := mailtest.NewServer("127.0.0.1:0", "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mail.Close() })
	n := startNetworkWith(t, Options{Countries: []string{"CL", "MX"}, NoWait: true, SMTP: mail.Addr(),
		GiveUpAfter: 3 * time.Second, UnreachableAfter: time.Second})
	ctx := context.Background()
	st := n.Nodes["CL"].Store

	first := sendNative(t, n, 1)
	waitState(t, n, "CL", first, lifecycle.ReceivedCorrectly)

	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := n.Stop(sctx, "MX"); err != nil {
		t.Fatal(err)
	}
	lost := []string{sendNative(t, n, 2), sendNative(t, n, 3)}
	for _, tid := range lost {
		waitState(t, n, "CL", tid, lifecycle.Incomplete)
	}
	fromCL := func() []mailtest.Message {
		var out []mailtest.Message
		for _, m := range mail.Messages() {
			if m.From == "vucelink@cl.vucelink.example" {
				out = append(out, m)
			}
		}
		return out
	}
	bySubject := func(part string) []mailtest.Message {
		var out []mailtest.Message
		for _, m := range fromCL() {
			if strings.Contains(m.Subject, part) {
				out = append(out, m)
			}
		}
		return out
	}
	waitMail := func(what string, part string, count int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for len(bySubject(part)) < count {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d mails after 20 s, want %d; all from CL:\n%v", what, len(bySubject(part)), count, subjects(fromCL()))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitMail("unreachable", "Partner node unreachable", 1)
	waitMail("incomplete, operators", "Incomplete document", 2)
	waitMail("incomplete, exporters", "Your certificate could not be delivered", 2)

	if err := n.Restart("MX", nil); err != nil {
		t.Fatal(err)
	}
	if got := operator(t, n, "CL", "/api/v1/partners/MX/resend"); got["resent"] != float64(2) {
		t.Fatalf("resend answered %v", got)
	}
	for _, tid := range lost {
		waitState(t, n, "CL", tid, lifecycle.ReceivedCorrectly)
	}
	waitMail("recovered", "Partner node recovered", 1)
	// Time for any extra message to show up before counting exactly.
	time.Sleep(2 * time.Second)

	operators := []string{"ops@cl.vucelink.example", "ops@mx.vucelink.example"}
	for _, tt := range []struct {
		subject string
		count   int
	}{
		{"Partner node unreachable: MX", 1},
		{"Partner node recovered: MX", 1},
		{"Incomplete document", 2},
		{"Your certificate could not be delivered", 2},
	} {
		got := bySubject(tt.subject)
		if len(got) != tt.count {
			t.Errorf("%q: %d mails, want %d:\n%v", tt.subject, len(got), tt.count, subjects(fromCL()))
			continue
		}
		for _, m := range got {
			if tt.subject == "Your certificate could not be delivered" {
				continue
			}
			if !slices.Equal(m.To, operators) {
				t.Errorf("%q went to %v, want %v", tt.subject, m.To, operators)
			}
		}
	}
	if total := len(fromCL()); total != 6 {
		t.Errorf("CL sent %d mails, want 6:\n%v", total, subjects(fromCL()))
	}
	for i, tid := range lost {
		d, err := st.Get(ctx, tid)
		if err != nil {
			t.Fatal(err)
		}
		exporter := fmt.Sprintf("exportaciones+%d@cl.exporter.example", i+2)
		if d.Contact != exporter {
			t.Errorf("%s: contact %q, want %q (from the rule file's local exporter_email)", tid, d.Contact, exporter)
		}
		var toOps, toExporter bool
		for _, m := range bySubject(d.DocumentID) {
			switch {
			case slices.Equal(m.To, []string{exporter}):
				toExporter = strings.Contains(m.Text, tid) && strings.Contains(m.Subject, "Your certificate could not be delivered")
			case slices.Equal(m.To, operators):
				toOps = strings.Contains(m.Text, tid) && strings.Contains(m.HTML, tid)
			}
		}
		if !toOps || !toExporter {
			t.Errorf("%s (%s): mail with its tracking ID to operators %v, to the exporter %s %v", tid, d.DocumentID, toOps, exporter, toExporter)
		}
	}
}

func subjects(ms []mailtest.Message) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "  %v  %s\n", m.To, m.Subject)
	}
	return b.String()
}
