package statusmsg

import (
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/lifecycle"
)

func TestMessage_Roundtrip(t *testing.T) {
	m := &Message{DocumentType: "sps", DocumentID: "CL-1", TrackingID: "CL-20261125-x", State: lifecycle.Replaced,
		Reason: "corrected & reissued", ReplacedBy: "CL-2", Time: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	got, err := Parse(m.Element().Root())
	if err != nil {
		t.Fatal(err)
	}
	if *got != *m {
		t.Errorf("got %+v, want %+v", got, m)
	}
}

func TestParse_Errors(t *testing.T) {
	good := (&Message{DocumentType: "sps", DocumentID: "A", State: lifecycle.Used, Time: time.Now()}).Element()
	tests := []struct {
		name, from, to, want string
	}{
		{"unknown state", "<vs:State>used</vs:State>", "<vs:State>lost</vs:State>", `unknown state "lost"`},
		{"missing document ID", "<vs:DocumentID>A</vs:DocumentID>", "", "lacks DocumentID"},
		{"ID does not match content", "<vs:ID>sps:A:used</vs:ID>", "<vs:ID>sps:B:used</vs:ID>", "does not match its content"},
		{"bad time", "<vs:Time>", "<vs:Time>x", "Time:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := good.WriteToString()
			doc := etree.NewDocument()
			if err := doc.ReadFromString(strings.Replace(s, tt.from, tt.to, 1)); err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(doc.Root()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}
