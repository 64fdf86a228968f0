package ops

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/store"
)

type messages struct {
	sent  []string // tracking ID → state, as "ID state"
	woken []string
	fail  error
}

func (m *messages) StatusMessage(d *store.Document, to lifecycle.State, _, _ string, at time.Time) (*store.Document, error) {
	m.sent = append(m.sent, d.TrackingID+" "+string(to))
	if m.fail != nil {
		return nil, m.fail
	}
	return &store.Document{TrackingID: "msg-" + d.TrackingID + "-" + string(to), Direction: store.Outbound, Partner: d.Partner,
		Type: "status", DocumentID: d.DocumentID + "/" + string(to), Digest: "m", State: lifecycle.Accepted, NextTry: at, Created: at}, nil
}
func (m *messages) Wake(p string) { m.woken = append(m.woken, p) }

func setup(t *testing.T) (*Service, *store.SQLite, *messages) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "ops.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, d := range []*store.Document{
		{TrackingID: "Q", Direction: store.Outbound, Partner: "MX", DocumentID: "Q", State: lifecycle.Accepted},
		{TrackingID: "S", Direction: store.Outbound, Partner: "MX", DocumentID: "S", State: lifecycle.Sent},
		{TrackingID: "I", Direction: store.Outbound, Partner: "MX", DocumentID: "I", State: lifecycle.Incomplete},
		{TrackingID: "R", Direction: store.Outbound, Partner: "MX", DocumentID: "R", State: lifecycle.ReceivedCorrectly},
		{TrackingID: "R2", Direction: store.Outbound, Partner: "MX", DocumentID: "R2", State: lifecycle.ReceivedCorrectly},
		{TrackingID: "IN", Direction: store.Inbound, Partner: "PE", DocumentID: "IN", State: lifecycle.ReceivedCorrectly},
	} {
		d.Type, d.Digest, d.Created = "sps", "sha256:"+d.TrackingID, t0
		if _, err := st.Add(ctx, d, "test", "fixture"); err != nil {
			t.Fatal(err)
		}
	}
	m := &messages{}
	return &Service{Store: st, Messages: m, Waker: m, Partners: []string{"MX", "PE"}, Now: func() time.Time { return t0.Add(time.Hour) }}, st, m
}

func TestDocumentActions(t *testing.T) {
	tests := []struct {
		name    string
		do      func(*Service) (*store.Document, error)
		want    lifecycle.State
		wantErr error
		told    bool // the partner gets a status message
	}{
		{"resend incomplete", func(s *Service) (*store.Document, error) { return s.Resend(ctx, "I", "operator:ana", "") }, lifecycle.Sent, nil, false},
		{"resend received", func(s *Service) (*store.Document, error) { return s.Resend(ctx, "R", "operator:ana", "") }, "", ErrState, false},
		{"resend inbound", func(s *Service) (*store.Document, error) { return s.Resend(ctx, "IN", "operator:ana", "") }, "", ErrState, false},
		{"resend without actor", func(s *Service) (*store.Document, error) { return s.Resend(ctx, "I", "operator:", "") }, "", ErrInvalid, false},
		{"resend unknown", func(s *Service) (*store.Document, error) { return s.Resend(ctx, "XX", "operator:ana", "") }, "", ErrNotFound, false},
		{"paper for a queued one", func(s *Service) (*store.Document, error) { return s.HandleOnPaper(ctx, "Q", "operator:ana", "outage") }, lifecycle.HandledOnPaper, nil, false},
		{"paper for an incomplete one", func(s *Service) (*store.Document, error) { return s.HandleOnPaper(ctx, "I", "operator:ana", "") }, lifecycle.HandledOnPaper, nil, false},
		{"paper for a delivered one", func(s *Service) (*store.Document, error) { return s.HandleOnPaper(ctx, "R", "operator:ana", "") }, "", ErrState, false},
		{"withdraw a delivered one tells the partner", func(s *Service) (*store.Document, error) {
			return s.ChangeStatus(ctx, "R", lifecycle.Withdrawn, "operator:ana", "typo", "")
		}, lifecycle.Withdrawn, nil, true},
		{"withdraw a never attempted one stays local", func(s *Service) (*store.Document, error) {
			return s.ChangeStatus(ctx, "Q", lifecycle.Withdrawn, "operator:ana", "", "")
		}, lifecycle.Withdrawn, nil, false},
		{"withdraw an attempted one tells the partner", func(s *Service) (*store.Document, error) {
			return s.ChangeStatus(ctx, "S", lifecycle.Withdrawn, "operator:ana", "", "")
		}, lifecycle.Withdrawn, nil, true},
		{"importer asks for a replacement", func(s *Service) (*store.Document, error) {
			return s.ChangeStatus(ctx, "IN", lifecycle.ReplacementRequested, "operator:ana", "wrong weight", "")
		}, lifecycle.ReplacementRequested, nil, true},
		{"issuer may not report use", func(s *Service) (*store.Document, error) {
			return s.ChangeStatus(ctx, "R", lifecycle.Used, "operator:ana", "", "")
		}, "", ErrInvalid, false},
		{"replaced needs the replacement", func(s *Service) (*store.Document, error) {
			return s.ChangeStatus(ctx, "R", lifecycle.Replaced, "operator:ana", "", "")
		}, "", ErrInvalid, false},
		{"replaced by an unknown document", func(s *Service) (*store.Document, error) {
			return s.ChangeStatus(ctx, "R", lifecycle.Replaced, "operator:ana", "", "NOPE")
		}, "", ErrInvalid, false},
		{"replaced by a sent document", func(s *Service) (*store.Document, error) {
			return s.ChangeStatus(ctx, "R", lifecycle.Replaced, "operator:ana", "", "R2")
		}, lifecycle.Replaced, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, st, m := setup(t)
			d, err := tt.do(s)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.State != tt.want {
				t.Fatalf("state %s, want %s", d.State, tt.want)
			}
			hist, err := st.History(ctx, d.TrackingID)
			if err != nil {
				t.Fatal(err)
			}
			if last := hist[len(hist)-1]; last.Actor != "operator:ana" || last.To != tt.want {
				t.Errorf("audit trail: %+v", last)
			}
			if told := len(m.sent) == 1; told != tt.told {
				t.Errorf("partner told: %v (%v), want %v", told, m.sent, tt.told)
			}
		})
	}
}

