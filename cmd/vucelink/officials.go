package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/registry"
)

// officialsUsage is the command's usage line.
const officialsUsage = "officials list|add|revoke|publish [--registry FILE] ... (vucelink officials help)"

const officialsHelp = `vucelink officials: the repository of authorized officials of this country.

  vucelink officials list    [--registry FILE] [--at TIME]
  vucelink officials list    --list FILE [--ca FILE[,FILE...]] [--at TIME]
  vucelink officials add     [--registry FILE] --cert FILE --name NAME --agency AGENCY --documents sps[,cod...]
                             [--id ID] [--from TIME] [--until TIME] [--country CC]
  vucelink officials revoke  [--registry FILE] (--id ID | --cert FILE) [--reason TEXT] [--at TIME]
  vucelink officials publish [--registry FILE] --key FILE --cert FILE --out FILE [--valid-for DURATION]

The registry file (default officials.yaml) is the editable source; add and revoke rewrite it.
publish signs it with the country's root CA key (PEM, or PKCS#12 with the password in
$VUCELINK_PKCS12_PASSWORD) into the list partners fetch, raising its sequence.
TIME is RFC 3339 (2026-07-01T00:00:00Z) or a date (2026-07-01, midnight UTC).
`

func cmdOfficials(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("a subcommand is required: list, add, revoke or publish")
	}
	switch args[0] {
	case "list":
		return officialsList(args[1:], stdout, stderr)
	case "add":
		return officialsAdd(args[1:], stdout, stderr)
	case "revoke":
		return officialsRevoke(args[1:], stdout, stderr)
	case "publish":
		return officialsPublish(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, officialsHelp)
		return nil
	}
	return usagef("unknown subcommand %q: want list, add, revoke or publish", args[0])
}

func registryFlag(fs *flag.FlagSet) *string {
	return fs.String("registry", "officials.yaml", "the registry of officials (YAML source)")
}

// timeFlag is a time given as RFC 3339 or as a date.
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(s string) error {
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			f.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("%q is not an RFC 3339 time or a date (2006-01-02)", s)
}

func noPositional(pos []string) error {
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	return nil
}

func officialsList(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("officials list", flag.ContinueOnError)
	reg := registryFlag(fs)
	listFile := fs.String("list", "", "a signed list (published or fetched) to show instead of the registry")
	ca := fs.String("ca", "", "with --list: comma-separated PEM files of the roots the list must be signed by")
	var at timeFlag
	fs.Var(&at, "at", "show each official's status at this time (default now)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := noPositional(pos); err != nil {
		return err
	}
	if *ca != "" && *listFile == "" {
		return usagef("--ca goes with --list")
	}
	if at.t.IsZero() {
		at.t = time.Now()
	}

	if *listFile == "" {
		src, err := registry.LoadSource(*reg)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: officials of %s, last published sequence %d\n", src.Path(), src.Country, src.Sequence)
		tw := newTable(stdout)
		for _, o := range src.Officials {
			c, err := src.Certificate(o)
			from, until := o.From, o.Until
			var subject string
			if err != nil {
				subject = "(unreadable: " + oneLine(err) + ")"
			} else {
				subject = c.Subject.CommonName
				if from.IsZero() {
					from = c.NotBefore
				}
				if until.IsZero() {
					until = c.NotAfter
				}
			}
			var rev *registry.Revocation
			if o.Revoked != nil {
				rev = &registry.Revocation{At: o.Revoked.At, Reason: o.Revoked.Reason}
			}
			row(tw, o.ID, o.Name, o.Agency, o.Documents, from, until, rev, subject, at.t)
		}
		return tw.Flush()
	}

	data, err := os.ReadFile(*listFile)
	if err != nil {
		return err
	}
	var l *registry.List
	trust := "verified against " + *ca
	if *ca != "" {
		roots, err := certs.LoadCertificates(splitList(*ca)...)
		if err != nil {
			return err
		}
		l, err = registry.Verify(data, roots, registry.VerifyOptions{})
		if err != nil {
			return fmt.Errorf("%s: %s", *listFile, oneLine(err))
		}
	} else {
		trust = "intact, but NOT checked against a trusted root (pass --ca)"
		if l, err = registry.Inspect(data); err != nil {
			return fmt.Errorf("%s: %s", *listFile, oneLine(err))
		}
	}
	fmt.Fprintf(stdout, "%s: officials of %s, sequence %d, issued %s, next update %s\n", *listFile, l.Country, l.Sequence, stamp(l.IssuedAt), stamp(l.NextUpdate))
	fmt.Fprintf(stdout, "signed by %s: %s\n", l.Signer.Subject, trust)
	if l.Expired(at.t, 0) {
		fmt.Fprintf(stdout, "past its next update at %s: stale\n", stamp(at.t))
	}
	tw := newTable(stdout)
	for _, o := range l.Officials {
		row(tw, o.ID, o.Name, o.Agency, o.Documents, o.ValidFrom, o.ValidUntil, o.Revoked, o.Certificate.Subject.CommonName, at.t)
	}
	return tw.Flush()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func newTable(w io.Writer) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tAGENCY\tDOCUMENTS\tFROM\tUNTIL\tSTATUS\tCERTIFICATE")
	return tw
}

