package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/config/notifyconf"
)

// fullEnv supplies every secret testdata/full.yaml refers to.
var fullEnv = []string{
	"SHAREDRIFT_DSN=postgres://sharedrift:pw@db/sharedrift",
	"SHAREDRIFT_READ_TOKEN=read-token-value",
	"SLACK_BOT_TOKEN=xoxb-1",
	"SLACK_SIGNING_SECRET=signing",
	"SOC_WEBHOOK_KEY=hmac-key-of-32-characters-123456",
	"SMTP_PASSWORD=smtp-pw",
	"FABRIKAM_CLIENT_SECRET=fab-secret",
}

// setenv exports env for code that reads the process environment itself
// (notification secrets are resolved by the notify package).
func setenv(t *testing.T, env []string) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func TestLoadFull(t *testing.T) {
	setenv(t, fullEnv)
	cfg, err := Load(Options{File: "testdata/full.yaml", Env: fullEnv, RequireTenants: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.TenantNames(); strings.Join(got, ",") != "contoso,fabrikam" {
		t.Fatalf("tenants = %v", got)
	}
	c, f := cfg.Tenants["contoso"], cfg.Tenants["fabrikam"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"contoso name", c.Name, "contoso"},
		{"contoso schedule", c.Schedule, "0 */4 * * *"},
		{"fabrikam schedule from defaults", f.Schedule, "@every 6h"},
		{"fabrikam baseline from defaults", f.Baseline, "recommended"},
		{"fabrikam cloud default", f.Cloud, "global"},
		{"contoso mode", c.Remediation.ModeFor("sites.sharing-level"), ModeApprove},
		{"contoso rule mode", c.Remediation.ModeFor("links.anyone-no-expiry"), ModeAuto},
		{"contoso max changes from defaults", c.Remediation.MaxChanges, 20},
		{"fabrikam mode from defaults", f.Remediation.ModeFor("x"), ModeDryRun},
		{"report since", c.Report.Since.D(), 30 * 24 * time.Hour},
		{"retention", cfg.Store.Retention.D(), 90 * 24 * time.Hour},
		{"jitter", cfg.Scheduler.Jitter.D(), 45 * time.Second},
		{"startup scan", cfg.Scheduler.StartupScan, false},
		{"max concurrent", cfg.Scheduler.MaxConcurrent, 8},
		{"dsn", cfg.Store.DSN.Value().Reveal(), "postgres://sharedrift:pw@db/sharedrift"},
		{"admin token from file, newline trimmed", cfg.HTTP.Tokens[1].Secret.Value().Reveal(), "admin-token-value"},
		{"fabrikam secret", f.Credentials.ClientSecret.Value().Reveal(), "fab-secret"},
		{"cert path relative to config file", c.Credentials.Certificate.File, filepath.Join("testdata", "contoso.pem")},
		{"email to", cfg.Notify.Destinations[2].Email.To[0], "security@example.org"},
		{"delivery max age", cfg.Notify.Delivery.MaxAge, 72 * time.Hour},
		{"global route kept first", cfg.Notify.Routes[0].Destination, "sec-slack"},
		{"tenant route appended", cfg.Notify.Routes[1].Tenants[0], "contoso"},
		{"tenant routes", len(cfg.Notify.Routes), 3},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

// writeConfig writes body to a temp file and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sharedrift.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const minimal = `
tenants:
  acme:
    fixture: fixtures/acme
    baseline: recommended
    schedule: "@every 5m"
`

func TestBadInput(t *testing.T) {
	cases := []struct {
		name string
		body string
		env  []string
		// want lists substrings the error must contain (key, tenant, reason).
		want []string
	}{
		{"unknown top-level key", "colour: blue\n" + minimal, nil,
			[]string{"colour: unknown key", "valid: log, store"}},
		{"unknown tenant key", minimal + "    schedul: \"@every 1m\"\n", nil,
			[]string{"tenants.acme.schedul", `tenant "acme"`, "unknown key"}},
		{"unknown nested key", minimal + "    credentials:\n      secret: {env: X}\n", nil,
			[]string{"tenants.acme.credentials.secret", `tenant "acme"`, "unknown key"}},
		{"trusted header without proxies or users", "http:\n  console:\n    trusted_header:\n      enabled: true\n" + minimal, nil,
			[]string{"http.console.trusted_header.proxies: required when enabled", "http.console.trusted_header.users: required when enabled"}},
		{"trusted header bad entries", "http:\n  console:\n    trusted_header:\n      enabled: true\n      header: Authorization\n      proxies: [10.0.0.1]\n      users:\n        - {name: alice@example.com, scope: owner}\n        - {name: Alice@example.com, scope: read}\n" + minimal, nil,
			[]string{"http.console.trusted_header.header", "http.console.trusted_header.proxies[0]: want a CIDR", `http.console.trusted_header.users[0].scope`, `users[1].name: duplicate user`}},
		{"session ttl too short", "http:\n  console:\n    session_ttl: 10s\n" + minimal, nil,
			[]string{"http.console.session_ttl", "want between 1m and 7d"}},
		{"duration as number", "scheduler:\n  scan_timeout: 30\n" + minimal, nil,
			[]string{"scheduler.scan_timeout", "want a duration string", "number 30"}},
		{"bool as string", "scheduler:\n  startup_scan: \"yes\"\n" + minimal, nil,
			[]string{"scheduler.startup_scan", "want true or false", `string "yes"`}},
		{"int as string", "scheduler:\n  max_concurrent: \"4\"\n" + minimal, nil,
			[]string{"scheduler.max_concurrent", "want an integer"}},
		{"string as list", minimal + "    report:\n      destinations: mail\n", nil,
			[]string{"tenants.acme.report.destinations", "want a list"}},
		{"bad cron", strings.Replace(minimal, "@every 5m", "61 * * * *", 1), nil,
			[]string{"tenants.acme.schedule", `tenant "acme"`, "bad cron expression \"61 * * * *\""}},
		{"bad every", strings.Replace(minimal, "@every 5m", "@every soon", 1), nil,
			[]string{"tenants.acme.schedule", "bad schedule"}},
		{"bad full scan period", minimal + "    full_scan_every: daily\n", nil,
			[]string{"tenants.acme.full_scan_every", `invalid duration "daily"`}},
		{"negative max plans", minimal + "    remediation:\n      max_plans: -5\n", nil,
			[]string{"tenants.acme.remediation.max_plans", `tenant "acme"`, "must not be negative"}},
		{"negative site properties pages", minimal + "    site_properties_pages: -1\n", nil,
			[]string{"tenants.acme.site_properties_pages", `tenant "acme"`, "must not be negative"}},
		{"negative default site properties pages", "defaults:\n  site_properties_pages: -2\n" + minimal, nil,
			[]string{"defaults.site_properties_pages", "must not be negative"}},
		{"site properties pages as string", minimal + "    site_properties_pages: all\n", nil,
			[]string{"tenants.acme.site_properties_pages", `tenant "acme"`, "want an integer"}},
		{"missing baseline", strings.Replace(minimal, "    baseline: recommended\n", "", 1), nil,
			[]string{"tenants.acme.baseline", `tenant "acme"`, "missing"}},
		{"missing secret env", `
tenants:
  acme:
    tenant_id: t
    domain: acme
    baseline: recommended
    credentials:
      method: client_secret
      client_id: c
      client_secret: {env: ACME_SECRET}
`, nil, []string{"tenants.acme.credentials.client_secret", `tenant "acme"`, "ACME_SECRET is not set"}},
		{"missing secret file", `
http:
  tokens:
    - {name: ops, scope: admin, secret: {file: /nonexistent/token}}
` + minimal, nil, []string{"http.tokens[0].secret", "missing secret", "/nonexistent/token"}},
		{"inline secret", minimal + "    credentials:\n      client_secret: hunter2\n", nil,
			[]string{"tenants.acme.credentials.client_secret", "references, not values"}},
		{"duration for notify", "notify:\n  delivery:\n    max_age: 3\n" + minimal, nil,
			[]string{"notify.delivery.max_age", "want a duration string"}},
		{"live tenant without credentials", `
tenants:
  acme:
    baseline: recommended
`, nil, []string{"tenants.acme.tenant_id", "tenants.acme.domain", "tenants.acme.credentials.method"}},
		{"unknown destination", minimal + "    notify:\n      routes:\n        - destination: nowhere\n", nil,
			[]string{"notify", `destination "nowhere"`, "no destination with that name"}},
		{"tenants in a tenant route", minimal + "    notify:\n      routes:\n        - {destination: x, tenants: [b]}\n", nil,
			[]string{"tenants.acme.notify.routes[0].tenants", "not allowed"}},
		{"inline notify secret", "notify:\n  destinations:\n    - {name: s, type: slack, slack: {token: xoxb-inline, channel: C0123456}}\n" + minimal, nil,
			[]string{"notify.destinations[0].slack.token", "references, not values"}},
		{"unknown notify key", "notify:\n  destinations:\n    - {name: s, type: slack, slak: {}}\n" + minimal, nil,
			[]string{"notify.destinations[0].slak", "unknown key"}},
		{"bad remediation mode", minimal + "    remediation:\n      mode: yolo\n", nil,
			[]string{"tenants.acme.remediation.mode", `"yolo" is not one of off, notify, dry-run, approve, auto`}},
		{"bad rule mode", minimal + "    remediation:\n      rules:\n        r1: sometimes\n", nil,
			[]string{"tenants.acme.remediation.rules.r1", "sometimes"}},
		{"bad section", minimal + "    notify:\n      routes:\n        - {destination: x, sections: [mail]}\nnotify:\n  destinations:\n    - {name: x, type: teams, teams: {url: env:U}}\n", []string{"U=http://x"},
			[]string{"notify", `sections[0]: "mail"`}},
		{"bad tenant name", "tenants:\n  Acme.Corp:\n    baseline: recommended\n", nil,
			[]string{"tenants.Acme.Corp", "invalid name"}},
		{"no tenants", "log:\n  level: info\n", nil, []string{"tenants: no tenants configured"}},
		{"slack secret missing", "notify:\n  destinations:\n    - {name: s, type: slack, slack: {token: env:SHAREDRIFT_TEST_UNSET_TOKEN, channel: C0123456}}\n" + minimal, nil,
			[]string{`destination "s"`, "SHAREDRIFT_TEST_UNSET_TOKEN"}},
		{"bad short secret ref", minimal + "    credentials:\n      client_secret: vault:x\n", nil,
			[]string{"tenants.acme.credentials.client_secret", "env:VAR or file:PATH"}},
		{"bad yaml", "tenants: [\n", nil, []string{"invalid YAML"}},
		{"unknown env key", minimal, []string{"SHAREDRIFT_HTTP__LISTN=:1"},
			[]string{"environment SHAREDRIFT_HTTP__LISTN", "http.listn", "unknown key"}},
		{"bad env bool", minimal, []string{"SHAREDRIFT_SCHEDULER__STARTUP_SCAN=maybe"},
			[]string{"environment SHAREDRIFT_SCHEDULER__STARTUP_SCAN", "want true or false"}},
		{"bad env cron for tenant", minimal, []string{"SHAREDRIFT_TENANTS__ACME__SCHEDULE=* * *"},
			[]string{"tenants.acme.schedule", `tenant "acme"`, "bad cron expression"}},
		{"duplicate token value", `
http:
  tokens:
    - {name: a, scope: read, secret: {env: TOK}}
    - {name: b, scope: admin, secret: {env: TOK}}
` + minimal, []string{"TOK=same"}, []string{"http.tokens[1].secret", `same token value as "a"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(Options{File: writeConfig(t, tc.body), Env: tc.env, RequireTenants: true})
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	body := `
tenants:
  a:
    schedule: "bad"
    fixture: x
  b:
    fixture: y
    baseline: recommended
    schedule: "@every 1m"
    remediation: {mode: nope}
`
	_, err := Load(Options{File: writeConfig(t, body)})
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *Error, got %v", err)
	}
	var got []string
	for _, p := range ce.Problems {
		got = append(got, p.Tenant+" "+p.Key)
	}
	want := []string{"a tenants.a.schedule", "a tenants.a.baseline", "b tenants.b.remediation.mode"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("problems = %q, want %q", got, want)
	}
}

func TestLayering(t *testing.T) {
	body := minimal + `
http:
  listen: 127.0.0.1:8080
scheduler:
  jitter: 10s
  startup_scan: true
`
	env := []string{
		"SHAREDRIFT_HTTP__LISTEN=0.0.0.0:9000",
		"SHAREDRIFT_SCHEDULER__STARTUP_SCAN=false",
		"SHAREDRIFT_SCHEDULER__MAX_CONCURRENT=3",
		"SHAREDRIFT_TENANTS__ACME__SCHEDULE=*/10 * * * *",
		"SHAREDRIFT_TENANTS__ACME__NOTIFY__ROUTES=ignored", // lists of mappings are file-only
	}
	_, err := Load(Options{File: writeConfig(t, body), Env: env})
	if err == nil || !strings.Contains(err.Error(), "tenants.acme.notify.routes") {
		t.Fatalf("want an error for a list of mappings from the environment, got %v", err)
	}
	env = env[:4]
	env = append(env, "SHAREDRIFT_API_TOKEN=not-config", "SHAREDRIFT_TEST_POSTGRES_DSN=also-not",
		"SHAREDRIFT_STORE__DSN=env:PGDSN", "PGDSN=postgres://db/sharedrift")
	cfg, err := Load(Options{
		File:      writeConfig(t, body),
		Env:       env,
		Overrides: map[string]any{"http.listen": "127.0.0.1:7000", "scheduler.jitter": "1s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"flag beats env", cfg.HTTP.Listen, "127.0.0.1:7000"},
		{"flag beats file", cfg.Scheduler.Jitter.D(), time.Second},
		{"env beats file", cfg.Scheduler.StartupScan, false},
		{"env int", cfg.Scheduler.MaxConcurrent, 3},
		{"env into tenant", cfg.Tenants["acme"].Schedule, "*/10 * * * *"},
		{"env secret reference", cfg.Store.DSN.Value().Reveal(), "postgres://db/sharedrift"},
		{"file kept", cfg.Tenants["acme"].Baseline, "recommended"},
		{"fixture relative to file", filepath.Base(cfg.Tenants["acme"].Fixture), "acme"},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
	if _, err := Load(Options{File: writeConfig(t, minimal), Overrides: map[string]any{"http.nope": "x"}}); err == nil || !strings.Contains(err.Error(), "http.nope") {
		t.Fatalf("unknown override key: got %v", err)
	}
}

func TestSecretsRedacted(t *testing.T) {
	setenv(t, fullEnv)
	cfg, err := Load(Options{File: "testdata/full.yaml", Env: fullEnv})
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("cfg", "cfg", cfg, "secret", cfg.Tenants["fabrikam"].Credentials.ClientSecret.Value())
	js, _ := json.Marshal(cfg)
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", cfg),
		"%+v":  fmt.Sprintf("%+v", cfg),
		"%#v":  fmt.Sprintf("%#v", cfg),
		"json": string(js),
		"slog": logBuf.String(),
	}
	for name, out := range outputs {
		for _, secret := range []string{"fab-secret", "admin-token-value", "xoxb-1", "smtp-pw", ":pw@db"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output leaks %q", name, secret)
			}
		}
	}
}

func TestEveryScheduleAligned(t *testing.T) {
	s, err := ParseSchedule("@every 10s")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Unix(1_700_000_003, 500)
	cases := []struct {
		in, want time.Time
	}{
		{base, time.Unix(1_700_000_010, 0)},
		{time.Unix(1_700_000_010, 0), time.Unix(1_700_000_020, 0)},
		{time.Unix(1_700_000_019, 999), time.Unix(1_700_000_020, 0)},
	}
	for _, tc := range cases {
		if got := s.Next(tc.in); !got.Equal(tc.want) {
			t.Errorf("Next(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, expr := range []string{"@hourly", "*/5 * * * *", "CRON_TZ=Europe/Paris 0 7 * * 1"} {
		if _, err := ParseSchedule(expr); err != nil {
			t.Errorf("%s: %v", expr, err)
		}
	}
}

// TestFullScanEvery: a tenant's full-read period comes from the tenant,
// else from defaults, else 24 hours.
func TestFullScanEvery(t *testing.T) {
	for _, tt := range []struct {
		name, defaults, tenant string
		want                   time.Duration
	}{
		{"default", "", "", DefaultFullScanEvery},
		{"from defaults", "defaults:\n  full_scan_every: 12h\n", "", 12 * time.Hour},
		{"tenant's own", "defaults:\n  full_scan_every: 12h\n", "    full_scan_every: 7d\n", 7 * 24 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(Options{File: writeConfig(t, tt.defaults+minimal+tt.tenant)})
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Tenants["acme"].FullScanEvery.D(); got != tt.want {
				t.Errorf("full_scan_every = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestSitePropertiesEvery: every scan unless the tenant or defaults space
// the reads of every site's properties.
func TestSitePropertiesEvery(t *testing.T) {
	for _, tt := range []struct {
		name, defaults, tenant string
		want                   time.Duration
	}{
		{"every scan", "", "", 0},
		{"from defaults", "defaults:\n  site_properties_every: 6h\n", "", 6 * time.Hour},
		{"tenant's own", "defaults:\n  site_properties_every: 6h\n", "    site_properties_every: 1d\n", 24 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(Options{File: writeConfig(t, tt.defaults+minimal+tt.tenant)})
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Tenants["acme"].SitePropertiesEvery.D(); got != tt.want {
				t.Errorf("site_properties_every = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestSitePropertiesPages: a tenant's window of site-properties pages comes
// from the tenant, else from defaults, else DefaultSitePropertiesPages; an
// explicit 0 (every page) is kept, not taken for unset.
func TestSitePropertiesPages(t *testing.T) {
	for _, tt := range []struct {
		name, defaults, tenant string
		env                    []string
		want                   int
	}{
		{"default", "", "", nil, DefaultSitePropertiesPages},
		{"from defaults", "defaults:\n  site_properties_pages: 2\n", "", nil, 2},
		{"explicit 0 in defaults", "defaults:\n  site_properties_pages: 0\n", "", nil, 0},
		{"tenant's own", "defaults:\n  site_properties_pages: 2\n", "    site_properties_pages: 10\n", nil, 10},
		{"explicit 0 over defaults", "defaults:\n  site_properties_pages: 2\n", "    site_properties_pages: 0\n", nil, 0},
		{"from the environment", "", "", []string{"SHAREDRIFT_TENANTS__ACME__SITE_PROPERTIES_PAGES=0"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(Options{File: writeConfig(t, tt.defaults+minimal+tt.tenant), Env: tt.env})
			if err != nil {
				t.Fatal(err)
			}
			tc := cfg.Tenants["acme"]
			if tc.SitePropertiesPages == nil {
				t.Fatal("site_properties_pages left unset after Load")
			}
			if got := tc.SitePropertiesWindow(); got != tt.want {
				t.Errorf("site_properties_pages = %d, want %d", got, tt.want)
			}
		})
	}
	if got := (&Tenant{}).SitePropertiesWindow(); got != DefaultSitePropertiesPages {
		t.Errorf("unset outside Load: %d, want %d", got, DefaultSitePropertiesPages)
	}
}

// TestDefaultsApartFromValidation: applyDefaults alone fills a tenant in
// from `defaults` and the built-in values; validate then only checks, and
// leaves a valid configuration exactly as it found it.
func TestDefaultsApartFromValidation(t *testing.T) {
	pages := 3
	c := defaults()
	c.Store = Store{StateDir: "/var/lib/sharedrift"}
	c.Defaults = Defaults{Schedule: "@every 1h", Baseline: "recommended", FullScanEvery: Duration(48 * time.Hour), SitePropertiesPages: &pages,
		Remediation: Remediation{Mode: "approve", Rules: map[string]string{"links.anyone_link": "off"}}}
	c.Tenants = map[string]Tenant{"fab": {Fixture: "fixtures/fabrikam", Remediation: Remediation{Rules: map[string]string{"sites.sharing_level": "auto"}},
		Notify: TenantNotify{Routes: []notifyconf.Route{{Destination: "ops"}}}}}
	own := applyDefaults(c, "/etc/sharedrift")
	got := c.Tenants["fab"]
	if got.Name != "fab" || got.Schedule != "@every 1h" || got.Baseline != "recommended" || got.FullScanEvery != Duration(48*time.Hour) ||
		got.SitePropertiesPages == nil || *got.SitePropertiesPages != 3 || got.Cloud != "global" || got.Fixture != "/etc/sharedrift/fixtures/fabrikam" {
		t.Fatalf("defaults not applied: %+v", got)
	}
	if got.Remediation.Mode != "approve" || got.Remediation.Rules["links.anyone_link"] != "off" || got.Remediation.Rules["sites.sharing_level"] != "auto" {
		t.Errorf("remediation not merged: %+v", got.Remediation)
	}
	if own["fab"].Mode != "" || len(own["fab"].Rules) != 1 {
		t.Errorf("own remediation = %+v, want the tenant's as written", own["fab"])
	}
	if len(c.Notify.Routes) != 1 || c.Notify.Routes[0].Tenants[0] != "fab" {
		t.Errorf("tenant route not joined: %+v", c.Notify.Routes)
	}
	c.Notify.Destinations = []notifyconf.DestinationConfig{{Name: "ops", Type: notifyconf.TypeWebhook, Webhook: &notifyconf.WebhookConfig{URL: "https://hooks.example/x", Secret: "0123456789abcdef0123"}}}
	before := fmt.Sprintf("%#v", *c)
	var ps problems
	validate(&ps, "test", c, own, func(string) (string, bool) { return "", false }, func(string, int64) ([]byte, error) { return nil, os.ErrNotExist }, "/etc/sharedrift", true)
	if err := ps.err(); err != nil {
		t.Fatal(err)
	}
	if after := fmt.Sprintf("%#v", *c); after != before {
		t.Errorf("validate changed the configuration:\nbefore %s\nafter  %s", before, after)
	}
}
