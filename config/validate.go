package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/xmlsafe"
)

var countryCode = regexp.MustCompile(`^[A-Z]{2}$`)

// Validate checks the whole configuration and returns every problem found,
// one per line, each starting with the key path it concerns. File references
// are checked for existence; their contents are checked when the node loads
// them (see package node), so `vucelink check` reports both.
func (c *Config) Validate() error {
	v := &validator{}

	if !countryCode.MatchString(c.Node.Country) {
		v.addf("node.country", "must be an ISO 3166 alpha-2 code in capitals, got %q", c.Node.Country)
	}
	v.addr("listen.legacy", c.Listen.Legacy, true)
	v.addr("listen.partners", c.Listen.Partners, true)
	v.addr("listen.forward_proxy", c.Listen.ForwardProxy, false)
	v.access(c)
	v.public(c)
	v.hub(c)

	v.file("tls.cert", c.TLS.Cert, true)
	v.file("tls.key", c.TLS.Key, true)
	v.file("tls.client_cert", c.TLS.ClientCert, true)
	v.file("tls.client_key", c.TLS.ClientKey, true)

	if c.Limits.MaxBodyBytes < 1024 {
		v.addf("limits.max_body_bytes", "must be at least 1024, got %d", c.Limits.MaxBodyBytes)
	}
	if c.Limits.MaxDepth < 8 {
		v.addf("limits.max_depth", "must be at least 8, got %d", c.Limits.MaxDepth)
	}
	if c.Delivery.Retries < 0 || c.Delivery.Retries > 10 {
		v.addf("delivery.retries", "must be between 0 and 10 (the outbox owns long retries), got %d", c.Delivery.Retries)
	}
	if c.Delivery.BackoffMax < c.Delivery.BackoffMin {
		v.addf("delivery.backoff_max", "must not be less than delivery.backoff_min")
	}
	if c.Delivery.Timeout <= 0 {
		v.addf("delivery.timeout", "must be positive")
	}
	if c.Outbox.Concurrency < 1 || c.Outbox.Concurrency > 64 {
		v.addf("outbox.concurrency", "must be between 1 and 64, got %d", c.Outbox.Concurrency)
	}
	if c.Outbox.BackoffMax < c.Outbox.BackoffMin {
		v.addf("outbox.backoff_max", "must not be less than outbox.backoff_min")
	}
	if c.Outbox.GiveUpAfter < c.Outbox.BackoffMin {
		v.addf("outbox.give_up_after", "must be at least outbox.backoff_min")
	}
	if minLease := c.Delivery.Timeout * time.Duration(c.Delivery.Retries+1); c.Outbox.Lease < minLease {
		v.addf("outbox.lease", "must cover one attempt with its retries: at least %s (delivery.timeout × (retries+1))", minLease)
	}
	switch c.Store.Driver {
	case "sqlite":
		if dir := filepath.Dir(c.Store.Path); dir != "" {
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				v.addf("store.path", "directory %q does not exist", dir)
			}
		}
	case "postgres":
		if c.Store.DSN == "" {
			v.addf("store.dsn", "required with store.driver postgres (postgres://user:${PGPASSWORD}@host:5432/db)")
		}
	default:
		v.addf("store.driver", "must be sqlite or postgres, got %q", c.Store.Driver)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		v.addf("log.format", "must be json or text, got %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.addf("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}

	if len(c.Documents) == 0 {
		v.addf("documents", "at least one document type is required")
	}
	for _, name := range sortedKeys(c.Documents) {
		d := c.Documents[name]
		k := "documents." + name
		if d.Root == "" {
			v.addf(k+".root", "is required")
		}
		if d.ID == "" {
			v.addf(k+".id", "is required")
		}
		switch d.Signature {
		case "", "enveloped":
		case "aladi-cod":
			if d.Signed == "" {
				v.addf(k+".signed", "is required with signature aladi-cod (the path to CODEH)")
			}
		default:
			v.addf(k+".signature", "must be enveloped or aladi-cod, got %q", d.Signature)
		}
		if d.Schema != "" && (!fs.ValidPath(d.Schema) || path.Ext(d.Schema) != ".xsd") {
			v.addf(k+".schema", "must be a relative path to an .xsd file inside the rules directory, like documents/customs.xsd, got %q", d.Schema)
		}
		for _, p := range []struct{ key, path string }{{"root", d.Root}, {"id", d.ID}, {"destination", d.Destination}, {"signed", d.Signed}} {
			for _, prefix := range prefixes(p.path) {
				if _, ok := d.Namespaces[prefix]; !ok {
					v.addf(k+"."+p.key, "prefix %q is not declared in %s.namespaces", prefix, k)
				}
			}
		}
	}

	switch c.Crypto.Engine {
	case "", "auto", "openssl", "go":
	default:
		v.addf("crypto.engine", "must be auto, openssl or go, got %q", c.Crypto.Engine)
	}
	if c.Crypto.Library != "" && c.Crypto.Engine == "go" {
		v.addf("crypto.library", "is only read by engine auto or openssl; engine is go")
	}

	signed := map[string]bool{}
	exporterSigned := map[string]bool{}
	for i, s := range c.Signing {
		k := fmt.Sprintf("signing[%d]", i)
		if len(s.Documents) == 0 {
			v.addf(k+".documents", "list at least one document type")
		}
		switch s.Role {
		case "", "official", "exporter":
		default:
			v.addf(k+".role", "must be official or exporter, got %q", s.Role)
		}
		for _, d := range s.Documents {
			doc, ok := c.Documents[d]
			if !ok {
				v.addf(k+".documents", "unknown document type %q (not under documents)", d)
			}
			if s.Role == "exporter" {
				if ok && doc.Signature != "aladi-cod" {
					v.addf(k+".role", "an exporter signs only aladi-cod documents; %s is %s", d, doc.Signature)
				}
				exporterSigned[d] = true
				continue
			}
			if signed[d] {
				v.addf(k+".documents", "document type %q is already covered by an earlier signing entry", d)
			}
			signed[d] = true
		}
		v.file(k+".key", s.Key, true)
		v.file(k+".cert", s.Cert, true)
	}

	for i, f := range c.Exporters.CA {
		v.file(fmt.Sprintf("exporters.ca[%d]", i), f, true)
	}
	v.revocation("exporters.revocation", c.Exporters.Revocation)

	if c.RulesDir != "" {
		if st, err := os.Stat(c.RulesDir); err != nil || !st.IsDir() {
			v.addf("rules_dir", "%q is not a readable directory", c.RulesDir)
		}
	}

	routeNames := map[string]bool{}
	routeKeys := map[string]string{}
	for i, r := range c.Routes {
		k := fmt.Sprintf("routes[%d]", i)
		if r.Name == "" {
			v.addf(k+".name", "is required")
		} else if routeNames[r.Name] {
			v.addf(k+".name", "duplicate route name %q", r.Name)
		}
		routeNames[r.Name] = true
		if _, ok := c.Documents[r.Document]; !ok {
			v.addf(k+".document", "unknown document type %q (not under documents)", r.Document)
		} else if !signed[r.Document] {
			v.addf(k+".document", "no signing entry covers document type %q", r.Document)
		} else if c.Documents[r.Document].Signature == "aladi-cod" && !exporterSigned[r.Document] && len(c.Exporters.CA) == 0 {
			v.addf(k+".document", "%s is signed by the exporter first: add a signing entry with role: exporter for it (applied when the payload carries no exporter's signature), or exporters.ca (to keep the one it carries), or both", r.Document)
		} else if r.Partner == "" && c.Documents[r.Document].Destination == "" {
			v.addf(k+".partner", "required because documents.%s.destination is not set", r.Document)
		}
		if !strings.HasPrefix(r.Path, "/") {
			v.addf(k+".path", "must start with /, got %q", r.Path)
		}
		if prev, dup := routeKeys[r.Method+" "+r.Path]; dup {
			v.addf(k+".path", "%s %s is already used by route %q", r.Method, r.Path, prev)
		}
		routeKeys[r.Method+" "+r.Path] = r.Name
		if r.Rules == "" {
			v.addf(k+".rules", "is required")
		}
		if r.Partner != "" {
			if _, ok := c.Partners[r.Partner]; !ok {
				v.addf(k+".partner", "unknown partner %q (not under partners)", r.Partner)
			}
		}
		if len(r.ForwardHosts) > 0 && c.Listen.ForwardProxy == "" {
			v.addf(k+".forward_hosts", "set, but listen.forward_proxy is empty")
		}
		v.callback(k+".callback", r.Callback)
		v.template(k+".response.body", r.Response.ContentType, r.Response.Body)
		v.template(k+".response.error_body", r.Response.ContentType, r.Response.ErrorBody)
		if r.Response.Wait < 0 || r.Response.Wait > 5*time.Minute {
			v.addf(k+".response.wait", "must be between 0 and 5m, got %s", r.Response.Wait)
		}
		if r.Response.Status < 200 || r.Response.Status > 299 {
			v.addf(k+".response.status", "must be a 2xx status, got %d", r.Response.Status)
		}
	}

	if u, err := url.Parse(c.Legacy.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.addf("legacy.base_url", "must be an http:// or https:// URL, got %q", c.Legacy.BaseURL)
	}
	inboundDocs := map[string]bool{}
	for i, in := range c.Legacy.Inbound {
		k := fmt.Sprintf("legacy.inbound[%d]", i)
		if _, ok := c.Documents[in.Document]; !ok {
			v.addf(k+".document", "unknown document type %q (not under documents)", in.Document)
		}
		if inboundDocs[in.Document] {
			v.addf(k+".document", "document type %q already has an inbound entry", in.Document)
		}
		inboundDocs[in.Document] = true
		if in.Rules == "" {
			v.addf(k+".rules", "is required")
		}
		if !strings.HasPrefix(in.Path, "/") {
			v.addf(k+".path", "must start with /, got %q", in.Path)
		}
		if in.ContentType == "" {
			v.addf(k+".content_type", "is required")
		}
		if in.Charset != "" {
			if err := xmlsafe.CheckCharset(in.Charset); err != nil {
				v.addf(k+".charset", "%v", err)
			} else if !strings.Contains(strings.ToLower(in.ContentType), "xml") {
				v.addf(k+".charset", "applies to XML hand-overs only, and content_type is %q (JSON is UTF-8)", in.ContentType)
			}
		}
		v.callback(k+".callback", in.Callback)
		if in.DuplicateStatus != 0 && (in.DuplicateStatus < 400 || in.DuplicateStatus > 499) {
			v.addf(k+".duplicate_status", "must be a 4xx status, got %d", in.DuplicateStatus)
		}
	}

	if len(c.Partners) == 0 && c.Hub == nil {
		v.addf("partners", "at least one partner is required (a partner node, or hub: for countries reached through the IPPC ePhyto Hub)")
	}
	for _, cc := range sortedKeys(c.Partners) {
		p := c.Partners[cc]
		k := "partners." + cc
		if !countryCode.MatchString(cc) {
			v.addf(k, "partner key must be an ISO 3166 alpha-2 code in capitals")
		}
		if cc == c.Node.Country {
			v.addf(k, "a node cannot be its own partner")
		}
		if u, err := url.Parse(p.URL); err != nil || u.Scheme != "https" || u.Host == "" {
			v.addf(k+".url", "must be an https:// URL, got %q", p.URL)
		}
		if len(p.CA) == 0 {
			v.addf(k+".ca", "list at least one CA certificate file")
		}
		for i, f := range p.CA {
			v.file(fmt.Sprintf("%s.ca[%d]", k, i), f, true)
		}
		for i, o := range p.Officials {
			ok := fmt.Sprintf("%s.officials[%d]", k, i)
			v.file(ok+".cert", o.Cert, true)
			if len(o.Documents) == 0 {
				v.addf(ok+".documents", "list at least one document type")
			}
			for _, d := range o.Documents {
				if _, known := c.Documents[d]; !known {
					v.addf(ok+".documents", "unknown document type %q (not under documents)", d)
				}
			}
		}
		if p.OutboundAuth.Username == "" || p.OutboundAuth.Password == "" {
			v.addf(k+".outbound_auth", "username and password are required")
		}
		if p.OutboundAuth.PasswordHash != "" {
			v.addf(k+".outbound_auth.password_hash", "not allowed: outbound credentials are sent, so the plain password is needed")
		}
		v.revocation(k+".revocation", p.Revocation)
		in := p.InboundAuth
		switch {
		case in.Username == "":
			v.addf(k+".inbound_auth.username", "is required")
		case in.Password == "" && in.PasswordHash == "":
			v.addf(k+".inbound_auth", "password_hash (bcrypt, preferred) or password is required")
		case in.Password != "" && in.PasswordHash != "":
			v.addf(k+".inbound_auth", "set password_hash or password, not both")
		case in.PasswordHash != "" && !strings.HasPrefix(in.PasswordHash, "$2"):
			v.addf(k+".inbound_auth.password_hash", "must be a bcrypt hash ($2a$/$2b$/$2y$)")
		}
		v.emails(k+".operators", p.Operators)
		if p.OfficialsURL != "" {
			if u, err := url.Parse(p.OfficialsURL); err != nil || u.Scheme != "https" || u.Host == "" {
				v.addf(k+".officials_url", "must be an https:// URL, got %q", p.OfficialsURL)
			}
		} else if len(p.Officials) == 0 {
			v.addf(k+".officials", "list the partner's officials, or set officials_url to fetch its published list")
		}
	}
	v.file("officials.published", c.Officials.Published, false)
	if c.Officials.FetchInterval < time.Minute {
		v.addf("officials.fetch_interval", "must be at least 1m, got %s", c.Officials.FetchInterval)
	}
	v.console(&c.Console)
	v.notify(&c.Notify)
	return v.err()
}

