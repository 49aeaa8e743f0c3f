package notifystore_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/internal/heappeak"
	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/notifystore"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/store/storetest"
	"github.com/sharedrift/sharedrift/tenant"
)

// BenchmarkPlanFirstScan plans the notifications of a first scan that
// opened SHAREDRIFT_BENCH_FINDINGS findings (default 331,574, what the s2
// tenant's first scan opens) on SQLite, with a digest threshold: "streamed"
// is PlanScan, "whole" reads every transition first and plans them at
// once, as PlanScan did before it streamed. Peak heap is sampled with
// GOGC=10, so it is close to what is live.
func BenchmarkPlanFirstScan(b *testing.B) {
	n := 331_574
	if v, err := strconv.Atoi(os.Getenv("SHAREDRIFT_BENCH_FINDINGS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "sharedrift.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sc := func() store.Scan {
		results := make([]tenant.Result, n)
		for i := range results {
			results[i] = fail(strconv.Itoa(i))
		}
		sc, err := st.RecordScan(ctx, store.ScanInput{Snapshot: storetest.Snapshot(storetest.T0), Results: results, Baseline: "recommended"})
		if err != nil {
			b.Fatal(err)
		}
		return sc
	}()
	p := &notify.Planner{Routes: []notify.Route{{Destination: "ops-slack"}}, Digest: notify.DigestConfig{Threshold: 10}}
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	for _, mode := range []string{"streamed", "whole"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
				var items []notify.Item
				peak := heappeak.Of(func() {
					if mode == "streamed" {
						plan := p.Start(notify.Scan{ID: strconv.FormatInt(sc.ID, 10), Tenant: sc.Tenant, At: sc.CollectedAt})
						err = st.EachTransition(ctx, sc.ID, func(tr *store.Transition) error {
							c := notify.Change{Transition: notify.Transition(tr.Kind), Finding: notifystore.Finding(&tr.Finding, notifystore.Options{})}
							plan.Add(&c)
							return nil
						})
						items = plan.Items()
					} else {
						var trs []store.Transition
						trs, err = st.Transitions(ctx, sc.ID)
						changes := make([]notify.Change, 0, len(trs))
						for i := range trs {
							changes = append(changes, notify.Change{Transition: notify.Transition(trs[i].Kind), Finding: notifystore.Finding(&trs[i].Finding, notifystore.Options{})})
						}
						items = p.Plan(notify.Scan{ID: strconv.FormatInt(sc.ID, 10), Tenant: sc.Tenant, At: sc.CollectedAt}, changes)
					}
					if err == nil {
						_, err = notify.OutboxItems(items)
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				if len(items) != 1 || items[0].Notification.Digest.Size() != n {
					b.Fatalf("%d items for %d findings", len(items), n)
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			}
		})
	}
	// PlanScan itself enqueues the one digest.
	if k, err := notifystore.PlanScan(ctx, st, p, sc, notifystore.Options{}); err != nil || k != 1 {
		b.Fatalf("PlanScan enqueued %d: %v", k, err)
	}
	// A day later every finding is due a reminder: "paged" plans and
	// enqueues them 2,000 open findings at a time, "whole" all at once.
	p.Reminder = notify.ReminderConfig{Every: 24 * time.Hour, MinSeverity: tenant.SeverityHigh}
	for i, mode := range []string{"paged", "whole"} {
		b.Run("reminders-"+mode, func(b *testing.B) {
			if mode == "whole" {
				notifystore.SetReminderPage(b, n+1)
			}
			for b.Loop() {
				runtime.GC()
				var k int
				// Each mode plans the next day's reminders, so that both
				// enqueue every one.
				peak := heappeak.Of(func() {
					k, err = notifystore.PlanReminders(ctx, st, p, sc.Tenant, storetest.T0.Add(time.Duration(25+24*i)*time.Hour), notifystore.Options{})
				})
				if err != nil || k != n {
					b.Fatalf("%d reminders for %d findings: %v", k, n, err)
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			}
		})
	}
}
