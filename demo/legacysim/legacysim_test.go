package legacysim

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// partner gives each country a fixed destination for single-format tests.
var partner = map[string]string{"CL": "MX", "MX": "PE", "PE": "CO", "CO": "CL"}

func mustFormat(t testing.TB, cc string) Format {
	t.Helper()
	f, err := FormatFor(cc)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFormats_Roundtrip(t *testing.T) {
	cases := []struct {
		name string
		cert func(from string) Certificate
	}{
		{"one item with treatment", func(cc string) Certificate { return Sample(cc, partner[cc], 1, 1) }},
		{"1000 items without treatment", func(cc string) Certificate { return Sample(cc, partner[cc], 2, 1000) }},
		{"issued just before midnight in Lima", func(cc string) Certificate { return Sample(cc, partner[cc], 3, 2) }},
		{"issued just before midnight in Mexico City", func(cc string) Certificate { return Sample(cc, partner[cc], 8, 2) }},
		{"to a neighbour (by road where one exists)", func(cc string) Certificate {
			return Sample(cc, map[string]string{"CL": "PE", "PE": "CL", "CO": "PE", "MX": "CL"}[cc], 9, 3)
		}},
		{"no remarks, no means of transport, destination without VUCE", func(cc string) Certificate {
			c := Sample(cc, "AR", 4, 2)
			c.AdditionalDeclaration, c.Treatment, c.MeansOfTransport = "", "", ""
			return c
		}},
		{"markup and quotes in text", func(cc string) Certificate {
			c := Sample(cc, partner[cc], 5, 1)
			c.Consignee.Name = `Frutas "La Niña" & Cía. <Ltda.>`
			c.Items[0].Description = "Mandarina 'Clementina' — 100 % orgánica ✓"
			return c
		}},
	}
	for _, cc := range Countries() {
		f := mustFormat(t, cc)
		for _, tc := range cases {
			t.Run(cc+"/"+tc.name, func(t *testing.T) {
				want := tc.cert(cc)
				b, err := f.Encode(want)
				if err != nil {
					t.Fatalf("encode: %v", err)
				}
				got, err := f.Decode(b)
				if err != nil {
					t.Fatalf("decode: %v\n%s", err, b)
				}
				if ok, diffs := want.Equal(got); !ok {
					t.Errorf("roundtrip changed the content:\n%s", strings.Join(diffs, "\n"))
				}
			})
		}
	}
}

// The golden payloads document each native format; decoding them gives
// back the sample they were made from.
func TestFormats_Golden(t *testing.T) {
	for _, cc := range Countries() {
		t.Run(cc, func(t *testing.T) {
			f := mustFormat(t, cc)
			want := Sample(cc, partner[cc], 1, 3)
			got, err := f.Encode(want)
			if err != nil {
				t.Fatal(err)
			}
			golden := goldenPath(f)
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, b) {
				t.Errorf("Encode differs from %s (run go test -update and review the diff):\n%s", golden, got)
			}
			back, err := f.Decode(b)
			if err != nil {
				t.Fatalf("decoding %s: %v", golden, err)
			}
			if ok, diffs := want.Equal(back); !ok {
				t.Errorf("%s decodes to other content: %v", golden, diffs)
			}
		})
	}
}

func goldenPath(f Format) string {
	ext := ".json"
	if strings.Contains(f.ContentType(), "xml") {
		ext = ".xml"
	}
	return filepath.Join("testdata", f.Country()+ext)
}

