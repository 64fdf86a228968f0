package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/paper"
	"github.com/vucelink/vucelink/wire"
	"github.com/vucelink/vucelink/xmlsafe"
)

// Check is the verdict on one member.
type Check struct {
	Member string
	OK     bool
	Detail string
}

// Report is what Verify found.
type Report struct {
	Manifest *ManifestDoc // as signed (nil if the signature did not verify)
	Checks   []Check
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return len(r.Checks) > 0
}

// Failed lists the checks that failed.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

func (r *Report) pass(member, format string, args ...any) {
	r.Checks = append(r.Checks, Check{member, true, fmt.Sprintf(format, args...)})
}

func (r *Report) fail(member, format string, args ...any) {
	r.Checks = append(r.Checks, Check{member, false, fmt.Sprintf(format, args...)})
}

// maxBundle bounds what Verify reads.
const maxBundle = 256 << 20

func decodeB64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
}

// Verify checks a bundle offline against roots (the CAs of both
// countries' officials, for the document and the partner's receipts):
// the manifest's signature and chain, every member's digest, members
// missing or added, the document's signatures, the receipts' signatures
// and that they acknowledge this document, the status messages'
// signatures. Signatures are checked as of the export time the node
// signed, so a certificate that expired since does not void the evidence.
func Verify(ctx context.Context, bundle []byte, roots *x509.CertPool) (*Report, error) {
	if len(bundle) > maxBundle {
		return nil, fmt.Errorf("bundle of %d bytes: more than %d", len(bundle), maxBundle)
	}
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		return nil, fmt.Errorf("not a ZIP archive: %w", err)
	}
	members := map[string][]byte{}
	var order []string
	total := 0
	r := &Report{}
	for _, f := range zr.File {
		if err := memberName(f.Name); err != nil {
			r.fail(f.Name, "%v", err)
			continue
		}
		if _, dup := members[f.Name]; dup {
			r.fail(f.Name, "appears twice in the archive")
			continue
		}
		rc, err := f.Open()
		if err != nil {
			r.fail(f.Name, "cannot be read: %v", err)
			continue
		}
		data, err := io.ReadAll(io.LimitReader(rc, int64(maxBundle-total)+1))
		rc.Close()
		if err != nil {
			r.fail(f.Name, "cannot be read: %v", err)
			continue
		}
		if total += len(data); total > maxBundle {
			return nil, fmt.Errorf("bundle unpacks to more than %d bytes", maxBundle)
		}
		members[f.Name] = data
		order = append(order, f.Name)
	}

	// The manifest, as the node signed it.
	mj, sig := members[Manifest], members[ManifestSig]
	if sig == nil {
		r.fail(ManifestSig, "missing: nothing vouches for the bundle")
		return r, nil
	}
	var claimed ManifestDoc
	if err := json.Unmarshal(mj, &claimed); err != nil && mj != nil {
		r.fail(Manifest, "unreadable: %v", err)
	}
	at := claimed.Exported
	if at.IsZero() {
		at = time.Now()
	}
	v, err := paper.VerifyCOSE(sig, manifestType, roots, at)
	if err != nil {
		r.fail(ManifestSig, "%v", err)
		return r, nil
	}
	r.pass(ManifestSig, "signed by %s", v.Signer.Subject)
	var m ManifestDoc
	if err := json.Unmarshal(v.Payload, &m); err != nil {
		r.fail(ManifestSig, "the signed manifest is unreadable: %v", err)
		return r, nil
	}
	r.Manifest = &m
	switch {
	case mj == nil:
		r.fail(Manifest, "missing (the signed copy is used)")
	case !bytes.Equal(mj, v.Payload):
		r.fail(Manifest, "changed: differs from the manifest the node signed")
	default:
		r.pass(Manifest, "as signed")
	}
	at = m.Exported

	// Every member as listed, and nothing else.
	listed := map[string]Entry{}
	for _, e := range m.Members {
		listed[e.Name] = e
		data, ok := members[e.Name]
		if !ok {
			r.fail(e.Name, "missing: the manifest lists it")
			continue
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != e.SHA256 || len(data) != e.Size {
			r.fail(e.Name, "changed: SHA-256 %s, the manifest says %s", hex.EncodeToString(sum[:]), e.SHA256)
			continue
		}
		r.pass(e.Name, "digest as in the manifest")
	}
	for _, name := range order {
		if _, ok := listed[name]; !ok && name != Manifest && name != ManifestSig {
			r.fail(name, "not in the manifest: added after the node signed it")
		}
	}
	if r.failedAny(DocumentMember) {
		return r, nil
	}

	// The content: signatures, and what they say.
	doc := members[DocumentMember]
	if doc == nil {
		r.fail(DocumentMember, "missing: the bundle has no document")
		return r, nil
	}
	if wire.Digest(doc) != m.Digest {
		r.fail(DocumentMember, "digest %s, the manifest says the document is %s", wire.Digest(doc), m.Digest)
	}
	if who, err := verifyDocument(ctx, doc, roots, at); err != nil {
		r.fail(DocumentMember, "signature: %v", err)
	} else {
		r.pass(DocumentMember, "signature valid: %s", who)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range members {
			if !yield(n) {
				return
			}
		}
	})
	for _, name := range names {
		data := members[name]
		if _, ok := listed[name]; !ok || r.failedAny(name) {
			continue
		}
		switch {
		case strings.HasSuffix(name, ".receipt.xml") || name == ReceiptMember:
			rc, who, err := verifyReceipt(ctx, data, roots, at)
			switch {
			case err != nil:
				r.fail(name, "receipt signature: %v", err)
			case name == ReceiptMember && rc.Digest != "" && rc.Digest != m.Digest:
				r.fail(name, "acknowledges digest %s, not this document's %s", rc.Digest, m.Digest)
			default:
				r.pass(name, "receipt %s signed by %s", rc.Outcome, who)
			}
		case strings.HasPrefix(name, "status/") && strings.HasSuffix(name, ".xml"):
			v, err := (&certs.Verifier{Roots: roots, Now: func() time.Time { return at }}).Verify(ctx, data)
			if err != nil {
				r.fail(name, "status message signature: %v", err)
				continue
			}
			if id := v.Element.FindElement("./DocumentID"); id == nil || id.Text() != m.DocumentID {
				r.fail(name, "is not about document %s", m.DocumentID)
				continue
			}
			r.pass(name, "status message signed by %s", v.Signer.Subject)
		case strings.HasSuffix(name, ".pem"):
			if rest := pemCerts(data); rest != "" {
				r.fail(name, "%s", rest)
			}
		case name == HistoryMember:
			var h history
			if err := json.Unmarshal(data, &h); err != nil || h.Document.Digest != m.Digest || h.Document.TrackingID != m.TrackingID {
				r.fail(name, "does not describe document %s (%s)", m.TrackingID, m.Digest)
			}
		}
	}
	return r, nil
}

