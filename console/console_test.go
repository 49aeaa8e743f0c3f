package console

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/report"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/store/storetest"
	"github.com/sharedrift/sharedrift/tenant"
)

// Tokens of the test console.
const (
	adminToken = "admin-token-0123456789abcdef"
	readToken  = "read-token-0123456789abcdef"
)

// staticTenants stands in for the scheduler: the configured tenant names.
type staticTenants []string

func (s staticTenants) Status() []daemon.TenantStatus {
	out := make([]daemon.TenantStatus, len(s))
	for i, n := range s {
		out[i] = daemon.TenantStatus{Name: n, Schedule: "@every 6h"}
	}
	return out
}

func (s staticTenants) HasTenant(name string) bool {
	for _, n := range s {
		if n == name {
			return true
		}
	}
	return false
}

// hostileName and hostileURL are a link's item path and web URL as a
// tenant's data could carry them.
const (
	hostileName = `/Shared Documents/<script>alert(1)</script>.docx`
	hostileURL  = `javascript:alert(1)`
)

// testStore records one scan of the storetest tenant with extra Anyone
// links (the first of them with a hostile name and URL) in SQLite.
func testStore(tb testing.TB, extraLinks int) store.Store {
	tb.Helper()
	ctx := context.Background()
	st, err := store.OpenStateDir(ctx, tb.TempDir(), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	snap := storetest.Snapshot(time.Now().Add(-time.Hour).UTC())
	for i := 0; i < extraLinks; i++ {
		l := storetest.Link("x"+strconv.Itoa(i), tenant.LinkScopeAnonymous)
		if i == 0 {
			l.ItemPath, l.WebURL = hostileName, hostileURL
		}
		snap.Links = append(snap.Links, l)
	}
	if _, err := st.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: storetest.Evaluate(snap), Baseline: "test"}); err != nil {
		tb.Fatal(err)
	}
	return st
}

