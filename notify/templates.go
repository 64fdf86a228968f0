package notify

import (
	"embed"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

// Each message has templates/<name>.txt (which also defines
// "<name>.subject") and templates/<name>.html. Spanish comes first in
// each: most readers are Spanish speakers, and partner operators who are
// not still find the English below.
//
//go:embed templates/*.txt templates/*.html
var templateFS embed.FS

type templates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var funcs = map[string]any{
	// when is a time as people read it, in UTC so both countries agree.
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	// lasted is how long from since to until, to the minute.
	"lasted": func(since, until time.Time) string {
		d := until.Sub(since).Round(time.Minute)
		if d < time.Minute {
			return "< 1 min"
		}
		return strings.TrimSuffix(d.String(), "0s")
	},
}

func loadTemplates() (*templates, error) {
	t, err := texttemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.txt")
	if err != nil {
		return nil, err
	}
	h, err := htmltemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	return &templates{text: t, html: h}, nil
}

func (t *templates) render(name string, e Event) (subject, text, html string, err error) {
	var b strings.Builder
	if err = t.text.ExecuteTemplate(&b, name+".subject", e); err != nil {
		return
	}
	// One line, whatever a template or a field brought in.
	subject = strings.Join(strings.Fields(b.String()), " ")
	b.Reset()
	if err = t.text.ExecuteTemplate(&b, name+".txt", e); err != nil {
		return
	}
	text = b.String()
	b.Reset()
	if err = t.html.ExecuteTemplate(&b, name+".html", e); err != nil {
		return
	}
	return subject, text, b.String(), nil
}
