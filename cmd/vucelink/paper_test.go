package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/paper"
	"github.com/vucelink/vucelink/store"
)

func TestVerifyPaper(t *testing.T) {
	dir := t.TempDir()
	ca, err := devpki.NewCA("CL")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.IssueOfficial("Ana Inspectora", "SAG", devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644)
	pr := &paper.Printer{Country: "CL", BaseURL: "https://verificar.example", Signer: func(string) (paper.Signer, error) {
		return paper.Signer{Key: kp.Key, Chain: []*x509.Certificate{kp.Cert}}, nil
	}}
	d := &store.Document{TrackingID: "CL-20261125-00112233445566778899", Direction: store.Outbound, Partner: "MX", Type: "sps",
		DocumentID: "CL-2026-000042", State: lifecycle.Sent, Created: time.Now().Add(-time.Hour), Digest: "sha256:" + strings.Repeat("0f", 32)}
	code, _, err := pr.Print(d)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := paper.QR(code)
	img := image.NewGray(image.Rect(0, 0, (q.Size+8)*3, (q.Size+8)*3))
	for x := range img.Bounds().Dx() {
		for y := range img.Bounds().Dy() {
			mx, my := x/3-4, y/3-4
			c := color.Gray{255}
			if mx >= 0 && my >= 0 && mx < q.Size && my < q.Size && q.Black(mx, my) {
				c = color.Gray{0}
			}
			img.Set(x, y, c)
		}
	}
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, img)
	pngFile := filepath.Join(dir, "scan.png")
	os.WriteFile(pngFile, pngBuf.Bytes(), 0o644)
	textFile := filepath.Join(dir, "code.txt")
	os.WriteFile(textFile, []byte(code+"\n"), 0o644)
	// One field changed: the destination, re-encoded, signature kept.
	forged := strings.Replace(code, "#", "#", 1)
	forgedFile := filepath.Join(dir, "forged.txt")
	os.WriteFile(forgedFile, []byte(forged[:len(forged)-3]+"AAA"), 0o644)

	for _, tt := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"the code's text", []string{"verify-paper", "--ca", caFile, code}, 0, "number:       CL-2026-000042"},
		{"a file with the text", []string{"verify-paper", "--ca", caFile, textFile}, 0, "valid: the summary is signed by CN=Ana Inspectora"},
		{"a picture of the code", []string{"verify-paper", "--ca", caFile, pngFile}, 0, "destination:  MX"},
		{"a changed code", []string{"verify-paper", "--ca", caFile, forgedFile}, 1, "NOT valid"},
		{"no CA", []string{"verify-paper", code}, 2, "--ca"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if c := run(context.Background(), tt.args, &out, &errb); c != tt.code || !strings.Contains(out.String()+errb.String(), tt.says) {
				t.Fatalf("exit %d, want %d; output lacks %q:\n%s%s", c, tt.code, tt.says, out.String(), errb.String())
			}
		})
	}
}

// An official's certificate too large for the QR code is named by its
// thumbprint; verify-paper then needs it (--certs) and says so.
func TestVerifyPaper_Thumbprint(t *testing.T) {
	dir := t.TempDir()
	ca, err := devpki.NewCA("CL")
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{Country: []string{"CL"}, CommonName: "Ana Inspectora"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	for i := range 40 { // a national PKI's long pointers and policies, in short
		tmpl.EmailAddresses = append(tmpl.EmailAddresses, fmt.Sprintf("inspector.fitosanitario.%02d@sag.gob.cl.example", i))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	caFile, leafFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "official.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644)
	os.WriteFile(leafFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	pr := &paper.Printer{Country: "CL", BaseURL: "https://verificar.example", Signer: func(string) (paper.Signer, error) {
		return paper.Signer{Key: key, Chain: []*x509.Certificate{leaf}}, nil
	}}
	code, _, err := pr.Print(&store.Document{TrackingID: "CL-20261125-00112233445566778899", Direction: store.Outbound, Partner: "MX", Type: "sps",
		DocumentID: "CL-2026-000042", State: lifecycle.Sent, Created: time.Now().Add(-time.Minute), Digest: "sha256:" + strings.Repeat("0f", 32)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"without the official's certificate", []string{"verify-paper", "--ca", caFile, code}, 1, "named by its thumbprint only"},
		{"with it", []string{"verify-paper", "--ca", caFile, "--certs", leafFile, code}, 0, "valid: the summary is signed by CN=Ana Inspectora"},
		{"with the CA as the certificate", []string{"verify-paper", "--ca", caFile, "--certs", caFile, code}, 1, "none of the 1 certificates given has it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if c := run(context.Background(), tt.args, &out, &errb); c != tt.code || !strings.Contains(out.String()+errb.String(), tt.says) {
				t.Fatalf("exit %d, want %d; output lacks %q:\n%s%s", c, tt.code, tt.says, out.String(), errb.String())
			}
		})
	}
}
