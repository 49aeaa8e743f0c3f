package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/report"
	"github.com/sharedrift/sharedrift/report/browsertest"
	"github.com/sharedrift/sharedrift/store"
)

// Tokens of the console tests.
const (
	consoleAdmin = "console-admin-token-0123456789"
	consoleRead  = "console-read-token-0123456789"
)

// consoleService is the fabrikam demo tenant scanned once, with a fix for
// guest resharing waiting for approval, behind the daemon's handler.
func consoleService(t *testing.T) (*Service, *httptest.Server, string) {
	t.Helper()
	ctx := context.Background()
	fixture, err := filepath.Abs(filepath.Join("..", "testdata", "tenants", "fabrikam"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{
		Env: []string{"ADMIN=" + consoleAdmin, "READ=" + consoleRead},
		Overrides: map[string]any{
			"store.state_dir": t.TempDir(),
			"http.tokens": []any{map[string]any{"name": "ops", "scope": "admin", "secret": "env:ADMIN"},
				map[string]any{"name": "auditor", "scope": "read", "secret": "env:READ"}},
			"tenants.fabrikam.fixture":     fixture,
			"tenants.fabrikam.baseline":    "recommended",
			"tenants.fabrikam.schedule":    "@every 1h",
			"tenants.fabrikam.remediation": map[string]any{"mode": "dry-run", "rules": map[string]any{"sharepoint.guest_resharing": "approve"}},
		},
		RequireTenants: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := Open(ctx, cfg, ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	if _, err := svc.Daemon.ScanNow(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	// Someone shares a file with an Anyone link; the second scan records
	// the change, for the changes timeline and the trend.
	perm := map[string]any{"roles": []string{"read"},
		"link": map[string]any{"scope": "anonymous", "type": "view", "webUrl": "https://fabrikam.sharepoint.com/:u:/s/Marketing/EePressKit"}}
	if err := svc.Pipeline.Client("fabrikam").GraphWrite(ctx, http.MethodPost, "v1.0", "/drives/b!Rt7-mktg/items/01MKTG2BRANDKIT/permissions", perm, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Daemon.ScanNow(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	planned, err := svc.Remediation.Plans(ctx, "fabrikam", store.RemediationPlanned)
	if err != nil {
		t.Fatal(err)
	}
	var fp string
	for _, pr := range planned {
		if pr.Plan.RuleID == "sharepoint.guest_resharing" {
			fp = pr.Plan.Fingerprint
		}
	}
	if fp == "" {
		t.Fatal("no plan for sharepoint.guest_resharing")
	}
	srv := httptest.NewServer(svc.Handler)
	t.Cleanup(srv.Close)
	return svc, srv, fp
}

// consoleA11y checks every console page for the basics: a language,
// landmarks, one h1 and no skipped heading level, captions and scoped
// headers on tables, text alternatives on charts, a label for every form
// control, contrast of at least 4.5:1 (3:1 for large text), controls
// reachable by keyboard with a visible focus style, and nothing loaded
// from elsewhere. It returns the problems found.
const consoleA11y = `(() => {
  const problems = [];
  if (document.documentElement.lang !== 'en') problems.push('html lang is ' + document.documentElement.lang);
  for (const sel of ['header', 'main', 'footer']) if (document.querySelectorAll(sel).length !== 1) problems.push('expected one ' + sel + ' landmark');
  if (document.querySelectorAll('h1').length !== 1) problems.push('expected one h1');
  let prev = 1;
  for (const h of document.querySelectorAll('h1,h2,h3,h4,h5,h6')) {
    const lvl = +h.tagName[1];
    if (lvl > prev + 1) problems.push('heading level skips to ' + h.tagName + ' "' + h.textContent.trim().slice(0, 40) + '"');
    prev = lvl;
  }
  for (const t of document.querySelectorAll('table')) if (!t.querySelector(':scope > caption')) problems.push('table without caption');
  for (const th of document.querySelectorAll('table th')) if (!['col', 'row'].includes(th.getAttribute('scope'))) problems.push('th without scope: ' + th.textContent.slice(0, 40));
  for (const svg of document.querySelectorAll('svg')) if (svg.getAttribute('role') !== 'img' || !svg.getAttribute('aria-label')) problems.push('svg without role=img and aria-label');
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')) problems.push('form control without a label: ' + (el.name || el.id));
  }
  ` + browsertest.ContrastCheck + `(problems);
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')) {
    if (el.tabIndex < 0 || el.disabled) { problems.push('control not reachable by keyboard: ' + el.outerHTML.slice(0, 60)); continue; }
    el.focus();
    if (document.activeElement !== el) { problems.push('control does not take focus: ' + el.outerHTML.slice(0, 60)); continue; }
    const s = getComputedStyle(el);
    if ((s.outlineStyle === 'none' || parseFloat(s.outlineWidth) < 2) && s.boxShadow === 'none') problems.push('no visible focus style: ' + el.outerHTML.slice(0, 60));
    el.blur();
  }
  if (document.querySelectorAll('[src], script, iframe, object, embed').length) problems.push('script or external resource element present');
  for (const l of document.querySelectorAll('link[href]')) if (!l.getAttribute('href').startsWith('/assets/')) problems.push('stylesheet from elsewhere: ' + l.href);
  for (const a of document.querySelectorAll('a[href]')) {
    const href = a.getAttribute('href');
    if (/^[a-z]+:/i.test(href) && (!href.startsWith('https://') || !(a.rel || '').includes('noreferrer'))) problems.push('outside link without https or noreferrer: ' + href);
  }
  return problems;
})()`

// badConsolePage breaks what consoleA11y checks, so the checks are seen to fail.
const badConsolePage = `<!DOCTYPE html><html><body><h1>x</h1><h3>skip</h3><input name="q">
<table><tr><th>a</th></tr></table><p style="color:#bbb">faint</p><a href="javascript:alert(1)" style="outline:none">x</a></body></html>`

// TestConsoleInChromium walks the console as a person would in headless
// Chromium: a wrong token is refused, sign in with the admin token, filter
// the findings, open one, approve its fix plan, filter by sensitivity label
// and read a finding's scan events, accept another finding's
// risk with an expiry, look at changes and scans, see a form posted without
// its CSRF token refused, and sign out. Every page passes consoleA11y and
// leaves a screenshot in testdata/artifacts.
func TestConsoleInChromium(t *testing.T) {
	bin, err := browsertest.FindChromium()
	if err != nil {
		t.Fatal(err) // a missing browser is a broken test setup, not a skip
	}
	svc, srv, planFP := consoleService(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	b, err := browsertest.Start(ctx, bin, filepath.Join(dir, "profile"))
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	defer b.Close()
	artifacts := filepath.Join("..", "testdata", "artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	eval := func(expr string) string {
		t.Helper()
		var s string
		if err := b.Eval(ctx, expr, &s); err != nil {
			t.Fatalf("eval %s: %v", expr, err)
		}
		return s
	}
	act := func(expr string) {
		t.Helper()
		if err := b.Act(ctx, expr); err != nil {
			t.Fatal(err)
		}
	}
	nav := func(path string) {
		t.Helper()
		if err := b.Navigate(ctx, srv.URL+path); err != nil {
			t.Fatal(err)
		}
	}
	// check runs the accessibility checks, wants the texts, and keeps a screenshot.
	check := func(name string, want ...string) {
		t.Helper()
		text := eval(`document.body.innerText`)
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: page lacks %q", name, w)
			}
		}
		var problems []string
		if err := b.Eval(ctx, consoleA11y, &problems); err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("%s accessibility: %s", name, p)
		}
		png, err := b.Screenshot(ctx, 1280, 900, true)
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Fatal("screenshot is not a PNG")
		}
		if err := os.WriteFile(filepath.Join(artifacts, "console-"+name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := func() string { return eval(`location.pathname + location.search`) }

	// Signed out, the console sends people to the login form.
	nav("/")
	if p := path(); p != "/login" {
		t.Fatalf("signed out: at %s, want /login", p)
	}
	check("login", "Sign in", "API token")
	act(`document.getElementById('token').value = 'not-a-token', document.querySelector('main form').submit()`)
	check("login-refused", "That token is not valid.")
	act(`document.getElementById('token').value = '` + consoleAdmin + `', document.querySelector('main form').submit()`)
	if p := path(); p != "/" {
		t.Fatalf("after sign-in at %s", p)
	}
	check("overview", "Tenants", "fabrikam", "Signed in as ops (admin)", "How the posture score is computed", "1 change")

	// Filter the findings with the GET form.
	act(`document.querySelector('a[href="/findings"]').click()`)
	act(`document.getElementById('f-tenant').value = 'fabrikam', document.getElementById('f-rule').value = 'sharepoint.guest_resharing', document.querySelector('form.filters').submit()`)
	if p := path(); !strings.Contains(p, "rule=sharepoint.guest_resharing") || !strings.Contains(p, "tenant=fabrikam") {
		t.Errorf("filter form went to %s", p)
	}
	check("findings", "sharepoint.guest_resharing")
	if n := eval(`String(document.querySelectorAll('main tbody tr').length)`); n != "1" {
		t.Errorf("filtered list has %s rows, want 1", n)
	}
	// Open the finding and approve its plan.
	act(`document.querySelector('main tbody a').click()`)
	if p := path(); p != "/tenants/fabrikam/findings/"+planFP {
		t.Fatalf("opened %s, want the plan's finding", p)
	}
	check("finding", "Evidence", "History", "Remediation", "Approve fix", "Accept the risk")
	act(`[...document.querySelectorAll('button')].find(b => b.textContent === 'Approve fix').click()`)
	check("finding-approved", "Done: the finding was approved.")
	svc.Remediation.Wait()
	recs, err := svc.Store.Remediations(ctx, store.RemediationFilter{Tenant: "fabrikam", Fingerprint: planFP})
	if err != nil {
		t.Fatal(err)
	}
	approvedBy := ""
	for _, r := range recs {
		if r.ApprovedBy != "" {
			approvedBy = r.ApprovedBy
		}
	}
	if approvedBy != "console:token:ops" {
		t.Errorf("plan approved by %q, want console:token:ops (records %+v)", approvedBy, recs)
	}

	// Filter by sensitivity label: only findings on Confidential objects,
	// the critical Anyone link on the Payroll file among them.
	nav("/findings")
	act(`document.getElementById('f-tenant').value = 'fabrikam', document.getElementById('f-label').value = 'confidential', document.querySelector('form.filters').submit()`)
	if p := path(); !strings.Contains(p, "label=confidential") {
		t.Errorf("label filter went to %s", p)
	}
	check("findings-label", "links.anyone_on_confidential", "Payroll 2026.xlsx")
	labels := eval(`[...document.querySelectorAll('main tbody tr')].map(tr => tr.cells[4].textContent).join('|')`)
	if labels == "" || strings.Trim(strings.ReplaceAll(labels, "Confidential", ""), "|") != "" {
		t.Errorf("label filter rows carry labels %q, want only Confidential", labels)
	}
	// Its events: the scan that opened it, as a table linking to the scan.
	act(`[...document.querySelectorAll('main tbody tr')].find(tr => tr.cells[2].textContent === 'links.anyone_on_confidential').querySelector('a').click()`)
	check("finding-events", "Sensitivity label", "Confidential", "Scans that moved it", "Opened (critical)")
	if ev := eval(`[...document.querySelectorAll('main table')].find(t => t.caption.textContent.startsWith('What each scan did')).querySelectorAll('tbody tr a[href*="/scans?before="]').length + ''`); ev == "0" {
		t.Error("the events table links to no scan")
	}

	// Accept the risk of an Anyone link with an expiry.
	links, err := svc.Store.FindingsList(ctx, store.FindingFilter{Tenant: "fabrikam", RuleID: "links.anyone_link_edit", States: []store.FindingState{store.FindingOpen}})
	if err != nil || len(links) == 0 {
		all, _ := svc.Store.FindingsList(ctx, store.FindingFilter{Tenant: "fabrikam", Limit: 50})
		var ids []string
		for _, f := range all {
			ids = append(ids, f.RuleID)
		}
		t.Fatalf("no open Anyone edit link finding (%v); rules: %v", err, ids)
	}
	target := links[0]
	nav("/tenants/fabrikam/findings/" + target.Fingerprint)
	until := time.Now().AddDate(0, 1, 0).UTC().Format(time.DateOnly)
	act(`document.getElementById('a-reason').value = 'Shared with the auditors until the review ends', document.getElementById('a-owner').value = 'cfo@fabrikam.example', document.getElementById('a-until').value = '` + until + `', document.getElementById('a-until').form.submit()`)
	check("finding-accepted", "Done: the finding was accepted.", "Risk accepted by console:token:ops")
	got, err := svc.Store.Finding(ctx, "fabrikam", target.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if got.Accepted == nil || got.Accepted.By != "console:token:ops" || got.Accepted.Owner != "cfo@fabrikam.example" ||
		got.Accepted.Until.Format(time.DateOnly) != time.Now().AddDate(0, 1, 1).UTC().Format(time.DateOnly) {
		t.Errorf("acceptance stored: %+v", got.Accepted)
	}

	// A form posted without its CSRF token is refused and changes nothing.
	act(`(f => { f.querySelector('input[name=csrf]').remove(); f.querySelector('#k-reason').value = 'no token'; f.submit(); })(document.getElementById('k-reason').form)`)
	check("csrf-refused", "403", "did not come from this console")
	if f, _ := svc.Store.Finding(ctx, "fabrikam", target.Fingerprint); f.AckReason == "no token" {
		t.Error("a form without its CSRF token acknowledged the finding")
	}

	nav("/tenants/fabrikam/changes?since=30d")
	check("changes", "Changes of fabrikam", "added")
	nav("/tenants/fabrikam/scans")
	check("scans", "Scans of fabrikam", "Sections of scan", "resource units")
	nav("/tenants/nobody/scans")
	check("not-found", "404", "No tenant named")

	// Sign out: the console is closed again.
	nav("/")
	act(`[...document.querySelectorAll('button')].find(b => b.textContent === 'Sign out').click()`)
	if p := path(); p != "/login" {
		t.Errorf("after sign-out at %s", p)
	}
	nav("/findings")
	if p := path(); p != "/login" {
		t.Errorf("after sign-out /findings shows %s", p)
	}

	console, requests := b.Snapshot()
	for _, c := range console {
		// The refusals above answer 401, 403 and 404 on purpose.
		if strings.Contains(c, "Failed to load resource") && (strings.Contains(c, "status of 401") && strings.HasSuffix(c, "/login") ||
			strings.Contains(c, "status of 403") && strings.HasSuffix(c, "/ack") || strings.Contains(c, "status of 404") && strings.HasSuffix(c, "/tenants/nobody/scans")) {
			continue
		}
		t.Errorf("browser console: %s", c)
	}
	for _, r := range requests {
		// data: URLs are the browser's own icons (the date picker's).
		if !strings.HasPrefix(r, srv.URL+"/") && !strings.HasPrefix(r, "data:") {
			t.Errorf("request outside the console: %s", r)
		}
	}
	// The checks can fail: a page with known defects has problems.
	if err := b.Navigate(ctx, "data:text/html,"+url.PathEscape(badConsolePage)); err != nil {
		t.Fatal(err)
	}
	var problems []string
	if err := b.Eval(ctx, consoleA11y, &problems); err != nil {
		t.Fatal(err)
	}
	if len(problems) < 6 {
		t.Errorf("accessibility checks missed defects of the bad page: %v", problems)
	}
}

// TestConsoleReportDownload: the report download is the same render as
// GET /reports/{tenant}, as an attachment.
func TestConsoleReportDownload(t *testing.T) {
	_, srv, _ := consoleService(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// Sign in by hand: the login form's CSRF cookie and field, then the session.
	resp, err := c.Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var loginCk *http.Cookie
	for _, ck := range resp.Cookies() {
		loginCk = ck
	}
	form := url.Values{"csrf": {loginCk.Value}, "token": {consoleRead}}
	req, _ := http.NewRequest("POST", srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(loginCk)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "sharedrift_session" {
			sess = ck
		}
	}
	if sess == nil {
		t.Fatalf("no session after sign-in (%d)", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/tenants/fabrikam/report?format=json", nil)
	req.AddCookie(sess)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("report: %d: %v", resp.StatusCode, err)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="sharedrift-fabrikam-`) || !strings.HasSuffix(cd, `.json"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if doc["tenant"] == nil && doc["Tenant"] == nil {
		t.Errorf("report JSON has no tenant: keys %v", keys(doc))
	}
	// The PDF: printed by the machine's Chromium, or a 503 page without one.
	req, _ = http.NewRequest("GET", srv.URL+"/tenants/fabrikam/report?format=pdf", nil)
	req.AddCookie(sess)
	presp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(presp.Body)
	presp.Body.Close()
	if _, cerr := report.FindChromium(); cerr == nil {
		if presp.StatusCode != 200 || presp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Errorf("PDF report with Chromium: %d %s %.20q", presp.StatusCode, presp.Header.Get("Content-Type"), pdf)
		}
	} else if presp.StatusCode != 503 || !strings.Contains(string(pdf), "need Chromium") {
		t.Errorf("PDF report without Chromium: %d, want a 503 page", presp.StatusCode)
	}
	// The JSON API keeps answering JSON 404s under /api/.
	resp2, err := http.Get(srv.URL + "/api/v1/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 404 || !strings.HasPrefix(resp2.Header.Get("Content-Type"), "application/json") {
		t.Errorf("/api/v1/nothing: %d %s", resp2.StatusCode, resp2.Header.Get("Content-Type"))
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
