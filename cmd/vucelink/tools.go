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
	"sort"
	"strings"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/rulestest"
	"github.com/vucelink/vucelink/schema"
	"github.com/vucelink/vucelink/xmlsafe"
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

// Signature profiles of `vucelink verify`.
const (
	profileAuto      = "auto"
	profileEnveloped = "enveloped"
	profileCOD       = "aladi-cod"
)

// What each signature is called in verify's output and errors.
const (
	labelEnveloped = "enveloped signature"
	labelExporter  = "exporter's signature over #COD"
	labelOfficial  = "certifying official's signature over #CODEH"
)

// cmdVerify verifies a signed document under its signature profile: one
// enveloped signature over the whole document, or the ALADI certificate
// of origin's two (the exporter's over #COD, then the certifying
// official's over #CODEH), each signer against its own trust.
func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	ca := fs.String("ca", "", "comma-separated PEM files of trusted CAs: the signer's, or the certifying official's on a COD (required)")
	exportersCA := fs.String("exporters-ca", "", "comma-separated PEM files of the CAs trusted for a COD exporter's signature (default: those of --ca)")
	profile := fs.String("profile", profileAuto, "signature profile: auto (from the root element), enveloped or aladi-cod")
	exporterOnly := fs.Bool("exporter-only", false, "verify only the exporter's signature of a COD (one the certifying official has not signed yet)")
	acceptSHA1 := fs.Bool("accept-sha1", false, "also accept RSA-SHA1 signatures and SHA-1 digests (CODs in circulation), for every signature")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if *ca == "" || len(pos) != 1 {
		return usagef("--ca and one input file are required")
	}
	switch *profile {
	case profileAuto, profileEnveloped, profileCOD:
	default:
		return usagef("--profile %q: want auto, enveloped or aladi-cod", *profile)
	}
	name := pos[0]
	in, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if *profile == profileAuto {
		doc, err := xmlsafe.Parse(in, xmlsafe.Limits{})
		if err != nil {
			return fmt.Errorf("%s: %s", name, oneLine(err))
		}
		*profile = detectProfile(doc.Root())
	}
	if *profile == profileEnveloped && (*exportersCA != "" || *exporterOnly) {
		return usagef("%s has the enveloped profile: --exporters-ca and --exporter-only are for certificates of origin (aladi-cod)", name)
	}
	officials, err := certs.LoadPool(splitList(*ca)...)
	if err != nil {
		return err
	}
	if *profile == profileEnveloped {
		v, err := (&certs.Verifier{Roots: officials, AllowSHA1: *acceptSHA1}).Verify(ctx, in)
		if err != nil {
			return fmt.Errorf("%s: %s: %s", name, labelEnveloped, oneLine(err))
		}
		fmt.Fprintln(stdout, verifiedLine(name, labelEnveloped, v))
		return nil
	}

	exporters := officials
	if *exportersCA != "" {
		if exporters, err = certs.LoadPool(splitList(*exportersCA)...); err != nil {
			return err
		}
	}
	v := &certs.CODVerifier{
		Exporters: &certs.Verifier{Roots: exporters, AllowSHA1: *acceptSHA1},
		Officials: &certs.Verifier{Roots: officials, AllowSHA1: *acceptSHA1},
		AllowSHA1: *acceptSHA1,
	}
	if *exporterOnly {
		exp, err := v.VerifyExporter(ctx, in)
		if err != nil {
			return fmt.Errorf("%s: %s", name, codFailure(err))
		}
		fmt.Fprintln(stdout, verifiedLine(name, labelExporter, exp))
		fmt.Fprintf(stdout, "%s: %s: not verified (--exporter-only)\n", name, labelOfficial)
		return nil
	}
	cod, err := v.Verify(ctx, in)
	if err != nil {
		msg := codFailure(err)
		if errors.Is(err, certs.ErrNoSignature) && strings.HasPrefix(msg, labelOfficial) {
			msg += " (--exporter-only verifies the exporter's signature alone)"
		}
		return fmt.Errorf("%s: %s", name, msg)
	}
	fmt.Fprintln(stdout, verifiedLine(name, labelExporter, cod.Exporter))
	fmt.Fprintln(stdout, verifiedLine(name, labelOfficial, cod.Official))
	return nil
}

