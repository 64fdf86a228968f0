package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func loadValid(t *testing.T, edit func(string) string) (*Config, error) {
	t.Helper()
	data, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if edit != nil {
		text = edit(text)
	}
	// Parse resolves relative paths against the name's directory.
	return Parse([]byte(text), filepath.Join("testdata", "edited.yaml"))
}

func TestLoad_Valid(t *testing.T) {
	t.Setenv("TEST_MX_PASSWORD", "s3cret: #not-a-comment")
	c, err := loadValid(t, nil)
	if err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	if got := c.Partners["MX"].OutboundAuth.Password; got != "s3cret: #not-a-comment" {
		t.Errorf("env expansion: password = %q", got)
	}
	if want := filepath.Join("testdata", "files", "server.pem"); c.TLS.Cert != want {
		t.Errorf("relative path resolved to %q, want %q", c.TLS.Cert, want)
	}
	// Defaults applied in one place.
	if c.Routes[0].Method != "POST" || c.Routes[0].Response.Status != 202 || c.Delivery.Retries != 3 ||
		c.Delivery.BackoffMin != 250*time.Millisecond || c.Limits.MaxBodyBytes != 8<<20 {
		t.Errorf("defaults not applied: %+v %+v %+v", c.Routes[0], c.Delivery, c.Limits)
	}
	if c.Crypto.Engine != "auto" {
		t.Errorf("crypto.engine defaults to %q, want auto", c.Crypto.Engine)
	}
	if s, ok := c.SigningFor("sps"); !ok || !strings.HasSuffix(s.Key, "official.key") {
		t.Errorf("SigningFor(sps) = %+v, %v", s, ok)
	}
}

