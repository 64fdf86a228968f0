package wire

import (
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// ReceiptNamespace is the namespace of signed receipts.
const ReceiptNamespace = "urn:vucelink:receipt:1"

// ReceiptContentType marks a signed XML receipt; an unsigned JSON receipt
// (for requests refused before a document could be trusted) is sent as
// application/json.
const ReceiptContentType = "application/xml"

// XML renders the receipt as the document the receiving node signs: proof
// of delivery that both sides keep.
func (r *Receipt) XML() *etree.Document {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement("vr:Receipt")
	root.CreateAttr("xmlns:vr", ReceiptNamespace)
	add := func(tag, text string) *etree.Element {
		e := root.CreateElement("vr:" + tag)
		e.SetText(text)
		return e
	}
	add("TrackingID", r.TrackingID)
	add("DocumentID", r.DocumentID)
	add("DocumentType", r.DocumentType)
	add("From", r.From)
	add("To", r.To)
	add("Digest", r.Digest)
	add("Outcome", string(r.Outcome))
	for _, x := range r.Reasons {
		e := add("Reason", x.Message)
		e.CreateAttr("code", x.Code)
		if x.Field != "" {
			e.CreateAttr("field", x.Field)
		}
	}
	add("Time", r.Time.UTC().Format(time.RFC3339Nano))
	return doc
}

// ParseReceiptXML reads a (verified) receipt element.
func ParseReceiptXML(root *etree.Element) (*Receipt, error) {
	if root == nil || root.Tag != "Receipt" || root.NamespaceURI() != ReceiptNamespace {
		return nil, fmt.Errorf("not a receipt")
	}
	r := &Receipt{}
	var tm string
	for _, c := range root.ChildElements() {
		if c.NamespaceURI() != ReceiptNamespace {
			continue
		}
		text := strings.TrimSpace(c.Text())
		switch c.Tag {
		case "TrackingID":
			r.TrackingID = text
		case "DocumentID":
			r.DocumentID = text
		case "DocumentType":
			r.DocumentType = text
		case "From":
			r.From = text
		case "To":
			r.To = text
		case "Digest":
			r.Digest = text
		case "Outcome":
			r.Outcome = Outcome(text)
		case "Reason":
			r.Reasons = append(r.Reasons, Reason{Code: c.SelectAttrValue("code", ""), Field: c.SelectAttrValue("field", ""), Message: text})
		case "Time":
			tm = text
		}
	}
	switch r.Outcome {
	case ReceivedCorrectly, ReceivedWithErrors, Rejected:
	default:
		return nil, fmt.Errorf("receipt: unknown outcome %q", r.Outcome)
	}
	t, err := time.Parse(time.RFC3339Nano, tm)
	if err != nil {
		return nil, fmt.Errorf("receipt: Time: %v", err)
	}
	r.Time = t
	return r, nil
}
