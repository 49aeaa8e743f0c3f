package app

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/store"
)

// TestNotificationsPlannedAfterRestart: a scan committed by a process that
// died before planning its notifications is planned when the daemon starts
// again, delivered once, and planning it again enqueues nothing.
func TestNotificationsPlannedAfterRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fixture, _ := filepath.Abs(filepath.Join("..", "testdata", "tenants", "fabrikam"))
	load := func(withNotify bool) *config.Config {
		ov := map[string]any{
			"store.state_dir":           dir,
			"http.listen":               "",
			"scheduler.startup_scan":    false,
			"tenants.fabrikam.fixture":  fixture,
			"tenants.fabrikam.baseline": "recommended",
			"tenants.fabrikam.schedule": "@every 1h",
		}
		if withNotify {
			ov["notify.destinations"] = []any{map[string]any{"name": "soc", "type": "webhook",
				"webhook": map[string]any{"url": "http://127.0.0.1:1/unused", "secret": "env:HOOK_SECRET"}}}
			ov["notify.delivery"] = map[string]any{"poll_interval": "100ms"}
			ov["tenants.fabrikam.notify"] = map[string]any{"routes": []any{map[string]any{"destination": "soc", "min_severity": "critical"}}}
		}
		cfg, err := config.Load(config.Options{Overrides: ov, RequireTenants: true})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	t.Setenv("HOOK_SECRET", "0123456789abcdef0123")

	// The scan commits, but nothing plans its notifications: what a crash
	// right after the commit leaves behind.
	crashed, err := Open(ctx, load(false), ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crashed.Daemon.ScanNow(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	crashed.Close()

	hook, got := recordingHook(t)
	cfg := load(true)
	cfg.Notify.Destinations[0].Webhook.URL = hook.URL
	svc, err := Open(ctx, cfg, ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if msgs, err := svc.Store.OutboxMessages(ctx, store.OutboxFilter{}); err != nil || len(msgs) != 0 {
		t.Fatalf("outbox before start-up: %d messages, %v", len(msgs), err)
	}
	stop := serve(t, svc)
	waitCritical(t, got, "the unplanned scan's notification")
	stop()

	// Planning again, at start-up or after a later scan, adds nothing.
	for _, name := range []string{"start-up", "after a scan"} {
		limit := replanAtStartup
		if name == "after a scan" {
			limit = replanPerScan
		}
		n, err := svc.replan(ctx, "fabrikam", 0, limit)
		if err != nil || n != 0 {
			t.Errorf("re-plan %s: enqueued %d, %v; want 0", name, n, err)
		}
	}
	msgs, err := svc.Store.OutboxMessages(ctx, store.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Errorf("outbox holds %d messages, want the one critical finding", len(msgs))
	}
	select {
	case body := <-got:
		t.Errorf("a second delivery: %s", body)
	default:
	}
}
