package console

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/report"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// Page sizes: every list pages by keyset, so a deep page costs what the
// first does.
const (
	pageSize       = 50
	changesPerPage = 100
	scansPerPage   = 25
	// changesSinceDay caps the "changed since yesterday" count per tenant.
	changesSinceDay = 1000
)

var severities = []tenant.Severity{tenant.SeverityCritical, tenant.SeverityHigh, tenant.SeverityMedium, tenant.SeverityLow, tenant.SeverityInfo}

// layout is what every page's frame needs.
type layout struct {
	Title string
	// User is empty on the login and error pages before sign-in.
	User     string
	CanAct   bool
	CSRF     string
	ViaProxy bool
	Nav      string
	Page     any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, code int, page string, p principal, title string, data any) {
	t, ok := c.pages[page]
	if !ok {
		c.log.Error("console: no template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	l := layout{Title: title, Page: data, Nav: page}
	if p.Name != "" {
		l.User, l.CanAct, l.CSRF, l.ViaProxy = p.Name, p.CanAct(), p.csrf, p.viaProxy
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", l); err != nil {
		c.log.Error("console: render", "page", page, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

type errorView struct {
	Code    int
	Status  string
	Message string
}

func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	var p principal
	if s, ok := c.sessions.get(r); ok {
		p = principal{Principal: s.principal, csrf: s.csrf}
	} else if pp, _, allowed := c.proxy.identify(r); allowed {
		p = pp
	}
	c.render(w, r, code, "error", p, http.StatusText(code), errorView{Code: code, Status: http.StatusText(code), Message: msg})
}

// fail answers a store or service error: not found is a 404 page, bad
// input a 400 with the reason, a conflict a 409; anything else is logged
// and a generic 500.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, remediate.ErrNotFound):
		c.errorPage(w, r, http.StatusNotFound, "Not found: "+err.Error())
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrAmbiguous), errors.Is(err, daemon.ErrWaiver):
		c.errorPage(w, r, http.StatusBadRequest, err.Error())
	case errors.Is(err, store.ErrConflict), errors.Is(err, remediate.ErrModeForbids), errors.Is(err, remediate.ErrStale),
		errors.Is(err, remediate.ErrBlocked), errors.Is(err, remediate.ErrBusy):
		c.errorPage(w, r, http.StatusConflict, err.Error())
	default:
		c.log.Error("console request failed", "path", r.URL.Path, "error", err)
		c.errorPage(w, r, http.StatusInternalServerError, "Something went wrong; the daemon's log has the details.")
	}
}

func (c *Console) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 30*time.Second)
}

// tenantOf returns the path's tenant when it is configured, else answers 404.
func (c *Console) tenantOf(w http.ResponseWriter, r *http.Request) (string, bool) {
	t := r.PathValue("tenant")
	if !c.o.Tenants.HasTenant(t) {
		c.errorPage(w, r, http.StatusNotFound, fmt.Sprintf("No tenant named %q is configured.", t))
		return "", false
	}
	return t, true
}

// tenantRow is one tenant of the overview.
type tenantRow struct {
	Name       string
	Schedule   string
	Next       time.Time
	Running    bool
	Score      *float64
	Sparkline  template.HTML
	Open       map[tenant.Severity]int
	OpenTotal  int
	LastScan   *store.Scan
	Changes24h int
	// ChangesMore is set when there were more changes than were counted.
	ChangesMore bool
}

