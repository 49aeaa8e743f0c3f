package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// jsonPath addresses a value in a decoded JSON document: object keys are
// strings, array indexes ints.
type jsonPath []any

func (p jsonPath) String() string {
	var b strings.Builder
	for _, e := range p {
		switch v := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", v)
		default:
			fmt.Fprintf(&b, ".%s", v)
		}
	}
	return b.String()
}

// names are what an error about the mutated value may name: the field
// itself, or the object holding it (a batch envelope's "headers").
func (p jsonPath) names() []string {
	var out []string
	for i := len(p) - 1; i >= 0 && len(out) < 2; i-- {
		if s, ok := p[i].(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func namesAny(msg string, names []string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if strings.Contains(msg, strconv.Quote(n)) || strings.Contains(msg, n) {
			return true
		}
	}
	return false
}

// shape is the path with array indexes folded, so that one mutation stands
// for the same field of every item.
func (p jsonPath) shape() string {
	var b strings.Builder
	for _, e := range p {
		if _, ok := e.(int); ok {
			b.WriteString("[]")
		} else {
			fmt.Fprintf(&b, ".%s", e)
		}
	}
	return b.String()
}

func decodeDoc(body []byte) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

// walk calls fn for every non-null value below the root, parents first.
func walk(v any, p jsonPath, fn func(jsonPath, any)) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if x[k] == nil {
				continue
			}
			cp := append(slices.Clone(p), k)
			fn(cp, x[k])
			walk(x[k], cp, fn)
		}
	case []any:
		for i, e := range x {
			if e == nil {
				continue
			}
			cp := append(slices.Clone(p), i)
			fn(cp, e)
			walk(e, cp, fn)
		}
	}
}

// wrongType is a value of another JSON type than v, chosen so that no
// documented alternate form (an enum as a number, a boolean as "True", a
// list as one string, an identity as an object with a Name) accepts it.
func wrongType(v any) any {
	switch v.(type) {
	case map[string]any:
		return []any{"unexpected"}
	default: // string, number, bool, array
		return map[string]any{"unexpected": true}
	}
}

// replaceAt sets the value at p in doc; false when p is not there.
func replaceAt(doc any, p jsonPath, val any) bool {
	cur := doc
	for i, e := range p {
		last := i == len(p)-1
		switch k := e.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return false
			}
			if _, ok := m[k]; !ok {
				return false
			}
			if last {
				m[k] = val
				return true
			}
			cur = m[k]
		case int:
			a, ok := cur.([]any)
			if !ok || k >= len(a) {
				return false
			}
			if last {
				a[k] = val
				return true
			}
			cur = a[k]
		}
	}
	return false
}

// mutation is one hostile answer: the body of endpoint key with the value
// at path replaced by one of the wrong JSON type.
type mutation struct {
	key  string
	path jsonPath
	orig any
}

func (m mutation) String() string { return m.key + " " + m.path.String() }