// detectProfile says which signature profile a document's root element
// calls for: the ALADI COD's Envelope, or else one enveloped signature
// (SPS certificates, status messages and the rest).
func detectProfile(root *etree.Element) string {
	if root != nil && root.Tag == "Envelope" && root.NamespaceURI() == certs.CODNamespace {
		return profileCOD
	}
	return profileEnveloped
}

// codFailure puts the failed signature's name in front of a COD
// verification error. The certs package names the role already ("COD
// exporter: …", "the certifying official has not signed …"); that prefix
// is replaced, not repeated. An error about the document as a whole (its
// structure, its XML) is left as it is.
func codFailure(err error) string {
	msg := oneLine(err)
	roles := []struct{ role, label string }{
		{"certifying official", labelOfficial},
		{"exporter", labelExporter},
	}
	// "COD exporter: signer …": a signature's own failure.
	for _, r := range roles {
		if rest, ok := strings.CutPrefix(msg, "COD "+r.role+": "); ok {
			return r.label + ": " + rest
		}
	}
	// "COD: no signature: the exporter has not signed …" and the like.
	rest := strings.TrimPrefix(msg, "COD: ")
	for _, r := range roles {
		if strings.Contains(rest, "the "+r.role+" ") || strings.Contains(rest, "the "+r.role+"'s ") {
			return r.label + ": " + rest
		}
	}
	return "certificate of origin: " + rest
}

// verifiedLine is verify's line for one valid signature: the signer, its
// serial number, and the root its chain ends at.
func verifiedLine(name, label string, v *certs.Verified) string {
	line := fmt.Sprintf("%s: %s: valid, signer %q serial %s", name, label, v.Signer.Subject.String(), serialHex(v.Signer))
	if n := len(v.Chain); n > 0 {
		root := v.Chain[n-1]
		for _, c := range v.Chain[1 : n-1] {
			line += fmt.Sprintf(", via %q", c.Subject.String())
		}
		line += fmt.Sprintf(", chain to root %q serial %s", root.Subject.String(), serialHex(root))
	}
	return line
}

// serialHex writes a certificate's serial number as colon-separated hex
// bytes, as openssl and most certificate viewers show it.
func serialHex(c *x509.Certificate) string {
	b := c.SerialNumber.Bytes()
	if len(b) == 0 {
		return "00"
	}
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02X", x)
	}
	return strings.Join(parts, ":")
}

func cmdMap(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("map", flag.ContinueOnError)
	rulesFile := fs.String("rules", "", "rule file (required)")
	out := fs.String("out", "", "output file (default stdout)")
	explain := fs.Bool("explain", false, "after the output, say which rule produced each value, from what and through which steps (and the local values)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if *rulesFile == "" || len(pos) != 1 {
		return usagef("--rules and one input file are required")
	}
	r, doc, err := loadForMap(*rulesFile, stderr)
	if err != nil {
		return err
	}
	in, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	res, err := mapInput(r, doc, in, *explain)
	if err != nil {
		var xe *mapping.ExplainedError
		if errors.As(err, &xe) {
			printTrace(stdout, xe)
		}
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
		printExplain(stdout, res)
	}
	// What a node would do next: the document must be valid against its
	// schema, and each violation names the rule that wrote the value.
	if doc != nil && doc.Schema != nil && res.XML != nil && r.Direction() == "outbound" {
		if err := doc.Schema.ValidateElement(res.XML.Root()); err != nil {
			return schemaViolations(r, in, err, stderr)
		}
	}
	return nil
}

// loadForMap loads a rule file, and with it, when the rules directory it
// sits in has documents/<type>.yaml, the document's schema: the file is
// then checked against it and writes elements in its order, as a node
// loads it.
func loadForMap(file string, stderr io.Writer) (*mapping.Rules, *rulestest.Document, error) {
	r, err := mapping.LoadFile(file)
	if err != nil {
		return nil, nil, err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, nil, err
	}
	// rules/CL/sps.outbound.yaml: the rules directory is rules/.
	for _, dir := range []string{filepath.Dir(filepath.Dir(abs)), filepath.Dir(abs)} {
		doc, err := rulestest.LoadDocument(os.DirFS(dir), r.Document())
		if err != nil {
			return nil, nil, err
		}
		if doc == nil {
			continue
		}
		if r, err = mapping.LoadFileWith(file, doc.Options(r.Direction())); err != nil {
			return nil, nil, err
		}
		return r, doc, nil
	}
	fmt.Fprintf(stderr, "note: no documents/%s.yaml in the rules directory around %s: the output is not checked against a schema\n", r.Document(), file)
	return r, nil, nil
}

