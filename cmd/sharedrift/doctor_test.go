package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner/m365"
)

// claimTokens hands out unsigned JWTs carrying every role a section needs
// and appidacr, the claim saying how the application authenticated.
type claimTokens struct{ appidacr string }

func (c claimTokens) Token(_ context.Context, scope string) (string, error) {
	roles := map[string][]string{}
	for _, needs := range m365.ReadPermissions {
		for _, n := range needs {
			ep, _ := m365.LookupCloud("global")
			if ep.Endpoints("contoso").Scope(n.Audience) == scope && len(n.AnyOf) > 0 {
				roles[scope] = append(roles[scope], n.AnyOf[0])
			}
		}
	}
	payload, _ := json.Marshal(map[string]any{"roles": roles[scope], "appidacr": c.appidacr,
		"exp": time.Now().Add(time.Hour).Unix(), "wids": []string{"f2ef992c-3afb-46b9-b7cf-a126ee74c451"}})
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(payload) + ".", nil
}

// TestDoctorClientSecretTenant: doctor on a tenant whose tokens come from
// a client secret reports the sections read through SharePoint unusable
// and names the fix, although every role is granted.
func TestDoctorClientSecretTenant(t *testing.T) {
	c, _ := m365.LookupCloud("global")
	for _, tt := range []struct {
		acr, cred string
		ok        bool
	}{{"1", "client secret", false}, {"2", "certificate", true}} {
		rep := m365.Doctor(context.Background(), claimTokens{tt.acr}, c.Endpoints("contoso"))
		var out strings.Builder
		printDoctor(&out, &rep)
		t.Logf("appidacr %s:\n%s", tt.acr, out.String())
		if rep.OK() != tt.ok {
			t.Errorf("appidacr %s: OK %v:\n%s", tt.acr, rep.OK(), out.String())
		}
		if !strings.Contains(out.String(), ", "+tt.cred) {
			t.Errorf("appidacr %s: credential %q not shown:\n%s", tt.acr, tt.cred, out.String())
		}
		_, sections, _ := strings.Cut(out.String(), "SECTION")
		for _, line := range strings.Split(sections, "\n") {
			f := strings.Fields(line)
			if len(f) < 2 || (f[0] != "sharepoint" && f[0] != "sites" && f[0] != "links") {
				continue
			}
			unusable := f[1] == "no" && strings.Contains(line, "missing a certificate credential") &&
				strings.Contains(line, "credentials.method: certificate")
			if want := !tt.ok && f[0] != "links"; unusable != want {
				t.Errorf("appidacr %s: %s line %q, want unusable=%v", tt.acr, f[0], line, want)
			}
		}
	}
}

// TestDoctorProbe: doctor --probe on the fixture prints every endpoint it
// read and a verdict per assumption, and writes a redacted probe file.
func TestDoctorProbe(t *testing.T) {
	file := filepath.Join(t.TempDir(), "probe.json")
	stdout, stderr, code := cli(t, "doctor", "--fixture", fabrikamFixture, "--probe", "--probe-file", file)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	for _, want := range []string{"ENDPOINT", "GET /v1.0/drives/{drive-id}/items/{item-id}/permissions", "ASSUMPTION", "settings-bare", "confirmed", "not seen", "redacted probe written to " + file} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(b)), "fabrikam") || !strings.Contains(string(b), `"assumptions"`) {
		t.Errorf("probe file not redacted or incomplete:\n%.1500s", b)
	}
}
