// Package config describes one vucelink node: who it is, where it listens,
// which legacy VUCE it sits beside, which partners it talks to and with what
// keys and rules.
//
// A configuration is plain data. Load reads it strictly (an unknown key is an
// error that names the line), expands ${VAR} and ${VAR:-default} references
// in string values (so secrets stay out of the file), resolves relative paths
// against the file's directory, applies defaults in one place (Defaults) and
// validates everything at once (Validate), naming the key path of every
// problem, e.g. "partners.MX.url: must be an https:// URL".
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is one node's complete configuration.
type Config struct {
	Node     Node      `yaml:"node"`
	Listen   Listen    `yaml:"listen"`
	TLS      TLS       `yaml:"tls"`
	Limits   Limits    `yaml:"limits"`
	Delivery Delivery  `yaml:"delivery"`
	Store    Store     `yaml:"store"`
	Outbox   Outbox    `yaml:"outbox"`
	Signing  []Signing `yaml:"signing"`
	// Crypto is where the signing keys' RSA operations run.
	Crypto Crypto `yaml:"crypto"`
	// Exporters is how an exporter's signature that a payload already
	// carries (a certificate of origin the exporter signed) is verified
	// before it is kept.
	Exporters Exporters           `yaml:"exporters"`
	Documents map[string]Document `yaml:"documents"`
	// RulesDir is where rule files are read from. Empty means the rule files
	// shipped inside the binary (package rules).
	RulesDir string             `yaml:"rules_dir"`
	Routes   []Route            `yaml:"routes"`
	Legacy   Legacy             `yaml:"legacy"`
	Partners map[string]Partner `yaml:"partners"`
	// Hub, when set, is the IPPC ePhyto Hub (hub.go).
	Hub *Hub `yaml:"hub"`
	// Officials is this node's side of the repositories of authorized
	// officials: the list it publishes, and how it keeps its partners'.
	Officials Officials `yaml:"officials"`
	Console   Console   `yaml:"console"`
	// Access lists the clients of the local API, /metrics and the legacy
	// routes that require authentication.
	Access Access `yaml:"access"`
	// Public is the public verification page of paper copies (public.go).
	Public Public `yaml:"public"`
	Notify Notify `yaml:"notify"`
	Log    Log    `yaml:"log"`

	// File is the path the configuration was loaded from ("" if built in code).
	File string `yaml:"-"`
}

// Node identifies this node.
type Node struct {
	Country string `yaml:"country"` // ISO 3166 alpha-2 code of the country this node serves
	Name    string `yaml:"name"`    // free text, used in logs and receipts
}

// Listen holds the listening addresses. Each listener faces one kind of
// caller: Legacy the legacy VUCE, Admin operators and their tools,
// Partners other countries' nodes, ForwardProxy (optional) the legacy VUCE
// again.
type Listen struct {
	// Legacy is where the legacy VUCE posts outbound documents (reverse side):
	// the routes, nothing else. Plain HTTP unless tls.legacy is set; routes
	// may require credentials (routes[].auth).
	Legacy string `yaml:"legacy"`
	// Admin serves the console, the local API and /metrics (and /healthz,
	// /readyz for probes); every caller authenticates. Default
	// 127.0.0.1:8081; a non-loopback address requires tls.admin.
	Admin string `yaml:"admin"`
	// Timeouts bound slow clients on every listener.
	Timeouts Timeouts `yaml:"timeouts"`
	// MaxConnections caps open connections per listener (default 512):
	// past it, new connections wait in the kernel's backlog.
	MaxConnections int `yaml:"max_connections"`
	// ForwardProxy, when set, serves an HTTP proxy the legacy system can use
	// through HTTP_PROXY (forward side).
	ForwardProxy string `yaml:"forward_proxy"`
	// Partners is the partner-facing HTTPS listener (mutual TLS).
	Partners string `yaml:"partners"`
}

