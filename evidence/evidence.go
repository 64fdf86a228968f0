// Package evidence writes and checks a document's evidence bundle: one
// ZIP archive with everything needed to show, years later and without
// the node, what was sent or received and what happened to it — the
// standard XML exactly as signed, the certificates each signature
// carries, the partner's signed receipts and the signed status messages
// both ways, the full history, and a manifest of every member's SHA-256
// signed by the node (COSE_Sign1, like the paper summary: see package
// paper). Verify checks all of it offline and names any member that was
// changed, removed, added or re-signed.
package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/paper"
	"github.com/vucelink/vucelink/statusmsg"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/xmlsafe"
)

// Member names of a bundle.
const (
	Manifest       = "manifest.json"
	ManifestSig    = "manifest.cose"
	DocumentMember = "document.xml"
	HistoryMember  = "history.json"
	NativeMember   = "native.txt"
	ReceiptMember  = "receipts/receipt.xml"
)

// manifestType is the content type of the signed manifest.
const manifestType = "application/vnd.vucelink.evidence-manifest+json"

// ManifestDoc is the bundle's table of contents.
type ManifestDoc struct {
	Format     int       `json:"format"`
	Node       string    `json:"node"`
	TrackingID string    `json:"tracking_id"`
	DocumentID string    `json:"document_id"`
	Type       string    `json:"document_type"`
	Direction  string    `json:"direction"`
	Partner    string    `json:"partner"`
	Digest     string    `json:"digest"` // of document.xml
	Exported   time.Time `json:"exported"`
	ExportedBy string    `json:"exported_by"`
	Members    []Entry   `json:"members"`
}

// Entry is one member of the bundle.
type Entry struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
	// What the member is: document, certificate, receipt, status, history, native.
	Kind string `json:"kind"`
}

// Source is what an export reads.
type Source interface {
	Get(ctx context.Context, trackingID string) (*store.Document, error)
	History(ctx context.Context, trackingID string) ([]store.Transition, error)
	List(ctx context.Context, f store.Filter) ([]*store.Document, error)
}

// Exporter writes bundles.
type Exporter struct {
	Country string
	Source  Source
	// Signer signs the manifest: the node's signing key for the document's
	// type.
	Signer func(docType string) (paper.Signer, error)
	Now    func() time.Time
}

// history is the history member.
type history struct {
	Document struct {
		TrackingID string          `json:"tracking_id"`
		DocumentID string          `json:"document_id"`
		Type       string          `json:"document_type"`
		Direction  string          `json:"direction"`
		Partner    string          `json:"partner"`
		Digest     string          `json:"digest"`
		State      lifecycle.State `json:"state"`
		Attempts   int             `json:"attempts"`
		LastError  string          `json:"last_error,omitempty"`
		Created    time.Time       `json:"created"`
		Updated    time.Time       `json:"updated"`
	} `json:"document"`
	Receipt     any                `json:"receipt,omitempty"` // as the node recorded it
	Transitions []store.Transition `json:"transitions"`
	Status      []statusEntry      `json:"status_messages,omitempty"`
}

type statusEntry struct {
	Member     string             `json:"member"`
	TrackingID string             `json:"tracking_id"`
	Direction  string             `json:"direction"`
	State      lifecycle.State    `json:"state"`
	Document   string             `json:"document_id"`
	History    []store.Transition `json:"transitions"`
}

type builder struct {
	buf     bytes.Buffer
	zw      *zip.Writer
	entries []Entry
	at      time.Time
}

func (b *builder) add(name, kind string, data []byte) error {
	w, err := b.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: b.at})
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	b.entries = append(b.entries, Entry{Name: name, SHA256: hex.EncodeToString(sum[:]), Size: len(data), Kind: kind})
	return nil
}

