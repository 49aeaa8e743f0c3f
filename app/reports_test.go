package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/notify/slack/slackfake"
)

func reportConfig(t *testing.T, slackURL string) *config.Config {
	t.Helper()
	fixture, err := filepath.Abs(filepath.Join("..", "testdata", "tenants", "fabrikam"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLACK_REPORT_TOKEN", "xoxb-report-token")
	cfg, err := config.Load(config.Options{
		Env: []string{"READ_TOK=read-token-0123456789", "ADMIN_TOK=admin-token-0123456789"},
		Overrides: map[string]any{
			"store.state_dir": t.TempDir(),
			"http.listen":     "",
			"http.tokens": []any{
				map[string]any{"name": "r", "scope": "read", "secret": "env:READ_TOK"},
				map[string]any{"name": "a", "scope": "admin", "secret": "env:ADMIN_TOK"},
			},
			"scheduler.startup_scan": true,
			"notify.destinations": []any{map[string]any{"name": "reviews", "type": "slack",
				"slack": map[string]any{"token": "env:SLACK_REPORT_TOKEN", "channel": "C0REVIEWS", "api_url": slackURL}}},
			"tenants.fabrikam.fixture":  fixture,
			"tenants.fabrikam.baseline": "recommended",
			"tenants.fabrikam.schedule": "@every 1h",
			"tenants.fabrikam.report": map[string]any{"schedule": "@every 1s", "format": "markdown", "since": "7d",
				"destinations": []any{"reviews"}},
		},
		RequireTenants: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestReportEndpoint: GET /reports/{tenant} needs a read token, answers
// 404 before the first scan and serves the latest report in each format.
func TestReportEndpoint(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	ctx := context.Background()
	svc, err := Open(ctx, reportConfig(t, fake.APIURL()), ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	srv := httptest.NewServer(svc.Handler)
	defer srv.Close()
	get := func(path, token string) (int, string, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	const read = "read-token-0123456789"

	if code, _, body := get("/reports/fabrikam", read); code != 404 || !strings.Contains(body, "no scan") {
		t.Errorf("before the first scan: %d %s", code, body)
	}
	if _, err := svc.Daemon.ScanNow(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, token string
		code              int
		ctype, body       string
	}{
		{"no token", "/reports/fabrikam", "", 401, "application/json", `"unauthorized"`},
		{"wrong token", "/reports/fabrikam", "not-a-token-at-all", 401, "application/json", `"unauthorized"`},
		{"unknown tenant", "/reports/contoso", read, 404, "application/json", "unknown tenant"},
		{"csv is not one file", "/reports/fabrikam?format=csv", read, 400, "application/json", "expected html, markdown or json"},
		{"unknown parameter", "/reports/fabrikam?since=1d", read, 400, "application/json", "format="},
		{"tenant default format", "/reports/fabrikam", read, 200, "text/markdown", "fabrikam"},
		{"html", "/reports/fabrikam?format=html", read, 200, "text/html", "<html"},
		{"admin token reads too", "/reports/fabrikam?format=markdown", "admin-token-0123456789", 200, "text/markdown", "#"},
		{"json", "/reports/fabrikam?format=json", read, 200, "application/json", `"sharedrift.report/v1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, ctype, body := get(tc.path, tc.token)
			if code != tc.code || !strings.HasPrefix(ctype, tc.ctype) || !strings.Contains(body, tc.body) {
				t.Errorf("%s: %d %s, want %d %s containing %q; body starts %.200s", tc.path, code, ctype, tc.code, tc.ctype, tc.body, body)
			}
			if code == 200 && strings.HasPrefix(ctype, "application/json") && !json.Valid([]byte(body)) {
				t.Errorf("%s: invalid JSON", tc.path)
			}
		})
	}
}

// TestScheduledReportToSlack: the daemon delivers the tenant's scheduled
// report to the local Slack server as a file upload.
func TestScheduledReportToSlack(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	svc, err := Open(context.Background(), reportConfig(t, fake.APIURL()), ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	stop := serve(t, svc)
	deadline := time.Now().Add(15 * time.Second)
	for len(fake.Files()) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	files := fake.Files()
	if len(files) == 0 {
		t.Fatalf("no report uploaded within 15s; requests: %+v", fake.Requests())
	}
	f := files[0]
	if f.Channel != "C0REVIEWS" || !strings.HasPrefix(f.Name, "sharedrift-fabrikam-") || !strings.HasSuffix(f.Name, ".md") {
		t.Errorf("uploaded %q to %s", f.Name, f.Channel)
	}
	if !strings.Contains(string(f.Content), "fabrikam") || !strings.Contains(f.Comment, "last 7 days") {
		t.Errorf("upload content %.200q, comment %q", f.Content, f.Comment)
	}
	if len(fake.Calls("files.getUploadURLExternal")) == 0 || len(fake.Calls("files.completeUploadExternal")) == 0 {
		t.Error("upload did not go through files.getUploadURLExternal and files.completeUploadExternal")
	}
}

// TestReportDestinationErrors: a report sent where files cannot go fails
// at start naming the tenant and the destination.
func TestReportDestinationErrors(t *testing.T) {
	fixture, _ := filepath.Abs(filepath.Join("..", "testdata", "tenants", "fabrikam"))
	_, err := config.Load(config.Options{
		Env: []string{"HOOK=0123456789abcdef0123"},
		Overrides: map[string]any{
			"store.state_dir": t.TempDir(),
			"notify.destinations": []any{map[string]any{"name": "soc", "type": "webhook",
				"webhook": map[string]any{"url": "https://soc.example.org/hook", "secret": "env:HOOK"}}},
			"tenants.fabrikam.fixture":  fixture,
			"tenants.fabrikam.baseline": "recommended",
			"tenants.fabrikam.report":   map[string]any{"schedule": "@weekly", "destinations": []any{"soc"}},
		},
		RequireTenants: true,
	})
	if err == nil || !strings.Contains(err.Error(), "tenants.fabrikam.report.destinations[0]") || !strings.Contains(err.Error(), "slack or email") {
		t.Fatalf("got %v", err)
	}
}