var ctx = context.Background()

func TestPartnerActions(t *testing.T) {
	s, st, m := setup(t)
	if _, err := s.Partner(ctx, "MX", Pause, "operator:ana", "maintenance"); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Paused(ctx); !p["MX"] {
		t.Fatal("MX not paused")
	}
	n, err := s.Partner(ctx, "MX", Resend, "operator:ana", "after outage")
	if err != nil || n != 1 {
		t.Fatalf("resend: %d, %v", n, err)
	}
	if _, err := s.Partner(ctx, "MX", Resume, "operator:ana", ""); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Paused(ctx); p["MX"] {
		t.Fatal("MX still paused")
	}
	if len(m.woken) != 2 {
		t.Errorf("woken %v, want resend and resume", m.woken)
	}
	if _, err := s.Partner(ctx, "AR", Pause, "operator:ana", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown partner: %v", err)
	}
	if _, err := s.Partner(ctx, "MX", "drop", "operator:ana", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown action: %v", err)
	}
	ev, _ := st.PartnerEvents(ctx, "MX")
	if len(ev) != 3 || ev[0].Action != "pause" || ev[1].Action != "resend" || ev[2].Action != "resume" {
		t.Errorf("partner audit trail %+v", ev)
	}
}

// A status message that cannot be written (the signing key is gone)
// leaves the document as it was: the partner is never left untold.
func TestChangeStatus_MessageFailureChangesNothing(t *testing.T) {
	s, st, m := setup(t)
	m.fail = errors.New("signing key unavailable")
	if _, err := s.ChangeStatus(ctx, "R", lifecycle.Withdrawn, "operator:ana", "", ""); err == nil {
		t.Fatal("change reported done without its message")
	}
	if d, _ := st.Get(ctx, "R"); d.State != lifecycle.ReceivedCorrectly {
		t.Fatalf("state %s after a failed message", d.State)
	}
	m.fail = nil
	d, err := s.ChangeStatus(ctx, "R", lifecycle.Withdrawn, "operator:ana", "", "")
	if err != nil || d.State != lifecycle.Withdrawn {
		t.Fatalf("%+v %v", d, err)
	}
	if msg, err := st.Get(ctx, "msg-R-withdrawn"); err != nil || msg.State != lifecycle.Accepted {
		t.Fatalf("message not queued with the change: %+v %v", msg, err)
	}
}
