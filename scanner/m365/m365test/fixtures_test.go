package m365test_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

var repoRoot = filepath.Join("..", "..", "..")

// scanDir scans a fixture tenant through the real client.
func scanDir(t *testing.T, dir string, opts m365test.Options, tweak func(*m365.Options)) (*tenant.Snapshot, *m365test.Server) {
	t.Helper()
	srv, err := m365test.New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	co := srv.ClientOptions()
	co.Sleep = func(context.Context, time.Duration) error { return nil }
	if tweak != nil {
		tweak(&co)
	}
	c, err := m365.New(co)
	if err != nil {
		t.Fatal(err)
	}
	meta := srv.Meta()
	sopts := scanner.Options{Tenant: meta.Tenant, TenantID: meta.TenantID, Timeout: 30 * time.Second}
	if meta.Now != nil {
		sopts.Now = func() time.Time { return *meta.Now }
	}
	return scanner.Scan(context.Background(), m365.Sources(c, m365.SourceOptions{}), sopts), srv
}

// meaning reduces a snapshot to comparable JSON: statistics and collection
// time dropped, empty lists and nulls treated alike except where null means
// "not collected" (sponsors, memberOf).
func meaning(t *testing.T, s *tenant.Snapshot) any {
	t.Helper()
	c := *s
	c.CollectedAt = time.Time{}
	st := map[tenant.Section]tenant.SectionStatus{}
	for k, v := range s.Status {
		st[k] = tenant.SectionStatus{State: v.State, Error: v.Error}
	}
	c.Status = st
	b, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return prune(v, "")
}

var nullMeans = map[string]bool{"sponsors": true, "memberOf": true}

func prune(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			p := prune(val, k)
			if p == nil && !nullMeans[k] {
				continue
			}
			if arr, ok := p.([]any); ok && len(arr) == 0 && !nullMeans[k] {
				continue
			}
			out[k] = p
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			out = append(out, prune(e, key))
		}
		// Order of objects in a list carries no meaning.
		sort.Slice(out, func(i, j int) bool {
			a, _ := json.Marshal(out[i])
			b, _ := json.Marshal(out[j])
			return string(a) < string(b)
		})
		return out
	}
	return v
}

// diff lists the paths where a and b differ.
func diff(path string, a, b any, out *[]string) {
	if reflect.DeepEqual(a, b) {
		return
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			diff(path+"."+k, am[k], bm[k], out)
		}
		return
	}
	aa, aok := a.([]any)
	ba, bok := b.([]any)
	if aok && bok && len(aa) == len(ba) {
		for i := range aa {
			diff(fmt.Sprintf("%s[%d]", path, i), aa[i], ba[i], out)
		}
		return
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	*out = append(*out, fmt.Sprintf("%s: want %s, got %s", path, ja, jb))
}

func compareSnapshots(t *testing.T, want, got *tenant.Snapshot) {
	t.Helper()
	var d []string
	diff("", meaning(t, want), meaning(t, got), &d)
	for _, l := range d {
		t.Error(l)
	}
}

// TestFixtureTenantsMatchSnapshots scans each raw fixture tenant and checks
// it means the same as the snapshot fixture of the same name.
func TestFixtureTenantsMatchSnapshots(t *testing.T) {
	dirs := map[string]string{}
	for _, name := range []string{"contoso", "fabrikam"} {
		dirs[name] = filepath.Join(repoRoot, "testdata", "tenants", name)
	}
	if d := os.Getenv("SHAREDRIFT_EXTRA_FIXTURE"); d != "" {
		dirs[filepath.Base(d)] = d
	}
	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) {
			wantPath := filepath.Join(repoRoot, "testdata", "snapshots", name+".json")
			if p := os.Getenv("SHAREDRIFT_EXTRA_SNAPSHOT"); p != "" && filepath.Base(dir) == os.Getenv("SHAREDRIFT_EXTRA_NAME") {
				wantPath = p
			}
			want, err := tenant.ReadFile(wantPath)
			if err != nil {
				t.Fatal(err)
			}
			for _, pageSize := range []int{1, 100} {
				got, _ := scanDir(t, dir, m365test.Options{PageSize: pageSize}, nil)
				for _, sec := range tenant.AllSections {
					if !got.Complete(sec) {
						t.Errorf("page size %d: section %s: %+v", pageSize, sec, got.Status[sec])
					}
				}
				compareSnapshots(t, want, got)
				if !want.CollectedAt.Equal(got.CollectedAt) {
					t.Errorf("collectedAt: want %s (fixture clock), got %s", want.CollectedAt, got.CollectedAt)
				}
			}
		})
	}
}
