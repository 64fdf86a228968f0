package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/mapping"
)

func cmdPKI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "init" {
		return usagef("the only pki subcommand is init")
	}
	fs := flag.NewFlagSet("pki init", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory to write the PKI into (required)")
	countries := fs.String("countries", "CL,CO,MX,PE", "comma-separated country codes")
	if _, err := parse(fs, args[1:], stderr); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("--dir is required")
	}
	list := splitList(*countries)
	if err := devpki.Init(*dir, list); err != nil {
		return err
	}
	for _, cc := range list {
		fmt.Fprintf(stdout, "%s: ca.pem official.pem official.key server.pem server.key client.pem client.key\n", filepath.Join(*dir, cc))
	}
	fmt.Fprintln(stdout, "development PKI only: never use these keys in production")
	return nil
}

func cmdSign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	key := fs.String("key", "", "PEM private key of the signing official (required)")
	cert := fs.String("cert", "", "PEM certificate of the signing official (required)")
	out := fs.String("out", "", "output file (default stdout)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if *key == "" || *cert == "" || len(pos) != 1 {
		return usagef("--key, --cert and one input file are required")
	}
	signer, err := certs.LoadSigner(*key, *cert)
	if err != nil {
		return err
	}
	in, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	signed, err := signer.Sign(in)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	return writeOut(*out, signed, stdout)
}

func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	ca := fs.String("ca", "", "comma-separated PEM files of trusted CAs (required)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if *ca == "" || len(pos) != 1 {
		return usagef("--ca and one input file are required")
	}
	pool, err := certs.LoadPool(splitList(*ca)...)
	if err != nil {
		return err
	}
	in, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	v, err := (&certs.Verifier{Roots: pool}).Verify(in)
	if err != nil {
		return fmt.Errorf("%s: %s", pos[0], oneLine(err))
	}
	fmt.Fprintf(stdout, "%s: valid signature by %s\n", pos[0], v.Signer.Subject)
	return nil
}

func cmdMap(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("map", flag.ContinueOnError)
	rulesFile := fs.String("rules", "", "rule file (required)")
	out := fs.String("out", "", "output file (default stdout)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if *rulesFile == "" || len(pos) != 1 {
		return usagef("--rules and one input file are required")
	}
	r, err := mapping.LoadFile(*rulesFile)
	if err != nil {
		return err
	}
	in, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	res, err := r.Map(in)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	b, err := res.Bytes()
	if err != nil {
		return err
	}
	return writeOut(*out, b, stdout)
}

func writeOut(path string, b []byte, stdout io.Writer) error {
	if path == "" {
		_, err := stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
