package node_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/certs/opensslkey"
	"github.com/vucelink/vucelink/demo"
	"github.com/vucelink/vucelink/rules"
)

func serverSerial(t *testing.T, addr string, roots *x509.CertPool) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// A replaced certificate is served from the next handshake on, without a
// restart, and documents keep flowing.
func TestNode_RotatesTLSCertificate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := demo.Start(ctx, demo.Options{Dir: t.TempDir(), Countries: []string{"CL", "MX"}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ca, err := devpki.LoadCA(n.PKI, "MX")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	addr := n.Nodes["MX"].Addr("partners")
	before := serverSerial(t, addr, roots)

	kp, err := ca.IssueServer(devpki.Options{}, "127.0.0.1", "::1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(n.PKI, "MX")
	for name, data := range map[string][]byte{"server.key": kp.KeyPEM, "server.pem": kp.CertPEM} {
		tmp := filepath.Join(dir, name+".new")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	want := kp.Cert.SerialNumber.String()
	deadline := time.Now().Add(10 * time.Second)
	for serverSerial(t, addr, roots) != want {
		if time.Now().After(deadline) {
			t.Fatalf("still serving the old certificate %s after 10s", before)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if res := n.Send(ctx, "CL", "MX", 1, 2, false); !res.Intact {
		t.Fatalf("delivery after rotation: %v", res.Problems)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A signing certificate due to expire within the warning period is
// reported at start (and hourly after), naming it, with the days left.
func TestNode_WarnsOfExpiry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := demo.Start(ctx, demo.Options{Dir: t.TempDir(), Countries: []string{"CL", "MX"}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ca, err := devpki.LoadCA(n.PKI, "CL")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.IssueOfficial("Ana Pérez Soto", "SAG", devpki.Options{NotAfter: time.Now().Add(10 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(n.PKI, "CL")
	if err := os.WriteFile(filepath.Join(dir, "official.pem"), kp.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "official.key"), kp.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(ctx, "CL"); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	if err := n.Restart("CL", slog.New(slog.NewJSONHandler(logs, nil))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `"what":"signing"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no expiry warning for the signing certificate:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if line := logs.String(); !strings.Contains(line, `"days_left":9`) && !strings.Contains(line, `"days_left":10`) {
		t.Errorf("warning without the days left:\n%s", line)
	}
	for _, quiet := range []string{"partner-ca:MX", "officials-list:MX"} {
		if strings.Contains(logs.String(), `"what":"`+quiet+`"`) {
			t.Errorf("%s, far from its end, is reported as expiring", quiet)
		}
	}
}

// An official's key and certificate replaced on disk sign the next
// document, without a restart (the partner learns of the new official
// through the published list first).
func TestNode_RotatesSigningKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := demo.Start(ctx, demo.Options{Dir: t.TempDir(), Countries: []string{"CL", "MX"}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ca, err := devpki.LoadCA(n.PKI, "CL")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.IssueOfficial("Rotated Official", "SAG", devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	staged := filepath.Join(n.PKI, "CL", "official-next.pem")
	if err := os.WriteFile(staged, kp.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := n.AddOfficial("CL", staged, "sps"); err != nil {
		t.Fatal(err)
	}
	if err := n.Nodes["MX"].RefreshOfficials(ctx); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(n.PKI, "CL")
	for name, data := range map[string][]byte{"official.key": kp.KeyPEM, "official.pem": kp.CertPEM} {
		tmp := filepath.Join(dir, name+".new")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2100 * time.Millisecond) // the files are looked at every 2 s at most
	res := n.Send(ctx, "CL", "MX", 1, 2, false)
	if !res.Intact {
		t.Fatalf("delivery after rotation: %v", res.Problems)
	}
	d, err := n.Nodes["CL"].Store.Find(ctx, "outbound", "MX", "sps", res.DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	v, err := (&certs.Verifier{Roots: mustRoots(ca.Cert)}).Verify(context.Background(), d.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v.Signer.SerialNumber.Cmp(kp.Cert.SerialNumber) != 0 {
		t.Fatalf("signed by %s, want the rotated official", v.Signer.Subject)
	}
}

func mustRoots(cs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range cs {
		p.AddCert(c)
	}
	return p
}

// Rule files under rules_dir are reloaded while the node runs: a change
// is used by the next document; a broken change is refused, the rules in
// force stay, and /readyz says which file and line.
func TestNode_ReloadsRuleFiles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := demo.Start(ctx, demo.Options{Dir: t.TempDir(), Countries: []string{"CL", "MX"}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	dir := filepath.Join(t.TempDir(), "rules")
	if err := os.CopyFS(dir, rules.FS); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(n.Configs["CL"], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "rules_dir: %s\n", dir)
	f.Close()
	if err := n.Stop(ctx, "CL"); err != nil {
		t.Fatal(err)
	}
	if err := n.Restart("CL", nil); err != nil {
		t.Fatal(err)
	}
	send := func(seq int) string {
		t.Helper()
		res := n.Send(ctx, "CL", "MX", seq, 1, false)
		if !res.Intact {
			t.Fatalf("certificate %d: %v", seq, res.Problems)
		}
		d, err := n.Nodes["CL"].Store.Find(ctx, "outbound", "MX", "sps", res.DocumentID)
		if err != nil {
			t.Fatal(err)
		}
		return string(d.Body)
	}
	admin := func(path string) string {
		t.Helper()
		resp, err := n.AdminRequest(context.Background(), "CL", "GET", path, n.ViewerToken, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// The watcher looks every 2 s, and a reload runs the examples: on a
	// loaded machine that takes a while, so each change is waited for
	// (bounded) rather than slept on.
	const reloadWithin = 45 * time.Second
	reloads := func() string {
		for _, line := range strings.Split(admin("/metrics"), "\n") {
			if strings.HasPrefix(line, "vucelink_rules_last_good_reload_timestamp_seconds ") {
				return line
			}
		}
		return ""
	}
	lastReload := reloads()
	waitReload := func(seq int) {
		t.Helper()
		for deadline := time.Now().Add(reloadWithin); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if r := reloads(); r != lastReload {
				lastReload = r
				return
			}
		}
		t.Fatalf("change %d: the rules were not reloaded within %s", seq, reloadWithin)
	}
	// expectReadyz waits until /readyz says every one of want, and
	// reports what it said instead if it never does.
	expectReadyz := func(what string, want ...string) {
		t.Helper()
		var got string
		for deadline := time.Now().Add(reloadWithin); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			got = admin("/readyz")
			if !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(got, w) }) {
				return
			}
		}
		t.Errorf("/readyz does not report %s (want %q):\n%s", what, want, got)
	}
	const before, after = "Servicio Agrícola y Ganadero (SAG)", "SAG Chile (reloaded)"
	if body := send(1); !strings.Contains(body, before) {
		t.Fatal("the copied rules are not in use")
	}
	file := filepath.Join(dir, "CL", "sps.outbound.yaml")
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// The example pair beside the rules changes with them: a reload runs
	// the examples, and a change that alters one without it is refused.
	example := filepath.Join(dir, "CL", "examples", "sps", "sample.standard.xml")
	exampleText, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(example, []byte(strings.ReplaceAll(string(exampleText), before, after)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(string(text), before, after)), 0o644); err != nil {
		t.Fatal(err)
	}
	waitReload(2) // rules_dir is looked at every 2 s; a reload runs the examples
	if body := send(2); !strings.Contains(body, after) {
		t.Fatal("the changed rule file is not in use")
	}

	broken := strings.ReplaceAll(string(text), before, after) + "  - {target: rsm:SPSExchangedDocument/ram:Nonsense, source: x, colour: blue}\n"
	if err := os.WriteFile(file, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	expectReadyz("the broken change", "did not load", "sps.outbound.yaml")
	if body := send(3); !strings.Contains(body, after) {
		t.Fatal("a broken change replaced the rules in force")
	}

	// Changes that load on their own but not against the schema: a rule
	// writing an element the SPS schema does not have, then a schema that
	// does not compile. Each is refused, naming the file (and line).
	good := strings.ReplaceAll(string(text), before, after)
	head, tail, ok := strings.Cut(good, "\nfields:\n")
	if !ok {
		t.Fatal("CL/sps.outbound.yaml has no fields: section")
	}
	head += "\nfields:\n  - {target: rsm:SPSExchangedDocument/ram:Nonsense, value: x}\n"
	unknown := head + tail
	if err := os.WriteFile(file, []byte(unknown), 0o644); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("sps.outbound.yaml:%d: rule rsm:SPSExchangedDocument/ram:Nonsense: target: rsm:SPSCertificate/rsm:SPSExchangedDocument/ram:Nonsense: ram:Nonsense is not an element of rsm:SPSExchangedDocument", strings.Count(head, "\n"))
	expectReadyz("the target the schema lacks", "did not load", want)
	if err := os.WriteFile(file, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	xsd := filepath.Join(dir, "documents", "sps-d13b", "SPSCertificate_11p0.xsd")
	schemaText, err := os.ReadFile(xsd)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(xsd, schemaText[:len(schemaText)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	expectReadyz("the broken schema", "did not load", "documents.sps.schema: schema: documents/sps-d13b/SPSCertificate_11p0.xsd does not compile")
	if body := send(4); !strings.Contains(body, after) {
		t.Fatal("a broken schema replaced the rules in force")
	}
	if err := os.WriteFile(xsd, schemaText, 0o644); err != nil {
		t.Fatal(err)
	}
	expectReadyz("the repair", "loaded and checked")
}

// crypto.engine: each engine signs documents the partner accepts, and
// /metrics says which one is in use. The OpenSSL case is skipped where
// libcrypto does not load (CI requires it).
func TestNode_SigningEngine(t *testing.T) {
	for _, tc := range []struct{ engine, want string }{
		{"go", `vucelink_signing_engine_info{engine="go"`},
		{"openssl", `vucelink_signing_engine_info{engine="openssl",version="OpenSSL 3`},
	} {
		t.Run(tc.engine, func(t *testing.T) {
			if tc.engine == "openssl" {
				if _, err := opensslkey.Open(""); err != nil {
					if os.Getenv("VUCELINK_REQUIRE_OPENSSL") != "" {
						t.Fatal(err)
					}
					t.Skip(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			n, err := demo.Start(ctx, demo.Options{Dir: t.TempDir(), Countries: []string{"CL", "MX"}, CryptoEngine: tc.engine})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			res := n.Send(ctx, "CL", "MX", 1, 3, false)
			if !res.Intact {
				t.Fatalf("delivery: %v", res.Problems)
			}
			resp, err := n.AdminRequest(ctx, "CL", "GET", "/metrics", n.ViewerToken, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(b), tc.want) {
				t.Fatalf("/metrics lacks %s", tc.want)
			}
			if strings.Count(string(b), "vucelink_signing_engine_info{") != 1 {
				t.Fatal("/metrics names more than one signing engine")
			}
		})
	}
}