// hostileMutations records every answer of a clean scan and lists one
// mutation per endpoint and field shape.
func hostileMutations(t *testing.T, svc *Service, fake *m365test.Server, req daemon.ScanRequest) []mutation {
	t.Helper()
	var mu sync.Mutex
	bodies := map[string][][]byte{}
	fake.Faults.Add("*", m365test.Fault{Rewrite: func(key string, body []byte) []byte {
		mu.Lock()
		bodies[key] = append(bodies[key], slices.Clone(body))
		mu.Unlock()
		return body
	}})
	if _, err := svc.Pipeline.Scan(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	fake.Faults.Clear()
	keys := make([]string, 0, len(bodies))
	for k := range bodies {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []mutation
	for _, k := range keys {
		seen := map[string]bool{}
		for _, b := range bodies[k] {
			doc, ok := decodeDoc(b)
			if !ok {
				continue
			}
			walk(doc, nil, func(p jsonPath, v any) {
				if s := p.shape(); !seen[s] {
					seen[s] = true
					out = append(out, mutation{key: k, path: p, orig: v})
				}
			})
		}
	}
	return out
}

// openFindings maps the fingerprints of open findings to their last scan.
func openFindings(t *testing.T, st store.Store) map[string]int64 {
	t.Helper()
	fs, err := st.FindingsList(context.Background(), store.FindingFilter{Tenant: "fabrikam", States: []store.FindingState{store.FindingOpen}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, f := range fs {
		out[f.Fingerprint] = f.LastScanID
	}
	return out
}

func planIDs(t *testing.T, svc *Service) []int64 {
	t.Helper()
	prs, err := svc.Remediation.Plans(context.Background(), "fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, pr := range prs {
		out = append(out, pr.ID)
	}
	slices.Sort(out)
	return out
}

// TestHostileResponsesChangeNothing scans fabrikam cleanly, then once per
// field of every answer the collector received, with that field given a
// value of the wrong JSON type. Whatever the field, the hostile scan
// resolves no finding, records no change, plans no remediation, and any
// section it leaves incomplete names the field in its error.
func TestHostileResponsesChangeNothing(t *testing.T) {
	ctx := context.Background()
	cfg := autoConfig(t, map[string]any{"tenants.fabrikam.remediation": map[string]any{"mode": "dry-run"}})
	tc := cfg.Tenants["fabrikam"]
	// Every scan reads everything, so every answer is served each time.
	tc.FullScanEvery = config.Duration(time.Millisecond)
	tc.SitePropertiesEvery = config.Duration(time.Millisecond)
	cfg.Tenants["fabrikam"] = tc
	svc, err := Open(ctx, cfg, ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	fake := fakeOf(svc.Pipeline, "fabrikam")
	req := daemon.ScanRequest{Tenant: tc}

	muts := hostileMutations(t, svc, fake, req)
	if len(muts) < 100 {
		t.Fatalf("only %d mutations: the clean scan did not reach every endpoint", len(muts))
	}
	var caught, unread int
	for _, m := range muts {
		before, plansBefore := openFindings(t, svc.Store), planIDs(t, svc)
		var applied atomic.Int32
		fake.Faults.Add(m.key, m365test.Fault{Rewrite: func(_ string, body []byte) []byte {
			doc, ok := decodeDoc(body)
			if !ok || !replaceAt(doc, m.path, wrongType(m.orig)) {
				return body
			}
			applied.Add(1)
			out, _ := json.Marshal(doc)
			return out
		}})
		res, err := svc.Pipeline.Scan(ctx, req)
		fake.Faults.Clear()
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if applied.Load() == 0 {
			t.Errorf("%s: the hostile body was never served", m)
			continue
		}
		sc, err := svc.Store.Scan(ctx, res.ScanID)
		if err != nil {
			t.Fatal(err)
		}
		changes, err := svc.Store.Changes(ctx, store.ChangeFilter{Tenant: "fabrikam", ScanID: res.ScanID})
		if err != nil {
			t.Fatal(err)
		}
		if sc.FindingsResolved != 0 || len(changes) != 0 {
			var cs []string
			for _, c := range changes {
				desc := string(c.Kind) + " " + c.Key
				for _, f := range c.Fields {
					desc += " " + f.String()
				}
				cs = append(cs, desc)
			}
			t.Errorf("%s: %d findings resolved, changes %v", m, sc.FindingsResolved, cs)
		}
		after := openFindings(t, svc.Store)
		for fp := range before {
			if _, ok := after[fp]; !ok {
				t.Errorf("%s: finding %s no longer open", m, fp)
			}
		}
		if got := planIDs(t, svc); !slices.Equal(got, plansBefore) {
			t.Errorf("%s: remediation plans %v, before %v", m, got, plansBefore)
		}
		var incomplete []string
		for _, sec := range tenant.AllSections {
			st := sc.Sections[sec]
			if st.State == tenant.StateComplete {
				continue
			}
			incomplete = append(incomplete, string(sec))
			if names := m.path.names(); !namesAny(st.Error, names) {
				t.Errorf("%s: section %s is %s but its error names none of %q: %s", m, sec, st.State, names, st.Error)
			}
		}
		if len(incomplete) > 0 {
			caught++
		} else {
			unread++
		}
	}
	t.Logf("%d hostile answers: %d made a section incomplete, %d changed nothing the collector reads", len(muts), caught, unread)
}

// TestSitesFailureResolvesNothing: when the sites section cannot be read
// (CSOM site properties answering 503, or a body that is not JSON), the
// link rules that read site labels are unknown and nothing that an earlier
// scan established is resolved.
func TestSitesFailureResolvesNothing(t *testing.T) {
	for name, f := range map[string]m365test.Fault{
		"503":          {Status: 503, RetryAfter: time.Second},
		"invalid JSON": {InvalidJSON: true},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			cfg := autoConfig(t, map[string]any{"tenants.fabrikam.remediation": map[string]any{"mode": "dry-run"}})
			tc := cfg.Tenants["fabrikam"]
			tc.SitePropertiesEvery = config.Duration(time.Millisecond)
			cfg.Tenants["fabrikam"] = tc
			svc, err := Open(ctx, cfg, ServiceOptions{OpenFixture: openFixture})
			if err != nil {
				t.Fatal(err)
			}
			defer svc.Close()
			req := daemon.ScanRequest{Tenant: tc}
			if _, err := svc.Pipeline.Scan(ctx, req); err != nil {
				t.Fatal(err)
			}
			before, plansBefore := openFindings(t, svc.Store), planIDs(t, svc)
			if len(before) == 0 {
				t.Fatal("the clean scan opened no finding")
			}
			fake := fakeOf(svc.Pipeline, "fabrikam")
			fake.Faults.Add("CSOM GetSitePropertiesFromSharePoint", f)
			res, err := svc.Pipeline.Scan(ctx, req)
			fake.Faults.Clear()
			if err != nil {
				t.Fatal(err)
			}
			sc, err := svc.Store.Scan(ctx, res.ScanID)
			if err != nil {
				t.Fatal(err)
			}
			if st := sc.Sections[tenant.SectionSites]; st.State == tenant.StateComplete {
				t.Fatalf("sites complete despite the fault: %+v", st)
			}
			results, err := svc.Store.Results(ctx, res.ScanID)
			if err != nil {
				t.Fatal(err)
			}
			var judged int
			for _, r := range results {
				if r.RuleID != "links.anyone_on_confidential" {
					continue
				}
				judged++
				if r.Outcome != tenant.Unknown {
					t.Errorf("links.anyone_on_confidential %s on %s without sites", r.Outcome, r.ObjectKey)
				}
			}
			if judged == 0 {
				t.Error("links.anyone_on_confidential gave no result")
			}
			if sc.FindingsResolved != 0 {
				t.Errorf("%d findings resolved", sc.FindingsResolved)
			}
			after := openFindings(t, svc.Store)
			for fp := range before {
				if _, ok := after[fp]; !ok {
					t.Errorf("finding %s no longer open", fp)
				}
			}
			if got := planIDs(t, svc); !slices.Equal(got, plansBefore) {
				t.Errorf("remediation plans %v, before %v", got, plansBefore)
			}
		})
	}
}