// TLS holds this node's transport identity: the server certificate partners
// see and the client certificate it presents to partners.
type TLS struct {
	Cert       string `yaml:"cert"`
	Key        string `yaml:"key"`
	ClientCert string `yaml:"client_cert"`
	ClientKey  string `yaml:"client_key"`
	// Admin and Legacy, if set, put TLS on those listeners (and, with
	// client_ca, accept client certificates as credentials).
	Admin  *ListenerTLS `yaml:"admin"`
	Legacy *ListenerTLS `yaml:"legacy"`
}

// Limits bound what any single request may cost.
type Limits struct {
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	MaxDepth     int   `yaml:"max_depth"`
	// MaxElements bounds the elements of one XML document (default
	// 100000): the parser refuses more before it builds anything.
	MaxElements int `yaml:"max_elements"`
	// MaxInflightPerPartner caps the documents one partner may have this
	// node working on at once (default 8); more get 503 with Retry-After.
	MaxInflightPerPartner int `yaml:"max_inflight_per_partner"`
}

// Delivery tunes the in-request retry budget towards partners. The long
// horizon (hours of partner outage) belongs to the durable outbox.
type Delivery struct {
	Timeout    time.Duration `yaml:"timeout"`     // per attempt
	Retries    int           `yaml:"retries"`     // extra attempts after the first
	BackoffMin time.Duration `yaml:"backoff_min"` // first wait, before jitter
	BackoffMax time.Duration `yaml:"backoff_max"` // cap on any wait
}

// Store is where documents, their states and history are kept.
type Store struct {
	// Driver is sqlite (default: one process) or postgres (any number of
	// replicas of this node sharing one database).
	Driver string `yaml:"driver"`
	// Path of the SQLite database (created if missing).
	Path string `yaml:"path"`
	// DSN of the PostgreSQL database (postgres://user:${PGPASSWORD}@host/db):
	// its password from the environment.
	DSN string `yaml:"dsn"`
}

// Outbox tunes the long horizon of delivery: retries across hours of
// partner outage, from the durable store.
type Outbox struct {
	Concurrency int           `yaml:"concurrency"`   // delivery workers per partner
	BackoffMin  time.Duration `yaml:"backoff_min"`   // first wait after a failed attempt
	BackoffMax  time.Duration `yaml:"backoff_max"`   // longest wait between attempts
	GiveUpAfter time.Duration `yaml:"give_up_after"` // from acceptance until the document is incomplete
	Lease       time.Duration `yaml:"lease"`         // how long one attempt may hold a document
}

// Signing names the authorized official whose key signs the listed document
// types.
type Signing struct {
	Documents []string `yaml:"documents"`
	Key       string   `yaml:"key"`
	Cert      string   `yaml:"cert"`
	// Role is official (the default: the authorized official who certifies)
	// or exporter (the exporter's own signature on a certificate of origin,
	// applied by the node when the legacy VUCE does not carry it).
	Role string `yaml:"role"`
}

// Crypto chooses the engine of the signing keys' RSA operations.
type Crypto struct {
	// Engine is auto (the default: OpenSSL's libcrypto when it loads,
	// crypto/rsa otherwise, said in the log and in /metrics), openssl
	// (refuse to start without it) or go (crypto/rsa always). The
	// signatures are the same bytes either way; OpenSSL was 2.4–4.3× faster
	// on the x86 server measured (docs/performance.md).
	Engine string `yaml:"engine"`
	// Library is the libcrypto to load; empty means libcrypto.so.3.
	Library string `yaml:"library"`
}

// Exporters are this country's exporters as signers of their own
// certificates of origin: in the legacy VUCE, or with their own software,
// before the certifying entity certifies. A payload that carries such a
// signature (over #COD) has it verified against these CAs — chain,
// validity, revocation — and kept as it is; the node's exporter key
// (signing, role exporter) is used only for payloads that carry none.
type Exporters struct {
	// CA lists the CA certificates (PEM files) exporters' signing
	// certificates must chain to. Empty: a payload carrying an exporter's
	// signature is refused.
	CA []string `yaml:"ca"`
	// Revocation of exporters' certificates, as for partners.
	Revocation Revocation `yaml:"revocation"`
	// AcceptSHA1 accepts exporters' RSA-SHA1 signatures and SHA-1
	// digests, which certificates of origin in circulation still use.
	AcceptSHA1 bool `yaml:"accept_sha1"`
}

