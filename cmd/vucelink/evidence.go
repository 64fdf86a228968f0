package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/evidence"
)

// cmdEvidence exports a document's evidence bundle from a running node
// (through its admin API, as an operator) or verifies one offline.
func cmdEvidence(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("export or verify")
	}
	switch args[0] {
	case "export":
		return evidenceExport(ctx, args[1:], stdout, stderr)
	case "verify":
		return evidenceVerify(ctx, args[1:], stdout, stderr)
	}
	return usagef("unknown evidence command %q: want export or verify", args[0])
}

// evidenceExport asks the node: its store is the node's (SQLite is held
// by the running process) and so is the key that signs the manifest.
// The operator's API token comes from VUCELINK_TOKEN, never from the
// command line, where other users of the machine could read it.
func evidenceExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("evidence export", flag.ContinueOnError)
	out := fs.String("out", "", "the bundle file to write (required)")
	admin := fs.String("admin", "http://127.0.0.1:8081", "the node's admin listener")
	adminCA := fs.String("admin-ca", "", "PEM file of the CA of the admin listener's TLS certificate (default: the system's)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if *out == "" || len(pos) != 1 {
		return usagef("one tracking ID and --out are required")
	}
	token := os.Getenv("VUCELINK_TOKEN")
	if token == "" {
		return usagef("set VUCELINK_TOKEN to an operator's API token (vucelink token new --role operator)")
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	if *adminCA != "" {
		pool, err := certs.LoadPool(*adminCA)
		if err != nil {
			return err
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	u := strings.TrimSuffix(*admin, "/") + "/api/v1/documents/" + url.PathEscape(pos[0]) + "/evidence"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".evidence-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: evidence bundle of %s, %d bytes\n", *out, pos[0], len(body))
	return nil
}

func evidenceVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("evidence verify", flag.ContinueOnError)
	ca := fs.String("ca", "", "comma-separated PEM files of the trusted CAs: the issuing country's and the partner's (required)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if *ca == "" || len(pos) != 1 {
		return usagef("--ca and one bundle file are required")
	}
	roots, err := certs.LoadPool(splitList(*ca)...)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	r, err := evidence.Verify(ctx, data, roots)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if m := r.Manifest; m != nil {
		fmt.Fprintf(stdout, "%s: %s %s (%s, %s %s), exported by %s at %s from the node of %s\n", pos[0], m.Type, m.DocumentID,
			m.TrackingID, m.Direction, m.Partner, m.ExportedBy, m.Exported.Format(time.RFC3339), m.Node)
	}
	for _, c := range r.Checks {
		verdict := "ok"
		if !c.OK {
			verdict = "FAILED"
		}
		fmt.Fprintf(stdout, "  %-6s %s: %s\n", verdict, c.Member, c.Detail)
	}
	if !r.OK() {
		var names []string
		for _, c := range r.Failed() {
			names = append(names, c.Member)
		}
		return fmt.Errorf("%s: NOT valid: %s", pos[0], strings.Join(names, ", "))
	}
	fmt.Fprintf(stdout, "%s: valid: every member is as the node signed it\n", pos[0])
	return nil
}
