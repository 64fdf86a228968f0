package xmlsafe

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// legacyCharsets are the single-byte encodings a legacy system's XML may
// declare, by the names (lower case) the IANA registry and common
// software give them: Latin-1, its euro revision, and Windows' superset
// of Latin-1, which is what "ISO-8859-1" written by Windows software
// often really is. Nothing else is translated: the standard documents
// partners exchange are UTF-8 only.
var legacyCharsets = map[string]*charmap.Charmap{
	"iso-8859-1": charmap.ISO8859_1, "iso_8859-1": charmap.ISO8859_1, "latin1": charmap.ISO8859_1, "l1": charmap.ISO8859_1,
	"iso-8859-15": charmap.ISO8859_15, "iso_8859-15": charmap.ISO8859_15, "latin-9": charmap.ISO8859_15, "latin9": charmap.ISO8859_15,
	"windows-1252": charmap.Windows1252, "cp1252": charmap.Windows1252,
}

// CheckCharset reports whether FromUTF8 writes charset.
func CheckCharset(charset string) error {
	_, err := legacyCharset(charset)
	return err
}

func legacyCharset(name string) (*charmap.Charmap, error) {
	enc, ok := legacyCharsets[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("encoding %q: vucelink writes UTF-8, ISO-8859-1, ISO-8859-15 or windows-1252", name)
	}
	return enc, nil
}

// xmlDecl finds the encoding pseudo-attribute of an XML declaration at
// the very start of a document.
var xmlDecl = regexp.MustCompile(`^<\?xml[ \t\r\n][^?>]*?encoding[ \t\r\n]*=[ \t\r\n]*(["'])([A-Za-z][A-Za-z0-9._-]*)(["'])`)

// ToUTF8 translates an XML document its declaration says is in
// ISO-8859-1, ISO-8859-15 or Windows-1252 to UTF-8, the declaration
// rewritten to say so; any other document is returned as it is (Parse
// then accepts UTF-8 and refuses other declared encodings by name). It is
// for what a legacy system sends in its own format; the parse that
// follows keeps every limit.
func ToUTF8(b []byte) ([]byte, error) {
	head := b[:min(len(b), 256)]
	m := xmlDecl.FindSubmatchIndex(head)
	if m == nil || head[m[2]] != head[m[6]] {
		return b, nil
	}
	name := string(head[m[4]:m[5]])
	enc, ok := legacyCharsets[strings.ToLower(name)]
	if !ok {
		return b, nil
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return nil, fmt.Errorf("the document says it is %s but is not: %w", name, err)
	}
	// The declaration is ASCII, so its offsets hold in the output.
	var buf bytes.Buffer
	buf.Grow(len(out))
	buf.Write(out[:m[4]])
	buf.WriteString("UTF-8")
	buf.Write(out[m[5]:])
	return buf.Bytes(), nil
}

// FromUTF8 writes a UTF-8 XML document in charset, one of the encodings
// ToUTF8 reads, for a legacy system that expects it: its declaration
// names charset (one is added if it has none), and a character the
// charset cannot hold is written as a numeric character reference
// (&#x20AC;), which XML reads back as the same character. Markup is
// ASCII in the documents vucelink writes, so a reference only ever
// stands in text or attribute values.
func FromUTF8(b []byte, charset string) ([]byte, error) {
	enc, err := legacyCharset(charset)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(b) {
		return nil, errors.New("the document is not UTF-8")
	}
	if m := xmlDecl.FindSubmatchIndex(b[:min(len(b), 256)]); m != nil {
		b = append(append(append([]byte{}, b[:m[4]]...), charset...), b[m[5]:]...)
	} else if bytes.HasPrefix(b, []byte("<?xml")) {
		return nil, errors.New("the XML declaration has no encoding to change")
	} else {
		b = append([]byte(`<?xml version="1.0" encoding="`+charset+`"?>`+"\n"), b...)
	}
	out := make([]byte, 0, len(b))
	for _, r := range string(b) {
		if c, ok := enc.EncodeRune(r); ok {
			out = append(out, c)
			continue
		}
		out = fmt.Appendf(out, "&#x%X;", r)
	}
	return out, nil
}