func row(tw io.Writer, id, name, agency string, docs []string, from, until time.Time, rev *registry.Revocation, subject string, at time.Time) {
	status := "authorized"
	switch {
	case rev != nil && !at.Before(rev.At):
		status = fmt.Sprintf("revoked %s (%s)", stamp(rev.At), rev.Reason)
	case at.Before(from):
		status = "not yet"
	case !at.Before(until):
		status = "ended"
	case rev != nil:
		status = fmt.Sprintf("authorized, revocation at %s (%s)", stamp(rev.At), rev.Reason)
	}
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", id, name, agency, strings.Join(docs, ","), day(from), day(until), status, subject)
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02")
}

func officialsAdd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("officials add", flag.ContinueOnError)
	reg := registryFlag(fs)
	cert := fs.String("cert", "", "the official's PEM certificate (required)")
	name := fs.String("name", "", "the official's name (required)")
	agency := fs.String("agency", "", "the official's agency, e.g. SAG (required)")
	documents := fs.String("documents", "", "comma-separated document types the official may sign, e.g. sps,cod (required)")
	id := fs.String("id", "", "the official's ID in the list (default: country and certificate fingerprint)")
	country := fs.String("country", "", "the registry's country, if the registry is new (default: the certificate's)")
	var from, until timeFlag
	fs.Var(&from, "from", "start of the authorization (default: the certificate's NotBefore)")
	fs.Var(&until, "until", "end of the authorization, exclusive (default: the certificate's NotAfter)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := noPositional(pos); err != nil {
		return err
	}
	if *cert == "" || *name == "" || *agency == "" || *documents == "" {
		return usagef("--cert, --name, --agency and --documents are required")
	}
	src, err := registry.LoadSource(*reg)
	if errors.Is(err, os.ErrNotExist) {
		cc := *country
		if cc == "" {
			cs, cerr := certs.LoadCertificates(*cert)
			if cerr != nil {
				return cerr
			}
			if len(cs[0].Subject.Country) != 1 {
				return usagef("%s is a new registry: --country is required", *reg)
			}
			cc = cs[0].Subject.Country[0]
		}
		src, err = registry.NewSource(*reg, cc)
	}
	if err != nil {
		return err
	}
	if *country != "" && *country != src.Country {
		return fmt.Errorf("%s is the registry of %s, not %s", *reg, src.Country, *country)
	}
	o, err := src.Add(registry.SourceOfficial{
		ID: *id, Cert: relativeTo(*reg, *cert), Name: *name, Agency: *agency,
		Documents: splitList(*documents), From: from.t, Until: until.t,
	})
	if err != nil {
		return err
	}
	if err := src.Save(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: added %s (%s, %s) for %s from %s until %s; publish to make it known\n",
		src.Path(), o.ID, o.Name, o.Agency, strings.Join(o.Documents, ","), stamp(o.From), stamp(o.Until))
	return nil
}

