package xmlsafe

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse_Hostile(t *testing.T) {
	tests := []struct {
		file string
		lim  Limits
		want error
	}{
		{"billion-laughs.xml", Limits{}, ErrEntity},
		{"xxe-file.xml", Limits{}, ErrEntity},
		{"parameter-entity.xml", Limits{}, ErrEntity},
		{"doctype-only.xml", Limits{}, ErrDTD},
		{"doctype-external.xml", Limits{}, ErrDTD},
		{"undefined-entity.xml", Limits{}, ErrMalformed},
		{"deep.xml", Limits{MaxDepth: 10}, ErrTooDeep},
		{"many.xml", Limits{MaxElements: 5}, ErrTooManyElements},
		{"benign.xml", Limits{MaxBytes: 100}, ErrTooLarge},
		{"unterminated-comment.xml", Limits{}, ErrMalformed},
		{"not-xml.txt", Limits{}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := Parse(data, tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if doc != nil {
				t.Error("a tree was returned with the error")
			}
		})
	}
}

func TestParse_Benign(t *testing.T) {
	for _, file := range []string{"benign.xml", "bom.xml"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := Parse(data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Root().Tag != "doc" {
				t.Errorf("root %q", doc.Root().Tag)
			}
		})
	}
}

func TestReadAll(t *testing.T) {
	if _, err := ReadAll(strings.NewReader(strings.Repeat("x", 11)), Limits{MaxBytes: 10}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("11 bytes with limit 10: %v", err)
	}
	if b, err := ReadAll(strings.NewReader("0123456789"), Limits{MaxBytes: 10}); err != nil || len(b) != 10 {
		t.Errorf("10 bytes with limit 10: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"<a/>", "<a><b x='>'/></a>", "<!DOCTYPE a><a/>", "<a><![CDATA[<!DOCTYPE]]></a>", "<?xml version='1.0'?><a/>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data, Limits{MaxDepth: 32, MaxElements: 1000})
		if err == nil && doc.Root() == nil {
			t.Fatal("no error and no root")
		}
		if err == nil && strings.Contains(string(data), "<!ENTITY") && !strings.Contains(string(data), "<![CDATA[") && !strings.Contains(string(data), "<!--") {
			t.Fatalf("accepted an entity declaration: %q", data)
		}
	})
}

func BenchmarkScan(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0"?><doc xmlns:a="urn:x">`)
	for range 1000 {
		sb.WriteString(`<a:item id="1"><a:name lang="es">Uva de mesa &amp; cereza</a:name><a:qty unit="KGM">1250.5</a:qty><!-- c --></a:item>`)
	}
	sb.WriteString(`</doc>`)
	data := []byte(sb.String())
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := Scan(data, Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Parse(data, Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
