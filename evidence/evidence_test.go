package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/paper"
	"github.com/vucelink/vucelink/statusmsg"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/wire"
)

const sampleXML = `<rsm:SPSCertificate xmlns:rsm="urn:un:unece:uncefact:data:standard:SPSCertificate:11" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:14"><rsm:SPSExchangedDocument><ram:ID>CL-2026-000042</ram:ID></rsm:SPSExchangedDocument><rsm:SPSConsignment><ram:ConsignorSPSParty><ram:Name>Frutícola del Valle</ram:Name></ram:ConsignorSPSParty></rsm:SPSConsignment></rsm:SPSCertificate>`

type country struct {
	ca     *devpki.CA
	signer *certs.Signer
	paper  paper.Signer
}

func newCountry(t *testing.T, cc string) *country {
	t.Helper()
	ca, err := devpki.NewCA(cc)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.IssueOfficial("Official of "+cc, "NPPO", devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := certs.NewSigner(kp.Key, kp.Cert)
	if err != nil {
		t.Fatal(err)
	}
	return &country{ca: ca, signer: s, paper: paper.Signer{Key: kp.Key, Chain: []*x509.Certificate{kp.Cert}}}
}

func (c *country) sign(t *testing.T, xml []byte) []byte {
	t.Helper()
	b, err := c.signer.Sign(xml)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (c *country) receipt(t *testing.T, r *wire.Receipt) *wire.Receipt {
	t.Helper()
	b, err := r.XML().WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	r.Signed = c.sign(t, b)
	return r
}

// fixture: Chile sent a certificate to Mexico, Mexico received it
// (signed receipt), then Chile withdrew it (signed status message, with
// Mexico's signed receipt).
func fixture(t *testing.T) (bundle []byte, cl, mx *country, roots *x509.CertPool, exp *Exporter) {
	t.Helper()
	ctx := context.Background()
	cl, mx = newCountry(t, "CL"), newCountry(t, "MX")
	roots = x509.NewCertPool()
	roots.AddCert(cl.ca.Cert)
	roots.AddCert(mx.ca.Cert)
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "evidence.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC()
	body := cl.sign(t, []byte(sampleXML))
	d := &store.Document{TrackingID: "CL-T1", Direction: store.Outbound, Partner: "MX", Type: "sps", DocumentID: "CL-2026-000042",
		Digest: wire.Digest(body), State: lifecycle.Accepted, Body: body, Created: now.Add(-time.Hour)}
	if _, err := st.Add(ctx, d, "legacy", "accepted from the legacy VUCE"); err != nil {
		t.Fatal(err)
	}
	st.Transition(ctx, "CL-T1", now.Add(-59*time.Minute), store.Change{To: lifecycle.Sent, Actor: "outbox"})
	rc := mx.receipt(t, &wire.Receipt{TrackingID: "CL-T1", DocumentID: d.DocumentID, DocumentType: "sps", From: "CL", To: "MX",
		Digest: d.Digest, Outcome: wire.ReceivedCorrectly, Time: now.Add(-58 * time.Minute)})
	if _, err := st.Transition(ctx, "CL-T1", now.Add(-58*time.Minute), store.Change{To: lifecycle.ReceivedCorrectly, Actor: "partner:MX", Receipt: rc}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Transition(ctx, "CL-T1", now.Add(-10*time.Minute), store.Change{To: lifecycle.Withdrawn, Actor: "operator:ana", Reason: "wrong consignee"}); err != nil {
		t.Fatal(err)
	}
	msg := &statusmsg.Message{DocumentType: "sps", DocumentID: d.DocumentID, TrackingID: "CL-T1", State: lifecycle.Withdrawn, Reason: "wrong consignee", Time: now.Add(-10 * time.Minute)}
	mb, _ := msg.Element().WriteToBytes()
	mb = cl.sign(t, mb)
	sm := &store.Document{TrackingID: "CL-S1", Direction: store.Outbound, Partner: "MX", Type: statusmsg.Type, DocumentID: msg.ID(),
		Digest: wire.Digest(mb), State: lifecycle.Accepted, Body: mb, Created: now.Add(-10 * time.Minute)}
	if _, err := st.Add(ctx, sm, "operator:ana", "status message"); err != nil {
		t.Fatal(err)
	}
	st.Transition(ctx, "CL-S1", now.Add(-9*time.Minute), store.Change{To: lifecycle.Sent, Actor: "outbox"})
	src := mx.receipt(t, &wire.Receipt{TrackingID: "CL-S1", DocumentID: msg.ID(), DocumentType: statusmsg.Type, From: "CL", To: "MX",
		Digest: sm.Digest, Outcome: wire.ReceivedCorrectly, Time: now.Add(-9 * time.Minute)})
	st.Transition(ctx, "CL-S1", now.Add(-9*time.Minute), store.Change{To: lifecycle.ReceivedCorrectly, Actor: "partner:MX", Receipt: src})

	exp = &Exporter{Country: "CL", Source: st, Signer: func(string) (paper.Signer, error) { return cl.paper, nil }}
	var buf bytes.Buffer
	if err := exp.Export(ctx, "CL-T1", "operator:ana", &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), cl, mx, roots, exp
}

func unzip(t *testing.T, b []byte) (names []string, members map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	members = map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		members[f.Name], _ = io.ReadAll(rc)
		rc.Close()
		names = append(names, f.Name)
	}
	return names, members
}

func rezip(t *testing.T, names []string, members map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		data, ok := members[n]
		if !ok {
			continue
		}
		w, _ := zw.Create(n)
		w.Write(data)
	}
	zw.Close()
	return buf.Bytes()
}

func TestExport_VerifiesWhole(t *testing.T) {
	bundle, _, _, roots, _ := fixture(t)
	names, _ := unzip(t, bundle)
	for _, want := range []string{DocumentMember, ReceiptMember, HistoryMember, NativeMember, Manifest, ManifestSig,
		"chain/document-sig1.pem", "chain/receipt-sig1.pem", "status/01-outbound-withdrawn.xml", "status/01-outbound-withdrawn.receipt.xml"} {
		if !slices.Contains(names, want) {
			t.Errorf("bundle lacks %s (has %v)", want, names)
		}
	}
	r, err := Verify(context.Background(), bundle, roots)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("an untouched bundle fails: %+v", r.Failed())
	}
	t.Logf("%d members, %d bytes, %d checks", len(names), len(bundle), len(r.Checks))
}