func TestLoad_Errors(t *testing.T) {
	t.Setenv("TEST_MX_PASSWORD", "pw")
	tests := []struct {
		name string
		edit func(string) string
		want []string // every substring must appear in the error
	}{
		{"unknown top-level key", func(s string) string { return s + "colour: blue\n" },
			[]string{"edited.yaml:", `unknown key "colour" (in top level)`}},
		{"unknown nested key", func(s string) string {
			return strings.Replace(s, "  country: CL\n", "  country: CL\n  contry: CL\n", 1)
		}, []string{"edited.yaml:3:", `unknown key "contry" (in node section)`}},
		{"bad country", func(s string) string { return strings.Replace(s, "country: CL", "country: Chile", 1) },
			[]string{`node.country: must be an ISO 3166 alpha-2 code`}},
		{"partner url not https", func(s string) string {
			return strings.Replace(s, "https://127.0.0.1:8444", "http://127.0.0.1:8444", 1)
		}, []string{`partners.MX.url: must be an https:// URL`}},
		{"missing file", func(s string) string { return strings.Replace(s, "files/mx-ca.pem", "files/nope.pem", 1) },
			[]string{`partners.MX.ca[0]: cannot read`, "nope.pem"}},
		{"unset env var", func(s string) string { return strings.Replace(s, "TEST_MX_PASSWORD", "TEST_UNSET_VAR_XYZ", 1) },
			[]string{`partners.MX.outbound_auth.password: environment variable TEST_UNSET_VAR_XYZ is not set`}},
		{"unknown document in route", func(s string) string {
			return strings.Replace(s, "    document: sps\n    path: /api/out", "    document: cod\n    path: /api/out", 1)
		}, []string{`routes[0].document: unknown document type "cod"`}},
		{"bad template", func(s string) string {
			return strings.Replace(s, "    rules: CL/sps.outbound.yaml\n", "    rules: CL/sps.outbound.yaml\n    response:\n      body: '{{.TrackingID'\n", 1)
		}, []string{`routes[0].response.body:`}},
		{"hand-over charset for JSON", func(s string) string {
			return strings.Replace(s, "      content_type: application/json\n", "      content_type: application/json\n      charset: ISO-8859-1\n", 1)
		}, []string{`legacy.inbound[0].charset: applies to XML hand-overs only, and content_type is "application/json"`}},
		{"hand-over charset unknown", func(s string) string {
			return strings.Replace(s, "      content_type: application/json\n", "      content_type: application/xml\n      charset: Shift_JIS\n", 1)
		}, []string{`legacy.inbound[0].charset: encoding "Shift_JIS"`}},
		{"password hash not bcrypt", func(s string) string {
			return strings.Replace(s, "$2a$12$Pnj1rS87SmEgV.3.1R8nweHKHqVnhaEz3cCUC3cBtej8zH4HNgcu2", "plain", 1)
		}, []string{`partners.MX.inbound_auth.password_hash: must be a bcrypt hash`}},
		{"undeclared prefix", func(s string) string {
			return strings.Replace(s, "id: rsm:SPSExchangedDocument/ram:ID", "id: rsm:SPSExchangedDocument/xx:ID", 1)
		}, []string{`documents.sps.id: prefix "xx" is not declared`}},
		{"own country as partner", func(s string) string { return strings.Replace(s, "  MX:\n", "  CL:\n", 1) },
			[]string{`partners.CL: a node cannot be its own partner`}},
		{"forward hosts without proxy", func(s string) string { return strings.Replace(s, "  forward_proxy: 127.0.0.1:0\n", "", 1) },
			[]string{`routes[0].forward_hosts: set, but listen.forward_proxy is empty`}},
		{"console user with a bad role and a plain password", func(s string) string {
			return s + "console:\n  users:\n    - {name: ana, role: admin, password_hash: secret}\n    - {name: ana, role: viewer, password_hash: '$2a$12$Pnj1rS87SmEgV.3.1R8nweHKHqVnhaEz3cCUC3cBtej8zH4HNgcu2'}\n"
		}, []string{`console.users[0].role: must be viewer or operator, got "admin"`, `console.users[0].password_hash: must be a bcrypt hash`, `console.users[1].name: "ana" is listed twice`}},
		{"notify without operators, bad from and tls", func(s string) string {
			return s + "notify:\n  smtp: {host: mail.example, from: nobody, tls: maybe}\n  webhooks: [ftp://x]\n"
		}, []string{`notify.smtp.from: must be an email address, got "nobody"`, `notify.smtp.tls: must be starttls, tls or none`, `notify.operators: list at least one address`, `notify.webhooks[0]: must be an http:// or https:// URL`}},
		{"partner operator not an address", func(s string) string {
			return strings.Replace(s, "  MX:\n", "  MX:\n    operators: [\"Ops <ops@mx.example>\", nope]\n", 1)
		}, []string{`partners.MX.operators[0]: must be a plain email address`, `partners.MX.operators[1]: must be a plain email address, got "nope"`}},
		{"unknown crypto engine", func(s string) string { return s + "crypto:\n  engine: boringssl\n" },
			[]string{`crypto.engine: must be auto, openssl or go, got "boringssl"`}},
		{"crypto library with engine go", func(s string) string { return s + "crypto:\n  engine: go\n  library: /opt/ssl/libcrypto.so.3\n" },
			[]string{`crypto.library: is only read by engine auto or openssl`}},
		{"several problems reported together", func(s string) string {
			s = strings.Replace(s, "country: CL", "country: cl", 1)
			return strings.Replace(s, "legacy: 127.0.0.1:0", "legacy: nowhere", 1)
		}, []string{"node.country:", "listen.legacy: must be host:port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadValid(t, tt.edit)
			if err == nil {
				t.Fatal("accepted, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestExpandEnv_Default(t *testing.T) {
	c := &Config{RulesDir: "${TEST_UNSET_ABC:-/etc/rules}", Node: Node{Name: "n-${TEST_SET_ABC}"}}
	lookup := func(k string) (string, bool) {
		if k == "TEST_SET_ABC" {
			return "x", true
		}
		return "", false
	}
	if err := expandEnv(c, lookup); err != nil {
		t.Fatal(err)
	}
	if c.RulesDir != "/etc/rules" || c.Node.Name != "n-x" {
		t.Errorf("got rules_dir=%q name=%q", c.RulesDir, c.Node.Name)
	}
}

func TestLoad_SignatureProfiles(t *testing.T) {
	t.Setenv("TEST_MX_PASSWORD", "pw")
	cod := `  cod:
    root: c:Envelope
    signed: c:CertOrigin/c:CODEH
    id: c:CODExporter/c:COD/c:CertificateNumber
    destination: c:CODExporter/c:COD/c:ImporterCountry
    namespaces: {c: "urn:aladi:cod"}
    signature: aladi-cod
`
	tests := []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"unknown profile", func(s string) string {
			return strings.Replace(s, "documents:\n", "documents:\n"+strings.Replace(cod, "aladi-cod", "detached", 1), 1)
		}, []string{`documents.cod.signature: must be enveloped or aladi-cod, got "detached"`}},
		{"cod without the signed path", func(s string) string {
			return strings.Replace(s, "documents:\n", "documents:\n"+strings.Replace(cod, "    signed: c:CertOrigin/c:CODEH\n", "", 1), 1)
		}, []string{`documents.cod.signed: is required with signature aladi-cod`}},
		{"exporter role on an enveloped document", func(s string) string {
			return strings.Replace(s, "signing:\n", "signing:\n  - {documents: [sps], key: files/official.key, cert: files/official.pem, role: exporter}\n", 1)
		}, []string{`signing[0].role: an exporter signs only aladi-cod documents; sps is enveloped`}},
		{"bad role", func(s string) string {
			return strings.Replace(s, "signing:\n", "signing:\n  - {documents: [sps], key: files/official.key, cert: files/official.pem, role: notary}\n", 1)
		}, []string{`signing[0].role: must be official or exporter, got "notary"`}},
		{"a cod route with no way to the exporter's signature", func(s string) string {
			s = strings.Replace(s, "documents:\n", "documents:\n"+cod, 1)
			s = strings.Replace(s, "  - documents: [sps]\n", "  - documents: [sps, cod]\n", 1)
			return strings.Replace(s, "routes:\n", "routes:\n  - {name: cod-out, document: cod, path: /api/cod, rules: CL/cod.outbound.yaml}\n", 1)
		}, []string{`routes[0].document: cod is signed by the exporter first: add a signing entry with role: exporter for it (applied when the payload carries no exporter's signature), or exporters.ca (to keep the one it carries), or both`}},
		{"exporters: a missing CA file, a bad policy, a bad CRL", func(s string) string {
			return strings.Replace(s, "documents:\n", "exporters:\n  ca: [files/nope.pem]\n  revocation: {policy: maybe, crls: [ftp://crl.example]}\ndocuments:\n", 1)
		}, []string{`exporters.ca[0]: `, `exporters.revocation.policy: must be hard-fail or soft-fail, got "maybe"`, `exporters.revocation.crls[0]: must be an http:// or https:// URL, got "ftp://crl.example"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadValid(t, tt.edit)
			if err == nil {
				t.Fatal("accepted, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestLoad_InsideErrors: the admin listener, API clients, route
// authentication and listener timeouts are checked at load, each problem
// naming its key.
func TestLoad_InsideErrors(t *testing.T) {
	t.Setenv("TEST_MX_PASSWORD", "pw")
	hash := "sha256:" + strings.Repeat("ab", 32)
	bcryptHash := "$2a$12$Pnj1rS87SmEgV.3.1R8nweHKHqVnhaEz3cCUC3cBtej8zH4HNgcu2"
	route := "    rules: CL/sps.outbound.yaml\n"
	tests := []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"admin on the legacy address", func(s string) string {
			return strings.Replace(s, "  legacy: 127.0.0.1:0\n", "  legacy: 127.0.0.1:9000\n  admin: 127.0.0.1:9000\n", 1)
		}, []string{"listen.admin: must differ from listen.legacy"}},
		{"admin exposed without TLS", func(s string) string {
			return strings.Replace(s, "  legacy: 127.0.0.1:0\n", "  legacy: 127.0.0.1:0\n  admin: 0.0.0.0:8081\n", 1)
		}, []string{"listen.admin: 0.0.0.0:8081 is not a loopback address: give the admin listener TLS (tls.admin)"}},
		{"clients: bad role, bad hash, no credential, twice", func(s string) string {
			return s + "access:\n  clients:\n    - {name: a, role: admin, token_hash: 'md5:x'}\n    - {name: b, role: viewer}\n    - {name: b, role: viewer, token_hash: '" + hash + "'}\n"
		}, []string{`access.clients[0].role: must be viewer, operator or legacy, got "admin"`, `access.clients[0].token_hash: must be "sha256:" and 64 hex digits`,
			"access.clients[1]: give token_hash", `access.clients[2].name: "b" is listed twice`}},
		{"certificate clients without a client CA", func(s string) string {
			return s + "access:\n  clients:\n    - {name: robot, role: operator, certificate_subject: 'CN=robot'}\n"
		}, []string{"access.clients: certificate_subject is used, but neither tls.admin.client_ca nor tls.legacy.client_ca is set"}},
		{"route accepting an unknown client and an operator", func(s string) string {
			s += "access:\n  clients:\n    - {name: ops, role: operator, token_hash: '" + hash + "'}\n"
			return strings.Replace(s, route, route+"    auth:\n      clients: [vuce, ops]\n      basic: {username: '', password_hash: plain}\n", 1)
		}, []string{`routes[0].auth.clients[0]: "vuce" is not under access.clients`, `routes[0].auth.clients[1]: "ops" has role operator; a route accepts legacy clients only`,
			"routes[0].auth.basic.username: is required", "routes[0].auth.basic.password_hash: must be a bcrypt hash"}},
		{"a response wait the write timeout would cut off", func(s string) string {
			s = strings.Replace(s, "  legacy: 127.0.0.1:0\n", "  legacy: 127.0.0.1:0\n  timeouts: {write: 5s}\n", 1)
			return strings.Replace(s, route, route+"    response: {wait: 10s}\n", 1)
		}, []string{"routes[0].response.wait: 10s is not less than listen.timeouts.write (5s): the answer would be cut off; raise listen.timeouts.write"}},
		{"timeouts and limits too small", func(s string) string {
			s = strings.Replace(s, "  legacy: 127.0.0.1:0\n", "  legacy: 127.0.0.1:0\n  timeouts: {read: 10ms}\n  max_connections: -1\n", 1)
			return s + "limits: {max_elements: 10, max_inflight_per_partner: -2}\n"
		}, []string{"listen.timeouts.read: must be at least 1s, got 10ms", "listen.max_connections: must be at least 1", "limits.max_elements: must be at least 1000, got 10", "limits.max_inflight_per_partner: must be at least 1"}},
		{"admin TLS files missing", func(s string) string {
			return strings.Replace(s, "tls:\n", "tls:\n  admin: {cert: files/none.pem, key: files/none.key, client_ca: [files/no-ca.pem]}\n", 1)
		}, []string{"tls.admin.cert: cannot read", "tls.admin.key: cannot read", "tls.admin.client_ca[0]: cannot read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadValid(t, tt.edit)
			if err == nil {
				t.Fatal("accepted, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
	// And a complete, valid inside.
	c, err := loadValid(t, func(s string) string {
		s += "access:\n  clients:\n    - {name: vuce, role: legacy, token_hash: '" + hash + "'}\n"
		return strings.Replace(s, route, route+"    auth:\n      clients: [vuce]\n      basic: {username: vuce, password_hash: '"+bcryptHash+"'}\n", 1)
	})
	if err != nil {
		t.Fatalf("valid inside refused: %v", err)
	}
	if c.Listen.Admin != "127.0.0.1:8081" || c.Listen.Timeouts.Write != 2*time.Minute || c.Listen.MaxConnections != 512 ||
		c.Limits.MaxInflightPerPartner != 8 || len(c.OpenRoutes()) != 0 {
		t.Errorf("defaults: %+v %+v, open routes %v", c.Listen, c.Limits, c.OpenRoutes())
	}
}
