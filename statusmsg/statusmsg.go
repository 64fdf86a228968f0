// Package statusmsg is the signed message that carries a document's status
// change to the other country: the importing side reports a certificate
// used or asks for a replacement, the issuing side withdraws it or
// replaces it. It travels like any document — signed by an authorized
// official, through the outbox, verified on arrival — as document type
// "status".
package statusmsg

import (
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/lifecycle"
)

// Type is the document type status messages travel as.
const Type = "status"

// Namespace of the message.
const Namespace = "urn:vucelink:status:1"

// Message is a status change of one document.
type Message struct {
	DocumentType string
	DocumentID   string
	TrackingID   string // the document's tracking ID at its origin
	State        lifecycle.State
	Reason       string
	Time         time.Time
	// ReplacedBy is the ID of the document that replaces this one (state
	// replaced only).
	ReplacedBy string
}

// ID is the message's own document ID: one message per document and state.
func (m *Message) ID() string { return m.DocumentType + ":" + m.DocumentID + ":" + string(m.State) }

// Element builds the message's XML.
func (m *Message) Element() *etree.Document {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement("vs:StatusMessage")
	root.CreateAttr("xmlns:vs", Namespace)
	add := func(tag, text string) {
		if text != "" {
			root.CreateElement("vs:" + tag).SetText(text)
		}
	}
	add("ID", m.ID())
	add("DocumentType", m.DocumentType)
	add("DocumentID", m.DocumentID)
	add("TrackingID", m.TrackingID)
	add("State", string(m.State))
	add("Reason", m.Reason)
	add("ReplacedBy", m.ReplacedBy)
	add("Time", m.Time.UTC().Format(time.RFC3339))
	return doc
}

// Parse reads a (verified) message element.
func Parse(root *etree.Element) (*Message, error) {
	if root == nil || root.Tag != "StatusMessage" || root.NamespaceURI() != Namespace {
		return nil, fmt.Errorf("not a status message")
	}
	get := func(tag string) string {
		for _, c := range root.ChildElements() {
			if c.Tag == tag && c.NamespaceURI() == Namespace {
				return strings.TrimSpace(c.Text())
			}
		}
		return ""
	}
	m := &Message{DocumentType: get("DocumentType"), DocumentID: get("DocumentID"), TrackingID: get("TrackingID"),
		State: lifecycle.State(get("State")), Reason: get("Reason"), ReplacedBy: get("ReplacedBy")}
	var missing []string
	for tag, v := range map[string]string{"DocumentType": m.DocumentType, "DocumentID": m.DocumentID, "State": string(m.State)} {
		if v == "" {
			missing = append(missing, tag)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("status message lacks %s", strings.Join(missing, ", "))
	}
	if !lifecycle.Valid(m.State) {
		return nil, fmt.Errorf("status message: unknown state %q", m.State)
	}
	t, err := time.Parse(time.RFC3339, get("Time"))
	if err != nil {
		return nil, fmt.Errorf("status message: Time: %v", err)
	}
	m.Time = t
	if got := get("ID"); got != m.ID() {
		return nil, fmt.Errorf("status message: ID %q does not match its content (%q)", got, m.ID())
	}
	return m, nil
}
