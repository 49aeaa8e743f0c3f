package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/scanner/m365"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sharedrift.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestScanAndDoctorReadDaemonConfig: scan and doctor take the daemon's
// configuration file; a fixture tenant in it is served in-process.
func TestScanAndDoctorReadDaemonConfig(t *testing.T) {
	fixture, err := filepath.Abs(filepath.Join("..", "..", "testdata", "tenants", "fabrikam"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, "store:\n  state_dir: "+t.TempDir()+"\ntenants:\n  fabrikam:\n    fixture: "+fixture+"\n    baseline: recommended\n    schedule: \"@every 1h\"\n")

	out, stderr, code := cli(t, "scan", "--config", cfg, "--tenant", "fabrikam", "--format", "json")
	if code != 0 && code != 3 {
		t.Fatalf("scan exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "links.anyone_on_confidential") {
		t.Errorf("scan of the daemon config's tenant lacks fabrikam's findings:\n%.400s", out)
	}

	out, stderr, code = cli(t, "doctor", "--config", cfg, "--tenant", "fabrikam")
	if code != 0 || !strings.Contains(out, "Sections (read)") {
		t.Errorf("doctor exit %d: %s\n%s", code, out, stderr)
	}

	for _, tc := range []struct {
		name, body, tenant, want string
	}{
		{"unknown tenant", "tenants:\n  fabrikam:\n    fixture: " + fixture + "\n    baseline: recommended\n", "contoso", `tenant "contoso" is not configured`},
		{"missing secret", "tenants:\n  acme:\n    tenant_id: 9c5f1e2a-0000-4000-8000-000000000001\n    domain: acme\n    baseline: recommended\n    credentials: {method: client_secret, client_id: c, client_secret: env:SHAREDRIFT_TEST_NOT_SET}\n",
			"acme", "tenants.acme.credentials.client_secret"},
		{"unknown key", "tenants:\n  acme:\n    domian: acme\n    baseline: recommended\n", "acme", "tenants.acme.domian"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.body)
			for _, cmd := range []string{"scan", "doctor"} {
				_, stderr, code := cli(t, cmd, "--config", p, "--tenant", tc.tenant)
				if code != 1 || !strings.Contains(stderr, tc.want) {
					t.Errorf("%s: exit %d, stderr %q, want %q", cmd, code, stderr, tc.want)
				}
			}
		})
	}
}

// TestTenantConnectionOneFormat: the configuration format gives the
// connection; the old short connection file is refused with each key's
// replacement named.
func TestTenantConnectionOneFormat(t *testing.T) {
	t.Setenv("ACME_SECRET", "s3cret-value")
	const id = "9c5f1e2a-0000-4000-8000-000000000001"
	p := writeConfig(t, "tenants:\n  acme:\n    tenant_id: "+id+"\n    domain: acme\n    cloud: usgov\n    baseline: recommended\n    credentials: {method: client_secret, client_id: 6d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6, client_secret: env:ACME_SECRET}\n")
	want := m365.TenantConfig{TenantID: id, SharePointTenant: "acme", Cloud: "usgov", ClientID: "6d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6", Auth: m365.AuthConfig{Method: m365.AuthSecret, SecretEnv: "ACME_SECRET"}}
	for _, name := range []string{"acme", "acme.onmicrosoft.com"} {
		tc, fixture, err := tenantConnection(p, name)
		if err != nil || fixture != "" || tc != want {
			t.Errorf("%s: got %+v fixture %q err %v, want %+v", name, tc, fixture, err, want)
		}
	}

	old := writeConfig(t, "tenants:\n  acme:\n    tenantId: "+id+"\n    sharepointTenant: acme\n    cloud: usgov\n    clientId: 6d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6\n    auth: {method: secret, secretEnv: ACME_SECRET}\n")
	_, _, err := tenantConnection(old, "acme")
	if err == nil {
		t.Fatal("the old short connection file was accepted")
	}
	for _, w := range []string{old, "old short connection format", "tenants.acme.tenantId → tenant_id", "tenants.acme.sharepointTenant → domain",
		"tenants.acme.auth.secretEnv → credentials.client_secret: env:VAR", "secret → client_secret"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
}
