package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vucelink/vucelink/rules"
)

// copyRules puts the shipped rules into a scratch directory.
func copyRules(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rules")
	if err := os.CopyFS(dir, rules.FS); err != nil {
		t.Fatal(err)
	}
	return dir
}

func replaceIn(t *testing.T, file, old, new string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", file, old)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMap_ChecksAgainstTheSchema: `vucelink map` finds the document's
// definition in the rules directory, loads the rule file against its
// schema, and refuses (exit 1) a document the schema refuses, naming the
// rule behind each violation.
func TestMap_ChecksAgainstTheSchema(t *testing.T) {
	t.Run("a target the schema lacks is refused at load", func(t *testing.T) {
		dir := copyRules(t)
		rf := filepath.Join(dir, "CL", "sps.outbound.yaml")
		replaceIn(t, rf, "ram:ScientificName", "ram:LatinName")
		code, _, stderr := runCLI(t, "map", "--rules", rf, filepath.Join(dir, "CL", "examples", "sps", "sample.native.json"))
		if code != 1 || !strings.Contains(stderr, "sps.outbound.yaml:") || !strings.Contains(stderr, "ram:LatinName is not an element of ram:IncludedSPSTradeLineItem") {
			t.Errorf("exit %d, stderr %s", code, stderr)
		}
	})
	t.Run("an invalid document names the rule", func(t *testing.T) {
		dir := copyRules(t)
		in := filepath.Join(dir, "CL", "examples", "sps", "sample.native.json")
		// No table stands between the count of packages and the document.
		replaceIn(t, in, `"bultos": 110`, `"bultos": "ciento diez"`)
		code, stdout, stderr := runCLI(t, "map", "--rules", filepath.Join(dir, "CL", "sps.outbound.yaml"), in)
		if code != 1 || !strings.Contains(stderr, "/rsm:SPSCertificate/rsm:SPSConsignment/ram:IncludedSPSConsignmentItem/ram:IncludedSPSTradeLineItem[1]/ram:PhysicalSPSPackage/ram:ItemQuantity: ") ||
			!strings.Contains(stderr, "(rule ram:PhysicalSPSPackage/ram:ItemQuantity, ") || !strings.Contains(stderr, "sps.outbound.yaml:") ||
			!strings.Contains(stderr, "the sps document is not valid against its schema") {
			t.Errorf("exit %d, stderr:\n%s", code, stderr)
		}
		if !strings.Contains(stdout, "<rsm:SPSCertificate") {
			t.Error("the document is not shown")
		}
	})
	t.Run("without documents/ it says the output is not checked", func(t *testing.T) {
		dir := copyRules(t)
		os.RemoveAll(filepath.Join(dir, "documents"))
		code, _, stderr := runCLI(t, "map", "--rules", filepath.Join(dir, "CL", "sps.outbound.yaml"), filepath.Join(dir, "CL", "examples", "sps", "sample.native.json"))
		if code != 0 || !strings.Contains(stderr, "note: no documents/sps.yaml in the rules directory around") || !strings.Contains(stderr, "the output is not checked against a schema") {
			t.Errorf("exit %d, stderr %s", code, stderr)
		}
	})
	t.Run("a certificate of origin in its envelope", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "map", "--rules", "../../rules/CL/cod.inbound.yaml", "../../rules/CL/examples/cod/sample.standard.xml")
		want, err := os.ReadFile("../../rules/CL/examples/cod/sample.received.json")
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 || jsonNormal(t, stdout) != jsonNormal(t, string(want)) {
			t.Errorf("exit %d, stderr %s\ngot  %s\nwant %s", code, stderr, stdout, want)
		}
	})
	t.Run("a failed mapping explained shows the trace", func(t *testing.T) {
		dir := t.TempDir()
		in := filepath.Join(dir, "p.json")
		os.WriteFile(in, []byte(`{"certificado":{"numero":"X-1"}}`), 0o600)
		code, stdout, _ := runCLI(t, "map", "--explain", "--rules", "../../rules/CL/sps.outbound.yaml", in)
		if code != 1 || !strings.Contains(stdout, "# the mapping failed;") || !strings.Contains(stdout, `rsm:SPSExchangedDocument/ram:ID = "X-1" <- certificado.numero`) || !strings.Contains(stdout, "# failed here: ") {
			t.Errorf("exit %d, stdout:\n%s", code, stdout)
		}
	})
}

func jsonNormal(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