// Document describes a document type's standard form: where its ID and its
// destination country are found once mapped.
type Document struct {
	// Namespaces maps the prefixes used in ID and Destination to URIs.
	Namespaces map[string]string `yaml:"namespaces"`
	// Root is the expected root element of the standard document (prefix:name).
	Root string `yaml:"root"`
	// ID is the slash path, relative to the root, of the document's own ID.
	ID string `yaml:"id"`
	// Destination is the slash path, relative to the root, of the ISO 3166
	// alpha-2 code of the destination country.
	Destination string `yaml:"destination"`
	// Signed is the slash path from the root to the element the certifying
	// official signs and the receiving side uses (for aladi-cod:
	// …/CODEH); empty means the root itself. ID and Destination are then
	// relative to it.
	Signed string `yaml:"signed"`
	// Signature is enveloped (default: one signature, child of the root)
	// or aladi-cod (the exporter's signature over #COD and the official's
	// over #CODEH, each beside the element it signs).
	Signature string `yaml:"signature"`
	// Schema is the document's XML Schema (its entry file), a path inside
	// the rules directory (rules_dir, or the rules built in): every
	// outbound document is validated against it before it is signed, every
	// inbound one after its signatures are verified and before it reaches
	// the legacy VUCE, and outbound rule files are checked against it when
	// they load. It describes the document without signatures. Empty: no
	// schema validation for this type (the node logs a warning).
	Schema string `yaml:"schema"`
}

// RootName is Root in Clark notation, {namespace-uri}local (local alone in
// no namespace): how a schema names the element, whatever the prefix.
func (d Document) RootName() string { return d.clark(d.Root) }

// SignedName is the path from the root to the signed part (what inbound
// rule files read), each step in Clark notation: RootName when the whole
// document is signed.
func (d Document) SignedName() string {
	p := d.RootName()
	if d.Signed != "" {
		for _, step := range strings.Split(d.Signed, "/") {
			p += "/" + d.clark(step)
		}
	}
	return p
}

func (d Document) clark(qname string) string {
	prefix, local, ok := strings.Cut(qname, ":")
	if !ok {
		prefix, local = "", qname
	}
	if uri := d.Namespaces[prefix]; uri != "" {
		return "{" + uri + "}" + local
	}
	return local
}

// Route is one way the legacy VUCE sends a document out.
type Route struct {
	Name     string `yaml:"name"`
	Document string `yaml:"document"`
	Method   string `yaml:"method"`
	Path     string `yaml:"path"`
	// ForwardHosts are the host[:port] values the legacy client addresses when
	// it uses vucelink as its HTTP proxy. Requests to them on Method and Path
	// are handled by this route; a route without ForwardHosts is reverse-only.
	ForwardHosts []string `yaml:"forward_hosts"`
	// Partner fixes the destination; empty means it is read from the mapped
	// document (documents.<type>.destination).
	Partner  string   `yaml:"partner"`
	Rules    string   `yaml:"rules"`
	Response Response `yaml:"response"`
	// Auth, if set, is what the legacy VUCE must present on this route.
	Auth RouteAuth `yaml:"auth"`
	// Callback, if set, receives a POST for every state change of the
	// documents this route sends.
	Callback *Callback `yaml:"callback"`
	// Hub, if set, is what this route's payloads become when their
	// destination is a country reached through the IPPC ePhyto Hub
	// (hub.countries): the same payload, another document type and rules
	// (hub.go).
	Hub *RouteHub `yaml:"hub"`
}