func (v *validator) revocation(key string, r Revocation) {
	switch r.Policy {
	case "hard-fail", "soft-fail":
	default:
		v.addf(key+".policy", "must be hard-fail or soft-fail, got %q", r.Policy)
	}
	for i, u := range r.CRLs {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			v.addf(fmt.Sprintf("%s.crls[%d]", key, i), "must be an http:// or https:// URL, got %q", u)
		}
	}
}

func (v *validator) emails(key string, list []string) {
	for i, a := range list {
		if addr, err := mail.ParseAddress(a); err != nil || addr.Name != "" {
			v.addf(fmt.Sprintf("%s[%d]", key, i), "must be a plain email address, got %q", a)
		}
	}
}

func (v *validator) console(c *Console) {
	seen := map[string]bool{}
	for i, u := range c.Users {
		k := fmt.Sprintf("console.users[%d]", i)
		switch {
		case u.Name == "":
			v.addf(k+".name", "is required")
		case seen[u.Name]:
			v.addf(k+".name", "%q is listed twice", u.Name)
		}
		seen[u.Name] = true
		if u.Role != "viewer" && u.Role != "operator" {
			v.addf(k+".role", "must be viewer or operator, got %q", u.Role)
		}
		if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			v.addf(k+".password_hash", "must be a bcrypt hash (make one with `vucelink hash-password`)")
		}
	}
	if _, err := access.NewClientAddr("console.trusted_proxies", c.TrustedProxies); err != nil {
		v.problems = append(v.problems, err.Error())
	}
	if c.SessionIdle > c.SessionMax {
		v.addf("console.session_idle", "must not be longer than console.session_max")
	}
}

