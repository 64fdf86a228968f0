// Package lifecycle is the state machine every document follows, on the
// node that sent it and on the node that received it.
//
//	accepted ─► sent ─┬─► received-correctly ─┬─► used
//	                  │                       └─► replacement-requested ─► replaced
//	                  ├─► received-with-errors ─► replacement-requested
//	                  └─► incomplete ─► sent (resend)
//	accepted, sent, incomplete ─► handled-on-paper (contingency) ─► withdrawn
//	any state but used and replaced ─► withdrawn
//
// On the receiving node a document starts at received-correctly or
// received-with-errors. Illegal transitions are refused with an error that
// names both states; every legal one is recorded by the store with time,
// actor and reason.
package lifecycle

import (
	"errors"
	"fmt"
	"slices"
)

// State is where a document is in its life.
type State string

const (
	Accepted             State = "accepted"              // committed by the origin node, not yet attempted
	Sent                 State = "sent"                  // delivery attempted, no verdict yet (retrying)
	ReceivedCorrectly    State = "received-correctly"    // the destination verified and handed it over
	ReceivedWithErrors   State = "received-with-errors"  // the destination refused it, with reasons
	Incomplete           State = "incomplete"            // gave up retrying; an operator must act
	Used                 State = "used"                  // the importing authority used it (clearance)
	ReplacementRequested State = "replacement-requested" // the importing side asks for a new one
	Replaced             State = "replaced"              // a newer document replaces it
	Withdrawn            State = "withdrawn"             // the issuer withdrew it
	// HandledOnPaper: an operator gave up on electronic delivery and the
	// certificate travels on paper (contingency); delivery stops for good.
	HandledOnPaper State = "handled-on-paper"
)

// All states, in lifecycle order.
var All = []State{Accepted, Sent, ReceivedCorrectly, ReceivedWithErrors, Incomplete, Used, ReplacementRequested, Replaced, Withdrawn, HandledOnPaper}

var next = map[State][]State{
	Accepted:             {Sent, ReceivedCorrectly, ReceivedWithErrors, Incomplete, Withdrawn, HandledOnPaper},
	Sent:                 {Sent, ReceivedCorrectly, ReceivedWithErrors, Incomplete, Withdrawn, HandledOnPaper},
	Incomplete:           {Sent, ReceivedCorrectly, ReceivedWithErrors, Withdrawn, HandledOnPaper},
	HandledOnPaper:       {Withdrawn},
	ReceivedCorrectly:    {Used, ReplacementRequested, Replaced, Withdrawn},
	ReceivedWithErrors:   {ReplacementRequested, Replaced, Withdrawn},
	ReplacementRequested: {Replaced, Withdrawn},
	Used:                 {},
	Replaced:             {},
	Withdrawn:            {},
}

// ErrIllegal is wrapped by every refused transition.
var ErrIllegal = errors.New("illegal state transition")

// Valid reports whether s is a known state.
func Valid(s State) bool { return slices.Contains(All, s) }

// Check returns nil if a document may go from one state to the other.
func Check(from, to State) error {
	if !Valid(to) {
		return fmt.Errorf("%w: unknown state %q", ErrIllegal, to)
	}
	allowed, ok := next[from]
	if !ok {
		return fmt.Errorf("%w: unknown state %q", ErrIllegal, from)
	}
	if !slices.Contains(allowed, to) {
		if len(allowed) == 0 {
			return fmt.Errorf("%w: %s → %s: %s is final", ErrIllegal, from, to, from)
		}
		return fmt.Errorf("%w: %s → %s (from %s a document may go to %v)", ErrIllegal, from, to, from, allowed)
	}
	return nil
}

// Final reports whether no transition leaves s.
func Final(s State) bool { return len(next[s]) == 0 }

// Pending reports whether s still needs delivery.
func Pending(s State) bool { return s == Accepted || s == Sent }
