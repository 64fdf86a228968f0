package config

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"text/template"
)

// TemplateFuncs are the functions route response templates may call.
var TemplateFuncs = template.FuncMap{
	// json renders a value as a JSON literal (strings quoted and escaped), so
	// an error message cannot break the legacy caller's JSON.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	// xml escapes a value for XML character data or attribute values.
	"xml": func(v any) (string, error) {
		var buf bytes.Buffer
		err := xml.EscapeText(&buf, []byte(fmt.Sprint(v)))
		return buf.String(), err
	},
}
