package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/ops"
	"github.com/vucelink/vucelink/store"
)

const pageSize = 50

// placeholderFuncs let the templates parse; every request runs a clone
// with the functions of its language (tr.templateFuncs).
var placeholderFuncs = (&tr{}).templateFuncs()

func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range []string{"login", "overview", "documents", "document", "partners", "print", "traffic"} {
		files := []string{"templates/layout.html", "templates/parts.html", "templates/" + name + ".html"}
		if name == "print" {
			files = files[2:] // a printed page has no navigation
		}
		t, err := template.New(name).Funcs(placeholderFuncs).ParseFS(assets, files...)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, data map[string]any) {
	root := "layout"
	if page == "print" {
		root = "print"
	}
	t := c.tr(r)
	if _, ok := data["Here"]; !ok {
		data["Here"] = url.QueryEscape(r.URL.RequestURI())
	}
	// The parsed templates are never run themselves: a clone per request
	// carries the request's language.
	tmpl, err := c.pages[page].Clone()
	if err == nil {
		tmpl.Funcs(t.templateFuncs())
		// Rendered in full first, so a template error is a clean 500
		// rather than half a page.
		var buf bytes.Buffer
		if err = tmpl.ExecuteTemplate(&buf, root, data); err == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Language", t.Lang())
			w.Header().Add("Vary", "Accept-Language, Cookie")
			w.WriteHeader(status)
			w.Write(buf.Bytes())
			return
		}
	}
	c.opts.Logger.Error("console: rendering page", "page", page, "error", err)
	http.Error(w, t.T("error.render"), http.StatusInternalServerError)
}

// page renders a page for a logged-in user, with what every page shows.
func (c *Console) page(w http.ResponseWriter, r *http.Request, status int, s *session, name string, data map[string]any) {
	data["User"], data["Role"], data["CSRF"] = s.user, s.role, s.csrf
	data["Operator"] = s.role == Operator
	data["Country"], data["Page"] = c.opts.Country, name
	c.render(w, r, status, name, data)
}

func (c *Console) fail(w http.ResponseWriter, s *session, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ops.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ops.ErrInvalid):
		status = http.StatusUnprocessableEntity
	case errors.Is(err, ops.ErrState), errors.Is(err, lifecycle.ErrIllegal):
		status = http.StatusConflict
	}
	if status == http.StatusInternalServerError {
		c.opts.Logger.Error("console", "user", s.user, "error", err)
	}
	http.Error(w, err.Error(), status)
}

// partnerRow is a line of the partners table.
type partnerRow struct {
	PartnerHealth
	Paused  bool
	Backlog map[lifecycle.State]int
	Queued  int
	Events  []store.PartnerEvent
}

func (c *Console) partnerRows(r *http.Request, withEvents bool) ([]partnerRow, error) {
	ctx := r.Context()
	paused, err := c.opts.Store.Paused(ctx)
	if err != nil {
		return nil, err
	}
	backlog, err := c.opts.Store.Backlog(ctx)
	if err != nil {
		return nil, err
	}
	health := map[string]PartnerHealth{}
	if c.opts.Health != nil {
		for _, h := range c.opts.Health() {
			health[h.Partner] = h
		}
	}
	var rows []partnerRow
	for _, p := range c.opts.Partners {
		h, ok := health[p]
		if !ok {
			h = PartnerHealth{Partner: p, State: "unknown"}
		}
		row := partnerRow{PartnerHealth: h, Paused: paused[p], Backlog: backlog[p]}
		for _, n := range backlog[p] {
			row.Queued += n
		}
		if withEvents {
			ev, err := c.opts.Store.PartnerEvents(ctx, p)
			if err != nil {
				return nil, err
			}
			// The latest first, and only the last few.
			slices.Reverse(ev)
			row.Events = ev[:min(len(ev), 5)]
		}
		rows = append(rows, row)
	}
	return rows, nil
}

type expiryRow struct {
	Expiring
	Days int
	Soon bool
}

