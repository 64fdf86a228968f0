package certs

import (
	"os"
	"os/exec"
	"testing"
)

func TestZZExp(t *testing.T) {
	f := newFixture(t)
	docs := map[string]string{
		"attr-nl-ref": `<r xmlns="urn:x" a="x&#10;y">t</r>`,
		"attr-tab-lit": "<r xmlns=\"urn:x\" a=\"x\ty\">t</r>",
		"attr-nl-lit": "<r xmlns=\"urn:x\" a=\"x\ny\">t</r>",
		"text-cr-ref": `<r xmlns="urn:x">a&#13;b</r>`,
		"text-crlf": "<r xmlns=\"urn:x\">a\r\nb</r>",
		"gt-text": `<r xmlns="urn:x">a &gt; b ]]&gt; c</r>`,
		"quote-attr": `<r xmlns="urn:x" a='say "hi"' b="it&apos;s">t</r>`,
		"default-ns-undecl": `<r xmlns="urn:x"><s xmlns="">t</s></r>`,
		"id-attr": `<r xmlns="urn:x" ID="abc">t</r>`,
		"xml-lang": `<r xmlns="urn:x" xml:lang="es">t</r>`,
		"nested-prefix": `<p:r xmlns:p="urn:p" xmlns:q="urn:q"><q:s>t</q:s><p:u q:a="1"/></p:r>`,
		"unused-ns": `<p:r xmlns:p="urn:p" xmlns:z="urn:z"><p:s>t</p:s></p:r>`,
	}
	ca := "/tmp/exp/ca.pem"
	os.WriteFile(ca, f.ca.CertPEM, 0o600)
	for name, d := range docs {
		signed, err := f.signer.Sign([]byte(d))
		if err != nil {
			t.Errorf("%s: sign: %v", name, err)
			continue
		}
		p := "/tmp/exp/" + name + ".xml"
		os.WriteFile(p, signed, 0o600)
		args := []string{"--verify", "--trusted-pem", ca}
		if name == "id-attr" {
			args = append(args, "--id-attr:ID", "urn:x:r")
		}
		out, err := exec.Command("xmlsec1", append(args, p)...).CombinedOutput()
		_, verr := f.verifier.Verify(signed)
		t.Logf("%s: xmlsec1 err=%v ours=%v\n%s", name, err, verr, out)
	}
}
