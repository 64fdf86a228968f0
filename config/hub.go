package config

// The IPPC ePhyto Hub as a partner: one entry for every country that
// exchanges through the hub (hub.countries), each then a partner like the
// others for the outbox, pause, resend, paper, notifications, metrics and
// the console.

import (
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// Hub is the IPPC ePhyto Hub, when this node exchanges through it.
type Hub struct {
	// URL is the hub's DeliveryService endpoint (https).
	URL string `yaml:"url"`
	// ClientCert and ClientKey are this node's client certificate for the
	// hub (the hub knows each national system by it).
	ClientCert string `yaml:"client_cert"`
	ClientKey  string `yaml:"client_key"`
	// CA lists the CA certificates the hub's server certificate must
	// chain to (PEM files); empty means the system's roots.
	CA []string `yaml:"ca"`
	// NPPO is this country's code at the hub (default node.country).
	NPPO string `yaml:"nppo"`
	// Countries are the destinations that route through the hub, and the
	// senders whose certificates are pulled from it (ISO 3166 alpha-2).
	Countries []string `yaml:"countries"`
	// Trust lists, per country, CA certificates (PEM files) its NPPO's
	// signers may chain to besides the certificates the hub publishes
	// (GetActiveNppos).
	Trust map[string][]string `yaml:"trust"`
	// PollInterval between looks for envelopes waiting for this country
	// (default 30s); NPPOInterval between fetches of the hub's NPPO list
	// (default 1h).
	PollInterval time.Duration `yaml:"poll_interval"`
	NPPOInterval time.Duration `yaml:"nppo_interval"`
	// Timeout of one call to the hub (default 30s).
	Timeout time.Duration `yaml:"timeout"`
	// SOAP12 speaks SOAP 1.2 instead of the WSDL's SOAP 1.1.
	SOAP12 bool `yaml:"soap12"`
	// AcceptSHA1 accepts RSA-SHA1 signatures from hub members.
	AcceptSHA1 bool `yaml:"accept_sha1"`
	// Operators of the hub members, told when deliveries fail.
	Operators []string `yaml:"operators"`
}

// RouteHub is a route's document for hub countries: the legacy VUCE posts
// one payload to one route whatever the destination, and a certificate for
// a hub country leaves in the hub's release (SPS 17A) while one for a
// partner node leaves as the route's own document (D13B).
type RouteHub struct {
	// Document is the document type the hub carries (documents.<type>).
	Document string `yaml:"document"`
	// Rules is the outbound rule file for it, relative to rules_dir.
	Rules string `yaml:"rules"`
}

// PartnerCodes lists every partner country, sorted: partner nodes and
// the countries reached through the hub.
func (c *Config) PartnerCodes() []string {
	seen := map[string]bool{}
	var out []string
	for cc := range c.Partners {
		seen[cc] = true
		out = append(out, cc)
	}
	if c.Hub != nil {
		for _, cc := range c.Hub.Countries {
			if !seen[cc] {
				seen[cc] = true
				out = append(out, cc)
			}
		}
	}
	sort.Strings(out)
	return out
}

// ViaHub reports whether a country is reached through the hub.
func (c *Config) ViaHub(cc string) bool {
	if c.Hub == nil {
		return false
	}
	for _, h := range c.Hub.Countries {
		if h == cc {
			return true
		}
	}
	return false
}

func (c *Config) hubPaths(dir string) {
	h := c.Hub
	if h == nil {
		return
	}
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&h.ClientCert)
	abs(&h.ClientKey)
	for i := range h.CA {
		abs(&h.CA[i])
	}
	for cc := range h.Trust {
		for i := range h.Trust[cc] {
			abs(&h.Trust[cc][i])
		}
	}
}

func (c *Config) hubDefaults() {
	h := c.Hub
	if h == nil {
		return
	}
	if h.NPPO == "" {
		h.NPPO = c.Node.Country
	}
	if h.PollInterval == 0 {
		h.PollInterval = 30 * time.Second
	}
	if h.NPPOInterval == 0 {
		h.NPPOInterval = time.Hour
	}
	if h.Timeout == 0 {
		h.Timeout = 30 * time.Second
	}
}

// hub checks the hub section, and the routes' hub entries.
func (v *validator) hub(c *Config) {
	for i, r := range c.Routes {
		if r.Hub == nil {
			continue
		}
		key := "routes[" + strconv.Itoa(i) + "].hub"
		switch {
		case c.Hub == nil:
			v.addf(key, "this node has no hub section: nothing is reached through the hub")
		case r.Partner != "" && !c.ViaHub(r.Partner):
			v.addf(key, "the route's partner %s is not reached through the hub", r.Partner)
		}
		if _, ok := c.Documents[r.Hub.Document]; !ok {
			v.addf(key+".document", "unknown document type %q (configure documents.%s)", r.Hub.Document, r.Hub.Document)
		} else if !c.signs(r.Hub.Document) {
			v.addf(key+".document", "no signing entry covers document type %q", r.Hub.Document)
		}
		if r.Hub.Rules == "" {
			v.addf(key+".rules", "name the outbound rule file for %s", r.Hub.Document)
		}
	}
	h := c.Hub
	if h == nil {
		return
	}
	if u, err := url.Parse(h.URL); err != nil || u.Scheme != "https" || u.Host == "" {
		v.addf("hub.url", "must be an https:// URL, got %q", h.URL)
	}
	v.file("hub.client_cert", h.ClientCert, true)
	v.file("hub.client_key", h.ClientKey, true)
	for i, f := range h.CA {
		v.file("hub.ca["+strconv.Itoa(i)+"]", f, true)
	}
	if !countryCode.MatchString(h.NPPO) {
		v.addf("hub.nppo", "must be an ISO 3166 alpha-2 code in capitals, got %q", h.NPPO)
	}
	if len(h.Countries) == 0 {
		v.addf("hub.countries", "list the countries reached through the hub")
	}
	for i, cc := range h.Countries {
		switch {
		case !countryCode.MatchString(cc):
			v.addf("hub.countries["+strconv.Itoa(i)+"]", "must be an ISO 3166 alpha-2 code in capitals, got %q", cc)
		case cc == c.Node.Country:
			v.addf("hub.countries["+strconv.Itoa(i)+"]", "%s is this node's own country", cc)
		default:
			if _, ok := c.Partners[cc]; ok {
				v.addf("hub.countries["+strconv.Itoa(i)+"]", "%s is also configured under partners: a country is reached either directly or through the hub", cc)
			}
		}
	}
	for cc, files := range h.Trust {
		for i, f := range files {
			v.file("hub.trust."+cc+"["+strconv.Itoa(i)+"]", f, true)
		}
	}
	if _, ok := c.Documents["sps17a"]; !ok {
		v.addf("hub", "the hub carries SPS 17A: configure documents.sps17a (rules/documents/sps17a.yaml)")
	}
	if h.PollInterval < time.Second {
		v.addf("hub.poll_interval", "must be at least 1s")
	}
}

// signs reports whether an official's signing entry covers a document type.
func (c *Config) signs(doc string) bool {
	for _, s := range c.Signing {
		if s.Role == "exporter" {
			continue
		}
		for _, d := range s.Documents {
			if d == doc {
				return true
			}
		}
	}
	return false
}