// relativeTo returns path relative to the directory of file, which is how
// the registry stores certificate paths; path as given if that fails.
func relativeTo(file, path string) string {
	absFile, err1 := filepath.Abs(file)
	absPath, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return path
	}
	rel, err := filepath.Rel(filepath.Dir(absFile), absPath)
	if err != nil {
		return absPath
	}
	return rel
}

func officialsRevoke(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("officials revoke", flag.ContinueOnError)
	reg := registryFlag(fs)
	id := fs.String("id", "", "the official's ID")
	certFile := fs.String("cert", "", "the official's PEM certificate (instead of --id)")
	reason := fs.String("reason", "", "why, as partners will read it (e.g. key compromise)")
	var at timeFlag
	fs.Var(&at, "at", "when the revocation takes effect (default now)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := noPositional(pos); err != nil {
		return err
	}
	if (*id == "") == (*certFile == "") {
		return usagef("one of --id and --cert is required")
	}
	if at.t.IsZero() {
		at.t = time.Now().UTC().Truncate(time.Second)
	}
	src, err := registry.LoadSource(*reg)
	if err != nil {
		return err
	}
	var cert *x509.Certificate
	if *certFile != "" {
		cs, err := certs.LoadCertificates(*certFile)
		if err != nil {
			return err
		}
		cert = cs[0]
	}
	o, err := src.Revoke(*id, cert, at.t, *reason)
	if err != nil {
		return err
	}
	if err := src.Save(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: revoked %s (%s) at %s; publish to make it known\n", src.Path(), o.ID, o.Name, stamp(o.Revoked.At))
	return nil
}

func officialsPublish(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("officials publish", flag.ContinueOnError)
	reg := registryFlag(fs)
	key := fs.String("key", "", "the root CA's private key: PEM, or PKCS#12 (.p12/.pfx, password in $"+certs.PKCS12PasswordEnv+") (required)")
	cert := fs.String("cert", "", "the root CA's PEM certificate, or the same PKCS#12 file (required)")
	out := fs.String("out", "", "where to write the signed list, the file the node serves (required)")
	validFor := fs.Duration("valid-for", 0, "how long the list is current (default: the registry's valid_for, else 720h)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := noPositional(pos); err != nil {
		return err
	}
	if *key == "" || *cert == "" || *out == "" {
		return usagef("--key, --cert and --out are required")
	}
	src, err := registry.LoadSource(*reg)
	if err != nil {
		return err
	}
	signer, err := certs.LoadSigner(*key, *cert)
	if err != nil {
		return err
	}
	// The sequence never goes back, even if the registry file was restored
	// from an old copy: the list last written counts too.
	if prev, err := os.ReadFile(*out); err == nil {
		if l, err := registry.Inspect(prev); err == nil && l.Sequence > src.Sequence {
			src.Sequence = l.Sequence
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if *validFor > 0 {
		src.ValidFor = *validFor
	}
	signed, l, err := registry.Publish(src, signer, time.Now())
	if err != nil {
		return err
	}
	if err := registry.WriteFileAtomic(*out, signed, 0o644); err != nil {
		return err
	}
	if err := src.Save(); err != nil {
		return fmt.Errorf("%s written, but the registry's sequence was not saved: %w", *out, err)
	}
	fmt.Fprintf(stdout, "%s: officials of %s, sequence %d, %d officials, next update %s, signed by %s\n",
		*out, l.Country, l.Sequence, len(l.Officials), stamp(l.NextUpdate), l.Signer.Subject)
	return nil
}
