package config

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"mime"
	"strings"
	"text/template"
	"text/template/parse"
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

// Escaping is how a response template's actions are escaped, chosen by the
// route's content type.
type Escaping int

const (
	// EscapeNone inserts values as they are (text/plain and anything not
	// JSON or XML).
	EscapeNone Escaping = iota
	// EscapeJSON escapes values as the inside of a JSON string.
	EscapeJSON
	// EscapeXML escapes values for XML character data and attribute values.
	EscapeXML
)

// EscapingFor says how values are escaped in a response of contentType:
// JSON for application/json and application/*+json, XML for
// application/xml, text/xml and any */*+xml; none otherwise. Parameters
// (charset) and case do not matter.
func EscapingFor(contentType string) Escaping {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	typ, sub, _ := strings.Cut(mt, "/")
	switch {
	case typ == "application" && (sub == "json" || strings.HasSuffix(sub, "+json")):
		return EscapeJSON
	case (typ == "application" || typ == "text") && sub == "xml", typ != "" && strings.HasSuffix(sub, "+xml"):
		return EscapeXML
	}
	return EscapeNone
}

// The functions appended to every action's pipeline. Their names cannot
// clash with a template's own: they are not documented for use, and a
// template that calls them gets what it asked for.
const (
	escJSONFunc = "_vucelink_json_string"
	escXMLFunc  = "_vucelink_xml_text"
)

// escapeFuncs are TemplateFuncs plus the escapers.
var escapeFuncs = func() template.FuncMap {
	m := template.FuncMap{
		escJSONFunc: jsonStringContent,
		escXMLFunc:  TemplateFuncs["xml"],
	}
	for k, v := range TemplateFuncs {
		m[k] = v
	}
	return m
}()

// jsonStringContent renders a value as the inside of a JSON string: what
// goes between the quotes of "{{.DocumentID}}". Quotes, backslashes and
// control characters are escaped, and so are <, >, & and U+2028/U+2029;
// invalid UTF-8 becomes U+FFFD.
func jsonStringContent(v any) (string, error) {
	b, err := json.Marshal(fmt.Sprint(v))
	if err != nil {
		return "", err
	}
	return string(b[1 : len(b)-1]), nil
}

// ParseResponseTemplate parses a route response template, like
// ParseTemplate, and makes every value an action inserts escaped for the
// route's contentType (see EscapingFor): {{.DocumentID}} in a JSON body is
// the inside of a JSON string (the template writes the quotes:
// "{{.DocumentID}}"), in an XML body it is escaped text. An action whose
// last command already is the content type's escaper ({{json .Error}} in
// JSON, {{xml .Error}} in XML) is left alone, so nothing is escaped twice;
// the other one is escaped again, which is right: in a JSON body the
// reader then gets exactly the text {{xml .X}} wrote.
//
// As html/template does, this rewrites the parsed tree: each action's
// pipeline gets one more command, the escaper.
func ParseResponseTemplate(name, contentType, text string) (*template.Template, error) {
	t, err := template.New(name).Funcs(escapeFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	var fn, own string
	switch EscapingFor(contentType) {
	case EscapeJSON:
		fn, own = escJSONFunc, "json"
	case EscapeXML:
		fn, own = escXMLFunc, "xml"
	default:
		return t, nil
	}
	// Every tree: the template itself and any {{define}}d or {{block}}.
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			escapeList(tt.Tree.Root, fn, own)
		}
	}
	return t, nil
}

func escapeList(l *parse.ListNode, fn, own string) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			escapePipe(n.Pipe, fn, own)
		case *parse.IfNode:
			escapeList(n.List, fn, own)
			escapeList(n.ElseList, fn, own)
		case *parse.RangeNode:
			escapeList(n.List, fn, own)
			escapeList(n.ElseList, fn, own)
		case *parse.WithNode:
			escapeList(n.List, fn, own)
			escapeList(n.ElseList, fn, own)
		case *parse.ListNode:
			escapeList(n, fn, own)
		}
		// Text is the template author's; {{template}} runs a tree that is
		// escaped itself.
	}
}

func escapePipe(p *parse.PipeNode, fn, own string) {
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) == 0 {
		return // {{$x := …}} and {{$x = …}} print nothing
	}
	last := p.Cmds[len(p.Cmds)-1]
	if len(last.Args) > 0 {
		if id, ok := last.Args[0].(*parse.IdentifierNode); ok && (id.Ident == own || id.Ident == fn) {
			return
		}
	}
	p.Cmds = append(p.Cmds, &parse.CommandNode{
		NodeType: parse.NodeCommand,
		Pos:      last.Pos,
		Args:     []parse.Node{parse.NewIdentifier(fn).SetTree(nil).SetPos(last.Pos)},
	})
}