func (v *validator) notify(n *Notify) {
	if n.SMTP.Host != "" {
		if n.SMTP.Port < 0 || n.SMTP.Port > 65535 {
			v.addf("notify.smtp.port", "must be a TCP port, got %d", n.SMTP.Port)
		}
		if addr, err := mail.ParseAddress(n.SMTP.From); err != nil {
			v.addf("notify.smtp.from", "must be an email address, got %q", n.SMTP.From)
		} else {
			n.SMTP.From = addr.String()
		}
		switch n.SMTP.TLS {
		case "starttls", "tls", "none":
		default:
			v.addf("notify.smtp.tls", "must be starttls, tls or none, got %q", n.SMTP.TLS)
		}
		switch n.SMTP.Auth {
		case "", "plain", "login", "cram-md5", "scram-sha-1", "scram-sha-256":
		default:
			v.addf("notify.smtp.auth", "must be plain, login, cram-md5, scram-sha-1 or scram-sha-256, got %q", n.SMTP.Auth)
		}
		if len(n.Operators) == 0 {
			v.addf("notify.operators", "list at least one address when notify.smtp.host is set")
		}
	}
	v.emails("notify.operators", n.Operators)
	for i, u := range n.Webhooks {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			v.addf(fmt.Sprintf("notify.webhooks[%d]", i), "must be an http:// or https:// URL, got %q", u)
		}
	}
	if n.ConsoleURL != "" {
		if pu, err := url.Parse(n.ConsoleURL); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			v.addf("notify.console_url", "must be an http:// or https:// URL, got %q", n.ConsoleURL)
		}
	}
	if n.MaxPerHour < 1 {
		v.addf("notify.max_per_hour", "must be at least 1, got %d", n.MaxPerHour)
	}
	if n.MinFailures < 1 {
		v.addf("notify.min_failures", "must be at least 1, got %d", n.MinFailures)
	}
}

