package console

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"

	"github.com/vucelink/vucelink/lifecycle"
)

// catalogue reads one language's catalogue file as message ID → the
// forms it has ("" for a message without plural forms).
func catalogue(t *testing.T, lang string) map[string]map[string]string {
	t.Helper()
	raw, err := locales.ReadFile("locales/" + lang + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s.yaml: %v", lang, err)
	}
	out := map[string]map[string]string{}
	for id, v := range m {
		switch v := v.(type) {
		case string:
			out[id] = map[string]string{"": v}
		case map[string]any:
			out[id] = map[string]string{}
			for form, text := range v {
				out[id][form], _ = text.(string)
			}
		default:
			t.Fatalf("%s.yaml: %s is a %T", lang, id, v)
		}
	}
	return out
}

// usedIDs finds every message ID the templates and the Go code name, and
// expands the families built at run time (state.<state>, …).
func usedIDs(t *testing.T) []string {
	t.Helper()
	ids := map[string]bool{}
	literal := regexp.MustCompile(`\bt "([a-zA-Z0-9.\-]+)"|\bT\("([a-zA-Z0-9.\-]+)"|\bID: "([a-zA-Z0-9.\-]+)"`)
	walk := func(root, ext string) {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ext) || strings.HasSuffix(p, "_test.go") {
				return err
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
				for _, g := range m[1:] {
					if g != "" && strings.Contains(g, ".") && !strings.HasSuffix(g, ".") {
						ids[g] = true
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	walk("templates", ".html")
	walk(".", ".go")
	for _, s := range lifecycle.All {
		ids["state."+string(s)] = true
	}
	for _, f := range []string{"role.viewer", "role.operator", "direction.outbound", "direction.inbound",
		"health.unknown", "health.reachable", "health.intermittent", "health.unreachable",
		"partnerAction.pause", "partnerAction.resume", "partnerAction.resend",
		"partners.done.pause", "partners.done.resume", "partners.done.resend", "traffic.24h", "traffic.7d"} {
		ids[f] = true
	}
	for _, a := range allActions {
		ids["action."+a], ids["done."+a] = true, true
	}
	out := make([]string, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

var placeholder = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Every message the console uses has a translation in every language,
// with the same placeholders and every plural form the language needs,
// and no catalogue carries a message the other lacks.
func TestCatalogue_Complete(t *testing.T) {
	used := usedIDs(t)
	if len(used) < 100 {
		t.Fatalf("found only %d message IDs in the templates and code: is the scan broken?", len(used))
	}
	en, es := catalogue(t, "en"), catalogue(t, "es")
	for _, id := range used {
		for lang, cat := range map[string]map[string]map[string]string{"en": en, "es": es} {
			if _, ok := cat[id]; !ok {
				t.Errorf("%s.yaml lacks %q", lang, id)
			}
		}
	}
	for lang, pair := range map[string][2]map[string]map[string]string{"en": {en, es}, "es": {es, en}} {
		for id := range pair[0] {
			if _, ok := pair[1][id]; !ok {
				t.Errorf("%q is in %s.yaml only", id, lang)
			}
		}
	}
	for id, forms := range en {
		var want []string
		for _, text := range forms {
			want = placeholders(text)
			break
		}
		for lang, cat := range map[string]map[string]map[string]string{"en": en, "es": es} {
			for form, text := range cat[id] {
				if got := placeholders(text); !slices.Equal(got, want) {
					t.Errorf("%s.yaml %s (%s) has placeholders %v, want %v", lang, id, form, got, want)
				}
			}
		}
	}
	// Plural forms, through the library: 1, 2 and a million each pick a
	// form (Spanish has one, many and other).
	b, err := loadBundle()
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range languages {
		loc := i18n.NewLocalizer(b, tag.String())
		for id, forms := range en {
			if _, plain := forms[""]; plain {
				continue
			}
			for _, n := range []int{1, 2, 1000000} {
				if _, err := loc.Localize(&i18n.LocalizeConfig{MessageID: id, PluralCount: n, TemplateData: map[string]any{"Count": n}}); err != nil {
					t.Errorf("%s: %s with %d: %v", tag, id, n, err)
				}
			}
		}
	}
}

func TestLanguage_Choice(t *testing.T) {
	f := setup(t)
	for _, tt := range []struct {
		name, accept, cookie, want string
	}{
		{"no preference", "", "", "en"},
		{"Spanish browser", "es-CL,es;q=0.9,en;q=0.5", "", "es"},
		{"Latin American Spanish", "es-419", "", "es"},
		{"English first", "en-US,es;q=0.5", "", "en"},
		{"a language the console lacks", "pt-BR", "", "en"},
		{"the user's choice beats the browser", "es-CL", "en", "en"},
		{"the user's choice of Spanish", "en-US", "es", "es"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", f.srv.URL+"/console/login", nil)
			if tt.accept != "" {
				req.Header.Set("Accept-Language", tt.accept)
			}
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: langCookie, Value: tt.cookie})
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Content-Language"); got != tt.want {
				t.Fatalf("Content-Language %q, want %q", got, tt.want)
			}
		})
	}
}

// The whole console in Spanish: every page a user sees, and no English
// message left on it.
func TestPages_Spanish(t *testing.T) {
	f := setup(t)
	b := f.browser(t)
	r := b.do("GET", "/console/language?to=es&next=%2Fconsole%2Flogin", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/console/login" {
		t.Fatalf("choosing Spanish: %d %s", r.status, r.header.Get("Location"))
	}
	b.login("ana", "operator-secret")
	english := []string{">Overview<", ">Partners<", "Log out", "Delivery attempts", "Timeline", "Resend now", "Last error", "newest first", "Traffic, last 24 hours"}
	for path, says := range map[string]string{
		"/console/":                      "Resumen",
		"/console/documents":             "los más recientes primero",
		"/console/documents/CL-T1":       "Reenviar ahora",
		"/console/documents/CL-T1/print": "Impreso para contingencia en papel",
		"/console/partners":              "Nodos asociados",
		"/console/traffic?partner=MX":    "Tráfico con MX",
		"/console/traffic?range=7d":      "últimos 7 días",
		"/console/documents?state=lost":  "Estado desconocido",
	} {
		r := b.do("GET", path, nil)
		if r.status != http.StatusOK || !strings.Contains(r.body, says) {
			t.Errorf("%s: %d, lacks %q", path, r.status, says)
		}
		if !strings.Contains(r.body, `<html lang="es">`) {
			t.Errorf("%s: not marked as Spanish", path)
		}
		for _, e := range english {
			if strings.Contains(r.body, e) {
				t.Errorf("%s: still says %q in English", path, e)
			}
		}
	}
}

func TestLanguage_Matcher(t *testing.T) {
	// The default is the first language (English).
	if languages[0] != language.English {
		t.Fatal("English must stay the default")
	}
}
