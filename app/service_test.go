package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon"
)

func fabrikamConfig(t *testing.T, stateDir string) *config.Config {
	t.Helper()
	fixture, err := filepath.Abs(filepath.Join("..", "testdata", "tenants", "fabrikam"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{
		Env: []string{"TOK=read-token-0123456789"},
		Overrides: map[string]any{
			"store.state_dir":           stateDir,
			"http.tokens":               []any{map[string]any{"name": "r", "scope": "read", "secret": "env:TOK"}},
			"tenants.fabrikam.fixture":  fixture,
			"tenants.fabrikam.baseline": "recommended",
			"tenants.fabrikam.schedule": "@every 1h",
		},
		RequireTenants: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestServiceOnSQLite scans the fabrikam fake tenant into the embedded
// store, reads it back through the API, and reuses the state directory.
func TestServiceOnSQLite(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	svc, err := Open(ctx, fabrikamConfig(t, dir), ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Daemon.ScanNow(ctx, "fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "complete" || res.Fails == 0 || res.Calls == 0 {
		t.Fatalf("first scan: %+v", res)
	}

	// A second daemon on the same state directory is refused.
	if _, err := Open(ctx, fabrikamConfig(t, dir), ServiceOptions{OpenFixture: openFixture}); !errors.Is(err, daemon.ErrLocked) {
		t.Fatalf("second daemon on one state dir: %v", err)
	}

	srv := httptest.NewServer(svc.Handler)
	defer srv.Close()
	get := func(path string) (int, []byte) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer read-token-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}

	// Page through every active finding, 7 at a time.
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 50 {
			t.Fatal("pagination does not end")
		}
		path := "/api/v1/tenants/fabrikam/findings?limit=7"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		code, body := get(path)
		if code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		var p struct {
			Items []struct {
				Fingerprint string `json:"fingerprint"`
				ObjectKey   string `json:"objectKey"`
				ObjectURL   string `json:"objectUrl"`
			} `json:"items"`
			NextCursor string `json:"nextCursor"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			if seen[it.Fingerprint] {
				t.Fatalf("finding %s on two pages", it.Fingerprint)
			}
			seen[it.Fingerprint] = true
			if !strings.HasPrefix(it.ObjectURL, "https://") {
				t.Errorf("API finding on %s has no object URL (%q)", it.ObjectKey, it.ObjectURL)
			}
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != res.Fails {
		t.Errorf("paged %d findings, scan reported %d fails", len(seen), res.Fails)
	}

	if code, body := get("/api/v1/tenants/fabrikam/scans"); code != 200 || !strings.Contains(string(body), `"status": "complete"`) {
		t.Errorf("scans: %d %s", code, body)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("readyz %d", code)
	}
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("metrics %d", code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, m := range fams["sharedrift_findings"].GetMetric() {
		total += m.GetGauge().GetValue()
	}
	if int(total) != res.Fails {
		t.Errorf("sharedrift_findings sums to %v, want %d", total, res.Fails)
	}
	svc.Close()

	// The state directory is reused: the same drift is not new again.
	svc2, err := Open(ctx, fabrikamConfig(t, dir), ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	defer svc2.Close()
	res2, err := svc2.Daemon.ScanNow(ctx, "fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := svc2.Store.Scan(ctx, res2.ScanID)
	if err != nil {
		t.Fatal(err)
	}
	if sc.ID <= res.ScanID || sc.FindingsNew != 0 || int(sc.FindingsOpen) != res.Fails {
		t.Errorf("second run: scan %d new=%d open=%d, want open=%d and nothing new", sc.ID, sc.FindingsNew, sc.FindingsOpen, res.Fails)
	}
}

func TestOpenErrorsNameTenant(t *testing.T) {
	cfg := fabrikamConfig(t, t.TempDir())
	tc := cfg.Tenants["fabrikam"]
	tc.Baseline = "no-such-baseline"
	cfg.Tenants["fabrikam"] = tc
	_, err := Open(context.Background(), cfg, ServiceOptions{OpenFixture: openFixture})
	if err == nil || !strings.Contains(err.Error(), "tenants.fabrikam.baseline") || !strings.Contains(err.Error(), `tenant "fabrikam"`) {
		t.Fatalf("got %v", err)
	}
}

// TestNotificationsFlow: a scan's critical finding reaches a webhook
// destination through the outbox worker the service runs.
func TestNotificationsFlow(t *testing.T) {
	hook, got := recordingHook(t)
	fixture, _ := filepath.Abs(filepath.Join("..", "testdata", "tenants", "fabrikam"))
	t.Setenv("HOOK_SECRET", "0123456789abcdef0123")
	cfg, err := config.Load(config.Options{
		Overrides: map[string]any{
			"store.state_dir":        t.TempDir(),
			"http.listen":            "",
			"scheduler.startup_scan": true,
			"notify.destinations": []any{map[string]any{"name": "soc", "type": "webhook",
				"webhook": map[string]any{"url": hook.URL, "secret": "env:HOOK_SECRET"}}},
			"notify.delivery":           map[string]any{"poll_interval": "100ms"},
			"tenants.fabrikam.fixture":  fixture,
			"tenants.fabrikam.baseline": "recommended",
			"tenants.fabrikam.schedule": "@every 1h",
			"tenants.fabrikam.notify":   map[string]any{"routes": []any{map[string]any{"destination": "soc", "min_severity": "critical"}}},
		},
		RequireTenants: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := Open(context.Background(), cfg, ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	stop := serve(t, svc)
	waitCritical(t, got, "the webhook notification")
	stop()
	select {
	case body := <-got:
		t.Errorf("a second notification for one critical finding: %s", body)
	default:
	}
}

// recordingHook is a webhook destination that passes each request body on.
func recordingHook(t *testing.T) (*httptest.Server, <-chan string) {
	t.Helper()
	got := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	t.Cleanup(hook.Close)
	return hook, got
}

// serve runs svc.Serve in the background; stop cancels it and fails the
// test when Serve ended with an error.
func serve(t *testing.T, svc *Service) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, nil) }()
	return func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// waitCritical waits up to 10s for a delivered body and checks that it
// names fabrikam's critical rule.
func waitCritical(t *testing.T, got <-chan string, what string) {
	t.Helper()
	select {
	case body := <-got:
		if !strings.Contains(body, "links.anyone_on_confidential") {
			t.Errorf("%s does not name the critical rule: %s", what, body)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s was not delivered within 10s", what)
	}
}