type overviewView struct {
	Tenants    []tenantRow
	Severities []tenant.Severity
	Formula    string
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, p principal) {
	ctx, cancel := c.ctx(r)
	defer cancel()
	now := c.o.Now()
	roll, err := report.BuildRollup(ctx, c.o.Store, now)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	byName := map[string]*report.RollupRow{}
	for i := range roll.Tenants {
		byName[roll.Tenants[i].Tenant] = &roll.Tenants[i]
	}
	counts, err := c.o.Store.FindingCounts(ctx, "")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := overviewView{Severities: severities, Formula: report.ScoreFormula}
	for _, st := range c.o.Tenants.Status() {
		row := tenantRow{Name: st.Name, Schedule: st.Schedule, Next: st.Next, Running: st.Running, Open: map[tenant.Severity]int{}}
		for _, fc := range counts {
			if fc.Tenant == st.Name && fc.State != store.FindingResolved {
				row.Open[fc.Severity] += int(fc.Count)
				row.OpenTotal += int(fc.Count)
			}
		}
		if rr, ok := byName[st.Name]; ok {
			row.Score = rr.Score
			row.Sparkline = report.Sparkline(st.Name, rr.Trend)
		}
		// The latest whole scan: a scoped one (a few drives' links) is not
		// the tenant's state.
		scans, err := c.o.Store.Scans(ctx, store.ScanFilter{Tenant: st.Name, Limit: 1, Whole: true})
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if len(scans) > 0 {
			row.LastScan = &scans[0]
		}
		ch, err := c.o.Store.Changes(ctx, store.ChangeFilter{Tenant: st.Name, Since: c.o.TenantClock(st.Name).Add(-24 * time.Hour), Limit: changesSinceDay + 1})
		if err != nil {
			c.fail(w, r, err)
			return
		}
		row.Changes24h, row.ChangesMore = min(len(ch), changesSinceDay), len(ch) > changesSinceDay
		v.Tenants = append(v.Tenants, row)
	}
	c.render(w, r, http.StatusOK, "overview", p, "Tenants", v)
}

// findingFilter is the findings page's query string.
type findingFilter struct {
	Tenant, Severity, Rule, Section, State, Label, Q string
	// After is the cursor of the page: the last finding of the previous one.
	After string
}

// encodeAfter and decodeAfter turn a finding's list position into an
// opaque query parameter and back.
func encodeAfter(k store.FindingKey) string {
	b, _ := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeAfter(v string) (*store.FindingKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) > 4096 {
		return nil, errors.New("after: not a page cursor of this console")
	}
	var k store.FindingKey
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&k); err != nil || k.Tenant == "" || k.Fingerprint == "" {
		return nil, errors.New("after: not a page cursor of this console")
	}
	return &k, nil
}

func (f findingFilter) query(after string) string {
	v := url.Values{}
	for k, s := range map[string]string{"tenant": f.Tenant, "severity": f.Severity, "rule": f.Rule, "section": f.Section, "state": f.State, "label": f.Label, "q": f.Q} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if after != "" {
		v.Set("after", after)
	}
	return "/findings?" + v.Encode()
}

type option struct{ Value, Label string }

type findingsView struct {
	Filter   findingFilter
	Items    []store.Finding
	Tenants  []string
	Rules    []option
	Sections []string
	Severity []tenant.Severity
	States   []option
	First    string
	Next     string
	// Searched is set when a search stopped at its budget before filling
	// the page: how many findings it looked at.
	Searched int
	Now      time.Time
}

// searchBudget is how many findings one search page examines at most, so
// that a search that matches little cannot read a whole large tenant in
// one request; the next page searches on.
const searchBudget = 25_000

var stateOptions = []option{{"active", "Active (open or reopened)"}, {"open", "Open"}, {"reopened", "Reopened"}, {"resolved", "Resolved"}, {"all", "All"}}

