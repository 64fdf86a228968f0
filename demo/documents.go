package demo

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/xmlsafe"
)

// Document types other than the phytosanitary certificate come from the
// rules alone: rules/documents/<type>.yaml (its configuration), each
// country's <CC>/<type>.{outbound,inbound}.yaml and its examples. The demo
// configures every node for every such type and sends each country's
// examples, so a new document type travels in the demo without a change
// to Go code.

// extraDocument is one such document type.
type extraDocument struct {
	Name string
	Spec config.Document
	// Outbound and Inbound list the countries with rules for each side;
	// Examples the native example files (paths in rules.FS) per country.
	Outbound, Inbound map[string]bool
	Examples          map[string][]string
	// ContentType per country: what its legacy VUCE receives.
	ContentType map[string]string
}

// fragment is rules/documents/<type>.yaml.
type fragment struct {
	config.Document `yaml:",inline"`
}

func extraDocuments(fsys fs.FS) ([]*extraDocument, error) {
	files, err := fs.Glob(fsys, "documents/*.yaml")
	if err != nil {
		return nil, err
	}
	var out []*extraDocument
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".yaml")
		if name == "sps" {
			continue // configured by the demo's own template, with its legacy formats
		}
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		var fr fragment
		if err := yaml.Unmarshal(b, &fr); err != nil {
			return nil, fmt.Errorf("rules/%s: %w", f, err)
		}
		d := &extraDocument{Name: name, Spec: fr.Document, Outbound: map[string]bool{}, Inbound: map[string]bool{},
			Examples: map[string][]string{}, ContentType: map[string]string{}}
		for _, cc := range Countries {
			if _, err := fs.Stat(fsys, cc+"/"+name+".outbound.yaml"); err == nil {
				d.Outbound[cc] = true
				d.Examples[cc], _ = fs.Glob(fsys, cc+"/examples/"+name+"/*.native.*")
			}
			if r, err := mapping.Load(fsys, cc+"/"+name+".inbound.yaml"); err == nil {
				d.Inbound[cc] = true
				d.ContentType[cc] = "application/json"
				if r.TargetFormat() == "xml" {
					d.ContentType[cc] = "application/xml"
				}
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// extraSpec is what a node's configuration says about one extra type.
type extraSpec struct {
	Name        string
	YAML        string // the documents.<name> section, indented for the template
	Outbound    bool
	Inbound     bool
	RoutePath   string
	InboundPath string
	ContentType string
	Exporter    bool // signed by the exporter first (aladi-cod)
}

// RoutePath is where a demo legacy VUCE posts documents of an extra type.
func RoutePath(docType string) string { return "/vucelink/" + docType + "/enviar" }

func (d *extraDocument) spec(cc string) (extraSpec, error) {
	b, err := yaml.Marshal(map[string]config.Document{d.Name: d.Spec})
	if err != nil {
		return extraSpec{}, err
	}
	var ind strings.Builder
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		ind.WriteString("  " + l + "\n")
	}
	es := extraSpec{Name: d.Name, YAML: ind.String(), Outbound: d.Outbound[cc], Inbound: d.Inbound[cc],
		RoutePath: RoutePath(d.Name), InboundPath: legacysim.DocumentPath(d.Name), ContentType: d.ContentType[cc],
		Exporter: d.Spec.Signature == "aladi-cod"}
	if d.Name == "sps17a" {
		// The hub's certificate reaches the legacy VUCE in its own format,
		// where its phytosanitary certificates always arrive (hub.go).
		es.InboundPath = legacysim.InboundPath(cc)
	}
	return es, nil
}

// exporterKey writes a development exporter's key and certificate for a
// country (certificates of origin are signed by the exporter first).
func exporterKey(pki, cc string) error {
	certFile := filepath.Join(pki, cc, "exporter.pem")
	if _, err := os.Stat(certFile); err == nil {
		return nil
	}
	ca, err := devpki.LoadCA(pki, cc)
	if err != nil {
		return err
	}
	kp, err := ca.IssueOfficial("Exportadora Demo "+cc, "exporter", devpki.Options{})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(pki, cc, "exporter.key"), kp.KeyPEM, 0o600); err != nil {
		return err
	}
	return os.WriteFile(certFile, kp.CertPEM, 0o644)
}

