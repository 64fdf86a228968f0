// Package ops holds the actions people take on documents and partners —
// resend, hand over to paper, withdraw, report a status, pause and resume
// a partner — in one place, so the HTTP API and the web console apply the
// same rules and leave the same audit trail.
//
// Every action names its actor ("operator:alice", "legacy", …), which the
// store records with the transition; no action happens anonymously.
package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/store"
)

// Store is what the actions read and change.
type Store interface {
	Get(ctx context.Context, trackingID string) (*store.Document, error)
	Find(ctx context.Context, direction, partner, docType, docID string) (*store.Document, error)
	Transition(ctx context.Context, trackingID string, at time.Time, c store.Change) (*store.Document, error)
	SetPaused(ctx context.Context, partner string, paused bool, at time.Time, actor, reason string) error
	ResendIncomplete(ctx context.Context, partner string, at time.Time, actor, reason string) (int, error)
}

// Messages writes the signed status message that tells the partner about
// a change, as an outbound document to queue. The change and its message
// then commit in one transaction (store.Change.Enqueue): a crash or a
// signing error can no longer leave a change the partner never hears of.
type Messages interface {
	StatusMessage(d *store.Document, to lifecycle.State, reason, replacedBy string, at time.Time) (*store.Document, error)
}

// Waker wakes a partner's delivery workers (work is due now).
type Waker interface {
	Wake(partner string)
}

// Errors the caller maps to its own answer (HTTP status, console message).
var (
	// ErrInvalid: the request itself is wrong (missing actor, a state that
	// may not be reported, a missing replacement).
	ErrInvalid = errors.New("invalid request")
	// ErrState: the document is not in a state that allows the action.
	ErrState = errors.New("not allowed in the document's state")
	// ErrNotFound: no such document or partner.
	ErrNotFound = store.ErrNotFound
)

