package config

import (
	"net"
	"net/url"
	"strings"

	"github.com/vucelink/vucelink/access"
)

// Public is the public listener: the verification page a paper copy's QR
// code names (package paper). It faces anyone holding a paper, so it is
// separate from the partner and admin listeners, asks for no login,
// serves that page and nothing else, and limits how often each address
// (and everyone together) may ask.
type Public struct {
	// Listen is its address (host:port). Empty: no public page, and paper
	// copies are printed without a QR code.
	Listen string `yaml:"listen"`
	// URL is how the world reaches it (https://verificar.vuce.example):
	// what the QR code holds, behind whatever proxy or CDN fronts it.
	URL string `yaml:"url"`
	// TLS, if set, serves HTTPS with this certificate and key (client_ca
	// does not apply); otherwise a proxy in front terminates TLS.
	TLS *ListenerTLS `yaml:"tls"`
	// RatePerMinute and Burst limit each client address (default 30 and
	// 10); TotalPerMinute everyone together (default 600).
	RatePerMinute  int `yaml:"rate_per_minute"`
	Burst          int `yaml:"burst"`
	TotalPerMinute int `yaml:"total_per_minute"`
	// TrustedProxies are the addresses and CIDR ranges of the proxies in
	// front (a reverse proxy, a CDN): a request from one of them counts
	// against the client address it forwards (X-Forwarded-For), not its
	// own. Empty: every request is its socket peer, and behind a proxy
	// all visitors would share one limit.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Enabled reports whether the public listener is configured.
func (p Public) Enabled() bool { return p.Listen != "" }

func (c *Config) publicDefaults() {
	p := &c.Public
	if p.RatePerMinute == 0 {
		p.RatePerMinute = 30
	}
	if p.Burst == 0 {
		p.Burst = 10
	}
	if p.TotalPerMinute == 0 {
		p.TotalPerMinute = 600
	}
}

func (v *validator) public(c *Config) {
	p := c.Public
	if !p.Enabled() {
		if p.URL != "" {
			v.addf("public.listen", "is required with public.url (host:port of the public verification page)")
		}
		return
	}
	v.addr("public.listen", p.Listen, true)
	for _, l := range [][2]string{{"listen.admin", c.Listen.Admin}, {"listen.legacy", c.Listen.Legacy},
		{"listen.partners", c.Listen.Partners}, {"listen.forward_proxy", c.Listen.ForwardProxy}} {
		// Port 0 (any free port: tests, the demo) never collides.
		if l[1] != "" && l[1] == p.Listen && !strings.HasSuffix(p.Listen, ":0") {
			v.addf("public.listen", "must differ from %s: the public page gets a listener of its own", l[0])
		}
	}
	u, err := url.Parse(p.URL)
	switch {
	case p.URL == "":
		v.addf("public.url", "is required with public.listen: the address printed in QR codes (https://…)")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		v.addf("public.url", "must be an absolute https URL, got %q", p.URL)
	case u.Scheme == "http" && !loopbackURLHost(u.Hostname()):
		v.addf("public.url", "must be https (paper copies will carry it for years), got %q", p.URL)
	case u.RawQuery != "" || u.Fragment != "":
		v.addf("public.url", "must have no query or fragment, got %q", p.URL)
	}
	if _, err := access.NewClientAddr("public.trusted_proxies", p.TrustedProxies); err != nil {
		v.problems = append(v.problems, err.Error())
	}
	if p.TLS != nil {
		v.file("public.tls.cert", p.TLS.Cert, true)
		v.file("public.tls.key", p.TLS.Key, true)
		if len(p.TLS.ClientCA) > 0 {
			v.addf("public.tls.client_ca", "does not apply: the public page asks no one for a certificate")
		}
	}
	if p.RatePerMinute < 1 || p.Burst < 1 || p.TotalPerMinute < p.RatePerMinute {
		v.addf("public.rate_per_minute", "rate_per_minute and burst must be at least 1 and total_per_minute at least rate_per_minute (got %d, %d, %d)",
			p.RatePerMinute, p.Burst, p.TotalPerMinute)
	}
}

// loopbackURLHost: plain HTTP is accepted only for a page on this machine
// (the demo, tests).
func loopbackURLHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
