package config

import (
	"strings"
	"testing"
)

func TestLoad_Public(t *testing.T) {
	t.Setenv("TEST_MX_PASSWORD", "pw")
	partners := func(s string) string {
		return strings.Replace(s, "  partners: 127.0.0.1:0\n", "  partners: 127.0.0.1:9443\n", 1)
	}
	tests := []struct {
		name string
		add  string
		want []string // problems; none: valid
	}{
		{"absent: no public page", "", nil},
		{"valid", "public:\n  listen: 0.0.0.0:8443\n  url: https://verificar.vuce.cl.example\n", nil},
		{"plain HTTP on loopback (demo)", "public:\n  listen: 127.0.0.1:0\n  url: http://127.0.0.1:8443\n", nil},
		{"URL without listener", "public:\n  url: https://verificar.example\n", []string{"public.listen: is required with public.url"}},
		{"listener without URL", "public:\n  listen: 0.0.0.0:8443\n", []string{"public.url: is required with public.listen"}},
		{"plain HTTP to the world", "public:\n  listen: 0.0.0.0:8443\n  url: http://verificar.example\n", []string{"public.url: must be https"}},
		{"not a URL", "public:\n  listen: 0.0.0.0:8443\n  url: verificar.example\n", []string{"public.url: must be an absolute https URL"}},
		{"a query in the URL", "public:\n  listen: 0.0.0.0:8443\n  url: https://v.example/?a=1\n", []string{"public.url: must have no query"}},
		{"on the partners' listener", "public:\n  listen: 127.0.0.1:9443\n  url: https://v.example\n", []string{"public.listen: must differ from listen."}},
		{"client certificates asked of the public", "public:\n  listen: 0.0.0.0:8443\n  url: https://v.example\n  tls: {cert: files/server.pem, key: files/server.key, client_ca: [files/server.pem]}\n",
			[]string{"public.tls.client_ca: does not apply"}},
		{"missing TLS files", "public:\n  listen: 0.0.0.0:8443\n  url: https://v.example\n  tls: {cert: nope.pem, key: nope.key}\n",
			[]string{"public.tls.cert: cannot read", "public.tls.key: cannot read"}},
		{"behind trusted proxies", "public:\n  listen: 0.0.0.0:8443\n  url: https://v.example\n  trusted_proxies: [10.0.0.0/8, 192.0.2.10, '2001:db8::/32']\n", nil},
		{"a proxy that is not an address", "public:\n  listen: 0.0.0.0:8443\n  url: https://v.example\n  trusted_proxies: [10.0.0.0/8, proxy.example]\n",
			[]string{`public.trusted_proxies[1]: "proxy.example" is neither an IP address nor a CIDR range`}},
		{"a console proxy that is not a range", "console:\n  trusted_proxies: [10.0.0.0/40]\n",
			[]string{`console.trusted_proxies[0]: "10.0.0.0/40"`}},
		{"a total below one address's rate", "public:\n  listen: 0.0.0.0:8443\n  url: https://v.example\n  rate_per_minute: 100\n  total_per_minute: 50\n",
			[]string{"public.rate_per_minute:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadValid(t, func(s string) string { return partners(s) + tt.add })
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if c.Public.Enabled() && (c.Public.RatePerMinute != 30 || c.Public.Burst != 10 || c.Public.TotalPerMinute != 600) {
					t.Errorf("defaults: %+v", c.Public)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want %v", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