func newTestConsole(tb testing.TB, st store.Store, cc config.Console) *Console {
	tb.Helper()
	c, err := New(Options{
		Store: st, Tenants: staticTenants{storetest.Tenant},
		Tokens: daemon.NewTokenSet([]daemon.Token{
			{Name: "ops", Scope: config.ScopeAdmin, Value: adminToken},
			{Name: "auditor", Scope: config.ScopeRead, Value: readToken},
		}),
		Console: cc,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// client is a browser-like HTTP client: cookies, no redirects followed.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *client) do(method, path string, form url.Values, hdr http.Header) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf returns the CSRF token of the first form on the page.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field on the page:\n%s", page)
	}
	return m[1]
}

// signIn logs in with a token and returns the session's CSRF token.
func (c *client) signIn(token string) string {
	c.t.Helper()
	_, page := c.do("GET", "/login", nil, nil)
	resp, _ := c.do("POST", "/login", url.Values{"csrf": {csrfOf(c.t, page)}, "token": {token}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		c.t.Fatalf("sign in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = c.do("GET", "/", nil, nil)
	return csrfOf(c.t, page)
}

func hostileFinding(t *testing.T, st store.Store) store.Finding {
	t.Helper()
	fs, err := st.FindingsList(context.Background(), store.FindingFilter{Tenant: storetest.Tenant, Search: "/itemx0/"})
	if err != nil || len(fs) != 1 {
		t.Fatalf("hostile finding: %v %v", fs, err)
	}
	return fs[0]
}

func TestSignInSessionAndCSRF(t *testing.T) {
	st := testStore(t, 1)
	srv := httptest.NewServer(newTestConsole(t, st, config.Console{}))
	defer srv.Close()
	c := newClient(t, srv.URL)

	// Signed out: pages redirect to the login form, posts are refused.
	if resp, _ := c.do("GET", "/findings", nil, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("signed out GET: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	f := hostileFinding(t, st)
	actPath := "/tenants/" + storetest.Tenant + "/findings/" + f.Fingerprint + "/ack"
	if resp, _ := c.do("POST", actPath, url.Values{"reason": {"x"}}, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("signed out POST: %d", resp.StatusCode)
	}

	// A wrong token is refused and starts no session.
	_, page := c.do("GET", "/login", nil, nil)
	resp, body := c.do("POST", "/login", url.Values{"csrf": {csrfOf(t, page)}, "token": {"wrong"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not valid") {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie && ck.Value != "" {
			t.Fatal("a wrong token got a session cookie")
		}
	}
	// The login form itself needs its CSRF token.
	if resp, _ := c.do("POST", "/login", url.Values{"token": {adminToken}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login without CSRF: %d", resp.StatusCode)
	}

	// The session cookie is HttpOnly and SameSite=Strict; Secure behind
	// a proxy that says https.
	_, page = c.do("GET", "/login", nil, nil)
	resp, _ = c.do("POST", "/login", url.Values{"csrf": {csrfOf(t, page)}, "token": {adminToken}}, http.Header{"X-Forwarded-Proto": {"https"}})
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			sess = ck
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || !sess.Secure || sess.Expires.IsZero() {
		t.Fatalf("session cookie: %+v", sess)
	}

	c = newClient(t, srv.URL)
	csrf := c.signIn(adminToken)
	// A form posted without its CSRF token, or with another one, changes nothing.
	for _, form := range []url.Values{{"reason": {"no token"}}, {"reason": {"forged"}, "csrf": {"forged"}}} {
		if resp, _ := c.do("POST", actPath, form, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %v: %d, want 403", form, resp.StatusCode)
		}
	}
	if got, _ := st.Finding(context.Background(), storetest.Tenant, f.Fingerprint); got.AcknowledgedAt != nil {
		t.Fatal("a refused form acknowledged the finding")
	}
	resp, _ = c.do("POST", actPath, url.Values{"csrf": {csrf}, "reason": {"known partner link"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ack: %d", resp.StatusCode)
	}
	got, _ := st.Finding(context.Background(), storetest.Tenant, f.Fingerprint)
	if got.AcknowledgedAt == nil || got.AcknowledgedBy != "console:token:ops" || got.AckReason != "known partner link" {
		t.Fatalf("ack recorded: %+v by %q", got.AcknowledgedAt, got.AcknowledgedBy)
	}

	// Sign out ends the session on the server: the old cookie no longer works.
	old := c.hc.Jar.Cookies(mustURL(t, srv.URL))
	if resp, _ := c.do("POST", "/logout", url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	c2 := newClient(t, srv.URL)
	c2.hc.Jar.SetCookies(mustURL(t, srv.URL), old)
	if resp, _ := c2.do("GET", "/", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("old session after logout: %d", resp.StatusCode)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestReadScopeCannotAct(t *testing.T) {
	st := testStore(t, 1)
	srv := httptest.NewServer(newTestConsole(t, st, config.Console{}))
	defer srv.Close()
	c := newClient(t, srv.URL)
	csrf := c.signIn(readToken)
	f := hostileFinding(t, st)
	base := "/tenants/" + storetest.Tenant + "/findings/" + f.Fingerprint
	_, page := c.do("GET", base, nil, nil)
	if strings.Contains(page, `action="`+base+`/accept"`) || !strings.Contains(page, "read only") {
		t.Error("a read-only session is offered the accept form")
	}
	for _, a := range []string{"ack", "snooze", "accept", "plan/approve", "plan/reject"} {
		resp, _ := c.do("POST", base+"/"+a, url.Values{"csrf": {csrf}, "reason": {"r"}, "owner": {"o"}, "until": {"2099-01-01"}}, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("read scope %s: %d, want 403", a, resp.StatusCode)
		}
	}
	got, _ := st.Finding(context.Background(), storetest.Tenant, f.Fingerprint)
	if got.AcknowledgedAt != nil || got.SnoozedUntil != nil || got.Accepted != nil {
		t.Fatalf("a read-scope action changed the finding: %+v", got)
	}
}

func TestBadInputPages(t *testing.T) {
	st := testStore(t, 1)
	srv := httptest.NewServer(newTestConsole(t, st, config.Console{}))
	defer srv.Close()
	c := newClient(t, srv.URL)
	csrf := c.signIn(adminToken)
	f := hostileFinding(t, st)
	tn := storetest.Tenant
	cases := []struct {
		method, path string
		form         url.Values
		code         int
		want         string
	}{
		{"GET", "/tenants/nobody/changes", nil, 404, "No tenant named"},
		{"GET", "/tenants/nobody/scans", nil, 404, "No tenant named"},
		{"GET", "/tenants/nobody/findings/" + f.Fingerprint, nil, 404, "No tenant named"},
		{"GET", "/findings?tenant=nobody", nil, 404, "No tenant named"},
		{"GET", "/tenants/" + tn + "/findings/ffffffffffff", nil, 404, "Not found"},
		{"POST", "/tenants/" + tn + "/findings/ffffffffffff/accept", url.Values{"csrf": {csrf}, "reason": {"r"}, "owner": {"o"}, "until": {"2099-01-01"}}, 404, "Not found"},
		{"POST", "/tenants/" + tn + "/findings/ffffffffffff/plan/approve", url.Values{"csrf": {csrf}}, 404, "Not found"},
		{"GET", "/no/such/page", nil, 404, "no page"},
		{"GET", "/findings?severity=urgent", nil, 400, "severity"},
		{"GET", "/findings?state=gone", nil, 400, "state"},
		{"GET", "/findings?section=mail", nil, 400, "section"},
		{"GET", "/findings?rule=no.such.rule", nil, 400, "rule"},
		{"GET", "/findings?after=nonsense", nil, 400, "not a page cursor"},
		{"GET", "/findings?after=" + encodeAfterRaw(`{"t":"x","f":"y","evil":1}`), nil, 400, "not a page cursor"},
		{"GET", "/tenants/" + tn + "/changes?since=forever", nil, 400, "since"},
		{"GET", "/tenants/" + tn + "/scans?before=x", nil, 400, "before"},
		{"POST", "/tenants/" + tn + "/findings/" + f.Fingerprint + "/accept", url.Values{"csrf": {csrf}, "reason": {"r"}, "owner": {"o"}}, 400, "until: a date is required"},
		{"POST", "/tenants/" + tn + "/findings/" + f.Fingerprint + "/accept", url.Values{"csrf": {csrf}, "reason": {"r"}, "owner": {"o"}, "until": {"soon"}}, 400, "not a date"},
		{"POST", "/tenants/" + tn + "/findings/" + f.Fingerprint + "/accept", url.Values{"csrf": {csrf}, "owner": {"o"}, "until": {"2099-01-01"}}, 400, "reason is required"},
		{"POST", "/tenants/" + tn + "/findings/" + f.Fingerprint + "/accept", url.Values{"csrf": {csrf}, "reason": {"r"}, "owner": {"o"}, "until": {"2001-01-01"}}, 400, "not in the future"},
		// A plan that does not exist (no remediation service here either).
		{"POST", "/tenants/" + tn + "/findings/" + f.Fingerprint + "/plan/approve", url.Values{"csrf": {csrf}}, 404, "not available"},
	}
	for _, tc := range cases {
		resp, body := c.do(tc.method, tc.path, tc.form, nil)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d, want %d with %q", tc.method, tc.path, resp.StatusCode, tc.code, tc.want)
		}
		if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s %s: answered %s, want an HTML page", tc.method, tc.path, resp.Header.Get("Content-Type"))
		}
	}
	if got, _ := st.Finding(context.Background(), tn, f.Fingerprint); got.Accepted != nil {
		t.Fatal("a refused accept stored an acceptance")
	}
}

// TestHostileDataEscaped: a link named <script> with a javascript: URL is
// shown as text everywhere, and never becomes a link.
func TestHostileDataEscaped(t *testing.T) {
	st := testStore(t, 1)
	// A second scan in which the hostile link appears, so the changes
	// timeline names it too.
	snap := storetest.Snapshot(time.Now().Add(-time.Minute).UTC())
	l := storetest.Link("x0", tenant.LinkScopeAnonymous)
	l.ItemPath, l.WebURL = hostileName, hostileURL
	snap.Links = append(snap.Links, l, storetest.Link("y0", tenant.LinkScopeAnonymous))
	snap.Links[len(snap.Links)-1].ItemPath = hostileName + "2"
	if _, err := st.RecordScan(context.Background(), store.ScanInput{Snapshot: snap, Results: storetest.Evaluate(snap)}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newTestConsole(t, st, config.Console{}))
	defer srv.Close()
	c := newClient(t, srv.URL)
	c.signIn(adminToken)
	f := hostileFinding(t, st)
	pages := []string{"/findings?q=" + url.QueryEscape("<script>"), "/tenants/" + storetest.Tenant + "/findings/" + f.Fingerprint, "/tenants/" + storetest.Tenant + "/changes"}
	for _, p := range pages {
		resp, body := c.do("GET", p, nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, `href="javascript:`) {
			t.Errorf("%s renders user data unescaped", p)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s does not show the hostile name as text", p)
		}
	}
	_, body := c.do("GET", pages[1], nil, nil)
	if !strings.Contains(body, "not an https address, so not a link") {
		t.Error("the javascript: URL is not marked as not a link")
	}
	// An https object URL is a link without a referrer.
	fs, _ := st.FindingsList(context.Background(), store.FindingFilter{Tenant: storetest.Tenant, Search: "file2.docx"})
	_, body = c.do("GET", "/tenants/"+storetest.Tenant+"/findings/"+fs[0].Fingerprint, nil, nil)
	if !strings.Contains(body, `<a href="https://contoso.sharepoint.com/:w:/s/finance/E2" rel="noreferrer noopener"`) {
		t.Error("the https object URL is not a noreferrer link")
	}
}

func TestTrustedHeader(t *testing.T) {
	st := testStore(t, 1)
	cc := config.Console{TrustedHeader: config.TrustedHeader{Enabled: true, Header: "X-Forwarded-Email",
		Proxies: []string{"127.0.0.0/8"}, Users: []config.TrustedUser{{Name: "alice@example.com", Scope: config.ScopeAdmin}, {Name: "bob@example.com", Scope: config.ScopeRead}}}}
	srv := httptest.NewServer(newTestConsole(t, st, cc))
	defer srv.Close()
	c := newClient(t, srv.URL)
	alice := http.Header{"X-Forwarded-Email": {"Alice@example.com"}}
	resp, page := c.do("GET", "/", nil, alice)
	if resp.StatusCode != 200 || !strings.Contains(page, "alice@example.com") {
		t.Fatalf("trusted user: %d", resp.StatusCode)
	}
	if resp, _ := c.do("GET", "/", nil, http.Header{"X-Forwarded-Email": {"mallory@example.com"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("user not on the allow list: %d, want 403", resp.StatusCode)
	}
	f := hostileFinding(t, st)
	_, page = c.do("GET", "/tenants/"+storetest.Tenant+"/findings/"+f.Fingerprint, nil, alice)
	path := "/tenants/" + storetest.Tenant + "/findings/" + f.Fingerprint + "/snooze"
	if resp, _ := c.do("POST", path, url.Values{"csrf": {csrfOf(t, page)}, "until": {"2099-01-01"}}, http.Header{"X-Forwarded-Email": {"bob@example.com"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("bob with alice's CSRF token: %d, want 403", resp.StatusCode)
	}
	if resp, _ := c.do("POST", path, url.Values{"csrf": {csrfOf(t, page)}, "until": {"2099-01-01"}, "reason": {"change freeze"}}, alice); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice snoozes: %d", resp.StatusCode)
	}
	got, _ := st.Finding(context.Background(), storetest.Tenant, f.Fingerprint)
	if got.SnoozedBy != "console:user:alice@example.com" {
		t.Errorf("snoozed by %q", got.SnoozedBy)
	}
	// The header from an address outside the proxies is ignored.
	th, _ := newTrustedHeader(config.TrustedHeader{Enabled: true, Header: "X-Forwarded-Email", Proxies: []string{"10.0.0.0/8"},
		Users: []config.TrustedUser{{Name: "alice@example.com", Scope: config.ScopeAdmin}}})
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "192.0.2.7:5000"
	req.Header.Set("X-Forwarded-Email", "alice@example.com")
	if _, matched, _ := th.identify(req); matched {
		t.Error("a header from outside the proxies was believed")
	}
}

func encodeAfterRaw(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

var nextLink = regexp.MustCompile(`<a href="(/findings\?[^"]+)" rel="next">`)

// TestFindingsPaging follows Next page links through every active finding:
// each appears once, and pages hold at most pageSize rows.
func TestFindingsPaging(t *testing.T) {
	st := testStore(t, 2*pageSize+7)
	srv := httptest.NewServer(newTestConsole(t, st, config.Console{}))
	defer srv.Close()
	c := newClient(t, srv.URL)
	c.signIn(adminToken)
	want, err := st.FindingsList(context.Background(), store.FindingFilter{States: []store.FindingState{store.FindingOpen, store.FindingReopened}})
	if err != nil {
		t.Fatal(err)
	}
	rowLink := regexp.MustCompile(`href="/tenants/[^/]+/findings/([0-9a-f]+)"`)
	seen := map[string]bool{}
	next, pages := "/findings?state=active", 0
	for next != "" && pages < 10 {
		resp, body := c.do("GET", strings.ReplaceAll(next, "&amp;", "&"), nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", next, resp.StatusCode)
		}
		pages++
		rows := rowLink.FindAllStringSubmatch(body, -1)
		if len(rows) > pageSize {
			t.Fatalf("page %d has %d rows", pages, len(rows))
		}
		for _, m := range rows {
			if seen[m[1]] {
				t.Errorf("finding %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := nextLink.FindStringSubmatch(body); m != nil {
			next = m[1]
		}
	}
	if pages != 3 || len(seen) != len(want) {
		t.Errorf("%d pages with %d findings, want 3 pages with %d", pages, len(seen), len(want))
	}
}

// TestLabelFilterAndEvents: findings filter by their object's sensitivity
// label, and a finding's page lists the scans that opened and reopened it.
func TestLabelFilterAndEvents(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenStateDir(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Second)
	var scans []store.Scan
	for i, fixed := range []bool{false, true, false} {
		snap := storetest.Snapshot(t0.Add(time.Duration(i) * time.Hour))
		snap.Sites[0].SensitivityLabel = "Confidential" // the links' site
		if fixed {
			snap.Links[1].Scope = tenant.LinkScopeUsers
		}
		sc, err := st.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: storetest.Evaluate(snap)})
		if err != nil {
			t.Fatal(err)
		}
		scans = append(scans, sc)
	}
	srv := httptest.NewServer(newTestConsole(t, st, config.Console{}))
	defer srv.Close()
	c := newClient(t, srv.URL)
	c.signIn(readToken)

	resp, body := c.do("GET", "/findings?label=CONFIDENTIAL", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("label filter: %d", resp.StatusCode)
	}
	if n := strings.Count(body, `<td class="word">Confidential</td>`); n != 2 {
		t.Errorf("label filter shows %d labelled rows, want the 2 Anyone links", n)
	}
	if strings.Contains(body, "bob@other.example") {
		t.Error("label filter shows the unlabelled guest finding")
	}
	if !strings.Contains(body, `id="f-label" name="label" value="CONFIDENTIAL"`) {
		t.Error("the label field does not keep the filter")
	}
	_, body = c.do("GET", "/findings?label=General", nil, nil)
	if !strings.Contains(body, "No finding matches these filters") {
		t.Error("a label no object carries matched findings")
	}
	resp, body = c.do("GET", "/findings?label="+strings.Repeat("x", 201), nil, nil)
	if resp.StatusCode != 400 || !strings.Contains(body, "label: at most 200 characters") {
		t.Errorf("an overlong label: %d", resp.StatusCode)
	}

	fs, err := st.FindingsList(ctx, store.FindingFilter{Tenant: storetest.Tenant, Search: "file2.docx"})
	if err != nil || len(fs) != 1 {
		t.Fatalf("finding of link 2: %v %v", fs, err)
	}
	_, body = c.do("GET", "/tenants/"+storetest.Tenant+"/findings/"+fs[0].Fingerprint, nil, nil)
	for _, want := range []string{
		"<dt>Sensitivity label</dt><dd>Confidential</dd>",
		fmt.Sprintf(`href="/tenants/%s/scans?before=%d#scan-%d">Scan %d</a>`, storetest.Tenant, scans[0].ID+1, scans[0].ID, scans[0].ID),
		"<td>Opened (high)</td>",
		fmt.Sprintf(`#scan-%d">Scan %d</a>`, scans[2].ID, scans[2].ID),
		"<td>Reopened</td>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("finding page lacks %s", want)
		}
	}
	// The link lands on the scans page that holds the scan.
	resp, body = c.do("GET", fmt.Sprintf("/tenants/%s/scans?before=%d", storetest.Tenant, scans[0].ID+1), nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, fmt.Sprintf(`id="scan-%d"`, scans[0].ID)) {
		t.Errorf("the events' scan link does not show the scan: %d", resp.StatusCode)
	}
}

// fakeReports renders a fixed HTML report; fakePDF prints a fixed PDF or
// fails like a missing browser.
type fakeReports struct{}

func (fakeReports) Render(context.Context, string, report.Format) ([]byte, error) {
	return []byte("<!doctype html><title>r</title>"), nil
}

type fakePDF struct{ err error }

func (p fakePDF) RenderPDF(context.Context, string) ([]byte, error) {
	if p.err != nil {
		return nil, p.err
	}
	return []byte("%PDF-1.7\n"), nil
}

// TestPDFDownload: without a printer the PDF is not offered and asking for
// it answers a 503 page; with one it downloads; a failed print is a 503
// page, never a broken file.
func TestPDFDownload(t *testing.T) {
	st := testStore(t, 0)
	scansPath := "/tenants/" + storetest.Tenant + "/scans"
	pdfPath := "/tenants/" + storetest.Tenant + "/report?format=pdf"
	for _, tc := range []struct {
		name      string
		pdf       PDFReports
		offered   bool
		code      int
		wantType  string
		wantInBdy string
	}{
		{"no printer", nil, false, 503, "text/html", "PDF reports need Chromium on the server"},
		{"printer", fakePDF{}, true, 200, "application/pdf", "%PDF-"},
		{"printer fails", fakePDF{err: fmt.Errorf("%w: chromium: exit status 1", ErrPrint)}, true, 503, "text/html", "could not be printed just now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			con, err := New(Options{
				Store: st, Tenants: staticTenants{storetest.Tenant}, Reports: fakeReports{}, PDF: tc.pdf,
				Tokens: daemon.NewTokenSet([]daemon.Token{{Name: "auditor", Scope: config.ScopeRead, Value: readToken}}),
			})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(con)
			defer srv.Close()
			c := newClient(t, srv.URL)
			c.signIn(readToken)
			_, body := c.do("GET", scansPath, nil, nil)
			if got := strings.Contains(body, `href="`+pdfPath+`"`); got != tc.offered {
				t.Errorf("PDF link offered: %v, want %v", got, tc.offered)
			}
			if !strings.Contains(body, `report?format=html">HTML</a>`) {
				t.Error("the HTML report is not offered")
			}
			resp, body := c.do("GET", pdfPath, nil, nil)
			if resp.StatusCode != tc.code || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.wantType) || !strings.Contains(body, tc.wantInBdy) {
				t.Errorf("GET pdf: %d %s %.80q, want %d %s with %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.code, tc.wantType, tc.wantInBdy)
			}
			cd := resp.Header.Get("Content-Disposition")
			if tc.code == 200 && !strings.HasSuffix(cd, `.pdf"`) {
				t.Errorf("Content-Disposition %q", cd)
			}
			if tc.code != 200 && cd != "" {
				t.Errorf("a refused PDF is sent as a download: %q", cd)
			}
		})
	}
}

// TestSearchFurther: a search that uses up its budget before filling a
// page says so and offers "Search further", which goes on where it
// stopped until the match shows.
func TestSearchFurther(t *testing.T) {
	st := testStore(t, 30)
	con := newTestConsole(t, st, config.Console{})
	con.searchBudget = 4
	srv := httptest.NewServer(con)
	defer srv.Close()
	c := newClient(t, srv.URL)
	c.signIn(readToken)
	// Links x0…x29 sort as x0, x1, x10, …: x9 is far down the list.
	next, pages := "/findings?q=filex9.docx", 0
	for ; pages < 20; pages++ {
		resp, body := c.do("GET", next, nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", next, resp.StatusCode)
		}
		if strings.Contains(body, "/filex9.docx</a>") {
			break
		}
		if !strings.Contains(body, "No match yet (this page searched 4 findings; the next page searches on)") {
			t.Fatalf("page %d without the match does not say it searched on:\n%s", pages+1, body)
		}
		m := regexp.MustCompile(`<a href="([^"]+)" rel="next">Search further</a>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("page %d: no Search further link", pages+1)
		}
		next = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	if pages == 0 || pages >= 20 {
		t.Errorf("match found after %d further pages, want a few", pages)
	}
}