// mapInput maps a payload; an inbound XML payload may be the whole
// standard document (a certificate of origin in its envelope): the rules
// read its signed part, as a receiving node does.
func mapInput(r *mapping.Rules, doc *rulestest.Document, in []byte, explain bool) (*mapping.Output, error) {
	if doc == nil || doc.Spec == nil || r.Direction() != "inbound" {
		if explain {
			return r.MapExplain(in)
		}
		return r.Map(in)
	}
	parsed, err := xmlsafe.Parse(in, xmlsafe.Limits{})
	if err != nil {
		return nil, err
	}
	root, err := doc.Spec.Signed(parsed.Root())
	if err != nil {
		return nil, err
	}
	if explain {
		return r.MapElementExplain(root)
	}
	return r.MapElement(root)
}

func printExplain(w io.Writer, res *mapping.Output) {
	fmt.Fprintf(w, "\n# %d values, each with the rule that wrote it (output path = value <- source \"as read\" | step: \"in\" → \"out\" … (file:line)):\n", len(res.Explain))
	for _, o := range res.Explain {
		fmt.Fprintln(w, o.String())
	}
	if len(res.Local) > 0 {
		fmt.Fprintln(w, "# local values (kept on this node, not in the document):")
		names := make([]string, 0, len(res.Local))
		for k := range res.Local {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(w, "%s = %q\n", k, res.Local[k])
		}
	}
}

// printTrace shows a failed mapping's values in rule order up to the
// first failing rule, and how far that rule got.
func printTrace(w io.Writer, xe *mapping.ExplainedError) {
	fmt.Fprintf(w, "# the mapping failed; %d values written before the first failing rule, in rule order:\n", len(xe.Trace))
	for _, o := range xe.Trace {
		fmt.Fprintln(w, o.String())
	}
	if o := xe.Failing; o != nil {
		fmt.Fprintf(w, "# failed here: %s\n", o.String())
	}
}

// schemaViolations reports a document its schema refuses, each violation
// with the rule that wrote the value at fault (or that no rule did).
func schemaViolations(r *mapping.Rules, in []byte, verr error, stderr io.Writer) error {
	var ve *schema.ValidationError
	if !errors.As(verr, &ve) {
		return verr
	}
	var origins []mapping.Origin
	if res, err := r.MapExplain(in); err == nil {
		origins = res.Explain
	}
	for _, v := range ve.Errors {
		fmt.Fprintf(stderr, "%s (%s)\n", v, ruleFor(origins, v.Path))
	}
	if ve.Omitted > 0 {
		fmt.Fprintf(stderr, "… and %d more\n", ve.Omitted)
	}
	return fmt.Errorf("the %s document is not valid against its schema %s: %d violation(s)", r.Document(), ve.Schema, len(ve.Errors)+ve.Omitted)
}

// ruleFor names the rule that wrote the node at path, or one below it.
func ruleFor(origins []mapping.Origin, path string) string {
	for _, o := range origins {
		if o.Path == path || strings.HasPrefix(o.Path, path+"/") {
			return fmt.Sprintf("rule %s, %s:%d", o.Rule, o.File, o.Line)
		}
	}
	return "no rule writes it"
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
	rep, err := rulestest.Check(pos[0], *update)
	if err != nil {
		return err
	}
	for _, r := range rep.Results {
		fmt.Fprintln(stdout, r)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(stdout, "warning: "+w)
	}
	if failed := rep.Failed(); failed > 0 {
		return fmt.Errorf("%d of %d examples failed", failed, len(rep.Results))
	}
	fmt.Fprintf(stdout, "%d examples passed, %d warning(s)\n", len(rep.Results), len(rep.Warnings))
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
