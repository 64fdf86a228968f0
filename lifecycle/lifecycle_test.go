package lifecycle

import (
	"errors"
	"fmt"
	"testing"
)

// Every pair of states is either legal or refused, and the table below is
// the specification: a change to the machine must change it too.
func TestCheck_EveryPair(t *testing.T) {
	legal := map[[2]State]bool{}
	for _, p := range [][2]State{
		{Accepted, Sent}, {Accepted, ReceivedCorrectly}, {Accepted, ReceivedWithErrors}, {Accepted, Incomplete}, {Accepted, Withdrawn},
		{Sent, Sent}, {Sent, ReceivedCorrectly}, {Sent, ReceivedWithErrors}, {Sent, Incomplete}, {Sent, Withdrawn},
		{Incomplete, Sent}, {Incomplete, ReceivedCorrectly}, {Incomplete, ReceivedWithErrors}, {Incomplete, Withdrawn},
		{ReceivedCorrectly, Used}, {ReceivedCorrectly, ReplacementRequested}, {ReceivedCorrectly, Replaced}, {ReceivedCorrectly, Withdrawn},
		{ReceivedWithErrors, ReplacementRequested}, {ReceivedWithErrors, Replaced}, {ReceivedWithErrors, Withdrawn},
		{ReplacementRequested, Replaced}, {ReplacementRequested, Withdrawn},
		{Accepted, HandledOnPaper}, {Sent, HandledOnPaper}, {Incomplete, HandledOnPaper}, {HandledOnPaper, Withdrawn},
	} {
		legal[p] = true
	}
	for _, from := range All {
		for _, to := range All {
			t.Run(fmt.Sprintf("%s→%s", from, to), func(t *testing.T) {
				err := Check(from, to)
				if legal[[2]State{from, to}] {
					if err != nil {
						t.Errorf("refused a legal transition: %v", err)
					}
					return
				}
				if !errors.Is(err, ErrIllegal) {
					t.Errorf("allowed an illegal transition (err %v)", err)
				}
			})
		}
	}
}

func TestCheck_Messages(t *testing.T) {
	if err := Check(Used, Withdrawn); err == nil || err.Error() != "illegal state transition: used → withdrawn: used is final" {
		t.Errorf("got %v", err)
	}
	if err := Check(Sent, "lost"); !errors.Is(err, ErrIllegal) {
		t.Errorf("unknown state: %v", err)
	}
	if !Final(Replaced) || Final(Sent) || !Pending(Accepted) || Pending(Used) {
		t.Error("Final/Pending")
	}
}
