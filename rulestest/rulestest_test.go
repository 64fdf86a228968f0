package rulestest

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vucelink/vucelink/rules"
)

// copyCL puts Chile's shipped SPS rules and example into a scratch
// directory the test may break.
func copyCL(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"CL/sps.outbound.yaml", "CL/sps.inbound.yaml"} {
		b, err := rules.FS.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		write(t, dir, f, string(b))
	}
	for _, f := range []string{"sample.native.json", "sample.standard.xml", "sample.received.json"} {
		b, err := os.ReadFile(filepath.Join("..", "rules", "CL", "examples", "sps", f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, dir, "CL/examples/sps/"+f, string(b))
	}
	// Document definitions (a rules folder without them refuses to run)
	// and the code tables the rule files read.
	for _, sub := range []string{"documents", "tables"} {
		if err := os.CopyFS(filepath.Join(dir, sub), mustSub(t, sub)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func edit(t *testing.T, dir, name, old, new string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", name, old)
	}
	write(t, dir, name, strings.Replace(string(b), old, new, 1))
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(t *testing.T, dir string)
		want    map[string]string // direction → what its result says ("" = ok)
	}{
		{"all pass", func(*testing.T, string) {}, map[string]string{"outbound": "", "inbound": ""}},
		{"a changed constant shows as a diff", func(t *testing.T, dir string) {
			edit(t, dir, "CL/sps.outbound.yaml", "Servicio Agrícola y Ganadero (SAG)", "SAG")
		}, map[string]string{"outbound": "+      <ram:Name>SAG</ram:Name>", "inbound": ""}},
		{"formatting is not a difference", func(t *testing.T, dir string) {
			edit(t, dir, "CL/examples/sps/sample.received.json", "{", "{\n\n   ")
		}, map[string]string{"outbound": "", "inbound": ""}},
		{"a mapping error names the field", func(t *testing.T, dir string) {
			edit(t, dir, "CL/examples/sps/sample.native.json", `"numero"`, `"numeroX"`)
		}, map[string]string{"outbound": "certificado.numero", "inbound": ""}},
		{"a missing expectation asks for --update", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "CL/examples/sps/sample.received.json"))
		}, map[string]string{"outbound": "", "inbound": "--update"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyCL(t)
			tt.breakIt(t, dir)
			results, err := Run(dir, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != 2 {
				t.Fatalf("%d results, want 2: %v", len(results), results)
			}
			for _, r := range results {
				want := tt.want[r.Direction]
				if want == "" {
					if !r.OK() {
						t.Errorf("%s failed: %s", r.Direction, r)
					}
					continue
				}
				if r.OK() || !strings.Contains(r.String(), want) {
					t.Errorf("%s: %s\nwant a failure mentioning %q", r.Direction, r, want)
				}
			}
		})
	}
}

func TestRun_Update(t *testing.T) {
	dir := copyCL(t)
	edit(t, dir, "CL/sps.outbound.yaml", "Servicio Agrícola y Ganadero (SAG)", "SAG")
	os.Remove(filepath.Join(dir, "CL/examples/sps/sample.received.json"))
	results, err := Run(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.Updated {
			t.Errorf("%s not updated: %s", r.Direction, r)
		}
	}
	results, err = Run(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.OK() {
			t.Errorf("after --update: %s", r)
		}
	}
}

