package remediate_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/store/storetest"
	"github.com/sharedrift/sharedrift/tenant"
)

// rig is fabrikam's fake tenant, read and written through the real HTTP
// client, with a SQLite store and a remediation service on one clock.
type rig struct {
	t        *testing.T
	ctx      context.Context
	fake     *m365test.Server
	client   *m365.Client
	st       store.Store
	clock    *storetest.Clock
	baseline *baselines.Baseline
	policy   remediate.Policy
	svc      *remediate.Service
	notifier remediate.Notifier
	// onApproved runs after an approval is recorded.
	onApproved func(ctx context.Context, tenantName, fp string)
	tenant     string

	// exchanges are every request the fake answered, in order.
	mu        sync.Mutex
	exchanges []m365test.Exchanged
}

func newRig(t *testing.T, policy remediate.Policy) *rig {
	t.Helper()
	r := &rig{t: t, ctx: context.Background(), policy: policy}
	fake, err := m365test.New(filepath.Join("..", "testdata", "tenants", "fabrikam"), m365test.Options{Observe: func(e m365test.Exchanged) {
		r.mu.Lock()
		r.exchanges = append(r.exchanges, e)
		r.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	co := fake.ClientOptions()
	co.Tokens = m365.StaticToken("fake-token")
	co.Sleep = func(context.Context, time.Duration) error { return nil }
	co.MaxRetries = 1
	client, err := m365.New(co)
	if err != nil {
		t.Fatal(err)
	}
	clock := storetest.NewClock(*fake.Meta().Now)
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "sharedrift.db"), store.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b, err := baselines.Load("recommended")
	if err != nil {
		t.Fatal(err)
	}
	r.fake, r.client, r.st, r.clock, r.baseline, r.tenant = fake, client, st, clock, b, fake.Meta().Tenant
	r.svc, err = remediate.New(remediate.Options{
		Store:    st,
		Policy:   func(string) remediate.Policy { return r.policy },
		Target:   func(context.Context, string) (remediate.Target, error) { return remediate.M365Target{C: client}, nil },
		Notifier: rigNotifier{r},
		OnApproved: func(ctx context.Context, tenantName, fp string) {
			if r.onApproved != nil {
				r.onApproved(ctx, tenantName, fp)
			}
		},
		Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rigNotifier passes events to the rig's notifier, if any.
type rigNotifier struct{ r *rig }

func (n rigNotifier) CapReached(ctx context.Context, ev remediate.CapEvent) error {
	if n.r.notifier == nil {
		return nil
	}
	return n.r.notifier.CapReached(ctx, ev)
}

func (n rigNotifier) Applied(ctx context.Context, ev remediate.AppliedEvent) error {
	if n.r.notifier == nil {
		return nil
	}
	return n.r.notifier.Applied(ctx, ev)
}

// scanned is one recorded scan.
type scanned struct {
	snap    *tenant.Snapshot
	results []tenant.Result
	scan    store.Scan
}

// scan collects the fake tenant, evaluates and records the scan.
func (r *rig) scan() scanned {
	r.t.Helper()
	return r.scanEdited(nil)
}

// scanEdited is scan with the results passed through edit, if not nil.
func (r *rig) scanEdited(edit func([]tenant.Result) []tenant.Result) scanned {
	r.t.Helper()
	meta := r.fake.Meta()
	snap := scanner.Scan(r.ctx, m365.Sources(r.client, m365.SourceOptions{}), scanner.Options{Tenant: meta.Tenant, TenantID: meta.TenantID, Now: r.clock.Now})
	results := rules.Evaluate(snap, r.baseline)
	if edit != nil {
		results = edit(results)
	}
	sc, err := r.st.RecordScan(r.ctx, store.ScanInput{Snapshot: snap, Results: results, Baseline: "recommended"})
	if err != nil {
		r.t.Fatal(err)
	}
	return scanned{snap: snap, results: results, scan: sc}
}

// plan builds and records the plans of a scan.
func (r *rig) plan(s scanned) []remediate.Plan {
	r.t.Helper()
	plans, _ := remediate.Build(s.snap, r.baseline, s.results)
	if _, err := r.svc.Record(r.ctx, s.scan.ID, plans); err != nil {
		r.t.Fatal(err)
	}
	return plans
}

func (r *rig) apply(fps ...string) *remediate.RunReport {
	r.t.Helper()
	rep, err := r.svc.Apply(r.ctx, r.tenant, remediate.ApplyOptions{Fingerprints: fps})
	if err != nil {
		r.t.Fatal(err)
	}
	return rep
}

// statuses lists the run's operation statuses in order.
func statuses(rep *remediate.RunReport) []string {
	out := make([]string, len(rep.Ops))
	for i, o := range rep.Ops {
		out[i] = o.Status
	}
	return out
}

func fails(results []tenant.Result, ruleID string) []tenant.Result {
	var out []tenant.Result
	for _, r := range results {
		if r.RuleID == ruleID && r.Outcome == tenant.Fail {
			out = append(out, r)
		}
	}
	return out
}

func autoFor(ruleIDs ...string) remediate.Policy {
	p := remediate.Policy{Mode: remediate.ModeDryRun, Rules: map[string]remediate.Mode{}, MaxChanges: 1000}
	for _, id := range ruleIDs {
		p.Rules[id] = remediate.ModeAuto
	}
	return p
}

// consented is autoFor with the rules' destructive steps allowed too.
func consented(ruleIDs ...string) remediate.Policy {
	p := autoFor(ruleIDs...)
	p.AllowDestructive = ruleIDs
	return p
}

// deleteCalls counts DELETE requests the fake received.
func (r *rig) writeCalls() int {
	n := 0
	for k, v := range r.fake.Calls() {
		if strings.HasPrefix(k, "DELETE ") || strings.HasPrefix(k, "PATCH ") || strings.HasPrefix(k, "EXO Set-") ||
			strings.HasPrefix(k, "EXO Remove-") || (strings.HasPrefix(k, "POST ") && !strings.HasSuffix(k, "$batch")) {
			n += v
		}
	}
	return n
}
