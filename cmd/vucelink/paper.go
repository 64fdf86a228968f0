package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg" // photos of the paper
	_ "image/png"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/paper"
)

// cmdVerifyPaper checks a paper copy's QR code offline: its text, or a
// PNG/JPEG picture of it.
func cmdVerifyPaper(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify-paper", flag.ContinueOnError)
	ca := fs.String("ca", "", "comma-separated PEM files of the issuing country's trusted CAs (required)")
	more := fs.String("certs", "", "comma-separated PEM files of certificates the code may name without carrying: the signing officials' (a code whose chain does not fit names its official by thumbprint) and intermediate CAs")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if *ca == "" || len(pos) != 1 {
		return usagef("--ca and one code are required: the QR code's text, a PNG/JPEG of it, or - to read either from standard input")
	}
	roots, err := certs.LoadPool(splitList(*ca)...)
	if err != nil {
		return err
	}
	code, from, err := paperCode(pos[0])
	if err != nil {
		return err
	}
	var known []*x509.Certificate
	if *more != "" {
		if known, err = certs.LoadCertificates(splitList(*more)...); err != nil {
			return err
		}
	}
	c, err := paper.VerifyWith(code, paper.VerifyOptions{Roots: roots, Certificates: known, Now: time.Now()})
	if err != nil {
		return fmt.Errorf("NOT valid (%s): %w", from, err)
	}
	s := c.Summary
	fmt.Fprintf(stdout, "valid: the summary is signed by %s\n", c.Signer.Subject)
	fmt.Fprintf(stdout, "  chain:        %s\n", chainNames(c.Chain))
	for _, f := range [][2]string{
		{"number", s.DocumentID}, {"type", s.Type}, {"issuer", s.Issuer}, {"destination", s.Destination},
		{"tracking ID", s.TrackingID}, {"official", s.Official}, {"issued", s.IssuedAt().Format(time.RFC3339)},
		{"digest", s.DigestHex()}, {"public page", c.URL},
	} {
		fmt.Fprintf(stdout, "  %-13s %s\n", f[0]+":", f[1])
	}
	fmt.Fprintln(stdout, "Compare these with the paper; the public page tells the document's current status.")
	return nil
}

// paperCode reads the code from arg: a file holding a picture or the
// text, standard input (-), or the text itself.
func paperCode(arg string) (code, from string, err error) {
	var data []byte
	switch {
	case arg == "-":
		data, err = io.ReadAll(io.LimitReader(os.Stdin, 32<<20))
		from = "standard input"
	case !strings.Contains(arg, "#"):
		data, err = os.ReadFile(arg)
		from = arg
	default:
		return arg, "the code given", nil
	}
	if err != nil {
		return "", "", err
	}
	if img, format, ierr := image.Decode(bytes.NewReader(data)); ierr == nil {
		code, err := paper.Decode(img)
		if err != nil {
			return "", "", fmt.Errorf("%s (%s): %w", from, format, err)
		}
		return code, from + ", its QR code", nil
	} else if !errors.Is(ierr, image.ErrFormat) {
		return "", "", fmt.Errorf("%s: %w", from, ierr)
	}
	return strings.TrimSpace(string(data)), from, nil
}

func chainNames(chain []*x509.Certificate) string {
	names := make([]string, len(chain))
	for i, c := range chain {
		names[i] = fmt.Sprintf("%q serial %s", c.Subject.String(), serialHex(c))
	}
	return strings.Join(names, " → ")
}
