package rules_test

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/rules/internal/codelists"
	"github.com/vucelink/vucelink/schema"
)

// The generated tables and code-list types are what the generator makes
// of the official code-list schemas today: nobody edited them by hand and
// nobody forgot to regenerate.
func TestCodelists_Generated(t *testing.T) {
	const src = "../../shared/standards/codelists"
	if _, err := os.Stat(src); err != nil {
		t.Skipf("the official code lists are not here (%v)", err)
	}
	files, err := codelists.Generate(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 {
		t.Errorf("%d files generated, want 4 tables and the schema's types", len(files))
	}
	for name, want := range files {
		got, err := fs.ReadFile(rules.FS, name)
		if err != nil {
			t.Errorf("%s: %v (go generate ./rules/)", name, err)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("%s is stale or edited by hand: run go generate ./rules/", name)
		}
	}
}

// The real lists, not stand-ins: a standard package code the partner's
// own table has no word for (BI, bin) is handed over, not refused; a code
// Rec. 21 lacks is refused outbound, by the table, naming it.
func TestCodelists_StandardCodesPass(t *testing.T) {
	std, err := fs.ReadFile(rules.FS, "CL/examples/sps/sample.standard.xml")
	if err != nil {
		t.Fatal(err)
	}
	bi := strings.Replace(string(std), "<ram:TypeCode>BX</ram:TypeCode>", "<ram:TypeCode>BI</ram:TypeCode>", 1)
	if bi == string(std) {
		t.Fatal("the example has no BX package")
	}
	sch := spsSchema(t)
	if err := sch.Validate([]byte(bi)); err != nil {
		t.Fatalf("BI is refused by the schema profile: %v", err)
	}
	for cc, want := range map[string]string{"CO": `"tb": "BI"`, "MX": `tipo="BI"`} {
		out, err := load(t, cc+"/sps.inbound.yaml").Map([]byte(bi))
		if err != nil {
			t.Errorf("%s refuses BI: %v", cc, err)
			continue
		}
		b, _ := out.Bytes()
		if !strings.Contains(strings.ReplaceAll(string(b), `":"`, `": "`), want) {
			t.Errorf("%s: BI not handed over (%s):\n%s", cc, want, b)
		}
	}
	// Not a Rec. 21 code: refused by the schema profile before any rule.
	if err := sch.Validate([]byte(strings.Replace(bi, ">BI<", ">B9<", 1))); err == nil {
		t.Error("the schema profile accepts B9, which is no Rec. 21 code")
	}
	// Outbound, a code the list lacks is the table's error, naming it.
	native, err := fs.ReadFile(rules.FS, "CL/examples/sps/sample.native.json")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(native), `"tipoBulto": "BX"`, `"tipoBulto": "B9"`, 1)
	if bad == string(native) {
		t.Fatal(`the CL example has no "tipoBulto": "BX"`)
	}
	_, err = load(t, "CL/sps.outbound.yaml").Map([]byte(bad))
	if !errors.Is(err, mapping.ErrUnknownCode) || !strings.Contains(err.Error(), `"B9" is not in table rec21`) {
		t.Errorf("CL outbound with B9: %v", err)
	}
	// In the case the legacy system writes it.
	lower := strings.Replace(string(native), `"tipoBulto": "BX"`, `"tipoBulto": "bi"`, 1)
	out, err := load(t, "CL/sps.outbound.yaml").Map([]byte(lower))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := out.Bytes(); !strings.Contains(string(b), "<ram:TypeCode>BI</ram:TypeCode>") {
		t.Errorf("bi is not written as BI:\n%s", b)
	}
}

func spsSchema(t *testing.T) *schema.Schema {
	t.Helper()
	s, err := schema.Load(rules.FS, "documents/sps-d13b/SPSCertificate_11p0.xsd")
	if err != nil {
		t.Fatal(err)
	}
	return s
}
