package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

const (
	fabrikamFixture = "../../testdata/tenants/fabrikam"
	contosoFixture  = "../../testdata/tenants/contoso"
)

type fixtureScanJSON struct {
	Summary struct {
		Sections []struct {
			Section string `json:"section"`
			State   string `json:"state"`
		} `json:"sections"`
	} `json:"summary"`
	Results []struct {
		RuleID    string `json:"ruleId"`
		ObjectKey string `json:"objectKey"`
		Outcome   string `json:"outcome"`
	} `json:"results"`
}

func fails(t *testing.T, out string) []string {
	t.Helper()
	var s fixtureScanJSON
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var f []string
	for _, r := range s.Results {
		if r.Outcome == "fail" {
			f = append(f, r.RuleID+" "+r.ObjectKey)
		}
	}
	slices.Sort(f)
	return f
}

// TestScanFixture: scanning the raw fixture through the collector gives the
// same failures as the snapshot fixture, with every section complete.
func TestScanFixture(t *testing.T) {
	for _, tt := range []struct{ fixture, snapshot string }{{fabrikamFixture, fabrikam}, {contosoFixture, contoso}} {
		t.Run(filepath.Base(tt.fixture), func(t *testing.T) {
			got, stderr, code := cli(t, "scan", "--fixture", tt.fixture, "--baseline", "recommended", "--format", "json")
			want, _, wantCode := cli(t, "scan", "--snapshot", tt.snapshot, "--baseline", "recommended", "--format", "json")
			if code != wantCode {
				t.Errorf("exit %d, want %d (%s)", code, wantCode, stderr)
			}
			var s fixtureScanJSON
			if err := json.Unmarshal([]byte(got), &s); err != nil {
				t.Fatal(err)
			}
			if len(s.Summary.Sections) != len(tenant.AllSections) {
				t.Errorf("%d sections", len(s.Summary.Sections))
			}
			for _, sec := range s.Summary.Sections {
				if sec.State != "complete" {
					t.Errorf("section %s %s", sec.Section, sec.State)
				}
			}
			if g, w := fails(t, got), fails(t, want); !slices.Equal(g, w) {
				t.Errorf("fails differ:\n got  %q\n want %q", g, w)
			}
		})
	}
	if _, _, code := cli(t, "scan", "--fixture", contosoFixture, "--baseline", "recommended"); code != 0 {
		t.Errorf("contoso exit %d, want 0", code)
	}
}

func TestSnapshotAndRecord(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "fabrikam.json")
	rec := filepath.Join(dir, "rec")
	if _, stderr, code := cli(t, "snapshot", "--fixture", fabrikamFixture, "-o", out, "--record", rec); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	first, err := tenant.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	replayed, stderr, code := cli(t, "snapshot", "--fixture", rec)
	if code != 0 {
		t.Fatalf("replay exit %d: %s", code, stderr)
	}
	again, err := tenant.Decode(strings.NewReader(replayed), "replay")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(first)
	b, _ := json.Marshal(again)
	if string(a) != string(b) {
		t.Error("a recording does not replay to the same snapshot")
	}
	raw, err := os.ReadFile(filepath.Join(rec, "graph", "v1.0", "users.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "nextLink") || strings.Contains(string(raw), "Bearer") {
		t.Error("recording keeps paging links or tokens")
	}
	if _, stderr, code := cli(t, "snapshot", "--fixture", fabrikamFixture, "--record", rec); code != 1 || !strings.Contains(stderr, "is not empty") {
		t.Errorf("record into a used dir: exit %d %s", code, stderr)
	}
	if _, stderr, code := cli(t, "snapshot", "--snapshot", fabrikam, "--record", filepath.Join(dir, "x")); code != 1 || !strings.Contains(stderr, "--record needs") {
		t.Errorf("record from a file: exit %d %s", code, stderr)
	}
}

