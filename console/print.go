package console

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/xmlsafe"
)

// maxPrintedRows bounds the rendering of a very large document.
const maxPrintedRows = 5000

// Section is a group of rows in the printable rendering: one element of
// the document with children.
type Section struct {
	Title    string
	Depth    int
	Rows     []Row
	Sections []*Section
}

// Row is one leaf value.
type Row struct{ Name, Value string }

// Signer is who signed the document, from its signature's certificate.
type Signer struct {
	Subject, Issuer, Serial, NotAfter string
}

// Printable is a human-readable rendering of a stored document, for paper
// fallback: the document's data as labelled sections, with its tracking
// ID, digest and signer. It works for any document type (the element names
// become labels), so a new document type needs no new code here.
type Printable struct {
	Doc      *store.Document
	Root     *Section
	Signer   *Signer
	Omitted  int // rows left out beyond maxPrintedRows
	Problems []Problem
}

// Problem is why part of a printable rendering is missing: ID names a
// catalogue message, Detail (not translated) says what exactly failed.
type Problem struct{ ID, Detail string }

func (p Problem) String() string { return p.ID + ": " + p.Detail }

// Render builds the printable rendering of d.
func Render(d *store.Document) *Printable {
	p := &Printable{Doc: d}
	if d.Direction == store.Inbound && strings.HasPrefix(d.DocumentID, store.UnverifiedPrefix) {
		// Kept as evidence, but no signature vouches for a word of it:
		// printing it on an official-looking page would lend it one.
		p.Problems = append(p.Problems, Problem{ID: "print.unverified"})
		return p
	}
	doc, err := xmlsafe.Parse(d.Body, xmlsafe.Limits{})
	if err != nil {
		p.Problems = append(p.Problems, Problem{ID: "print.unreadable", Detail: err.Error()})
		return p
	}
	root := doc.Root()
	if sig := signatureOf(root); sig != nil {
		s, err := signer(sig)
		if err != nil {
			p.Problems = append(p.Problems, Problem{ID: "print.signer", Detail: err.Error()})
		}
		p.Signer = s
	}
	rows := 0
	p.Root = p.section(root, 0, &rows)
	return p
}

func signatureOf(root *etree.Element) *etree.Element {
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" {
			return c
		}
	}
	return nil
}

func signer(sig *etree.Element) (*Signer, error) {
	el := sig.FindElement(".//X509Certificate")
	if el == nil {
		return nil, errors.New("no certificate in the signature")
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(el.Text()), ""))
	if err != nil {
		return nil, fmt.Errorf("certificate is not base64: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Signer{Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: c.SerialNumber.Text(16),
		NotAfter: c.NotAfter.UTC().Format("2006-01-02")}, nil
}

func (p *Printable) section(el *etree.Element, depth int, rows *int) *Section {
	s := &Section{Title: label(el.Tag), Depth: min(depth+2, 6)}
	for _, a := range el.Attr {
		if a.Space == "xmlns" || a.Key == "xmlns" {
			continue
		}
		s.Rows = append(s.Rows, Row{label(a.Key), a.Value})
	}
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" {
			continue
		}
		if *rows >= maxPrintedRows {
			p.Omitted++
			continue
		}
		if len(c.ChildElements()) == 0 {
			*rows++
			v := strings.TrimSpace(c.Text())
			for _, a := range c.Attr {
				if a.Space != "xmlns" && a.Key != "xmlns" {
					v += fmt.Sprintf(" (%s: %s)", label(a.Key), a.Value)
				}
			}
			s.Rows = append(s.Rows, Row{label(c.Tag), v})
			continue
		}
		s.Sections = append(s.Sections, p.section(c, depth+1, rows))
	}
	return s
}

// label turns an element name into words: "ConsignorSPSParty" →
// "Consignor SPS Party", "IssueDateTime" → "Issue Date Time".
func label(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) {
			prevLower := unicode.IsLower(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])
			if prevLower || nextLower {
				b.WriteByte(' ')
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (c *Console) print(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	d, err := c.opts.Store.Get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, c.tr(r).T("error.noDocument", "ID", id), http.StatusNotFound)
		return
	}
	if err != nil {
		c.fail(w, s, err)
		return
	}
	c.opts.Logger.Info("console: document printed", "user", s.user, "tracking_id", id)
	data := map[string]any{"P": Render(d), "Country": c.opts.Country, "User": s.user, "Now": c.opts.Now()}
	if c.opts.PaperCode != nil && d.Direction == store.Outbound && !strings.HasPrefix(d.DocumentID, store.UnverifiedPrefix) {
		qr, err := c.opts.PaperCode(r.Context(), d)
		if err != nil {
			// The paper is still worth printing; its code is not.
			c.opts.Logger.Error("console: paper verification code", "tracking_id", id, "error", err)
			data["P"].(*Printable).Problems = append(data["P"].(*Printable).Problems, Problem{ID: "print.noCode", Detail: err.Error()})
		} else {
			data["QR"] = qr
		}
	}
	c.render(w, r, http.StatusOK, "print", data)
}