func (c *Console) parseFindingFilter(r *http.Request) (findingFilter, store.FindingFilter, int, string) {
	q := r.URL.Query()
	f := findingFilter{Tenant: q.Get("tenant"), Severity: q.Get("severity"), Rule: q.Get("rule"), Section: q.Get("section"),
		State: q.Get("state"), Label: strings.TrimSpace(q.Get("label")), Q: strings.TrimSpace(q.Get("q")), After: q.Get("after")}
	sf := store.FindingFilter{Tenant: f.Tenant, RuleID: f.Rule, Section: tenant.Section(f.Section), Label: f.Label, Search: f.Q, Limit: pageSize + 1}
	if f.Q != "" {
		sf.SearchBudget = c.searchBudget
	}
	if f.Tenant != "" && !c.o.Tenants.HasTenant(f.Tenant) {
		return f, sf, http.StatusNotFound, fmt.Sprintf("No tenant named %q is configured.", f.Tenant)
	}
	if f.Severity != "" {
		if _, ok := tenant.Severity(f.Severity).Rank(); !ok {
			return f, sf, http.StatusBadRequest, fmt.Sprintf("severity: %q is not one of critical, high, medium, low, info.", f.Severity)
		}
		sf.MinSeverity = tenant.Severity(f.Severity)
	}
	if f.Section != "" && !tenant.Section(f.Section).Known() {
		return f, sf, http.StatusBadRequest, fmt.Sprintf("section: unknown section %q.", f.Section)
	}
	if f.Rule != "" {
		if _, ok := rules.Lookup(f.Rule); !ok {
			return f, sf, http.StatusBadRequest, fmt.Sprintf("rule: unknown rule %q.", f.Rule)
		}
	}
	if len(f.Label) > 200 {
		return f, sf, http.StatusBadRequest, "label: at most 200 characters."
	}
	if len(f.Q) > 200 {
		return f, sf, http.StatusBadRequest, "search: at most 200 characters."
	}
	switch f.State {
	case "", "active":
		sf.States = []store.FindingState{store.FindingOpen, store.FindingReopened}
	case "all":
	case "open", "reopened", "resolved":
		sf.States = []store.FindingState{store.FindingState(f.State)}
	default:
		return f, sf, http.StatusBadRequest, fmt.Sprintf("state: %q is not one of active, open, reopened, resolved, all.", f.State)
	}
	if f.After != "" {
		k, err := decodeAfter(f.After)
		if err != nil {
			return f, sf, http.StatusBadRequest, err.Error()
		}
		sf.After = k
	}
	return f, sf, 0, ""
}

func (c *Console) findings(w http.ResponseWriter, r *http.Request, p principal) {
	f, sf, code, msg := c.parseFindingFilter(r)
	if code != 0 {
		c.errorPage(w, r, code, msg)
		return
	}
	ctx, cancel := c.ctx(r)
	defer cancel()
	pg, err := c.o.Store.FindingsPage(ctx, sf)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	items := pg.Items
	v := findingsView{Filter: f, Severity: severities, States: stateOptions, Now: c.o.Now()}
	switch {
	case len(items) > pageSize:
		items = items[:pageSize]
		v.Next = f.query(encodeAfter(items[len(items)-1].Key()))
	case pg.Resume != nil:
		// The search used its budget: the next page searches on from there.
		v.Next, v.Searched = f.query(encodeAfter(*pg.Resume)), c.searchBudget
	}
	if f.After != "" {
		v.First = f.query("")
	}
	v.Items = items
	for _, st := range c.o.Tenants.Status() {
		v.Tenants = append(v.Tenants, st.Name)
	}
	for _, ru := range rules.Builtin() {
		m := ru.Meta()
		v.Rules = append(v.Rules, option{m.ID, m.ID})
	}
	for _, s := range tenant.AllSections {
		v.Sections = append(v.Sections, string(s))
	}
	c.render(w, r, http.StatusOK, "findings", p, "Findings", v)
}

type findingView struct {
	F             store.Finding
	RuleTitle     string
	Events        []store.FindingEvent
	Changes       []store.Change
	Notifications []store.OutboxMessage
	Plan          *remediate.PlanRecord
	Done          string
	Now           time.Time
	DefaultUntil  string
}