func (c *Console) expiryRows() []expiryRow {
	if c.opts.Expiry == nil {
		return nil
	}
	now := c.opts.Now()
	var rows []expiryRow
	for _, e := range c.opts.Expiry() {
		left := e.NotAfter.Sub(now)
		warn := c.opts.ExpiryWarning
		if e.WarnWithin > 0 {
			warn = e.WarnWithin
		}
		rows = append(rows, expiryRow{Expiring: e, Days: int(left.Hours() / 24), Soon: left < warn})
	}
	slices.SortFunc(rows, func(a, b expiryRow) int { return a.NotAfter.Compare(b.NotAfter) })
	return rows
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) {
	counts, err := c.opts.Store.Counts(r.Context())
	if err != nil {
		c.fail(w, s, err)
		return
	}
	partners, err := c.partnerRows(r, false)
	if err != nil {
		c.fail(w, s, err)
		return
	}
	total := func(dir string) int {
		n := 0
		for _, v := range counts[dir] {
			n += v
		}
		return n
	}
	traffic, err := c.traffic(r, "", "24h")
	if err != nil {
		c.fail(w, s, err)
		return
	}
	c.page(w, r, http.StatusOK, s, "overview", map[string]any{
		"Title":      c.tr(r).T("overview.title"),
		"Traffic":    traffic,
		"Outbound":   total(store.Outbound),
		"Inbound":    total(store.Inbound),
		"Incomplete": counts[store.Outbound][lifecycle.Incomplete],
		"Errors":     counts[store.Outbound][lifecycle.ReceivedWithErrors] + counts[store.Inbound][lifecycle.ReceivedWithErrors],
		"Pending":    counts[store.Outbound][lifecycle.Accepted] + counts[store.Outbound][lifecycle.Sent],
		"Counts":     counts,
		"States":     lifecycle.All,
		"Partners":   partners,
		"Expiry":     c.expiryRows(),
	})
}

// documents lists documents, newest first, with filters and paging.
func (c *Console) documents(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	t := c.tr(r)
	f := store.Filter{Direction: q.Get("direction"), Partner: q.Get("partner"), State: lifecycle.State(q.Get("state")),
		Type: q.Get("type"), IDPrefix: strings.TrimSpace(q.Get("q")), Newest: true, Limit: pageSize}
	var problems []string
	if f.Direction != "" && f.Direction != store.Inbound && f.Direction != store.Outbound {
		problems = append(problems, t.T("documents.badDirection"))
		f.Direction = ""
	}
	if f.State != "" && !lifecycle.Valid(f.State) {
		problems = append(problems, t.T("documents.badState", "State", string(f.State)))
		f.State = ""
	}
	if f.Partner != "" && !slices.Contains(c.opts.Partners, f.Partner) {
		problems = append(problems, t.T("documents.badPartner", "Partner", f.Partner))
		f.Partner = ""
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			problems = append(problems, t.T("documents.badMarker"))
		}
		f.BeforeSeq = n
	}
	docs, err := c.opts.Store.List(r.Context(), f)
	if err != nil {
		c.fail(w, s, err)
		return
	}
	var next string
	if len(docs) == pageSize {
		nq := r.URL.Query()
		nq.Set("before", strconv.FormatInt(docs[len(docs)-1].Seq, 10))
		next = Prefix + "documents?" + nq.Encode()
	}
	title := t.T("documents.title")
	switch {
	case f.State == lifecycle.Incomplete:
		title = t.T("documents.titleIncomplete")
	case f.Direction == store.Inbound:
		title = t.T("documents.titleIncoming")
	case f.Direction == store.Outbound:
		title = t.T("documents.titleOutgoing")
	}
	c.page(w, r, http.StatusOK, s, "documents", map[string]any{
		"Title": title, "Docs": docs, "Filter": f, "Next": next, "Problems": problems,
		"States": lifecycle.All, "Partners": c.opts.Partners, "First": q.Get("before") != "",
	})
}

// documentActions are the buttons shown for a document in its state.
func documentActions(d *store.Document) []string {
	var out []string
	if d.Direction == store.Outbound {
		if d.State == lifecycle.Incomplete || lifecycle.Pending(d.State) {
			out = append(out, "resend", "paper")
		}
		if lifecycle.Check(d.State, lifecycle.Withdrawn) == nil {
			out = append(out, "withdraw")
		}
	} else if lifecycle.Check(d.State, lifecycle.ReplacementRequested) == nil {
		out = append(out, "request-replacement")
	}
	return out
}

// allActions are the document actions; each one's button is catalogue
// message "action.<name>", and its confirmation "done.<name>".
var allActions = []string{"resend", "paper", "withdraw", "request-replacement"}

func (c *Console) document(w http.ResponseWriter, r *http.Request, s *session) {
	c.showDocument(w, r, s, http.StatusOK, "")
}