// Export writes the bundle of the document with trackingID to w.
func (e *Exporter) Export(ctx context.Context, trackingID, actor string, w io.Writer) error {
	d, err := e.Source.Get(ctx, trackingID)
	if err != nil {
		return err
	}
	if d.Type == statusmsg.Type {
		return fmt.Errorf("%s is a status message: export the document it is about", trackingID)
	}
	hist, err := e.Source.History(ctx, trackingID)
	if err != nil {
		return err
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	b := &builder{at: now().UTC()}
	b.zw = zip.NewWriter(&b.buf)

	if err := b.add(DocumentMember, "document", d.Body); err != nil {
		return err
	}
	if err := b.addChains("chain/document", d.Body); err != nil {
		return err
	}
	if d.Receipt != nil && len(d.Receipt.Signed) > 0 {
		if err := b.add(ReceiptMember, "receipt", d.Receipt.Signed); err != nil {
			return err
		}
		if err := b.addChains("chain/receipt", d.Receipt.Signed); err != nil {
			return err
		}
	}
	var h history
	h.Document.TrackingID, h.Document.DocumentID, h.Document.Type = d.TrackingID, d.DocumentID, d.Type
	h.Document.Direction, h.Document.Partner, h.Document.Digest, h.Document.State = d.Direction, d.Partner, d.Digest, d.State
	h.Document.Attempts, h.Document.LastError, h.Document.Created, h.Document.Updated = d.Attempts, d.LastError, d.Created, d.Updated
	if d.Receipt != nil {
		h.Receipt = d.Receipt
	}
	h.Transitions = hist

	// Status messages about this document, both ways: one per state, so
	// the document ID prefix finds them all.
	msgs, err := e.Source.List(ctx, store.Filter{Type: statusmsg.Type, Partner: d.Partner, IDPrefix: d.Type + ":" + d.DocumentID + ":", Limit: 1000})
	if err != nil {
		return err
	}
	slices.SortFunc(msgs, func(a, b *store.Document) int { return a.Created.Compare(b.Created) })
	for i, m := range msgs {
		base := fmt.Sprintf("status/%02d-%s-%s", i+1, m.Direction, strings.TrimPrefix(m.DocumentID, d.Type+":"+d.DocumentID+":"))
		if err := b.add(base+".xml", "status", m.Body); err != nil {
			return err
		}
		if err := b.addChains(base, m.Body); err != nil {
			return err
		}
		if m.Receipt != nil && len(m.Receipt.Signed) > 0 {
			if err := b.add(base+".receipt.xml", "receipt", m.Receipt.Signed); err != nil {
				return err
			}
		}
		mh, err := e.Source.History(ctx, m.TrackingID)
		if err != nil {
			return err
		}
		h.Status = append(h.Status, statusEntry{Member: base + ".xml", TrackingID: m.TrackingID, Direction: m.Direction,
			State: m.State, Document: m.DocumentID, History: mh})
	}
	hj, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	if err := b.add(HistoryMember, "history", hj); err != nil {
		return err
	}
	// The node does not keep native payloads (they may carry what the
	// standard document leaves out, and the signed standard XML is what
	// crossed the border); the member says so rather than being absent.
	native := fmt.Sprintf("The native payload of %s is not kept on the node of %s (policy): it was mapped to %s, which was signed and is the evidence of what was sent or received.\n", d.TrackingID, e.Country, DocumentMember)
	if err := b.add(NativeMember, "native", []byte(native)); err != nil {
		return err
	}

	m := ManifestDoc{Format: 1, Node: e.Country, TrackingID: d.TrackingID, DocumentID: d.DocumentID, Type: d.Type,
		Direction: d.Direction, Partner: d.Partner, Digest: d.Digest, Exported: b.at, ExportedBy: actor, Members: b.entries}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	signer, err := e.Signer(d.Type)
	if err != nil {
		return fmt.Errorf("no key signs %s manifests: %w", d.Type, err)
	}
	sig, err := paper.SignCOSE(signer, manifestType, mj)
	if err != nil {
		return fmt.Errorf("signing the manifest: %w", err)
	}
	// Written without add: they are not their own members.
	for name, data := range map[string][]byte{Manifest: mj, ManifestSig: sig} {
		w, err := b.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: b.at})
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	if err := b.zw.Close(); err != nil {
		return err
	}
	_, err = w.Write(b.buf.Bytes())
	return err
}

// addChains writes the certificates each signature in doc carries, one
// PEM file per signature (leaf first), as prefix-sigN.pem.
func (b *builder) addChains(prefix string, doc []byte) error {
	chains, err := signatureChains(doc)
	if err != nil {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	for i, ders := range chains {
		var p bytes.Buffer
		for _, der := range ders {
			pem.Encode(&p, &pem.Block{Type: "CERTIFICATE", Bytes: der})
		}
		if err := b.add(fmt.Sprintf("%s-sig%d.pem", prefix, i+1), "certificate", p.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// signatureChains returns, for each ds:Signature in doc (document order),
// the DER certificates of its X509Data.
func signatureChains(doc []byte) ([][][]byte, error) {
	d, err := xmlsafe.Parse(doc, xmlsafe.Limits{})
	if err != nil {
		return nil, err
	}
	var out [][][]byte
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if e.Tag == "Signature" {
			var ders [][]byte
			for _, c := range e.FindElements(".//X509Certificate") {
				if der, err := decodeB64(c.Text()); err == nil {
					ders = append(ders, der)
				}
			}
			out = append(out, ders)
			return
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(d.Root())
	if len(out) == 0 {
		return nil, errors.New("no signature")
	}
	return out, nil
}

// memberName refuses names an unpacking tool could write outside its
// folder.
func memberName(n string) error {
	if n == "" || strings.HasPrefix(n, "/") || strings.Contains(n, `\`) || path.Clean(n) != n || strings.HasPrefix(n, "../") || n == ".." {
		return fmt.Errorf("member name %q is not a plain relative path", n)
	}
	return nil
}
