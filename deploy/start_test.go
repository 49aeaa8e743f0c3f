package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/sharedrift/sharedrift/config"
)

// TestComposeTrial: the trial runs the daemon on the demo tenant with no
// credentials at all, keeps its state in a volume and publishes the API
// on localhost only. When a Compose implementation is installed, it must
// accept the file as well.
func TestComposeTrial(t *testing.T) {
	var c struct {
		Services map[string]struct {
			Build       map[string]any    `yaml:"build"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			EnvFile     any               `yaml:"env_file"`
			Volumes     []string          `yaml:"volumes"`
			Ports       []string          `yaml:"ports"`
			ReadOnly    bool              `yaml:"read_only"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	readYAML(t, "compose.trial.yaml", &c)
	sd, ok := c.Services["sharedrift"]
	if !ok || len(c.Services) != 1 {
		t.Fatalf("want one service, sharedrift: %v", c.Services)
	}
	if len(sd.Command) == 0 || sd.Command[0] != "demo" || !strings.Contains(strings.Join(sd.Command, " "), "--listen 0.0.0.0:8080") {
		t.Errorf("command %v: want the demo serving the API on the container's interfaces", sd.Command)
	}
	if len(sd.Environment) != 0 || sd.EnvFile != nil {
		t.Errorf("the trial needs no environment, has %v %v", sd.Environment, sd.EnvFile)
	}
	if sd.Build["dockerfile"] != "deploy/Dockerfile" || !sd.ReadOnly {
		t.Errorf("build %v read_only %v", sd.Build, sd.ReadOnly)
	}
	if len(sd.Ports) != 1 || !strings.HasPrefix(sd.Ports[0], "127.0.0.1:") {
		t.Errorf("ports %v: publish on localhost only", sd.Ports)
	}
	// The demo tenant is built into the image: the trial mounts only its
	// state, and names no fixture directory that the image lacks.
	if strings.Contains(strings.Join(sd.Command, " "), "--fixture") {
		t.Errorf("command %v: the trial runs the built-in demo tenant, not a fixture directory", sd.Command)
	}
	if len(sd.Volumes) != 1 {
		t.Errorf("volumes %v: want the state volume only", sd.Volumes)
	}
	for _, v := range sd.Volumes {
		src, dst, _ := strings.Cut(v, ":")
		if _, named := c.Volumes[src]; !named || !strings.HasPrefix(dst, "/var/lib/sharedrift") {
			t.Errorf("volume %q: want a named state volume under /var/lib/sharedrift", v)
		}
	}

	for _, argv := range [][]string{{"docker-compose"}, {"docker", "compose"}} {
		if _, err := exec.LookPath(argv[0]); err != nil {
			continue
		}
		args := append(argv[1:], "-f", "compose.trial.yaml", "config", "--quiet")
		out, err := exec.Command(argv[0], args...).CombinedOutput()
		if err != nil && strings.Contains(string(out), "unknown command") {
			continue // the docker CLI without its compose plugin
		}
		if err != nil {
			t.Errorf("%s: %v\n%s", strings.Join(append(argv, args[len(argv)-1:]...), " "), err, out)
		}
		t.Logf("%s accepts compose.trial.yaml", strings.Join(argv, " "))
		return
	}
	t.Log("no Compose implementation installed: compose.trial.yaml only parsed")
}

// TestSystemdUnitReadsConfig: the dynamic user gets its configuration and
// certificate as credentials, and systemd-analyze accepts the unit when
// it is installed.
func TestSystemdUnitReadsConfig(t *testing.T) {
	b, err := os.ReadFile("systemd/sharedrift.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{
		"LoadCredential=sharedrift.yaml:/etc/sharedrift/sharedrift.yaml",
		"LoadCredential=sharedrift.pem:/etc/sharedrift/sharedrift.pem",
		"ExecStart=/usr/local/bin/sharedrift daemon --config ${CREDENTIALS_DIRECTORY}/sharedrift.yaml",
		"ExecReload=/bin/kill -HUP $MAINPID",
	} {
		if !strings.Contains(unit, want+"\n") {
			t.Errorf("unit lacks %q", want)
		}
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	// verify checks that ExecStart's binary exists: point it at one that does.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "sharedrift.service")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(unit, "/usr/local/bin/sharedrift", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", p).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestHelmIngress: with ingress enabled the chart routes Slack's
// interactivity requests and the API to the service, and nothing else.
// This renders with Go's text/template (see renderChart), not helm; when
// a helm binary is on PATH, helm lint and helm template run too.
func TestHelmIngress(t *testing.T) {
	objs := manifests(t, renderChart(t, map[string]any{"ingress.enabled": true, "ingress.className": "nginx"}))
	ing := objs["Ingress"]
	if ing == nil {
		t.Fatal("no Ingress rendered with ingress.enabled")
	}
	if dig(t, ing, "spec", "ingressClassName") != "nginx" || dig(t, ing, "spec", "rules", 0, "host") != "sharedrift.example.com" {
		t.Errorf("ingress spec: %v", ing["spec"])
	}
	paths := dig(t, ing, "spec", "rules", 0, "http", "paths").([]any)
	var got []string
	for i := range paths {
		got = append(got, dig(t, paths[i], "path").(string)+" "+dig(t, paths[i], "pathType").(string))
		if name := dig(t, paths[i], "backend", "service", "name"); name != dig(t, objs["Service"], "metadata", "name") {
			t.Errorf("path %d goes to %v, not the chart's service", i, name)
		}
		if dig(t, paths[i], "backend", "service", "port", "name") != "http" {
			t.Errorf("path %d: not the service's http port", i)
		}
	}
	if strings.Join(got, ",") != "/slack/interactions Exact,/api/v1/tenants Prefix" {
		t.Errorf("ingress paths %v", got)
	}
	if objs := manifests(t, renderChart(t, nil)); objs["Ingress"] != nil {
		t.Error("Ingress rendered while disabled")
	}

	helm, err := exec.LookPath("helm")
	if err != nil {
		t.Skip("helm not installed: the chart was rendered with text/template only")
	}
	chart := filepath.Join("helm", "sharedrift")
	if out, err := exec.Command(helm, "lint", chart, "--set", "ingress.enabled=true").CombinedOutput(); err != nil {
		t.Errorf("helm lint: %v\n%s", err, out)
	}
	out, err := exec.Command(helm, "template", "prod", chart, "--set", "ingress.enabled=true").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "kind: Ingress") || !strings.Contains(string(out), "path: /slack/interactions") {
		t.Errorf("helm template: %v\n%s", err, out)
	}
}

// TestReleaseWorkflow: the release workflow builds binaries for every
// platform and a multi-architecture image from the repository's
// Dockerfile. It is not run here; when actionlint is on PATH it lints it.
func TestReleaseWorkflow(t *testing.T) {
	const file = "../.github/workflows/release.yml"
	var wf struct {
		On   map[string]map[string][]string `yaml:"on"`
		Jobs map[string]struct {
			Needs    any `yaml:"needs"`
			Strategy struct {
				Matrix map[string][]string `yaml:"matrix"`
			} `yaml:"strategy"`
			Steps []struct {
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	readYAML(t, file, &wf)
	if tags := wf.On["push"]["tags"]; len(tags) != 1 || tags[0] != "v*.*.*" {
		t.Errorf("trigger %v: want version tags", wf.On)
	}
	m := wf.Jobs["binaries"].Strategy.Matrix
	if strings.Join(m["goos"], ",") != "linux,darwin,windows" || strings.Join(m["goarch"], ",") != "amd64,arm64" {
		t.Errorf("binary matrix %v", m)
	}
	var pushed bool
	for _, s := range wf.Jobs["image"].Steps {
		if strings.HasPrefix(s.Uses, "docker/build-push-action@") {
			pushed = s.With["platforms"] == "linux/amd64,linux/arm64" && s.With["file"] == "deploy/Dockerfile" && s.With["push"] == "true"
		}
	}
	if !pushed {
		t.Error("no multi-architecture image push from deploy/Dockerfile")
	}
	if wf.Jobs["release"].Needs != "binaries" || wf.Jobs["image"].Needs != "test" {
		t.Errorf("release needs %v, image needs %v", wf.Jobs["release"].Needs, wf.Jobs["image"].Needs)
	}
	if al, err := exec.LookPath("actionlint"); err == nil {
		if out, err := exec.Command(al, file).CombinedOutput(); err != nil {
			t.Errorf("actionlint: %v\n%s", err, out)
		}
	} else {
		t.Log("actionlint not installed: the workflow was parsed and checked, not linted")
	}
}

// TestGeneratedSecrets: gen-secrets.sh writes every file: secret the
// replicated example references, private to its owner, with a certificate
// the collector's credential loader accepts; run again it keeps them.
func TestGeneratedSecrets(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := filepath.Join(t.TempDir(), "secrets")
	if out, err := exec.Command("bash", "gen-secrets.sh", dir, "contoso").CombinedOutput(); err != nil {
		t.Fatalf("gen-secrets.sh: %v\n%s", err, out)
	}
	var read []string
	readFile := func(p string) ([]byte, error) {
		const mount = "/run/secrets/sharedrift/"
		if !strings.HasPrefix(p, mount) {
			return nil, os.ErrNotExist
		}
		read = append(read, p)
		return os.ReadFile(filepath.Join(dir, strings.TrimPrefix(p, mount)))
	}
	setenv(t)
	cfg, err := config.Load(config.Options{File: "config/sharedrift.yaml", Env: secretsEnv, ReadFile: readFile, RequireTenants: true})
	if err != nil {
		t.Fatalf("the example does not load with the generated secrets: %v", err)
	}
	if len(read) < 2 || cfg.HTTP.Tokens[0].Secret.Value().Reveal() == "" {
		t.Errorf("secrets read: %v", read)
	}
	pem, err := os.ReadFile(filepath.Join(dir, "contoso.pem"))
	if err != nil {
		t.Fatal(err)
	}
	certs, key, err := azidentity.ParseCertificates(pem, nil)
	if err != nil || len(certs) != 1 || key == nil {
		t.Errorf("contoso.pem: %d certificates, key %v, %v", len(certs), key != nil, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, _ := e.Info(); info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
	}
	before, _ := os.ReadFile(filepath.Join(dir, "admin-token"))
	if out, err := exec.Command("bash", "gen-secrets.sh", dir, "contoso").CombinedOutput(); err != nil || !strings.Contains(string(out), "kept") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "admin-token")); string(after) != string(before) || len(strings.TrimSpace(string(after))) != 64 {
		t.Errorf("admin token changed or short: %q", after)
	}
}
