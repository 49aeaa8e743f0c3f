// Package deploy holds the container image, Compose file, Helm chart,
// systemd unit and example configurations. No container engine or helm runs
// in the test environment, so these tests render and parse what they can:
// the chart through a small template renderer with the functions it uses,
// every example configuration through the daemon's strict loader.
package deploy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/sharedrift/sharedrift/config"
)

// secretsEnv supplies every env:VAR the examples reference.
var secretsEnv = []string{
	"SHAREDRIFT_DSN=postgres://sharedrift:pw@db:5432/sharedrift",
	"SHAREDRIFT_ADMIN_TOKEN=admin-token", "SHAREDRIFT_READ_TOKEN=read-token",
	"CONTOSO_CLIENT_SECRET=s", "SLACK_BOT_TOKEN=xoxb-1", "SLACK_SIGNING_SECRET=sig",
	"SOC_WEBHOOK_SECRET=0123456789abcdef0123", "CONTOSO_PFX_PASSWORD=pfx", "FABRIKAM_CLIENT_SECRET=f",
}

// fakeFiles answers every file:PATH secret, so examples that point at
// mounted secrets load without them.
func fakeFiles(p string) ([]byte, error) { return []byte("secret for " + p + "\n"), nil }

func setenv(t *testing.T) {
	for _, kv := range secretsEnv {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v) // notification secrets are read from the process environment
	}
}

// TestExamplesUseNoClientSecret: every shipped example reads SharePoint,
// which refuses app-only tokens obtained with a client secret.
func TestExamplesUseNoClientSecret(t *testing.T) {
	paths, _ := filepath.Glob("config/*.yaml")
	paths = append(paths, filepath.Join("helm", "sharedrift", "values.yaml"), "docker-compose.yaml")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if l := strings.TrimSpace(line); !strings.HasPrefix(l, "#") && strings.Contains(l, "client_secret") {
				t.Errorf("%s:%d: %s", p, i+1, l)
			}
		}
	}
}

func TestExampleConfigsLoad(t *testing.T) {
	setenv(t)
	paths, _ := filepath.Glob("config/*.yaml")
	if len(paths) < 2 {
		t.Fatalf("example configs: %v", paths)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			cfg, err := config.Load(config.Options{File: p, Env: secretsEnv, ReadFile: fakeFiles, RequireTenants: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Tenants) == 0 {
				t.Fatal("no tenants")
			}
		})
	}
}

// TestDocsExampleLoads keeps the complete example in docs/configuration.md
// valid: its first yaml block must load strictly.
func TestDocsExampleLoads(t *testing.T) {
	setenv(t)
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("no yaml block in docs/configuration.md")
	}
	p := filepath.Join(t.TempDir(), "sharedrift.yaml")
	if err := os.WriteFile(p, m[1], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(config.Options{File: p, Env: secretsEnv, ReadFile: fakeFiles, RequireTenants: true}); err != nil {
		t.Fatal(err)
	}
}

// renderChart renders every template of the chart with its values plus
// overrides, the way helm would for the functions the chart uses.
func renderChart(t *testing.T, set map[string]any) map[string]string {
	t.Helper()
	dir := filepath.Join("helm", "sharedrift")
	var chart map[string]any
	readYAML(t, filepath.Join(dir, "Chart.yaml"), &chart)
	var values map[string]any
	readYAML(t, filepath.Join(dir, "values.yaml"), &values)
	for k, v := range set {
		setPath(values, strings.Split(k, "."), v)
	}
	ctx := map[string]any{
		"Values":  values,
		"Release": map[string]any{"Name": "prod", "Namespace": "sharedrift", "Service": "Helm"},
		"Chart":   map[string]any{"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
	}
	root := template.New("chart").Option("missingkey=zero")
	root.Funcs(template.FuncMap{
		"include": func(name string, data any) (string, error) {
			var buf bytes.Buffer
			err := root.ExecuteTemplate(&buf, name, data)
			return buf.String(), err
		},
		"toYaml": func(v any) string {
			b, err := yaml.Marshal(v)
			if err != nil {
				return ""
			}
			return strings.TrimSuffix(string(b), "\n")
		},
		"nindent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			return "\n" + pad + strings.ReplaceAll(s, "\n", "\n"+pad)
		},
		"quote":      func(v any) string { return fmt.Sprintf("%q", fmt.Sprint(v)) },
		"trunc":      func(n int, s string) string { return s[:min(n, len(s))] },
		"trimSuffix": func(suf, s string) string { return strings.TrimSuffix(s, suf) },
		"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
		"sha256sum": func(s string) string {
			h := sha256.Sum256([]byte(s))
			return hex.EncodeToString(h[:])
		},
		"default": func(def, v any) any {
			if v == nil || v == "" || v == false || v == 0 {
				return def
			}
			return v
		},
		"required": func(msg string, v any) (any, error) {
			if v == nil || v == "" {
				return nil, errors.New(msg)
			}
			return v, nil
		},
	})
	files, _ := filepath.Glob(filepath.Join(dir, "templates", "*"))
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := root.New(filepath.Base(f)).Parse(string(b)); err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
	}
	out := map[string]string{}
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, "_") {
			continue
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, ctx); err != nil {
			t.Fatalf("render %s: %v", name, err)
		}
		out[name] = buf.String()
	}
	return out
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func setPath(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// manifests parses rendered templates into objects by kind.
func manifests(t *testing.T, rendered map[string]string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for name, s := range rendered {
		if strings.TrimSpace(s) == "" {
			continue
		}
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(s), &obj); err != nil {
			t.Fatalf("%s does not parse as YAML: %v\n%s", name, err, s)
		}
		kind, _ := obj["kind"].(string)
		if kind == "" || obj["apiVersion"] == nil {
			t.Fatalf("%s: no kind or apiVersion", name)
		}
		out[kind] = obj
	}
	return out
}