// Callback is a URL of the legacy VUCE told about state changes (JSON, in
// order, at least once; the "sequence" field lets it drop repeats).
type Callback struct {
	URL string `yaml:"url"`
}

// Response is the answer a legacy caller expects, as a Go text/template. The
// template sees .TrackingID, .DocumentID, .Document, .Partner, .Outcome,
// .Reasons and .Error (set when the document could not be sent). Body is
// sent with Status when the partner received the document correctly;
// ErrorBody otherwise, with 413 (payload too large), 422 (the payload
// cannot be mapped, or the partner received it with errors) or 502 (the
// partner could not be reached within the retry budget).
type Response struct {
	// Wait is how long the answer may wait for the partner's verdict before
	// answering "sent" (delivery then continues from the outbox).
	Wait        time.Duration `yaml:"wait"`
	Status      int           `yaml:"status"`
	ContentType string        `yaml:"content_type"`
	Body        string        `yaml:"body"`
	ErrorBody   string        `yaml:"error_body"`
}

// Legacy is the legacy VUCE beside this node.
type Legacy struct {
	BaseURL string        `yaml:"base_url"`
	Timeout time.Duration `yaml:"timeout"`
	Inbound []Inbound     `yaml:"inbound"`
}

// Inbound says how a received document type is handed to the legacy VUCE.
type Inbound struct {
	Document    string `yaml:"document"`
	Rules       string `yaml:"rules"`
	Method      string `yaml:"method"`
	Path        string `yaml:"path"`
	ContentType string `yaml:"content_type"`
	// Charset is the encoding the legacy VUCE reads its XML in, when not
	// UTF-8: ISO-8859-1, ISO-8859-15 or windows-1252. The declaration and
	// the Content-Type say so; characters the charset lacks are written
	// as numeric character references. XML hand-overs only (JSON is UTF-8).
	Charset string `yaml:"charset"`
	// Callback, if set, receives a POST for every state change of the
	// documents of this type received from partners (e.g. withdrawn).
	Callback *Callback `yaml:"callback"`
	// DuplicateStatus is the HTTP status with which the legacy VUCE refuses
	// a certificate number it already has (e.g. 409). With it, a hand-over
	// left in doubt by a crash is repeated safely; without it (0), such a
	// repeat may reach the legacy VUCE twice.
	DuplicateStatus int `yaml:"duplicate_status"`
}

// Partner is another country's node.
type Partner struct {
	// URL is the partner node's partner-facing base URL (https).
	URL string `yaml:"url"`
	// CA lists the partner country's trusted CA certificates (PEM files): its
	// TLS client certificates and its officials' signing certificates must
	// chain to one of them.
	CA []string `yaml:"ca"`
	// Officials lists the partner's authorized officials and what each may sign.
	Officials []Official `yaml:"officials"`
	// OutboundAuth is what this node presents to the partner.
	OutboundAuth Credentials `yaml:"outbound_auth"`
	// InboundAuth is what the partner must present to this node.
	InboundAuth Credentials `yaml:"inbound_auth"`
	// Revocation says how the partner's signers and TLS client
	// certificates are checked for revocation.
	Revocation Revocation `yaml:"revocation"`
	// AcceptSHA1 lets this partner's documents be verified with RSA-SHA1
	// and SHA-1 digests (certificates of origin in circulation use them).
	// Signing always uses SHA-256.
	AcceptSHA1 bool `yaml:"accept_sha1"`
	// OfficialsURL is where the partner publishes its signed list of
	// authorized officials (https://…/officials.xml). When set, the list
	// fetched from there decides who may sign; the officials above only
	// apply until a first list has been fetched and verified.
	OfficialsURL string `yaml:"officials_url"`
	// Operators are the partner's operators' email addresses: they are told
	// when deliveries to their node fail or recover.
	Operators []string `yaml:"operators"`
}