func (r *Report) failedAny(member string) bool {
	for _, c := range r.Checks {
		if c.Member == member && !c.OK {
			return true
		}
	}
	return false
}

// verifyDocument checks a document's signatures under its profile.
func verifyDocument(ctx context.Context, doc []byte, roots *x509.CertPool, at time.Time) (string, error) {
	d, err := xmlsafe.Parse(doc, xmlsafe.Limits{})
	if err != nil {
		return "", err
	}
	now := func() time.Time { return at }
	if root := d.Root(); root.Tag == "Envelope" && root.NamespaceURI() == certs.CODNamespace {
		v := &certs.CODVerifier{Exporters: &certs.Verifier{Roots: roots, Now: now}, Officials: &certs.Verifier{Roots: roots, Now: now}}
		cod, err := v.Verify(ctx, doc)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("exporter %s, official %s", cod.Exporter.Signer.Subject, cod.Official.Signer.Subject), nil
	}
	v, err := (&certs.Verifier{Roots: roots, Now: now}).Verify(ctx, doc)
	if err != nil {
		return "", err
	}
	return v.Signer.Subject.String(), nil
}

func verifyReceipt(ctx context.Context, data []byte, roots *x509.CertPool, at time.Time) (*wire.Receipt, string, error) {
	v, err := (&certs.Verifier{Roots: roots, Now: func() time.Time { return at }}).Verify(ctx, data)
	if err != nil {
		return nil, "", err
	}
	rc, err := wire.ParseReceiptXML(v.Element)
	if err != nil {
		return nil, "", err
	}
	return rc, v.Signer.Subject.String(), nil
}

// pemCerts says what is wrong with a PEM file of certificates ("" if
// nothing).
func pemCerts(data []byte) string {
	n := 0
	for len(bytes.TrimSpace(data)) > 0 {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil || b.Type != "CERTIFICATE" {
			return "holds something other than certificates"
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return fmt.Sprintf("certificate %d: %v", n+1, err)
		}
		n++
	}
	if n == 0 {
		return "holds no certificate"
	}
	return ""
}