func TestDoctorCommand(t *testing.T) {
	out, stderr, code := cli(t, "doctor", "--fixture", fabrikamFixture)
	if code != 0 || !strings.Contains(out, "ok    exchange") || !strings.Contains(out, "ok    sharepoint    certificate") {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
	if _, stderr, code := cli(t, "doctor"); code != 1 || !strings.Contains(stderr, "doctor needs") {
		t.Errorf("no source: exit %d %s", code, stderr)
	}
}

func TestLiveSourceErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(cfg, []byte("tenants:\n  contoso:\n    tenant_id: nope\n    domain: contoso\n    baseline: recommended\n    credentials: {method: workload_identity, client_id: 6d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		mention string
	}{
		{[]string{"scan", "--tenant", "contoso"}, "--config and --tenant go together"},
		{[]string{"scan", "--config", cfg, "--tenant", "contoso"}, `tenants.contoso.tenant_id: tenant "contoso": "nope", expected a GUID`},
		{[]string{"doctor", "--config", cfg, "--tenant", "contoso"}, "expected a GUID"},
		{[]string{"scan", "--fixture", dir}, "tenant.json"},
		{[]string{"scan", "--fixture", fabrikamFixture, "--snapshot", fabrikam}, "cannot be combined"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, stderr, code := cli(t, tt.args...)
			if code != 1 || !strings.Contains(stderr, tt.mention) {
				t.Errorf("exit %d, stderr %q, want mention of %q", code, stderr, tt.mention)
			}
		})
	}
}

// TestScanFixtureResumesFromStore: a scan recorded in a store keeps the
// drives' delta tokens, and the next scan collects from the store's state
// with the same failures and no changes. (Each run serves the fixture on
// a new port, so the stored delta links point to another host and the
// drives are read in full again: the safe fallback.)
func TestScanFixtureResumesFromStore(t *testing.T) {
	dir := t.TempDir()
	args := []string{"scan", "--fixture", fabrikamFixture, "--baseline", "recommended", "--format", "json", "--state-dir", dir}
	first, stderr, code := cli(t, args...)
	if code != exitFindings {
		t.Fatalf("first scan: exit %d (%s)", code, stderr)
	}
	s, err := store.OpenStateDir(context.Background(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.DeltaToken(context.Background(), "fabrikam", "links/drive/b!Rt7-mktg")
	s.Close()
	if err != nil || tok == "" {
		t.Fatalf("no drive delta token stored: %q, %v", tok, err)
	}
	second, stderr, code := cli(t, append(args, "--log-level", "debug")...)
	if code != exitFindings {
		t.Fatalf("second scan: exit %d (%s)", code, stderr)
	}
	if !strings.Contains(stderr, "incremental=true") && !strings.Contains(stderr, `"incremental":true`) {
		t.Errorf("second scan did not resume from the store:\n%s", stderr)
	}
	if a, b := fails(t, first), fails(t, second); !slices.Equal(a, b) {
		t.Errorf("failures differ between the full and the incremental scan:\n full %v\n incr %v", a, b)
	}
	if !strings.Contains(stderr, "changes=0") && !strings.Contains(stderr, `"changes":0`) {
		t.Errorf("unchanged re-scan recorded changes:\n%s", stderr)
	}
}

// TestScanFixtureDebugLogsEveryRequest: at debug level a scan prints one
// line per HTTP request it sent (as many as the scan counted), naming the
// full URL with its query, and never a bearer token.
func TestScanFixtureDebugLogsEveryRequest(t *testing.T) {
	_, stderr, code := cli(t, "scan", "--fixture", fabrikamFixture, "--log-level", "debug", "--format", "json")
	if code != exitFindings {
		t.Fatalf("exit %d (%s)", code, stderr)
	}
	var lines int
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, `msg="http request"`) {
			lines++
			for _, k := range []string{" method=", " url=", " status=", " ru=", " duration=", " retry="} {
				if !strings.Contains(l, k) {
					t.Errorf("request line lacks %q: %s", k, l)
				}
			}
		}
	}
	m := regexp.MustCompile(`msg="tenant collected" .*calls=(\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no tenant summary:\n%s", stderr)
	}
	if want, _ := strconv.Atoi(m[1]); lines != want || lines == 0 {
		t.Errorf("%d request lines, the scan sent %d requests", lines, want)
	}
	for _, want := range []string{"/v1.0/sites/getAllSites?$select=", "/_vti_bin/client.svc/ProcessQuery status=200 ru=", "/v1.0/$batch", "/root/delta?", "/InvokeCommand?$select="} {
		if !strings.Contains(stderr, want) {
			t.Errorf("no request line with %q", want)
		}
	}
	if strings.Contains(stderr, "Bearer") || strings.Contains(stderr, "eyJ") {
		t.Errorf("a token appears in the log:\n%s", stderr)
	}
}