// Service performs the actions.
type Service struct {
	Store Store
	// Messages writes status messages; nil means changes stay local.
	Messages Messages
	// Waker, if not nil, is told when a partner has work due now.
	Waker Waker
	// Partners are the configured partner countries.
	Partners []string
	Now      func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func needActor(actor string) error {
	if strings.TrimSpace(actor) == "" || strings.HasSuffix(actor, ":") {
		return invalid("actor: say who is acting (it is recorded)")
	}
	return nil
}

func (s *Service) load(ctx context.Context, trackingID string) (*store.Document, error) {
	d, err := s.Store.Get(ctx, trackingID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no document with tracking ID %q", ErrNotFound, trackingID)
	}
	return d, err
}

// Resend sends an outbound document again now: an incomplete one goes back
// in the queue, one waiting for its next try skips the wait.
func (s *Service) Resend(ctx context.Context, trackingID, actor, reason string) (*store.Document, error) {
	if err := needActor(actor); err != nil {
		return nil, err
	}
	d, err := s.load(ctx, trackingID)
	if err != nil {
		return nil, err
	}
	if d.Direction != store.Outbound || (d.State != lifecycle.Incomplete && !lifecycle.Pending(d.State)) {
		return nil, fmt.Errorf("%w: only outbound documents still to deliver or incomplete can be resent; %s is %s %s", ErrState, trackingID, d.Direction, d.State)
	}
	now := s.now()
	d, err = s.Store.Transition(ctx, trackingID, now, store.Change{To: lifecycle.Sent, Actor: actor, Reason: joinReason("resend", reason), NextTry: &now})
	if err != nil {
		return nil, err
	}
	s.wake(d.Partner)
	return d, nil
}

// HandleOnPaper stops electronic delivery of an outbound document that has
// not reached the partner: the certificate travels on paper instead
// (contingency). The partner never received it, so nothing is sent to it.
func (s *Service) HandleOnPaper(ctx context.Context, trackingID, actor, reason string) (*store.Document, error) {
	if err := needActor(actor); err != nil {
		return nil, err
	}
	d, err := s.load(ctx, trackingID)
	if err != nil {
		return nil, err
	}
	if d.Direction != store.Outbound || (d.State != lifecycle.Incomplete && !lifecycle.Pending(d.State)) {
		return nil, fmt.Errorf("%w: only outbound documents not yet delivered can be handed over to paper; %s is %s %s", ErrState, trackingID, d.Direction, d.State)
	}
	empty := ""
	return s.Store.Transition(ctx, trackingID, s.now(), store.Change{To: lifecycle.HandledOnPaper, Actor: actor,
		Reason: joinReason("contingency: handled on paper", reason), NextTry: &time.Time{}, LastError: &empty})
}

// Reportable are the status changes people may make on each side: the
// importing side reports use or asks for a replacement; the issuing side
// withdraws or replaces.
var Reportable = map[string][]lifecycle.State{
	store.Inbound:  {lifecycle.Used, lifecycle.ReplacementRequested},
	store.Outbound: {lifecycle.Withdrawn, lifecycle.Replaced},
}

// ChangeStatus records a status change and, when the partner holds the
// document, sends it to the partner. replacedBy (required with state
// replaced) is the document ID of a replacement already sent to the same
// partner.
func (s *Service) ChangeStatus(ctx context.Context, trackingID string, to lifecycle.State, actor, reason, replacedBy string) (*store.Document, error) {
	if err := needActor(actor); err != nil {
		return nil, err
	}
	d, err := s.load(ctx, trackingID)
	if err != nil {
		return nil, err
	}
	allowed := Reportable[d.Direction]
	if !slices.Contains(allowed, to) {
		return nil, invalid("state: on an %s document one may report %v, not %q", d.Direction, allowed, to)
	}
	switch {
	case to == lifecycle.Replaced && replacedBy == "":
		return nil, invalid("replaced_by: the document ID of the replacement is required")
	case to == lifecycle.Replaced:
		if _, err := s.Store.Find(ctx, store.Outbound, d.Partner, d.Type, replacedBy); err != nil {
			return nil, invalid("replaced_by: no %s document %q was sent to %s; send the replacement first", d.Type, replacedBy, d.Partner)
		}
		reason = joinReason("replaced by "+replacedBy, reason)
	case replacedBy != "":
		return nil, invalid("replaced_by: only with state replaced")
	}
	// A document never attempted changes here only: there is nothing to
	// tell. Once an attempt was made the partner may hold it (a receipt can
	// be lost), so it is told.
	partnerHolds := d.State != lifecycle.Accepted || d.Attempts > 0
	now := s.now()
	change := store.Change{To: to, Actor: actor, Reason: reason, NextTry: &time.Time{}}
	if s.Messages != nil && partnerHolds {
		if err := lifecycle.Check(d.State, to); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrState, err)
		}
		m, err := s.Messages.StatusMessage(d, to, strings.TrimPrefix(reason, "replaced by "+replacedBy+": "), replacedBy, now)
		if err != nil {
			return nil, fmt.Errorf("the message to %s could not be written, so nothing changed: %w", d.Partner, err)
		}
		change.Enqueue = []*store.Document{m}
	}
	changed, err := s.Store.Transition(ctx, trackingID, now, change)
	if errors.Is(err, lifecycle.ErrIllegal) {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	if err != nil {
		return nil, err
	}
	if len(change.Enqueue) > 0 {
		s.wake(changed.Partner)
	}
	return changed, nil
}

// PartnerAction is pause, resume or resend.
type PartnerAction string

const (
	Pause  PartnerAction = "pause"
	Resume PartnerAction = "resume"
	Resend PartnerAction = "resend"
)

// Partner pauses or resumes delivery to a partner, or puts all its
// incomplete documents back in the queue (returning how many).
func (s *Service) Partner(ctx context.Context, partner string, action PartnerAction, actor, reason string) (int, error) {
	if err := needActor(actor); err != nil {
		return 0, err
	}
	if !slices.Contains(s.Partners, partner) {
		return 0, fmt.Errorf("%w: %q is not a configured partner", ErrNotFound, partner)
	}
	now := s.now()
	n := 0
	var err error
	switch action {
	case Resend:
		n, err = s.Store.ResendIncomplete(ctx, partner, now, actor, reason)
	case Pause, Resume:
		err = s.Store.SetPaused(ctx, partner, action == Pause, now, actor, reason)
	default:
		return 0, invalid("action: %q is not pause, resume or resend", action)
	}
	if err != nil {
		return 0, err
	}
	if action != Pause {
		s.wake(partner)
	}
	return n, nil
}

func (s *Service) wake(partner string) {
	if s.Waker != nil {
		s.Waker.Wake(partner)
	}
}

func joinReason(what, why string) string {
	if strings.TrimSpace(why) == "" {
		return what
	}
	return what + ": " + why
}