func TestFormats_DecodeRejects(t *testing.T) {
	cases := []struct {
		cc, name  string
		old, repl string // applied once to the golden payload; old "" replaces all of it
		want      string // in the error
	}{
		{"CL", "not JSON", "", "<certificado/>", "invalid character"},
		{"CL", "unknown field", `"numero"`, `"folio": "x", "numero"`, "unknown field"},
		{"CL", "date with an offset", `T18:07:00Z`, `T18:07:00-03:00`, "fechaEmision"},
		{"CL", "weight as a string", `"pesoNeto": 831.0`, `"pesoNeto": "831.0"`, "decimal JSON number"},
		{"CL", "unknown transport word", `"AEREO"`, `"AVION"`, "medio de transporte"},
		{"CL", "remark twice", `"TRATAMIENTO"`, `"DECLARACION_ADICIONAL"`, "twice"},
		{"CL", "data after the document", "", "{} {}", "after the JSON"},
		{"CO", "weight as a number", `"pn": "831.0"`, `"pn": 831.0`, "cannot unmarshal number"},
		{"CO", "unknown numeric country", `"pais_dest": "152"`, `"pais_dest": "999"`, `país "999"`},
		{"CO", "unknown unit code", `"um": "01"`, `"um": "07"`, `unidad "07"`},
		{"CO", "date in another layout", `"fec_emi": "202611251307"`, `"fec_emi": "2026-11-25 13:07"`, "fec_emi"},
		{"MX", "not XML", "", "{}", "EOF"},
		{"MX", "another root", "certificadoFitosanitario folio", "certificado folio", "expected element type"},
		{"MX", "country in English", `destino="Perú"`, `destino="Peru"`, `país "Peru"`},
		{"MX", "unit as a code", `unidad="kilogramo"`, `unidad="KGM"`, `unidad "KGM"`},
		{"MX", "items out of order", `partida="2"`, `partida="7"`, "partida 7"},
		{"MX", "weight not a number", `>831.0<`, `>831,0<`, "not a decimal"},
		{"PE", "alpha-2 country", `"destination": "COL"`, `"destination": "CO"`, `country "CO"`},
		{"PE", "ISO date", `"issueDate": "25/11/2026 13:07"`, `"issueDate": "2026-11-25 13:07"`, "issueDate"},
		{"PE", "unknown remark type", `"type": "TRT"`, `"type": "TREATMENT"`, "remark type"},
		{"PE", "no certificate number", `"certNo": "PE-FITO-2026-000001"`, `"certNo": ""`, "certificate number is missing"},
	}
	for _, tc := range cases {
		t.Run(tc.cc+"/"+tc.name, func(t *testing.T) {
			f := mustFormat(t, tc.cc)
			golden, err := os.ReadFile(goldenPath(f))
			if err != nil {
				t.Fatal(err)
			}
			payload := tc.repl
			if tc.old != "" {
				if !bytes.Contains(golden, []byte(tc.old)) {
					t.Fatalf("golden payload has no %q", tc.old)
				}
				payload = strings.Replace(string(golden), tc.old, tc.repl, 1)
			}
			_, err = f.Decode([]byte(payload))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// A certificate without line items or number is not a certificate, in any
// format.
func TestFormats_DecodeRequiresMandatoryContent(t *testing.T) {
	for _, cc := range Countries() {
		f := mustFormat(t, cc)
		c := Sample(cc, partner[cc], 1, 0)
		c.ID = ""
		b, err := f.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Decode(b)
		if err == nil || !strings.Contains(err.Error(), "no line items") || !strings.Contains(err.Error(), "certificate number is missing") {
			t.Errorf("%s: Decode error = %v, want both problems", cc, err)
		}
	}
}

func TestFormats_EncodeRejectsWhatTheFormatCannotSay(t *testing.T) {
	cases := []struct {
		name   string
		ccs    []string
		change func(*Certificate)
		want   string
	}{
		{"country outside the code list", []string{"CO", "MX", "PE"}, func(c *Certificate) { c.ImportCountry = "ZZ" }, `"ZZ"`},
		{"unknown transport mode", []string{"CL", "CO", "MX", "PE"}, func(c *Certificate) { c.TransportMode = "9" }, `"9"`},
		{"unit outside the code list", []string{"CO", "MX"}, func(c *Certificate) { c.Items[0].Unit = "LBR" }, `"LBR"`},
		{"weight not a decimal", []string{"CL", "PE"}, func(c *Certificate) { c.Items[0].NetWeight = "1,5" }, "not a decimal"},
	}
	for _, tc := range cases {
		for _, cc := range tc.ccs {
			t.Run(cc+"/"+tc.name, func(t *testing.T) {
				c := Sample(cc, partner[cc], 1, 1)
				tc.change(&c)
				_, err := mustFormat(t, cc).Encode(c)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Encode error = %v, want one containing %q", err, tc.want)
				}
			})
		}
	}
}

func TestEqual_ReportsEveryDifference(t *testing.T) {
	base := Sample("CL", "MX", 1, 2)
	cases := []struct {
		name   string
		change func(*Certificate)
		want   []string // field names in the differences, in order
	}{
		{"identical", func(*Certificate) {}, nil},
		{"same instant in another zone", func(c *Certificate) { c.IssuedAt = c.IssuedAt.In(mxZone) }, nil},
		{"one minute later", func(c *Certificate) { c.IssuedAt = c.IssuedAt.Add(time.Minute) }, []string{"IssuedAt"}},
		{"treatment lost", func(c *Certificate) { c.Treatment = "" }, []string{"Treatment"}},
		{"party and item", func(c *Certificate) {
			c.Consignee.Country = "PE"
			c.Items[1].NetWeight = "1.0"
		}, []string{"Consignee.Country", "Items[2].NetWeight"}},
		{"trailing zero matters", func(c *Certificate) { c.Items[0].NetWeight += "0" }, []string{"Items[1].NetWeight"}},
		{"packages and transport", func(c *Certificate) {
			c.Items[0].Packages++
			c.MeansOfTransport = "otro"
		}, []string{"MeansOfTransport", "Items[1].Packages"}},
		{"item missing", func(c *Certificate) { c.Items = c.Items[:1] }, []string{"Items: sent 2, received 1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			other := Sample("CL", "MX", 1, 2)
			tc.change(&other)
			ok, diffs := base.Equal(other)
			if ok != (len(tc.want) == 0) || len(diffs) != len(tc.want) {
				t.Fatalf("Equal = %v, %q; want differences in %q", ok, diffs, tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(diffs[i], w) {
					t.Errorf("difference %d = %q, want it about %s", i, diffs[i], w)
				}
			}
		})
	}
}

func TestSample_DeterministicAndComplete(t *testing.T) {
	for _, cc := range Countries() {
		a, b := Sample(cc, partner[cc], 7, 1200), Sample(cc, partner[cc], 7, 1200)
		if ok, diffs := a.Equal(b); !ok {
			t.Fatalf("%s: Sample is not deterministic: %v", cc, diffs)
		}
		if len(a.Items) != 1200 || a.Treatment == "" || a.MeansOfTransport == "" || a.InspectionPlace == "" {
			t.Errorf("%s: incomplete sample: %+v", cc, a)
		}
		if even := Sample(cc, partner[cc], 8, 1); even.Treatment != "" {
			t.Errorf("%s: even seq should carry no treatment", cc)
		}
		if err := validate(a); err != nil {
			t.Errorf("%s: %v", cc, err)
		}
	}
}

func TestFormatFor_UnknownCountry(t *testing.T) {
	if _, err := FormatFor("AR"); err == nil {
		t.Error("FormatFor(AR) succeeded")
	}
	defer func() {
		if recover() == nil {
			t.Error("NewServer(AR) did not panic")
		}
	}()
	NewServer("AR")
}

func TestPaths_DistinctPerCountry(t *testing.T) {
	seen := map[string]string{}
	for _, cc := range Countries() {
		for _, p := range []string{OutboundPath(cc), InboundPath(cc)} {
			if !strings.HasPrefix(p, "/") || seen[p] != "" {
				t.Errorf("%s: path %q empty or shared with %s", cc, p, seen[p])
			}
			seen[p] = cc
		}
	}
}

func TestServer_RecordsAcknowledgesAndRejects(t *testing.T) {
	for _, cc := range Countries() {
		t.Run(cc, func(t *testing.T) {
			s := NewServer(cc)
			srv := httptest.NewServer(s)
			defer srv.Close()
			f := mustFormat(t, cc)
			good, err := f.Encode(Sample(partner[cc], cc, 1, 2))
			if err != nil {
				t.Fatal(err)
			}
			cases := []struct {
				name, method, path string
				body               []byte
				status             int
				recorded           bool
				answer             string // in the body
			}{
				{"certificate", http.MethodPost, InboundPath(cc), good, http.StatusOK, true, partner[cc] + "-FITO-2026-000001"},
				{"garbage", http.MethodPost, InboundPath(cc), []byte("\x00garbage"), http.StatusBadRequest, true, ""},
				{"empty", http.MethodPost, InboundPath(cc), nil, http.StatusBadRequest, true, ""},
				{"other path", http.MethodPost, OutboundPath(cc), good, http.StatusNotFound, false, ""},
				{"GET", http.MethodGet, InboundPath(cc), nil, http.StatusMethodNotAllowed, false, ""},
			}
			for _, tc := range cases {
				before := len(s.Received())
				req, _ := http.NewRequest(tc.method, srv.URL+tc.path, bytes.NewReader(tc.body))
				req.Header.Set("Content-Type", f.ContentType())
				req.Header.Set("X-Test-Case", tc.name)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var answer bytes.Buffer
				answer.ReadFrom(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.status || !strings.Contains(answer.String(), tc.answer) {
					t.Errorf("%s: HTTP %d %q, want %d containing %q", tc.name, resp.StatusCode, answer.String(), tc.status, tc.answer)
				}
				got := s.Received()
				if recorded := len(got) > before; recorded != tc.recorded {
					t.Errorf("%s: recorded = %v, want %v", tc.name, recorded, tc.recorded)
					continue
				}
				if !tc.recorded {
					continue
				}
				last := got[len(got)-1]
				if last.Header.Get("X-Test-Case") != tc.name || !bytes.Equal(last.Body, tc.body) || last.Time.IsZero() {
					t.Errorf("%s: recorded %+v", tc.name, last)
				}
				if (last.Err == nil) != (tc.status == http.StatusOK) {
					t.Errorf("%s: recorded error %v", tc.name, last.Err)
				}
			}
			s.Reset()
			if n := len(s.Received()); n != 0 {
				t.Errorf("after Reset, %d received", n)
			}
		})
	}
}

// Send reaches the legacy endpoint directly and, in the forward-proxy
// mode, through an HTTP proxy that sees the legacy system's usual URL.
func TestSend_DirectAndThroughForwardProxy(t *testing.T) {
	sim := NewServer("MX")
	direct := httptest.NewServer(sim)
	defer direct.Close()
	var proxied []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied = append(proxied, r.URL.String())
		sim.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	viaProxy := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}

	f := mustFormat(t, "MX")
	cert := Sample("MX", "CL", 2, 3)
	usual := "http://vuce.cl.example" + InboundPath("MX")
	for _, tc := range []struct {
		name   string
		client *http.Client
		url    string
		cert   Certificate
	}{{"direct", nil, direct.URL + InboundPath("MX"), Sample("MX", "CL", 1, 3)}, {"forward proxy", viaProxy, usual, cert}} {
		status, body, err := Send(context.Background(), tc.client, tc.url, f, tc.cert)
		if err != nil || status != http.StatusOK || !bytes.Contains(body, []byte(`estado="recibido"`)) {
			t.Errorf("%s: Send = %d %s %v", tc.name, status, body, err)
		}
	}
	got := sim.Received()
	if len(got) != 2 || got[0].Err != nil || got[1].Err != nil || got[1].Header.Get("Content-Type") != "application/xml" {
		t.Fatalf("received %+v", got)
	}
	if ok, diffs := cert.Equal(got[1].Certificate); !ok {
		t.Errorf("content changed: %v", diffs)
	}
	// A certificate number already accepted is refused, as real Single
	// Windows do, and kept apart.
	status, _, err := Send(context.Background(), nil, direct.URL+InboundPath("MX"), f, cert)
	if err != nil || status != http.StatusConflict || len(sim.Received()) != 2 || len(sim.Refused()) != 1 {
		t.Errorf("duplicate: status %d err %v, %d received, %d refused", status, err, len(sim.Received()), len(sim.Refused()))
	}
	if len(proxied) != 1 || proxied[0] != usual {
		t.Errorf("proxy saw %q, want %q", proxied, usual)
	}

	bad := cert
	bad.ImportCountry = "ZZ"
	if _, _, err := Send(context.Background(), nil, direct.URL, f, bad); err == nil || !strings.Contains(err.Error(), "ZZ") {
		t.Errorf("Send of an unencodable certificate: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Send(ctx, nil, direct.URL+InboundPath("MX"), f, cert); err == nil {
		t.Error("Send with a cancelled context succeeded")
	}
}