type validator struct{ problems []string }

func (v *validator) addf(key, format string, args ...any) {
	v.problems = append(v.problems, key+": "+fmt.Sprintf(format, args...))
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return errors.New("  " + strings.Join(v.problems, "\n  "))
}

func (v *validator) addr(key, addr string, required bool) {
	if addr == "" {
		if required {
			v.addf(key, "is required (host:port)")
		}
		return
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		v.addf(key, "must be host:port, got %q", addr)
	}
}

func (v *validator) file(key, path string, required bool) {
	if path == "" {
		if required {
			v.addf(key, "is required (a file path)")
		}
		return
	}
	if st, err := os.Stat(path); err != nil {
		v.addf(key, "cannot read %q: %v", path, errors.Unwrap(err))
	} else if st.IsDir() {
		v.addf(key, "%q is a directory, not a file", path)
	}
}

func (v *validator) callback(key string, c *Callback) {
	if c == nil {
		return
	}
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.addf(key+".url", "must be an http:// or https:// URL, got %q", c.URL)
	}
}

func (v *validator) template(key, contentType, text string) {
	if _, err := ParseResponseTemplate(key, contentType, text); err != nil {
		v.addf(key, "%v", err)
	}
}

// ParseTemplate parses a route response template with the functions
// available to it (json: JSON-encode a value).
func ParseTemplate(name, text string) (*template.Template, error) {
	return template.New(name).Funcs(TemplateFuncs).Option("missingkey=error").Parse(text)
}

// prefixes lists the namespace prefixes used in a slash path.
func prefixes(path string) []string {
	var out []string
	for _, step := range strings.Split(path, "/") {
		step = strings.TrimPrefix(step, "@")
		if i := strings.IndexByte(step, ':'); i > 0 {
			out = append(out, step[:i])
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
