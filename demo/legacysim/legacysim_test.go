package legacysim

import (
	"bytes"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func TestFormats_Roundtrip(t *testing.T) {
	for _, cc := range Countries() {
		f, err := FormatFor(cc)
		if err != nil {
			t.Fatal(err)
		}
		for _, items := range []int{1, 7} {
			want := Sample(cc, map[string]string{"CL": "MX", "MX": "PE", "PE": "CO", "CO": "CL"}[cc], 3, items)
			b, err := f.Encode(want)
			if err != nil {
				t.Fatalf("%s encode: %v", cc, err)
			}
			got, err := f.Decode(b)
			if err != nil {
				t.Fatalf("%s decode: %v\n%s", cc, err, b)
			}
			if ok, diffs := want.Equal(got); !ok {
				t.Errorf("%s roundtrip differs: %v", cc, diffs)
			}
		}
	}
}

// Golden examples document each native format.
func TestFormats_Golden(t *testing.T) {
	for _, cc := range Countries() {
		f, _ := FormatFor(cc)
		b, err := f.Encode(Sample(cc, "PE", 1, 2))
		if cc == "PE" {
			b, err = f.Encode(Sample(cc, "CL", 1, 2))
		}
		if err != nil {
			t.Fatal(err)
		}
		ext := ".json"
		if strings.Contains(f.ContentType(), "xml") {
			ext = ".xml"
		}
		golden := filepath.Join("testdata", cc+ext)
		if *update {
			os.WriteFile(golden, b, 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("%s differs from %s:\n%s", cc, golden, b)
		}
	}
}

func TestEqual_ReportsDifferences(t *testing.T) {
	a := Sample("CL", "MX", 1, 2)
	b := Sample("CL", "MX", 1, 2)
	b.Items[1].NetWeight = "1.0"
	b.Consignee.Country = "PE"
	ok, diffs := a.Equal(b)
	if ok || len(diffs) != 2 || !strings.Contains(diffs[0]+diffs[1], "Items[2].NetWeight") {
		t.Errorf("Equal = %v, %v", ok, diffs)
	}
}

func TestServer_RecordsAndRejects(t *testing.T) {
	s := NewServer("MX")
	srv := httptest.NewServer(s)
	defer srv.Close()
	f, _ := FormatFor("MX")
	good, _ := f.Encode(Sample("CL", "MX", 1, 1))
	for _, tt := range []struct {
		body   []byte
		status int
	}{{good, 200}, {[]byte("<nope/>"), 400}} {
		resp, err := http.Post(srv.URL+InboundPath("MX"), f.ContentType(), bytes.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
		}
	}
	got := s.Received()
	if len(got) != 2 || got[0].Err != nil || got[1].Err == nil || got[0].Certificate.ID != "CL-FITO-2026-000001" {
		t.Errorf("received %+v", got)
	}
}