func (c *Console) finding(w http.ResponseWriter, r *http.Request, p principal) {
	tn, ok := c.tenantOf(w, r)
	if !ok {
		return
	}
	ctx, cancel := c.ctx(r)
	defer cancel()
	f, err := c.o.Store.Finding(ctx, tn, r.PathValue("fp"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	now := c.o.Now()
	v := findingView{F: f, Now: now, DefaultUntil: now.AddDate(0, 3, 0).UTC().Format(time.DateOnly)}
	switch d := r.URL.Query().Get("done"); d {
	case "acknowledged", "snoozed", "accepted", "approved", "rejected":
		v.Done = d
	}
	if ru, ok := rules.Lookup(f.RuleID); ok {
		v.RuleTitle = ru.Meta().Title
	}
	if v.Events, err = c.o.Store.FindingEvents(ctx, tn, f.Fingerprint); err != nil {
		c.fail(w, r, err)
		return
	}
	if v.Changes, err = c.o.Store.Changes(ctx, store.ChangeFilter{Tenant: tn, ObjectKey: f.ObjectKey, Limit: 100}); err != nil {
		c.fail(w, r, err)
		return
	}
	if v.Notifications, err = c.o.Store.OutboxMessages(ctx, store.OutboxFilter{Tenant: tn, Fingerprint: f.Fingerprint, Limit: 100}); err != nil {
		c.fail(w, r, err)
		return
	}
	if c.o.Remediation != nil {
		plans, err := c.o.Remediation.Plans(ctx, tn)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		for i := range plans {
			if plans[i].Plan.Fingerprint == f.Fingerprint {
				v.Plan = &plans[i] // oldest first: the last is the current plan
			}
		}
	}
	c.render(w, r, http.StatusOK, "finding", p, "Finding "+f.Fingerprint[:min(12, len(f.Fingerprint))], v)
}

type changesView struct {
	Tenant string
	Since  string
	Items  []store.Change
	Next   string
}

func (c *Console) changes(w http.ResponseWriter, r *http.Request, p principal) {
	tn, ok := c.tenantOf(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	since := q.Get("since")
	if since == "" {
		since = "7d"
	}
	d, err := parseDays(since)
	if err != nil {
		c.errorPage(w, r, http.StatusBadRequest, err.Error())
		return
	}
	var after int64
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			c.errorPage(w, r, http.StatusBadRequest, fmt.Sprintf("after: %q is not a change number.", v))
			return
		}
	}
	ctx, cancel := c.ctx(r)
	defer cancel()
	items, err := c.o.Store.Changes(ctx, store.ChangeFilter{Tenant: tn, Since: c.o.TenantClock(tn).Add(-d), AfterID: after, Limit: changesPerPage + 1})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := changesView{Tenant: tn, Since: since}
	if len(items) > changesPerPage {
		items = items[:changesPerPage]
		v.Next = fmt.Sprintf("/tenants/%s/changes?since=%s&after=%d", url.PathEscape(tn), url.QueryEscape(since), items[len(items)-1].ID)
	}
	v.Items = items
	c.render(w, r, http.StatusOK, "changes", p, "Changes of "+tn, v)
}

// parseDays reads the changes window: "1d", "7d", "24h".
func parseDays(s string) (time.Duration, error) {
	bad := fmt.Errorf("since: %q is not a window like 1d, 7d or 24h (at most 365d)", s)
	if len(s) < 2 {
		return 0, bad
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 1 {
		return 0, bad
	}
	var d time.Duration
	switch s[len(s)-1] {
	case 'd':
		d = time.Duration(n) * 24 * time.Hour
	case 'h':
		d = time.Duration(n) * time.Hour
	default:
		return 0, bad
	}
	if d > 365*24*time.Hour {
		return 0, bad
	}
	return d, nil
}

type scansView struct {
	Tenant string
	PDF    bool // a PDF report can be printed here
	Items  []store.Scan
	Next   string
}

func (c *Console) scans(w http.ResponseWriter, r *http.Request, p principal) {
	tn, ok := c.tenantOf(w, r)
	if !ok {
		return
	}
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		var err error
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 1 {
			c.errorPage(w, r, http.StatusBadRequest, fmt.Sprintf("before: %q is not a scan number.", v))
			return
		}
	}
	ctx, cancel := c.ctx(r)
	defer cancel()
	items, err := c.o.Store.Scans(ctx, store.ScanFilter{Tenant: tn, BeforeID: before, Limit: scansPerPage + 1})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := scansView{Tenant: tn, PDF: c.o.PDF != nil}
	if len(items) > scansPerPage {
		items = items[:scansPerPage]
		v.Next = fmt.Sprintf("/tenants/%s/scans?before=%d", url.PathEscape(tn), items[len(items)-1].ID)
	}
	v.Items = items
	c.render(w, r, http.StatusOK, "scans", p, "Scans of "+tn, v)
}

var reportFormats = map[string]struct {
	f   report.Format
	ext string
}{"html": {report.FormatHTML, "html"}, "markdown": {report.FormatMarkdown, "md"}, "json": {report.FormatJSON, "json"},
	"pdf": {report.FormatPDF, "pdf"}}

// pdfSlots lets one PDF print run at a time: each starts a browser.
var pdfSlots = make(chan struct{}, 1)

// report downloads the tenant's latest security review (the same render
// as GET /reports/{tenant}).
func (c *Console) report(w http.ResponseWriter, r *http.Request, _ principal) {
	tn, ok := c.tenantOf(w, r)
	if !ok {
		return
	}
	if c.o.Reports == nil {
		c.errorPage(w, r, http.StatusNotFound, "Reports are not available here.")
		return
	}
	name := r.URL.Query().Get("format")
	if name == "" {
		name = "html"
	}
	rf, ok := reportFormats[name]
	if !ok {
		c.errorPage(w, r, http.StatusBadRequest, fmt.Sprintf("format: %q is not one of html, markdown, json, pdf.", name))
		return
	}
	if rf.f == report.FormatPDF && c.o.PDF == nil {
		w.Header().Set("Retry-After", "3600")
		c.errorPage(w, r, http.StatusServiceUnavailable, "PDF reports need Chromium on the server, and none was found when it started "+
			"(install chromium or set "+report.EnvChromium+"). The HTML report prints to PDF from a browser.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	var data []byte
	var err error
	if rf.f == report.FormatPDF {
		select {
		case pdfSlots <- struct{}{}:
			data, err = c.o.PDF.RenderPDF(ctx, tn)
			<-pdfSlots
		case <-ctx.Done():
			err = fmt.Errorf("%w: waited too long for another PDF to print", ErrPrint)
		}
	} else {
		data, err = c.o.Reports.Render(ctx, tn, rf.f)
	}
	if errors.Is(err, ErrPrint) {
		c.log.Warn("console: PDF report not printed", "tenant", tn, "err", err)
		c.errorPage(w, r, http.StatusServiceUnavailable, "The PDF report could not be printed just now; try again later, or download the HTML report.")
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		c.errorPage(w, r, http.StatusNotFound, "This tenant has no recorded scan yet, so there is no report.")
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	file := fmt.Sprintf("sharedrift-%s-%s.%s", safeFileName(tn), c.o.Now().UTC().Format(time.DateOnly), rf.ext)
	w.Header().Set("Content-Type", rf.f.ContentType())
	w.Header().Set("Content-Disposition", `attachment; filename="`+file+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(data)
}

// safeFileName keeps letters, digits, dots and dashes.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// untilField reads a date (YYYY-MM-DD) form field as the end of that day
// in UTC: a waiver "until 2026-06-30" holds through that day.
func untilField(r *http.Request, name string, required bool) (*time.Time, error) {
	v := strings.TrimSpace(r.PostForm.Get(name))
	if v == "" {
		if required {
			return nil, fmt.Errorf("%w: %s: a date is required", daemon.ErrWaiver, name)
		}
		return nil, nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %q is not a date like 2026-06-30", daemon.ErrWaiver, name, v)
	}
	t := d.AddDate(0, 0, 1).UTC()
	return &t, nil
}

func (c *Console) done(w http.ResponseWriter, r *http.Request, tn, fp, what string) {
	http.Redirect(w, r, fmt.Sprintf("/tenants/%s/findings/%s?done=%s", url.PathEscape(tn), url.PathEscape(fp), what), http.StatusSeeOther)
}

// mark is the audit entry of a console action: who, and why.
func mark(r *http.Request, p principal) store.Mark {
	return store.Mark{By: p.by(), Reason: strings.TrimSpace(r.PostForm.Get("reason"))}
}

// waiver is one of the finding marks, through the function the API uses.
type waiver func(ctx context.Context, tn, fp string, m store.Mark, until *time.Time, r *http.Request) (store.Finding, error)

func (c *Console) ack(w http.ResponseWriter, r *http.Request, p principal) {
	c.waive(w, r, p, "acknowledged", false, func(ctx context.Context, tn, fp string, m store.Mark, until *time.Time, _ *http.Request) (store.Finding, error) {
		return daemon.Acknowledge(ctx, c.o.Store, tn, fp, m, until)
	})
}

func (c *Console) snooze(w http.ResponseWriter, r *http.Request, p principal) {
	c.waive(w, r, p, "snoozed", false, func(ctx context.Context, tn, fp string, m store.Mark, until *time.Time, _ *http.Request) (store.Finding, error) {
		return daemon.Snooze(ctx, c.o.Store, tn, fp, m, until)
	})
}

func (c *Console) accept(w http.ResponseWriter, r *http.Request, p principal) {
	c.waive(w, r, p, "accepted", true, func(ctx context.Context, tn, fp string, m store.Mark, until *time.Time, r *http.Request) (store.Finding, error) {
		return daemon.Accept(ctx, c.o.Store, tn, fp, m, strings.TrimSpace(r.PostForm.Get("owner")), until)
	})
}

// waive reads the form's reason and until (required or not), applies the
// waiver as the principal and returns to the finding.
func (c *Console) waive(w http.ResponseWriter, r *http.Request, p principal, what string, untilRequired bool, do waiver) {
	tn, ok := c.tenantOf(w, r)
	if !ok {
		return
	}
	until, err := untilField(r, "until", untilRequired)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	ctx, cancel := c.ctx(r)
	defer cancel()
	f, err := do(ctx, tn, r.PathValue("fp"), mark(r, p), until, r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.log.Info("console: finding waived", "waiver", what, "tenant", tn, "fingerprint", f.Fingerprint, "by", p.by(), "until", until)
	c.done(w, r, tn, f.Fingerprint, what)
}

func (c *Console) approve(w http.ResponseWriter, r *http.Request, p principal) {
	c.decide(w, r, p, true)
}
func (c *Console) reject(w http.ResponseWriter, r *http.Request, p principal) {
	c.decide(w, r, p, false)
}

func (c *Console) decide(w http.ResponseWriter, r *http.Request, p principal, approve bool) {
	tn, ok := c.tenantOf(w, r)
	if !ok {
		return
	}
	ctx, cancel := c.ctx(r)
	defer cancel()
	// The finding must exist in this tenant: an unknown one is a 404.
	f, err := c.o.Store.Finding(ctx, tn, r.PathValue("fp"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if c.o.Remediation == nil {
		c.errorPage(w, r, http.StatusNotFound, "Remediation is not available here.")
		return
	}
	what := "rejected"
	if approve {
		what = "approved"
		err = c.o.Remediation.Approve(ctx, tn, f.Fingerprint, p.by())
	} else {
		err = c.o.Remediation.Reject(ctx, tn, f.Fingerprint, p.by())
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.log.Info("console: remediation plan decided", "decision", what, "tenant", tn, "fingerprint", f.Fingerprint, "by", p.by())
	c.done(w, r, tn, f.Fingerprint, what)
}

// httpsURL reports whether u may become a link: absolute https only, so
// no javascript:, data: or relative URL from a tenant's data is followed.
func httpsURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "https" && p.Host != "" && p.User == nil
}
