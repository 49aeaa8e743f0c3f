package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/config"
)

func TestDaemonBadConfigExits1(t *testing.T) {
	cases := []struct {
		name string
		body string
		want []string
	}{
		{"unknown key", "tenants:\n  acme:\n    fixture: x\n    baseline: recommended\n    schedul: \"@every 1m\"\n",
			[]string{"tenants.acme.schedul", `tenant "acme"`, "unknown key"}},
		{"bad cron", "tenants:\n  acme:\n    fixture: x\n    baseline: recommended\n    schedule: \"every day\"\n",
			[]string{"tenants.acme.schedule", `tenant "acme"`, "bad cron expression"}},
		{"missing secret", "tenants:\n  acme:\n    tenant_id: t\n    domain: acme\n    baseline: recommended\n    credentials: {method: client_secret, client_id: c, client_secret: env:SHAREDRIFT_TEST_NOT_SET}\n",
			[]string{"tenants.acme.credentials.client_secret", `tenant "acme"`, "SHAREDRIFT_TEST_NOT_SET is not set"}},
		{"no baseline", "defaults: {baseline: \"\"}\ntenants:\n  acme:\n    fixture: x\n",
			[]string{"tenants.acme.baseline", `tenant "acme"`, "missing"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "sharedrift.yaml")
			if err := os.WriteFile(p, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, stderr, code := cli(t, "daemon", "--config", p)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not name %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestDemoOnce: one cycle exits 0 and prints findings; a second run reuses
// the state directory, so the same drift is not new again.
func TestDemoOnce(t *testing.T) {
	state := filepath.Join(t.TempDir(), "demo")
	fixture := filepath.Join("..", "..", "testdata", "tenants", "fabrikam")
	out, stderr, code := cli(t, "demo", "--once", "--state-dir", state, "--fixture", fixture)
	if code != 0 {
		t.Fatalf("first run exit %d:\n%s\n%s", code, out, stderr)
	}
	summary := regexp.MustCompile(`Scan (\d+) of fabrikam: complete, \d+ API calls, \d+ changes; findings: (\d+) open, (\d+) new`)
	m := summary.FindStringSubmatch(out)
	if m == nil || m[1] != "1" || m[2] == "0" || m[2] != m[3] {
		t.Fatalf("first run summary: %q\n%s", m, out)
	}
	if !strings.Contains(out, "links.anyone_on_confidential") || !strings.Contains(out, "critical") {
		t.Errorf("findings table lacks the critical finding:\n%s", out)
	}
	// Routine progress stays out of the way of the summary by default.
	if strings.Contains(stderr, "level=INFO") {
		t.Errorf("demo logged at info level without --log-level:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(state, "sharedrift.db")); err != nil {
		t.Fatalf("state directory not left behind: %v", err)
	}
	out2, stderr, code := cli(t, "--log-level", "info", "demo", "--once", "--state-dir", state, "--fixture", fixture)
	if code != 0 {
		t.Fatalf("second run exit %d:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, `level=INFO msg="scan recorded"`) {
		t.Errorf("--log-level info did not bring back the scan log:\n%s", stderr)
	}
	m2 := summary.FindStringSubmatch(out2)
	if m2 == nil || m2[1] != "2" || m2[2] != m[2] || m2[3] != "0" {
		t.Fatalf("second run summary %q, want scan 2 with %s open and 0 new\n%s", m2, m[2], out2)
	}
	_, stderr, code = cli(t, "demo", "--once", "--state-dir", state, "--fixture", "no/such/dir")
	if code != 1 || !strings.Contains(stderr, "--fixture no/such/dir: fixture tenant not found") {
		t.Errorf("missing fixture: exit %d %s", code, stderr)
	}
}

// TestDaemonLogsWhatItsHelpSays: the daemon's help says JSON logs by
// default, and a configuration without log.format gets JSON.
func TestDaemonLogsWhatItsHelpSays(t *testing.T) {
	help, _, code := cli(t, "daemon", "--help")
	if code != 0 || !strings.Contains(help, "Logs go to stderr as JSON") || strings.Contains(help, `--log-format string   log format on stderr: text or json (default "text")`) {
		t.Fatalf("daemon help does not state JSON logs (exit %d):\n%s", code, help)
	}
	p := filepath.Join(t.TempDir(), "sharedrift.yaml")
	if err := os.WriteFile(p, []byte("tenants:\n  fabrikam:\n    fixture: builtin:fabrikam\n    baseline: recommended\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{File: p, RequireTenants: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	daemonLogger(cfg.Log, &buf).Info("started", "k", "v")
	if !json.Valid(buf.Bytes()) {
		t.Fatalf("default daemon log line is not JSON: %q", buf.String())
	}
}

// TestDaemonOnlyTenants: --tenant keeps the named configured tenants,
// whichever spelling names them, and a name that matches none stops the
// daemon listing what is configured.
func TestDaemonOnlyTenants(t *testing.T) {
	load := func() *config.Config {
		return &config.Config{Tenants: map[string]config.Tenant{
			"fabrikam": {Name: "fabrikam", Domain: "fabrikam", TenantID: "11111111-1111-1111-1111-111111111111"},
			"contoso":  {Name: "contoso", Domain: "contoso"},
			"tailspin": {Name: "tailspin"},
		}}
	}
	for _, tc := range []struct {
		only []string
		want []string
	}{
		{nil, []string{"contoso", "fabrikam", "tailspin"}},
		{[]string{"fabrikam.onmicrosoft.com"}, []string{"fabrikam"}},
		{[]string{"11111111-1111-1111-1111-111111111111", "CONTOSO"}, []string{"contoso", "fabrikam"}},
	} {
		cfg := load()
		if err := onlyTenants(cfg, tc.only); err != nil {
			t.Fatalf("%v: %v", tc.only, err)
		}
		if got := cfg.TenantNames(); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("--tenant %v kept %v, want %v", tc.only, got, tc.want)
		}
	}
	cfg := load()
	err := onlyTenants(cfg, []string{"northwind"})
	if err == nil || !strings.Contains(err.Error(), `"northwind"`) || !strings.Contains(err.Error(), "contoso, fabrikam, tailspin") {
		t.Errorf("unknown tenant: %v", err)
	}
	if len(cfg.Tenants) != 3 {
		t.Errorf("a refused --tenant changed the configuration: %v", cfg.TenantNames())
	}

	p := filepath.Join(t.TempDir(), "sharedrift.yaml")
	if err := os.WriteFile(p, []byte("tenants:\n  acme:\n    fixture: builtin:fabrikam\n    baseline: recommended\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := cli(t, "daemon", "--config", p, "--tenant", "northwind", "--state-dir", t.TempDir())
	if code != 1 || !strings.Contains(stderr, `--tenant "northwind": not in the configuration (tenants: acme)`) {
		t.Errorf("daemon --tenant northwind: exit %d\n%s", code, stderr)
	}
}
