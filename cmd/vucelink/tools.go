package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/rulestest"
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
	v, err := (&certs.Verifier{Roots: pool}).Verify(context.Background(), in)
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
	explain := fs.Bool("explain", false, "after the output, say which rule produced each value (and the local values)")
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
	run := r.Map
	if *explain {
		run = r.MapExplain
	}
	res, err := run(in)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	b, err := res.Bytes()
	if err != nil {
		return err
	}
	if err := writeOut(*out, b, stdout); err != nil {
		return err
	}
	if *explain {
		fmt.Fprintf(stdout, "\n# %d values, each with the rule that wrote it (output path = value <- source (file:line)):\n", len(res.Explain))
		for _, o := range res.Explain {
			fmt.Fprintln(stdout, o.String())
		}
		if len(res.Local) > 0 {
			fmt.Fprintln(stdout, "# local values (kept on this node, not in the document):")
			names := make([]string, 0, len(res.Local))
			for k := range res.Local {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				fmt.Fprintf(stdout, "%s = %q\n", k, res.Local[k])
			}
		}
	}
	return nil
}

// cmdRules runs the example pairs kept beside rule files (package
// rulestest): `rules test [--update] DIR`.
func cmdRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "test" {
		return usagef("the only rules subcommand is test")
	}
	fs := flag.NewFlagSet("rules test", flag.ContinueOnError)
	update := fs.Bool("update", false, "write the expected files from the current rules (then review the diff in version control)")
	pos, err := parse(fs, args[1:], stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("one rules directory is required")
	}
	results, err := rulestest.Run(pos[0], *update)
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range results {
		fmt.Fprintln(stdout, r)
		if !r.OK() {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d examples failed", failed, len(results))
	}
	fmt.Fprintf(stdout, "%d examples passed\n", len(results))
	return nil
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
