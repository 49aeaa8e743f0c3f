package m365_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