// With documents/sps.yaml naming the schema, rule files are checked
// against it and every standard document produced must be valid.
func TestRun_Schema(t *testing.T) {
	withSchema := func(t *testing.T) string {
		t.Helper()
		return copyCL(t)
	}
	t.Run("valid", func(t *testing.T) {
		res, err := Run(withSchema(t), false)
		if err != nil || len(res) != 2 || !res[0].OK() || !res[1].OK() {
			t.Fatalf("%v %v", res, err)
		}
	})
	t.Run("a target the schema lacks", func(t *testing.T) {
		dir := withSchema(t)
		edit(t, dir, "CL/sps.outbound.yaml", "ram:ScientificName", "ram:LatinName")
		_, err := Run(dir, false)
		if err == nil || !strings.Contains(err.Error(), "CL/sps.outbound.yaml:") || !strings.Contains(err.Error(), "ram:LatinName is not an element of ram:IncludedSPSTradeLineItem") {
			t.Errorf("Run = %v", err)
		}
	})
	t.Run("an inbound source the schema lacks", func(t *testing.T) {
		dir := withSchema(t)
		edit(t, dir, "CL/sps.inbound.yaml", "ram:ScientificName", "ram:LatinName")
		_, err := Run(dir, false)
		if err == nil || !strings.Contains(err.Error(), "CL/sps.inbound.yaml:") || !strings.Contains(err.Error(), "ram:LatinName is not an element of ram:IncludedSPSTradeLineItem") {
			t.Errorf("Run = %v", err)
		}
	})
	t.Run("an output the schema refuses", func(t *testing.T) {
		dir := withSchema(t)
		// No table stands between the count of packages and the document:
		// the schema (a quantity is a number) refuses it.
		edit(t, dir, "CL/examples/sps/sample.native.json", `"bultos": 110`, `"bultos": "ciento diez"`)
		for _, update := range []bool{false, true} {
			res, err := Run(dir, update)
			if err != nil {
				t.Fatal(err)
			}
			var out *Result
			for i := range res {
				if res[i].Direction == "outbound" {
					out = &res[i]
				}
			}
			if out == nil || out.Err == nil || out.Updated ||
				!strings.Contains(out.Err.Error(), "breaks the sps schema") || !strings.Contains(out.Err.Error(), "'ciento diez' is not a valid value") {
				t.Errorf("update=%v: %v", update, res)
			}
		}
	})
}

func mustSub(t *testing.T, dir string) fs.FS {
	t.Helper()
	sub, err := fs.Sub(rules.FS, dir)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// TestCheck_AnalystMistakes: what a run refuses or warns about beyond the
// examples' own results, each message exact.
func TestCheck_AnalystMistakes(t *testing.T) {
	t.Run("a rules folder without document definitions", func(t *testing.T) {
		dir := copyCL(t)
		if err := os.RemoveAll(filepath.Join(dir, "documents")); err != nil {
			t.Fatal(err)
		}
		_, err := Check(dir, false)
		want := dir + ": no documents/ folder: without the document definitions (documents/<type>.yaml and their schemas) no rule file or example can be checked against its schema; keep documents/ beside the country folders, as in the shipped rules/"
		if err == nil || err.Error() != want {
			t.Errorf("got  %v\nwant %s", err, want)
		}
	})
	t.Run("outbound rules without inbound ones", func(t *testing.T) {
		dir := copyCL(t)
		os.Remove(filepath.Join(dir, "CL/sps.inbound.yaml"))
		os.Remove(filepath.Join(dir, "CL/examples/sps/sample.received.json"))
		rep, err := Check(dir, false)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"CL/sps.outbound.yaml has no sps.inbound.yaml beside it: documents of this type sent by partners cannot be handed to the legacy system (write the inbound rules, or say in the node's configuration that they are not received)"}
		if strings.Join(rep.Warnings, "\n") != strings.Join(want, "\n") {
			t.Errorf("got  %q\nwant %q", rep.Warnings, want)
		}
	})
	t.Run("a typo in an optional source path", func(t *testing.T) {
		dir := copyCL(t)
		edit(t, dir, "CL/sps.outbound.yaml", "source: nombreCientifico}", "source: nombreCientifco}")
		rep, err := Check(dir, false)
		if err != nil {
			t.Fatal(err)
		}
		want := "CL/sps.outbound.yaml:"
		if len(rep.Warnings) != 1 || !strings.HasPrefix(rep.Warnings[0], want) ||
			!strings.HasSuffix(rep.Warnings[0], ": source nombreCientifco matches nothing in the example payloads; did you mean `nombreCientifico`?") {
			t.Errorf("warnings %q", rep.Warnings)
		}
	})
	t.Run("the shipped-like folder has no warnings", func(t *testing.T) {
		rep, err := Check(copyCL(t), false)
		if err != nil || len(rep.Warnings) != 0 || rep.Failed() != 0 {
			t.Errorf("%v %q", err, rep.Warnings)
		}
	})
}