func (c *Console) showDocument(w http.ResponseWriter, r *http.Request, s *session, status int, problem string) {
	id := r.PathValue("id")
	d, err := c.opts.Store.Get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, c.tr(r).T("error.noDocument", "ID", id), http.StatusNotFound)
		return
	}
	if err != nil {
		c.fail(w, s, err)
		return
	}
	hist, err := c.opts.Store.History(r.Context(), id)
	if err != nil {
		c.fail(w, s, err)
		return
	}
	t := c.tr(r)
	type action struct{ Name, Label string }
	var actions []action
	for _, a := range documentActions(d) {
		actions = append(actions, action{a, t.T("action." + a)})
	}
	var done string
	if a := r.URL.Query().Get("done"); slices.Contains(allActions, a) {
		done = t.T("done." + a)
	}
	var hub map[string]string
	if c.opts.Hub != nil {
		env, st, err := c.opts.Hub(r.Context(), d)
		if err != nil {
			c.fail(w, s, err)
			return
		}
		if env != "" {
			hub = map[string]string{"Envelope": env, "Status": st}
		}
	}
	c.page(w, r, status, s, "document", map[string]any{
		"Title": t.T("document.title", "ID", d.DocumentID), "Doc": d, "History": hist, "Actions": actions,
		"Done": done, "Problem": problem, "Hub": hub,
	})
}

func (c *Console) documentAction(w http.ResponseWriter, r *http.Request, s *session) {
	id, action := r.PathValue("id"), r.PathValue("action")
	actor, reason := "operator:"+s.user, strings.TrimSpace(r.PostFormValue("reason"))
	ctx := r.Context()
	var err error
	switch action {
	case "resend":
		_, err = c.opts.Ops.Resend(ctx, id, actor, reason)
	case "paper":
		_, err = c.opts.Ops.HandleOnPaper(ctx, id, actor, reason)
	case "withdraw":
		_, err = c.opts.Ops.ChangeStatus(ctx, id, lifecycle.Withdrawn, actor, reason, "")
	case "request-replacement":
		_, err = c.opts.Ops.ChangeStatus(ctx, id, lifecycle.ReplacementRequested, actor, reason, "")
	default:
		http.Error(w, c.tr(r).T("error.unknownAction", "Action", action), http.StatusNotFound)
		return
	}
	if err != nil {
		c.opts.Logger.Warn("console action refused", "user", s.user, "action", action, "tracking_id", id, "error", err)
		if errors.Is(err, ops.ErrNotFound) {
			c.fail(w, s, err)
			return
		}
		status := http.StatusConflict
		if errors.Is(err, ops.ErrInvalid) {
			status = http.StatusUnprocessableEntity
		}
		c.showDocument(w, r, s, status, err.Error())
		return
	}
	c.opts.Logger.Info("console action", "user", s.user, "action", action, "tracking_id", id)
	http.Redirect(w, r, Prefix+"documents/"+url.PathEscape(id)+"?done="+action, http.StatusSeeOther)
}

func (c *Console) partners(w http.ResponseWriter, r *http.Request, s *session) {
	rows, err := c.partnerRows(r, true)
	if err != nil {
		c.fail(w, s, err)
		return
	}
	t := c.tr(r)
	var done string
	q := r.URL.Query()
	if cc, action := q.Get("cc"), q.Get("done"); slices.Contains(c.opts.Partners, cc) {
		switch ops.PartnerAction(action) {
		case ops.Pause, ops.Resume:
			done = t.T("partners.done."+action, "Partner", cc)
		case ops.Resend:
			n, _ := strconv.Atoi(q.Get("n"))
			done = t.T("partners.done.resend", "Partner", cc, "Count", n)
		}
	}
	c.page(w, r, http.StatusOK, s, "partners", map[string]any{
		"Title": t.T("partners.title"), "Partners": rows, "Done": done, "Expiry": c.expiryRows(),
	})
}

func (c *Console) partnerAction(w http.ResponseWriter, r *http.Request, s *session) {
	cc, action := r.PathValue("cc"), r.PathValue("action")
	n, err := c.opts.Ops.Partner(r.Context(), cc, ops.PartnerAction(action), "operator:"+s.user, strings.TrimSpace(r.PostFormValue("reason")))
	if err != nil {
		c.opts.Logger.Warn("console action refused", "user", s.user, "action", action, "partner", cc, "error", err)
		c.fail(w, s, err)
		return
	}
	c.opts.Logger.Info("console action", "user", s.user, "action", action, "partner", cc, "documents", n)
	q := url.Values{"cc": {cc}, "done": {action}, "n": {strconv.Itoa(n)}}
	http.Redirect(w, r, Prefix+"partners?"+q.Encode(), http.StatusSeeOther)
}
