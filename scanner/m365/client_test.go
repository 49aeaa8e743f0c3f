package m365_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
)

var fabrikam = filepath.Join("..", "..", "testdata", "tenants", "fabrikam")

func fake(t *testing.T, o m365test.Options) (*m365test.Server, *m365.Client) {
	t.Helper()
	srv, err := m365test.New(fabrikam, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestBatchSplitsAtTwenty(t *testing.T) {
	srv, c := fake(t, m365test.Options{})
	var reqs []m365.BatchRequest
	for i := range 45 {
		reqs = append(reqs, m365.BatchRequest{ID: fmt.Sprint(i), URL: fmt.Sprintf("/users/%d/sponsors?$select=id", i)})
	}
	stats := &scanner.Stats{}
	res := c.BatchCollections(scanner.WithStats(context.Background(), stats), m365.V1, reqs)
	if len(res) != 45 {
		t.Fatalf("%d results", len(res))
	}
	for id, r := range res {
		if r.Err != nil || r.Items == nil {
			t.Errorf("%s: %+v", id, r)
		}
	}
	if n := srv.Calls()["POST /v1.0/$batch"]; n != 3 || stats.Calls.Load() != 3 {
		t.Errorf("$batch calls %d (counted %d), want 3", n, stats.Calls.Load())
	}
}

func TestPagingFollowsNextLink(t *testing.T) {
	srv, c := fake(t, m365test.Options{PageSize: 1})
	var n int
	_, err := c.GraphPages(context.Background(), m365.V1, "/users?$select=id", nil, func(items []json.RawMessage) error {
		n += len(items)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls := srv.Calls()["GET /v1.0/users"]; n < 2 || calls != n+1 && calls != n {
		t.Errorf("%d items in %d calls", n, calls)
	}
}

// TestForeignNextLink: a paging link to another host is refused, so the
// bearer token never leaves the service.
func TestForeignNextLink(t *testing.T) {
	var gotUA string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA = r.Header.Get("User-Agent")
		fmt.Fprint(w, `{"value":[],"@odata.nextLink":"https://attacker.example/steal"}`)
	}))
	defer ts.Close()
	c, err := m365.New(m365.Options{Endpoints: m365.Endpoints{Graph: ts.URL, SharePointAdmin: ts.URL, Exchange: ts.URL}, Tokens: m365.StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GraphPages(context.Background(), m365.V1, "/users", nil, func([]json.RawMessage) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "another host") {
		t.Errorf("err %v", err)
	}
	if !strings.HasPrefix(gotUA, "NONISV|sharedrift|sharedrift/") {
		t.Errorf("User-Agent %q", gotUA)
	}
}

// TestCancelDuringRetryAfter: a long Retry-After does not outlive the
// caller's context.
func TestCancelDuringRetryAfter(t *testing.T) {
	srv, _ := fake(t, m365test.Options{})
	srv.Faults.Add("GET /v1.0/groupSettings", m365test.Fault{Status: 429, RetryAfter: time.Hour})
	c, err := m365.New(srv.ClientOptions()) // real sleep
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	var v any
	err = c.GraphGet(ctx, m365.V1, "/groupSettings", &v)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("err %v after %s", err, time.Since(start))
	}
}

func TestRetryAfterCapped(t *testing.T) {
	srv, _ := fake(t, m365test.Options{})
	srv.Faults.Add("GET /v1.0/groupSettings", m365test.Fault{Status: 503, RetryAfter: time.Hour, Times: 1})
	o := srv.ClientOptions()
	var waited time.Duration
	o.MaxWait = 2 * time.Second
	o.Sleep = func(_ context.Context, d time.Duration) error { waited = d; return nil }
	c, _ := m365.New(o)
	var v any
	if err := c.GraphGet(context.Background(), m365.V1, "/groupSettings", &v); err != nil {
		t.Fatal(err)
	}
	if waited != 2*time.Second {
		t.Errorf("waited %s, want the 2s cap", waited)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	good := `tenants:
  contoso:
    tenantId: 9c5f0e8a-1111-4222-8333-944455556666
    sharepointTenant: contoso
    cloud: usgov
    clientId: 6d1e0e8a-1111-4222-8333-944455556666
    auth:
      method: secret
      secretEnv: CONTOSO_SECRET
`
	tests := []struct {
		name, yaml, err string
	}{
		{"valid", good, ""},
		{"unknown key", strings.Replace(good, "cloud: usgov", "cloud: usgov\n    region: x", 1), "field region not found"},
		{"bad tenant id", strings.Replace(good, "9c5f0e8a-1111-4222-8333-944455556666", "contoso.com", 1), `tenants.contoso.tenantId: "contoso.com", expected a GUID`},
		{"bad cloud", strings.Replace(good, "usgov", "mars", 1), `tenants.contoso.cloud: unknown cloud "mars"`},
		{"secret in file", strings.Replace(good, "secretEnv: CONTOSO_SECRET", "secretEnv: CONTOSO_SECRET\n      certificateFile: x.pem", 1), "tenants.contoso.auth.certificateFile: not used by method \"secret\""},
		{"bad method", strings.Replace(good, "method: secret", "method: password", 1), `tenants.contoso.auth.method: "password"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name+".yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cf, err := m365.LoadConfig(p)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				tc, err := cf.Tenant("contoso")
				if err != nil {
					t.Fatal(err)
				}
				ep, _ := tc.Endpoints()
				if ep.Graph != "https://graph.microsoft.us" || ep.SharePointAdmin != "https://contoso-admin.sharepoint.us" || ep.Scope(m365.AudienceExchange) != "https://outlook.office365.us/.default" {
					t.Errorf("endpoints %+v", ep)
				}
				if _, err := cf.Tenant("nope"); err == nil {
					t.Error("unknown tenant accepted")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), p) {
				t.Errorf("err %v, want one naming %s and %q", err, p, tt.err)
			}
		})
	}
}

// TestWritesNotRetried: a 5xx or a broken connection after a POST that
// writes may come after the service applied it, so it is not sent again;
// a POST that only reads ($batch of GETs) and a 429 (refused, not applied)
// are retried.
func TestWritesNotRetried(t *testing.T) {
	tests := []struct {
		name   string
		status int
		call   func(*m365.Client) error
		want   int
	}{
		{"graph POST 500", 500, func(c *m365.Client) error {
			return c.GraphWrite(context.Background(), http.MethodPost, m365.V1, "/groupSettings", map[string]any{"templateId": "x"}, nil)
		}, 1},
		{"graph POST 503", 503, func(c *m365.Client) error {
			return c.GraphWrite(context.Background(), http.MethodPost, m365.V1, "/groupSettings", map[string]any{"templateId": "x"}, nil)
		}, 1},
		{"graph POST 429", 429, func(c *m365.Client) error {
			return c.GraphWrite(context.Background(), http.MethodPost, m365.V1, "/groupSettings", map[string]any{"templateId": "x"}, nil)
		}, 3},
		{"exchange Set- 500", 500, func(c *m365.Client) error {
			return c.SetSharingPolicyDomains(context.Background(), "Default Sharing Policy", []string{"*:CalendarSharingFreeBusySimple"})
		}, 1},
		{"exchange Get- 500", 500, func(c *m365.Client) error {
			_, err := c.InvokeCommand(context.Background(), "Get-SharingPolicy", nil, nil)
			return err
		}, 3},
		{"PATCH 500", 500, func(c *m365.Client) error {
			return c.GraphWrite(context.Background(), http.MethodPatch, m365.V1, "/policies/authorizationPolicy", map[string]any{"allowInvitesFrom": "none"}, nil)
		}, 3},
		{"$batch of GETs 500", 500, func(c *m365.Client) error {
			r := c.BatchCollections(context.Background(), m365.V1, []m365.BatchRequest{{ID: "1", URL: "/users?$select=id"}})
			return r["1"].Err
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				w.WriteHeader(tt.status)
				fmt.Fprint(w, `{"error":{"code":"generalException","message":"boom"}}`)
			}))
			defer ts.Close()
			c, err := m365.New(m365.Options{TenantID: "9c5f0e8a-1111-4222-8333-944455556666", Endpoints: m365.Endpoints{Graph: ts.URL, SharePointAdmin: ts.URL, Exchange: ts.URL},
				Tokens: m365.StaticToken("t"), MaxRetries: 2, Sleep: func(context.Context, time.Duration) error { return nil }})
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.call(c); err == nil {
				t.Fatal("no error")
			}
			if calls != tt.want {
				t.Errorf("%d requests sent, want %d", calls, tt.want)
			}
		})
	}
}

// TestDebugLogsEveryRequest: at debug level every HTTP request is one line
// with method, full URL and query, status, RU, duration and retry count;
// the bearer token never appears.
func TestDebugLogsEveryRequest(t *testing.T) {
	srv, _ := fake(t, m365test.Options{PageSize: 1})
	srv.Faults.Add("GET /v1.0/groupSettings", m365test.Fault{Status: 503, Times: 1})
	var buf strings.Builder
	o := srv.ClientOptions()
	o.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.Sleep = func(context.Context, time.Duration) error { return nil }
	var tokens []string
	o.Tokens = tokenSpy{inner: o.Tokens, seen: &tokens}
	c, err := m365.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var v any
	if err := c.GraphGet(ctx, m365.V1, "/groupSettings", &v); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GraphPages(ctx, m365.V1, "/users?$select=id", nil, func([]json.RawMessage) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ProcessQuery(ctx, m365.TenantQueryXML([]string{"SharingCapability"})); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var reqLines []string
	for _, l := range lines {
		if strings.Contains(l, `msg="http request"`) {
			reqLines = append(reqLines, l)
		}
	}
	var sent int
	for _, n := range srv.Calls() {
		sent += n
	}
	if len(reqLines) != sent {
		t.Errorf("%d request lines for %d requests:\n%s", len(reqLines), sent, buf.String())
	}
	for _, want := range []string{
		`method=GET url=` + srv.URL() + `/v1.0/groupSettings status=503 ru=0 duration=`,
		`url=` + srv.URL() + `/v1.0/groupSettings status=200 ru=0 duration=`,
		`url="` + srv.URL() + `/v1.0/users?$select=id" status=200`,
		`url="` + srv.URL() + `/v1.0/users?%24select=id&%24skiptoken=1" status=200`,
		`method=POST url=` + srv.URL() + `/_vti_bin/client.svc/ProcessQuery status=200 ru=2`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "retry=1") || !strings.Contains(buf.String(), "retry=0") {
		t.Errorf("retry counts missing:\n%s", buf.String())
	}
	if len(tokens) == 0 {
		t.Fatal("no token handed out")
	}
	for _, tok := range tokens {
		if strings.Contains(buf.String(), tok) {
			t.Errorf("token %q appears in the log", tok)
		}
	}
}

type tokenSpy struct {
	inner m365.TokenProvider
	seen  *[]string
}

func (s tokenSpy) Token(ctx context.Context, scope string) (string, error) {
	tok, err := s.inner.Token(ctx, scope)
	*s.seen = append(*s.seen, tok)
	return tok, err
}

// TestTenantWriteXML: a CSOM Tenant write names the object read by its
// _ObjectIdentity_ (newline escaped in the attribute) and sends enums as
// Enum, as SharePoint's own clients do; plain integers stay Int32.
func TestTenantWriteXML(t *testing.T) {
	tenantBody, err := os.ReadFile(filepath.Join("testdata", "recorded", "csom-tenant", "set-tenant-properties-100-00002.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if strings.Contains(string(b), "<Query ") {
			w.Write(tenantBody)
			return
		}
		fmt.Fprint(w, `[{"SchemaVersion":"15.0.0.0","LibraryVersion":"16.0.22001.12005","ErrorInfo":null,"TraceCorrelationId":"x"}]`)
	}))
	defer ts.Close()
	c, err := m365.New(m365.Options{Endpoints: m365.Endpoints{Graph: ts.URL, SharePointAdmin: ts.URL, Exchange: ts.URL}, Tokens: m365.StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	const identity = `<Identity Id="1" Name="1dfc0ca0-306e-3000-7e8f-6ef60fbb1e9c|908bed80-a04a-4433-b4a0-883d9847d110:6492ece7-7f5d-4499-8130-50e761e25bd9&#xA;Tenant"/>`
	for _, tt := range []struct{ field, value, set string }{
		{"defaultLinkScope", `"organization"`, `<SetProperty Id="2" ObjectPathId="1" Name="DefaultSharingLinkType"><Parameter Type="Enum">2</Parameter></SetProperty>`},
		{"oneDriveSharingCapability", `"disabled"`, `<SetProperty Id="2" ObjectPathId="1" Name="ODBSharingCapability"><Parameter Type="Enum">0</Parameter></SetProperty>`},
		{"anyoneLinkExpirationDays", `30`, `<SetProperty Id="2" ObjectPathId="1" Name="RequireAnonymousLinksExpireInDays"><Parameter Type="Int32">30</Parameter></SetProperty>`},
		{"emailAttestationRequired", `true`, `<SetProperty Id="2" ObjectPathId="1" Name="EmailAttestationRequired"><Parameter Type="Boolean">true</Parameter></SetProperty>`},
	} {
		bodies = nil
		if err := c.SetSharePointSetting(context.Background(), tt.field, json.RawMessage(tt.value)); err != nil {
			t.Fatalf("%s: %v", tt.field, err)
		}
		if len(bodies) != 2 {
			t.Fatalf("%s: %d requests", tt.field, len(bodies))
		}
		want := `<Actions>` + tt.set + `</Actions><ObjectPaths>` + identity + `</ObjectPaths></Request>`
		if !strings.HasSuffix(bodies[1], want) || strings.Contains(bodies[1], "Constructor") {
			t.Errorf("%s: sent\n%s\nwant it to end with\n%s", tt.field, bodies[1], want)
		}
	}
}