// Any member altered, removed or re-signed is named.
func TestVerify_NamesTheChangedMember(t *testing.T) {
	bundle, cl, _, roots, _ := fixture(t)
	forger := newCountry(t, "CL") // a CA and official nobody trusts
	names, members := unzip(t, bundle)
	type change struct {
		name   string
		edit   func(m map[string][]byte) []string // returns the names of the new archive
		member string                             // the member the report must name
	}
	var cases []change
	for _, n := range names {
		n := n
		cases = append(cases,
			change{"alter " + n, func(m map[string][]byte) []string {
				b := slices.Clone(m[n])
				b[len(b)/2] ^= 0x01 // one bit of one byte
				m[n] = b
				return names
			}, n},
			change{"remove " + n, func(m map[string][]byte) []string { delete(m, n); return names }, n})
	}
	resign := func(m map[string][]byte) {
		// The forger re-signs the manifest over the current members.
		var md ManifestDoc
		if err := jsonUnmarshal(m[Manifest], &md); err != nil {
			t.Fatal(err)
		}
		for i, e := range md.Members {
			if data, ok := m[e.Name]; ok {
				md.Members[i].SHA256, md.Members[i].Size = sha(data), len(data)
			}
		}
		md.Digest = wire.Digest(m[DocumentMember])
		mj := jsonMarshal(t, md)
		sig, err := paper.SignCOSE(forger.paper, manifestType, mj)
		if err != nil {
			t.Fatal(err)
		}
		m[Manifest], m[ManifestSig] = mj, sig
	}
	cases = append(cases,
		change{"document re-signed by another key", func(m map[string][]byte) []string {
			m[DocumentMember] = forger.sign(t, []byte(strings.Replace(sampleXML, "Frutícola del Valle", "Otra Empresa", 1)))
			return names
		}, DocumentMember},
		change{"document and manifest re-signed by another key", func(m map[string][]byte) []string {
			m[DocumentMember] = forger.sign(t, []byte(sampleXML))
			resign(m)
			return names
		}, ManifestSig},
		change{"manifest re-signed by another key, nothing else changed", func(m map[string][]byte) []string {
			resign(m)
			return names
		}, ManifestSig},
		change{"receipt re-signed by another key", func(m map[string][]byte) []string {
			m[ReceiptMember] = forger.sign(t, stripSignature(t, m[ReceiptMember]))
			return names
		}, ReceiptMember},
		change{"member added", func(m map[string][]byte) []string {
			m["status/99-inbound-used.xml"] = cl.sign(t, []byte(`<x/>`))
			return append(slices.Clone(names), "status/99-inbound-used.xml")
		}, "status/99-inbound-used.xml"},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := map[string][]byte{}
			for k, v := range members {
				m[k] = v
			}
			order := c.edit(m)
			r, err := Verify(context.Background(), rezip(t, order, m), roots)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() {
				t.Fatal("the changed bundle verifies")
			}
			named := false
			for _, f := range r.Failed() {
				named = named || f.Member == c.member
			}
			if !named {
				t.Fatalf("the report does not name %s: %+v", c.member, r.Failed())
			}
		})
	}
}

func TestVerify_NeedsBothCountriesCAs(t *testing.T) {
	bundle, cl, _, _, _ := fixture(t)
	only := x509.NewCertPool()
	only.AddCert(cl.ca.Cert)
	r, err := Verify(context.Background(), bundle, only)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || !r.failedAny(ReceiptMember) {
		t.Fatalf("Mexico's receipt verified without Mexico's CA: %+v", r.Failed())
	}
}
