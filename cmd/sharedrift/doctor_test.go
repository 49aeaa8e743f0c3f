package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
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
		if !strings.Contains(out.String(), "ok    graph         "+tt.cred) {
			t.Errorf("appidacr %s: credential %q not shown:\n%s", tt.acr, tt.cred, out.String())
		}
		_, sections, _ := strings.Cut(out.String(), "Sections (read)")
		lines := strings.Split(sections, "\n")
		for i, l := range lines {
			f := strings.Fields(l)
			if len(f) != 2 || (f[1] != "sharepoint" && f[1] != "sites" && f[1] != "links") {
				continue
			}
			next := ""
			if i+1 < len(lines) {
				next = lines[i+1]
			}
			var unusable bool
			switch f[1] {
			case "sharepoint":
				unusable = f[0] == "FAIL" && strings.Contains(next, "needs a certificate credential") && strings.Contains(next, "credentials.method: certificate")
			default:
				unusable = f[0] == "FAIL" && strings.Contains(next, "needs the same as sharepoint")
			}
			if want := !tt.ok && f[1] != "links"; unusable != want {
				t.Errorf("appidacr %s: %s line %q then %q, want unusable=%v", tt.acr, f[1], l, next, want)
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

// offlineTokens fails as a token request does without a network.
type offlineTokens struct{}

func (offlineTokens) Token(context.Context, string) (string, error) {
	return "", errors.New(`get token: Post "https://login.microsoftonline.com/0000/oauth2/v2.0/token": dial tcp: lookup login.microsoftonline.com on 127.0.0.53:53: no such host`)
}

// TestDoctorOffline: with no network every token fails with one error.
// Doctor says it once, writes one short line per token and section, and
// fits a terminal.
func TestDoctorOffline(t *testing.T) {
	c, _ := m365.LookupCloud("global")
	rep := m365.Doctor(context.Background(), offlineTokens{}, c.Endpoints("contoso"))
	var out strings.Builder
	printDoctor(&out, &rep)
	s := out.String()
	t.Logf("%d bytes:\n%s", len(s), s)
	if n := strings.Count(s, "no such host"); n != 1 {
		t.Errorf("the error is said %d times, want once", n)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	// Two headings, three tokens, seven sections, one line per token each
	// needs: a page, not a table 250 columns wide.
	if len(s) > 2000 || len(lines) > 30 {
		t.Errorf("output is %d bytes in %d lines", len(s), len(lines))
	}
	for _, l := range lines {
		if w := len([]rune(l)); w > 100 && !strings.Contains(l, "no such host") {
			t.Errorf("line of %d columns: %q", w, l)
		}
		if strings.Contains(l, "\t") {
			t.Errorf("tab in %q", l)
		}
	}
	for _, sec := range []string{"sharepoint", "sites", "links", "guests", "entra", "groups", "exchange"} {
		if !strings.Contains(s, "FAIL  "+sec) {
			t.Errorf("section %s not reported failing on its own line", sec)
		}
	}
	if !strings.Contains(s, "the same error as graph") || !strings.Contains(s, "needs the graph token (see its error above)") {
		t.Errorf("lines that depend on the failed token do not point to it:\n%s", s)
	}
}

// TestDoctorChecksConfiguration: with the daemon's configuration doctor
// checks the store, sends a test message to each destination on request,
// and, for a tenant in approve mode, the write permissions.
func TestDoctorChecksConfiguration(t *testing.T) {
	got := make(chan string, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer hook.Close()
	fixture, _ := filepath.Abs(fabrikamFixture)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "sharedrift.yaml")
	t.Setenv("DOCTOR_HOOK_SECRET", "0123456789abcdef0123")
	if err := os.WriteFile(cfgFile, []byte(`store:
  state_dir: `+filepath.Join(dir, "state")+`
notify:
  destinations:
    - name: soc
      type: webhook
      webhook: {url: "`+hook.URL+`", secret: "env:DOCTOR_HOOK_SECRET"}
tenants:
  fabrikam:
    fixture: `+fixture+`
    baseline: recommended
    remediation: {mode: approve}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := cli(t, "doctor", "--config", cfgFile, "--tenant", "fabrikam", "--send-test")
	t.Logf("exit %d\n%s%s", code, stdout, stderr)
	for _, want := range []string{"Sections (write, remediation mode approve)", "Store", "ok    store", "not created yet", "Notifications", "ok    soc", "test message sent"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	select {
	case body := <-got:
		if !strings.Contains(body, `"kind":"test"`) {
			t.Errorf("the destination got %s", body)
		}
	default:
		t.Error("no test message reached the destination")
	}
	// The fixture grants read roles only: approve mode cannot write.
	if code == 0 || !strings.Contains(stdout, "needs Policy.ReadWrite.Authorization") {
		t.Errorf("approve mode without write roles: exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
		t.Error("doctor created the state directory")
	}
}