// SendExample makes a country's legacy VUCE post one of its example
// documents of an extra type and checks it arrived, received correctly,
// at the destination's legacy VUCE.
func (n *Network) SendExample(ctx context.Context, d *extraDocument, from, file string) Result {
	res := Result{From: from, Type: d.Name, Via: "reverse"}
	body, err := fs.ReadFile(rules.FS, file)
	if err != nil {
		res.Problems = append(res.Problems, err.Error())
		return res
	}
	ct := "application/json"
	if strings.HasSuffix(file, ".xml") {
		ct = "application/xml"
	}
	if strings.Contains(path.Base(file), "exporter-signed.") {
		if body, err = n.resignExporterPart(body, from); err != nil {
			res.Problems = append(res.Problems, file+": "+err.Error())
			return res
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.RouteURL(from, RoutePath(d.Name)), bytes.NewReader(body))
	if err != nil {
		res.Problems = append(res.Problems, err.Error())
		return res
	}
	req.Header.Set("Content-Type", ct)
	start := time.Now()
	resp, err := (&http.Client{Timeout: time.Minute, Transport: &http.Transport{Proxy: nil}}).Do(req)
	res.Elapsed = time.Since(start)
	if err != nil {
		res.Outcome = "not sent"
		res.Problems = append(res.Problems, err.Error())
		return res
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	res.Status = resp.StatusCode
	var a struct{ TrackingID, DocumentID, Partner, State string }
	json.Unmarshal(answer, &a)
	res.TrackingID, res.DocumentID, res.To = a.TrackingID, a.DocumentID, a.Partner
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		res.Outcome = fmt.Sprintf("HTTP %d", resp.StatusCode)
		res.Problems = append(res.Problems, strings.TrimSpace(string(answer)))
		return res
	}
	if n.Legacy[a.Partner] == nil {
		res.Outcome = "destination not in the network"
		res.Problems = append(res.Problems, fmt.Sprintf("%s is addressed to %q", file, a.Partner))
		return res
	}
	stored, err := n.Nodes[from].Store.Get(ctx, a.TrackingID)
	if err != nil {
		res.Problems = append(res.Problems, err.Error())
		return res
	}
	res.Outcome = string(stored.State)
	if stored.State != lifecycle.ReceivedCorrectly {
		res.Problems = append(res.Problems, stored.LastError)
		return res
	}
	for _, got := range n.Legacy[a.Partner].Documents(d.Name) {
		if bytes.Contains(got.Body, []byte(a.DocumentID)) {
			res.Intact = true
			return res
		}
	}
	res.Problems = append(res.Problems, fmt.Sprintf("%s legacy VUCE has no %s document naming %s", a.Partner, d.Name, a.DocumentID))
	return res
}

// exampleTrips lists, per extra type, each country's examples, in order.
func exampleTrips(docs []*extraDocument, nodes map[string]bool) []struct {
	Doc  *extraDocument
	From string
	File string
} {
	var out []struct {
		Doc  *extraDocument
		From string
		File string
	}
	for _, d := range docs {
		ccs := make([]string, 0, len(d.Examples))
		for cc := range d.Examples {
			ccs = append(ccs, cc)
		}
		sort.Strings(ccs)
		for _, cc := range ccs {
			if !nodes[cc] {
				continue
			}
			for _, f := range d.Examples[cc] {
				out = append(out, struct {
					Doc  *extraDocument
					From string
					File string
				}{d, cc, f})
			}
		}
	}
	return out
}

// signedEnvelope finds the exporter's signed certificate of origin inside
// an XML payload: the whole envelope, as it was signed.
var signedEnvelope = regexp.MustCompile(`(?s)<(\w+:)?Envelope\b.*</(\w+:)?Envelope>`)

// resignExporterPart makes an exporter-signed example's signed part (a
// certificate of origin its exporter signed, base64 in JSON or inside the
// XML payload) signed by the demo exporter of country cc instead: the
// example's own exporter has a development CA of the examples, which the
// demo's nodes rightly do not trust. The nodes then keep the signature.
func (n *Network) resignExporterPart(body []byte, cc string) ([]byte, error) {
	signer, err := certs.LoadSigner(filepath.Join(n.PKI, cc, "exporter.key"), filepath.Join(n.PKI, cc, "exporter.pem"))
	if err != nil {
		return nil, err
	}
	resign := func(signed []byte) ([]byte, error) {
		doc, err := xmlsafe.Parse(signed, xmlsafe.Limits{})
		if err != nil {
			return nil, err
		}
		for _, exp := range doc.FindElements("//CODExporter") {
			for _, sig := range exp.ChildElements() {
				if sig.Tag == "Signature" {
					exp.RemoveChild(sig)
				}
			}
		}
		unsigned, err := doc.WriteToBytes()
		if err != nil {
			return nil, err
		}
		return signer.SignCODExporter(unsigned)
	}
	if loc := signedEnvelope.FindIndex(body); loc != nil && bytes.HasPrefix(bytes.TrimSpace(body), []byte("<")) {
		part, err := resign(body[loc[0]:loc[1]])
		if err != nil {
			return nil, err
		}
		return append(append(append([]byte(nil), body[:loc[0]]...), part...), body[loc[1]:]...), nil
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, err
	}
	cert, _ := p["certificado"].(map[string]any)
	enc, _ := cert["codFirmadoExportador"].(string)
	signed, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || enc == "" {
		return nil, fmt.Errorf("no certificado.codFirmadoExportador in base64: %v", err)
	}
	part, err := resign(signed)
	if err != nil {
		return nil, err
	}
	cert["codFirmadoExportador"] = base64.StdEncoding.EncodeToString(part)
	return json.MarshalIndent(p, "", "  ")
}