func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: not a mapping", p)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at %v: not a list long enough", p)
			}
			v = l[k]
		}
	}
	return v
}

func TestHelmChart(t *testing.T) {
	objs := manifests(t, renderChart(t, nil))
	for _, kind := range []string{"Deployment", "Service", "ConfigMap", "ServiceAccount"} {
		if objs[kind] == nil {
			t.Errorf("no %s rendered", kind)
		}
	}
	if objs["ServiceMonitor"] != nil {
		t.Error("ServiceMonitor rendered while disabled")
	}
	d := objs["Deployment"]
	c := dig(t, d, "spec", "template", "spec", "containers", 0)
	checks := []struct {
		name      string
		got, want any
	}{
		{"replicas", dig(t, d, "spec", "replicas"), 2},
		{"liveness", dig(t, c, "livenessProbe", "httpGet", "path"), "/healthz"},
		{"readiness", dig(t, c, "readinessProbe", "httpGet", "path"), "/readyz"},
		{"non-root", dig(t, d, "spec", "template", "spec", "securityContext", "runAsNonRoot"), true},
		{"read-only root", dig(t, c, "securityContext", "readOnlyRootFilesystem"), true},
		{"secret env", dig(t, c, "envFrom", 0, "secretRef", "name"), "sharedrift-env"},
		{"image tag from appVersion", dig(t, c, "image"), "sharedrift:0.1.0"},
		{"memory request", dig(t, c, "resources", "requests", "memory"), "128Mi"},
		{"soft memory limit", fmt.Sprint(dig(t, c, "env", 2, "name"), "=", dig(t, c, "env", 2, "value")), "GOMEMLIMIT=400MiB"},
		{"selector matches labels", dig(t, d, "spec", "selector", "matchLabels", "app.kubernetes.io/instance"), "prod"},
		{"service selects pods", dig(t, objs["Service"], "spec", "selector", "app.kubernetes.io/name"), "sharedrift"},
	}
	for _, tc := range checks {
		if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}

	// The rendered configuration is what the daemon will load, strictly.
	setenv(t)
	cm := dig(t, objs["ConfigMap"], "data", "sharedrift.yaml").(string)
	p := filepath.Join(t.TempDir(), "sharedrift.yaml")
	if err := os.WriteFile(p, []byte(cm), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append([]string{"SHAREDRIFT_HTTP__LISTEN=0.0.0.0:8080"}, secretsEnv...)
	cfg, err := config.Load(config.Options{File: p, Env: env, ReadFile: fakeFiles, RequireTenants: true})
	if err != nil {
		t.Fatalf("chart config does not load: %v\n%s", err, cm)
	}
	if !cfg.Store.DSN.IsSet() || cfg.HTTP.Listen != "0.0.0.0:8080" {
		t.Errorf("store %v, listen %q", cfg.Store.DSN, cfg.HTTP.Listen)
	}

	objs = manifests(t, renderChart(t, map[string]any{"serviceMonitor.enabled": true, "replicaCount": 3}))
	if sm := objs["ServiceMonitor"]; sm == nil || dig(t, sm, "spec", "endpoints", 0, "path") != "/metrics" {
		t.Errorf("ServiceMonitor: %v", sm)
	}
	if r := dig(t, objs["Deployment"], "spec", "replicas"); fmt.Sprint(r) != "3" {
		t.Errorf("replicas %v", r)
	}
}

func TestComposeFile(t *testing.T) {
	var c struct {
		Services map[string]struct {
			Image       string         `yaml:"image"`
			Build       map[string]any `yaml:"build"`
			Healthcheck map[string]any `yaml:"healthcheck"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
		} `yaml:"services"`
	}
	readYAML(t, "docker-compose.yaml", &c)
	pg, sd := c.Services["postgres"], c.Services["sharedrift"]
	if pg.Healthcheck == nil || sd.Healthcheck == nil {
		t.Error("both services need a health check")
	}
	if sd.DependsOn["postgres"].Condition != "service_healthy" {
		t.Error("sharedrift must wait for a healthy PostgreSQL")
	}
	if sd.Build["dockerfile"] != "deploy/Dockerfile" {
		t.Errorf("build: %v", sd.Build)
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Count(s, "\nFROM ") < 2 {
		t.Error("not a multi-stage build")
	}
	final := s[strings.LastIndex(s, "\nFROM "):]
	for _, want := range []string{"USER 65532:65532", "ENTRYPOINT [\"/sharedrift\"]", "ca-certificates.crt"} {
		if !strings.Contains(final, want) {
			t.Errorf("final stage lacks %q", want)
		}
	}
	if !strings.Contains(s, "CGO_ENABLED=0") {
		t.Error("binary is not static")
	}
}

func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile("systemd/sharedrift.service")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			keys[k] = v
		}
	}
	for k, want := range map[string]string{
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
		"DynamicUser": "yes", "StateDirectory": "sharedrift", "CapabilityBoundingSet": "",
		"MemoryDenyWriteExecute": "yes", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"KillSignal": "SIGTERM", "RestartPreventExitStatus": "1",
	} {
		if got, ok := keys[k]; !ok || got != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
}