// Officials configures the repositories of authorized officials.
type Officials struct {
	// Published is this country's signed list (made by `vucelink officials
	// publish`), served to partners at /officials.xml on listen.partners.
	// It is re-read when the file changes.
	Published string `yaml:"published"`
	// CacheDir is where releases before lists were kept in the store put
	// the last good list of each partner (default: beside the store). A
	// list found there is taken into the store while the store has none
	// for that partner; nothing is written there any more.
	CacheDir string `yaml:"cache_dir"`
	// FetchInterval between fetches of each partner's list.
	FetchInterval time.Duration `yaml:"fetch_interval"`
	// Grace after a list's next update before it is reported stale (it
	// stays in force: see package registry).
	Grace time.Duration `yaml:"grace"`
}

// Console is the operators' web console, served on the legacy listener
// under /console/. It is off unless users are configured.
type Console struct {
	Users []ConsoleUser `yaml:"users"`
	// SessionIdle ends a session after this long without a request;
	// SessionMax after this long in any case.
	SessionIdle time.Duration `yaml:"session_idle"`
	SessionMax  time.Duration `yaml:"session_max"`
	// InsecureCookies drops the cookies' Secure flag: only for a console
	// reached over plain HTTP on loopback (the demo). Behind TLS, leave it
	// false.
	InsecureCookies bool `yaml:"insecure_cookies"`
	// ExpiryWarning highlights certificates expiring sooner than this (and
	// is when notifications about them start).
	ExpiryWarning time.Duration `yaml:"expiry_warning"`
	// TrustedProxies are the reverse proxies in front of the admin
	// listener, if any: failed logins then count against the address they
	// forward (X-Forwarded-For), not theirs (as public.trusted_proxies).
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// ConsoleUser is one console account.
type ConsoleUser struct {
	Name string `yaml:"name"`
	// Role is viewer (looks) or operator (looks and acts).
	Role string `yaml:"role"`
	// PasswordHash is a bcrypt hash: `vucelink hash-password` makes one.
	PasswordHash string `yaml:"password_hash"`
}

// Notify sends email (and optional webhook) notifications to operators and
// exporters. It is off unless smtp.host or webhooks are set.
type Notify struct {
	SMTP SMTP `yaml:"smtp"`
	// Operators are this node's operators' email addresses.
	Operators []string `yaml:"operators"`
	// Webhooks receive every notification as JSON (POST).
	Webhooks []string `yaml:"webhooks"`
	// MaxPerHour caps messages per recipient per hour; more wait.
	MaxPerHour int `yaml:"max_per_hour"`
	// ConsoleURL is the console's address as operators reach it, for links
	// in messages (e.g. https://vucelink.sag.cl/console/).
	ConsoleURL string `yaml:"console_url"`
	// A partner is unreachable after UnreachableAfter of failed deliveries
	// with at least MinFailures failed attempts in a row.
	UnreachableAfter time.Duration `yaml:"unreachable_after"`
	MinFailures      int           `yaml:"min_failures"`
}

// SMTP is the mail server notifications go through.
type SMTP struct {
	Host string `yaml:"host"`
	// Port defaults by TLS mode: 587 (starttls), 465 (tls), 25 (none).
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// Auth is plain (default), login, cram-md5, scram-sha-1 or scram-sha-256.
	Auth string `yaml:"auth"`
	From string `yaml:"from"`
	// TLS is starttls (the default), tls (implicit, port 465) or none
	// (only for a relay on loopback).
	TLS     string        `yaml:"tls"`
	Timeout time.Duration `yaml:"timeout"`
}

// Revocation is a per-partner revocation policy. Certificates are checked
// against the CRL distribution points and OCSP responders they name, plus
// the CRLs listed here.
type Revocation struct {
	// Policy when no verdict can be had: hard-fail (reject, the default) or
	// soft-fail (accept and log a warning).
	Policy string   `yaml:"policy"`
	CRLs   []string `yaml:"crls"`
}

// Official is one authorized official's certificate.
type Official struct {
	Cert      string   `yaml:"cert"`
	Documents []string `yaml:"documents"`
}

// Credentials are HTTP basic credentials. For inbound credentials prefer
// PasswordHash (bcrypt) so the plain password never sits on the node.
type Credentials struct {
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordHash string `yaml:"password_hash"`
}

// Log configures structured logging.
type Log struct {
	Format string `yaml:"format"` // json | text
	Level  string `yaml:"level"`  // debug | info | warn | error
}

// Load reads, expands, resolves, defaults and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Parse is Load on bytes already read; name is used in messages and to
// resolve relative paths.
func Parse(data []byte, name string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, yamlError(name, err)
	}
	c.File = name
	if err := expandEnv(&c, os.LookupEnv); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c.resolvePaths(filepath.Dir(name))
	c.Defaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: invalid configuration:\n%w", name, err)
	}
	return &c, nil
}

var unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type config\.(\w+)`)

// yamlError rewrites the YAML library's messages into file:line form and
// says "unknown key" rather than naming Go types.
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("%s: %w", name, err)
	}
	var lines []string
	for _, e := range te.Errors {
		if m := unknownField.FindStringSubmatch(e); m != nil {
			lines = append(lines, fmt.Sprintf("%s:%s: unknown key %q (in %s)", name, m[1], m[2], sectionName(m[3])))
			continue
		}
		lines = append(lines, name+": "+e)
	}
	return errors.New(strings.Join(lines, "\n"))
}

func sectionName(goType string) string {
	switch goType {
	case "Config":
		return "top level"
	default:
		return strings.ToLower(goType[:1]) + goType[1:] + " section"
	}
}

// resolvePaths makes file references relative to the configuration file.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.TLS.Cert)
	abs(&c.TLS.Key)
	abs(&c.TLS.ClientCert)
	abs(&c.TLS.ClientKey)
	abs(&c.RulesDir)
	abs(&c.Store.Path)
	abs(&c.Officials.Published)
	abs(&c.Officials.CacheDir)
	for i := range c.Signing {
		abs(&c.Signing[i].Key)
		abs(&c.Signing[i].Cert)
	}
	for i := range c.Exporters.CA {
		abs(&c.Exporters.CA[i])
	}
	for _, t := range []*ListenerTLS{c.TLS.Admin, c.TLS.Legacy, c.Public.TLS} {
		if t != nil {
			abs(&t.Cert)
			abs(&t.Key)
			for i := range t.ClientCA {
				abs(&t.ClientCA[i])
			}
		}
	}
	c.hubPaths(dir)
	for cc, p := range c.Partners {
		for i := range p.CA {
			abs(&p.CA[i])
		}
		for i := range p.Officials {
			abs(&p.Officials[i].Cert)
		}
		c.Partners[cc] = p
	}
}

// Defaults fills every unset value that has a sensible default. It is the
// only place defaults live.
func (c *Config) Defaults() {
	c.accessDefaults()
	c.publicDefaults()
	c.hubDefaults()
	if c.Limits.MaxBodyBytes == 0 {
		c.Limits.MaxBodyBytes = 8 << 20
	}
	if c.Limits.MaxDepth == 0 {
		c.Limits.MaxDepth = 64
	}
	if c.Delivery.Timeout == 0 {
		c.Delivery.Timeout = 15 * time.Second
	}
	if c.Delivery.Retries == 0 {
		c.Delivery.Retries = 3
	}
	if c.Delivery.BackoffMin == 0 {
		c.Delivery.BackoffMin = 250 * time.Millisecond
	}
	if c.Delivery.BackoffMax == 0 {
		c.Delivery.BackoffMax = 2 * time.Second
	}
	if c.Store.Driver == "" {
		c.Store.Driver = "sqlite"
	}
	if c.Store.Path == "" {
		c.Store.Path = "vucelink-" + c.Node.Country + ".db"
		if c.File != "" {
			c.Store.Path = filepath.Join(filepath.Dir(c.File), c.Store.Path)
		}
	}
	if c.Outbox.Concurrency == 0 {
		c.Outbox.Concurrency = 2
	}
	if c.Outbox.BackoffMin == 0 {
		c.Outbox.BackoffMin = 5 * time.Second
	}
	if c.Outbox.BackoffMax == 0 {
		c.Outbox.BackoffMax = 10 * time.Minute
	}
	if c.Outbox.GiveUpAfter == 0 {
		c.Outbox.GiveUpAfter = 24 * time.Hour
	}
	if c.Outbox.Lease == 0 {
		c.Outbox.Lease = 2 * time.Minute
	}
	if c.Legacy.Timeout == 0 {
		c.Legacy.Timeout = 15 * time.Second
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	if c.Officials.CacheDir == "" {
		c.Officials.CacheDir = filepath.Join(filepath.Dir(c.Store.Path), "officials-cache")
	}
	if c.Officials.FetchInterval == 0 {
		c.Officials.FetchInterval = time.Hour
	}
	if c.Officials.Grace == 0 {
		c.Officials.Grace = 7 * 24 * time.Hour
	}
	for name, d := range c.Documents {
		if d.Signature == "" {
			d.Signature = "enveloped"
			c.Documents[name] = d
		}
	}
	if c.Crypto.Engine == "" {
		c.Crypto.Engine = "auto"
	}
	for i := range c.Signing {
		if c.Signing[i].Role == "" {
			c.Signing[i].Role = "official"
		}
	}
	if c.Console.SessionIdle == 0 {
		c.Console.SessionIdle = 15 * time.Minute
	}
	if c.Console.SessionMax == 0 {
		c.Console.SessionMax = 8 * time.Hour
	}
	if c.Console.ExpiryWarning == 0 {
		c.Console.ExpiryWarning = 30 * 24 * time.Hour
	}
	if c.Notify.SMTP.TLS == "" {
		c.Notify.SMTP.TLS = "starttls"
	}
	if c.Notify.SMTP.Timeout == 0 {
		c.Notify.SMTP.Timeout = 30 * time.Second
	}
	if c.Notify.MaxPerHour == 0 {
		c.Notify.MaxPerHour = 20
	}
	if c.Notify.UnreachableAfter == 0 {
		c.Notify.UnreachableAfter = 2 * time.Minute
	}
	if c.Notify.MinFailures == 0 {
		c.Notify.MinFailures = 3
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		if r.Method == "" {
			r.Method = "POST"
		}
		r.Method = strings.ToUpper(r.Method)
		if r.Response.Status == 0 {
			r.Response.Status = 202
		}
		if r.Response.ContentType == "" {
			r.Response.ContentType = "application/json"
		}
		if r.Response.Body == "" {
			r.Response.Body = `{"tracking_id":"{{.TrackingID}}","document_id":"{{.DocumentID}}","partner":"{{.Partner}}","outcome":"{{.Outcome}}"}`
		}
		if r.Response.ErrorBody == "" {
			r.Response.ErrorBody = `{"tracking_id":"{{.TrackingID}}","error":{{json .Error}}}`
		}
	}
	if c.Exporters.Revocation.Policy == "" {
		c.Exporters.Revocation.Policy = "hard-fail"
	}
	for cc, p := range c.Partners {
		if p.Revocation.Policy == "" {
			p.Revocation.Policy = "hard-fail"
			c.Partners[cc] = p
		}
	}
	for i := range c.Legacy.Inbound {
		in := &c.Legacy.Inbound[i]
		if in.Method == "" {
			in.Method = "POST"
		}
		in.Method = strings.ToUpper(in.Method)
	}
}

// SigningFor returns the signing entry that covers document type doc.
func (c *Config) SigningFor(doc string) (Signing, bool) {
	for _, s := range c.Signing {
		for _, d := range s.Documents {
			if d == doc {
				return s, true
			}
		}
	}
	return Signing{}, false
}
