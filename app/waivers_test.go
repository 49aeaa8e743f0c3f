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

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/store"
)

// TestWaiverAPI acknowledges, snoozes and accepts findings through the
// daemon's API: admin tokens only, strict bodies, the accepted value kept
// and applied by the next scan.
func TestWaiverAPI(t *testing.T) {
	fixture, _ := filepath.Abs(filepath.Join("..", "testdata", "tenants", "fabrikam"))
	cfg, err := config.Load(config.Options{
		Env: []string{"RTOK=read-token-0123456789", "ATOK=admin-token-0123456789"},
		Overrides: map[string]any{
			"store.state_dir": t.TempDir(),
			"http.tokens": []any{map[string]any{"name": "r", "scope": "read", "secret": "env:RTOK"},
				map[string]any{"name": "a", "scope": "admin", "secret": "env:ATOK"}},
			"tenants.fabrikam.fixture":  fixture,
			"tenants.fabrikam.baseline": "recommended",
			"tenants.fabrikam.schedule": "@every 1h",
		},
		RequireTenants: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc, err := Open(ctx, cfg, ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.Daemon.ScanNow(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	fs, err := svc.Store.FindingsList(ctx, store.FindingFilter{Tenant: "fabrikam", RuleID: "links.anyone_link_expiry"})
	if err != nil || len(fs) == 0 {
		t.Fatalf("no finding to waive: %v", err)
	}
	fp := fs[0].Fingerprint
	srv := httptest.NewServer(svc.Handler)
	defer srv.Close()
	post := func(token, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/tenants/fabrikam/findings/"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const admin, read = "admin-token-0123456789", "read-token-0123456789"
	for _, c := range []struct {
		token, path, body string
		code              int
	}{
		{read, fp + "/accept", `{"reason":"r","owner":"o","until":"2099-01-01T00:00:00Z"}`, http.StatusForbidden},
		{admin, fp + "/accept", `{"reason":"r","owner":"o"}`, http.StatusBadRequest},
		{admin, fp + "/accept", `{"owner":"o","until":"2099-01-01T00:00:00Z"}`, http.StatusBadRequest},
		{admin, fp + "/accept", `{"reason":"r","owner":"o","until":"2099-01-01T00:00:00Z","value":"x"}`, http.StatusBadRequest},
		{admin, fp + "/ack", `{"reason":"r","owner":"o"}`, http.StatusBadRequest},
		{admin, "ffffffffffffffff/ack", `{}`, http.StatusNotFound},
	} {
		if code, body := post(c.token, c.path, c.body); code != c.code {
			t.Errorf("POST %s %s: %d %s, want %d", c.path, c.body, code, body, c.code)
		}
	}
	code, body := post(admin, fp+"/snooze", `{"by":"bob","reason":"after the audit","until":"2099-01-01T00:00:00Z"}`)
	var f store.Finding
	if code != 200 || json.Unmarshal([]byte(body), &f) != nil || f.SnoozeReason != "after the audit" || f.SnoozedBy != "api:bob" {
		t.Fatalf("snooze: %d %s", code, body)
	}
	code, body = post(admin, fp[:10]+"/accept", `{"by":"alice","reason":"vendor shortlist","owner":"comms","until":"2099-01-01T00:00:00Z"}`)
	if code != 200 || json.Unmarshal([]byte(body), &f) != nil || f.Accepted == nil || f.Accepted.Value != fs[0].Actual || f.Accepted.By != "api:alice" {
		t.Fatalf("accept: %d %s", code, body)
	}
	// The next scan applies it: same value, so the finding passes.
	if _, err := svc.Daemon.ScanNow(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	if f, err = svc.Store.Finding(ctx, "fabrikam", fp); err != nil || f.State != store.FindingResolved {
		t.Errorf("accepted finding after the next scan: %s %v", f.State, err)
	}
}
