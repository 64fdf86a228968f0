package console

// The console speaks Spanish and English. Messages live in catalogue
// files (locales/<lang>.yaml), one per language, that a translator edits
// without touching Go or HTML; TestCatalogue_Complete fails when a
// message used by a template or by Go code lacks a translation.
//
// Library: github.com/nicksnyder/go-i18n/v2 loads catalogue files at run
// time, knows CLDR plural rules ("1 documento", "2 documentos") and
// matches languages with golang.org/x/text/language. The alternative,
// golang.org/x/text/message, keeps catalogues as generated Go code
// (gotext extract/generate), so the files translators edit would not be
// what the binary reads; its Printer is still used here for numbers
// (1.234 in Spanish, 1,234 in English), which go-i18n does not format.

import (
	"embed"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed locales/*.yaml
var locales embed.FS

// langCookie remembers a user's choice of language in their browser.
const langCookie = "vucelink_lang"

// languages the console speaks, the default first.
var languages = []language.Tag{language.English, language.Spanish}

var matcher = language.NewMatcher(languages)

func loadBundle() (*i18n.Bundle, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	for _, tag := range languages {
		name := "locales/" + tag.String() + ".yaml"
		data, err := locales.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("console catalogue %s: %w", name, err)
		}
		if _, err := b.ParseMessageFileBytes(data, name); err != nil {
			return nil, fmt.Errorf("console catalogue %s: %w", name, err)
		}
	}
	return b, nil
}

// tr is the console in one language, for one request.
type tr struct {
	lang language.Tag
	loc  *i18n.Localizer
	num  *message.Printer
	// missing reports a message without a translation (a bug the
	// catalogue test catches; in production it is logged, not shown).
	missing func(id string, err error)
}

// language picks the request's language: the user's choice (cookie),
// else the browser's Accept-Language, else English.
func (c *Console) language(r *http.Request) language.Tag {
	var choice string
	if ck, err := r.Cookie(langCookie); err == nil {
		choice = ck.Value
	}
	_, i := language.MatchStrings(matcher, choice, r.Header.Get("Accept-Language"))
	return languages[i]
}

func (c *Console) tr(r *http.Request) *tr {
	return c.trIn(c.language(r))
}

func (c *Console) trIn(lang language.Tag) *tr {
	return &tr{lang: lang, loc: i18n.NewLocalizer(c.bundle, lang.String()), num: message.NewPrinter(lang),
		missing: func(id string, err error) {
			c.opts.Logger.Error("console: message without translation", "id", id, "lang", lang.String(), "error", err)
		}}
}

// T translates message id; args are name/value pairs for its template
// ("Count", 3, "Partner", "MX"). A "Count" also picks the plural form,
// and numbers are formatted the language's way.
func (t *tr) T(id string, args ...any) string {
	data := map[string]any{}
	var count any
	for i := 0; i+1 < len(args); i += 2 {
		k, _ := args[i].(string)
		v := args[i+1]
		if k == "Count" {
			count = v
		}
		switch n := v.(type) {
		case int, int64:
			v = t.num.Sprintf("%d", n)
		}
		data[k] = v
	}
	s, err := t.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
	if err != nil {
		t.missing(id, err)
		if s == "" {
			return id
		}
	}
	return s
}

// N formats a number the language's way.
func (t *tr) N(n any) string { return t.num.Sprintf("%v", n) }

// F formats a decimal number with the given digits after the point.
func (t *tr) F(x float64, digits int) string { return t.num.Sprintf("%.*f", digits, x) }

// When formats a time the language's way, always in UTC (the nodes of
// four countries compare notes).
func (t *tr) When(at time.Time) string {
	if at.IsZero() {
		return "—"
	}
	return at.UTC().Format(t.T("format.datetime"))
}

// State names a document's state in the language.
func (t *tr) State(s any) string {
	v := fmt.Sprint(s)
	if v == "" {
		return ""
	}
	return t.T("state." + v)
}

// Lang is the language's code, for <html lang>.
func (t *tr) Lang() string { return t.lang.String() }

// templateFuncs are the functions templates call, bound to t.
func (t *tr) templateFuncs() map[string]any {
	return map[string]any{
		"t":     t.T,
		"n":     t.N,
		"when":  t.When,
		"state": t.State,
		"lang":  t.Lang,
		"ms": func(d time.Duration) string {
			if d <= 0 {
				return "—"
			}
			return t.num.Sprintf("%d", d.Milliseconds()) + " ms"
		},
		"dir": func(direction string) string { return t.T("direction." + strings.ToLower(direction)) },
	}
}

// setLanguage remembers the user's choice and goes back to where they were.
func (c *Console) setLanguage(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	ok := false
	for _, l := range languages {
		if l.String() == to {
			ok = true
		}
	}
	if !ok {
		http.Error(w, fmt.Sprintf("language %q: the console speaks en and es", to), http.StatusNotFound)
		return
	}
	ck := c.cookie(langCookie, to, 365*24*3600)
	// Read on top-level navigations from elsewhere too (a link in an
	// e-mail), and not secret: Lax, readable only by the server anyway.
	ck.SameSite = http.SameSiteLaxMode
	http.SetCookie(w, ck)
	next := r.URL.Query().Get("next")
	if !localPath(next) {
		next = Prefix
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
