package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sharedrift/sharedrift/config"
)

// recorder is a fake ScanFunc that counts scans per (tenant, slot) and
// notices overlapping scans of one tenant.
type recorder struct {
	mu       sync.Mutex
	runs     map[string]map[time.Time]int
	inFlight map[string]int
	overlaps int
	delay    time.Duration
	// block, when set, makes scans wait for it or for cancellation.
	block chan struct{}
	panic bool
}

func newRecorder(delay time.Duration) *recorder {
	return &recorder{runs: map[string]map[time.Time]int{}, inFlight: map[string]int{}, delay: delay}
}

func (r *recorder) scan(ctx context.Context, req ScanRequest) (ScanResult, error) {
	name := req.Tenant.Name
	r.mu.Lock()
	r.inFlight[name]++
	if r.inFlight[name] > 1 {
		r.overlaps++
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight[name]--
		r.mu.Unlock()
	}()
	if r.panic {
		panic("boom")
	}
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
			return ScanResult{}, ctx.Err() // nothing committed
		}
	}
	select {
	case <-time.After(r.delay):
	case <-ctx.Done():
		return ScanResult{}, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runs[name] == nil {
		r.runs[name] = map[time.Time]int{}
	}
	r.runs[name][req.Slot]++
	return ScanResult{Status: OutcomeComplete, Calls: 3, RU: 7}, nil
}

func (r *recorder) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.runs {
		for _, c := range m {
			n += c
		}
	}
	return n
}

func tenants(n int, schedule string) []config.Tenant {
	out := make([]config.Tenant, n)
	for i := range out {
		out[i] = config.Tenant{Name: fmt.Sprintf("t%02d", i), Schedule: schedule, Baseline: "recommended"}
	}
	return out
}

func sched(jitter, grace time.Duration, startup bool) config.Scheduler {
	return config.Scheduler{
		Jitter: config.Duration(jitter), StartupScan: startup, ScanTimeout: config.Duration(time.Minute),
		GracePeriod: config.Duration(grace), LeaseTTL: config.Duration(2 * time.Second), MaxConcurrent: 4,
	}
}

// TestReplicasRunEachSlotOnce runs three daemons on one coordinator: every
// slot that came due while they ran is scanned exactly once, and never two
// scans of a tenant at once.
func TestReplicasRunEachSlotOnce(t *testing.T) {
	coord := NewMemCoordinator()
	rec := newRecorder(30 * time.Millisecond)
	ts := tenants(6, "@every 1s")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	start := time.Now().UTC()
	for i := 0; i < 3; i++ {
		d, err := New(Options{Tenants: ts, Scheduler: sched(300*time.Millisecond, time.Second, false),
			Scan: rec.scan, Coordinator: coord, Owner: fmt.Sprintf("replica-%d", i), SweepInterval: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.Run(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(3500 * time.Millisecond)
	cancel()
	wg.Wait()
	stop := time.Now().UTC()

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.overlaps != 0 {
		t.Errorf("%d overlapping scans of one tenant", rec.overlaps)
	}
	// Slots whose jittered fire time plus the scan fit in the window.
	first := start.Truncate(time.Second).Add(time.Second)
	last := stop.Add(-time.Second).Truncate(time.Second)
	for _, tn := range ts {
		runs := rec.runs[tn.Name]
		for slot, n := range runs {
			if n != 1 {
				t.Errorf("%s slot %s ran %d times", tn.Name, slot.Format(time.TimeOnly), n)
			}
		}
		for s := first; !s.After(last); s = s.Add(time.Second) {
			if runs[s] == 0 {
				t.Errorf("%s slot %s never ran", tn.Name, s.Format(time.TimeOnly))
			}
		}
	}
}

func TestStartupScanAndTrigger(t *testing.T) {
	coord := NewMemCoordinator()
	rec := newRecorder(0)
	d, err := New(Options{Tenants: tenants(2, "@every 1h"), Scheduler: sched(0, time.Second, true),
		Scan: rec.scan, Coordinator: coord, Owner: "a"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, func() bool { return rec.total() == 2 })
	// The startup slot is the schedule's current one, shared by replicas.
	slot, _ := latestSlot(config.Every(time.Hour), time.Now().UTC())
	if st, ok := coord.SlotStatus("t00", slot); !ok || st != SlotDone {
		t.Fatalf("startup slot %s status %q, %v", slot, st, ok)
	}
	time.Sleep(1100 * time.Millisecond) // a new second, so a new manual slot
	if _, err := d.Trigger(ctx, "t01"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return rec.total() == 3 })
	if _, err := d.Trigger(ctx, "nope"); !errors.Is(err, ErrUnknownTenant) {
		t.Fatalf("unknown tenant: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := d.Trigger(context.Background(), "t01"); !errors.Is(err, ErrStopping) {
		t.Fatalf("after stop: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGracefulStop(t *testing.T) {
	cases := []struct {
		name        string
		release     time.Duration // when the blocked scan is let go
		wantOutcome string
		wantSlot    string
	}{
		{"finishes within grace", 100 * time.Millisecond, OutcomeComplete, SlotDone},
		{"abandoned after grace", 5 * time.Second, OutcomeAbandoned, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			coord := NewMemCoordinator()
			rec := newRecorder(0)
			rec.block = make(chan struct{})
			m := NewMetrics()
			d, err := New(Options{Tenants: tenants(1, "@every 1h"), Scheduler: sched(0, 400*time.Millisecond, true),
				Scan: rec.scan, Coordinator: coord, Owner: "a", Metrics: m})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- d.Run(ctx) }()
			waitFor(t, func() bool { return len(d.runningTenants()) == 1 })
			slot, _ := latestSlot(config.Every(time.Hour), time.Now().UTC())
			time.AfterFunc(tc.release, func() { close(rec.block) })
			began := time.Now()
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run returned %v, want nil (exit 0)", err)
			}
			if el := time.Since(began); el > 2*time.Second {
				t.Errorf("stop took %s", el)
			}
			if got := testutil.ToFloat64(m.Scans.WithLabelValues("t00", tc.wantOutcome)); got != 1 {
				t.Errorf("scans{outcome=%s} = %v", tc.wantOutcome, got)
			}
			if st, _ := coord.SlotStatus("t00", slot); st != tc.wantSlot {
				t.Errorf("slot status %q, want %q", st, tc.wantSlot)
			}
			// An abandoned tenant's lease is released so another replica can
			// take the still-pending slot at once.
			if due, _ := coord.DueTenants(context.Background()); tc.wantSlot == "" && len(due) != 1 {
				t.Errorf("due tenants after abandon = %v", due)
			}
		})
	}
}

func TestPanicRecordedAndSurvived(t *testing.T) {
	coord := NewMemCoordinator()
	rec := newRecorder(0)
	rec.panic = true
	m := NewMetrics()
	d, err := New(Options{Tenants: tenants(1, "@every 1h"), Scheduler: sched(0, time.Second, false),
		Scan: rec.scan, Coordinator: coord, Owner: "a", Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.ScanNow(context.Background(), "t00")
	if err == nil {
		t.Fatal("want the panic as an error")
	}
	if got := testutil.ToFloat64(m.Scans.WithLabelValues("t00", OutcomePanic)); got != 1 {
		t.Errorf("panic count %v", got)
	}
	pending, _ := coord.PendingSlots(context.Background(), "t00")
	if len(pending) != 0 {
		t.Errorf("failed slot left pending: %v", pending)
	}
	rec.panic = false
	time.Sleep(1100 * time.Millisecond)
	if _, err := d.ScanNow(context.Background(), "t00"); err != nil {
		t.Fatalf("scan after a panic: %v", err)
	}
}

// TestTakeover: a replica that dies holding a tenant leaves a pending slot
// and a lease; another replica runs the slot once the lease expires.
func TestTakeover(t *testing.T) {
	coord := NewMemCoordinator()
	ctx := context.Background()
	// The current aligned slot of "@every 1h": an older one would be skipped
	// as backlog when the test runs just after the top of an hour.
	slot := time.Now().UTC().Truncate(time.Hour)
	if err := coord.EnsureSlot(ctx, "t00", slot, false); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := coord.ClaimTenant(ctx, "t00", "dead", 1500*time.Millisecond); !ok {
		t.Fatal("claim")
	}
	rec := newRecorder(0)
	d, err := New(Options{Tenants: tenants(1, "@every 1h"), Scheduler: sched(0, time.Second, false),
		Scan: rec.scan, Coordinator: coord, Owner: "alive", SweepInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- d.Run(rctx) }()
	time.Sleep(700 * time.Millisecond)
	if rec.total() != 0 {
		t.Fatal("ran while the dead replica's lease was live")
	}
	waitFor(t, func() bool { return rec.total() == 1 })
	cancel()
	<-done
	if st, _ := coord.SlotStatus("t00", slot); st != SlotDone {
		t.Fatalf("slot status %q", st)
	}
	// The dead replica's fence no longer holds.
	if err := coord.FinishSlot(ctx, "t00", slot, SlotDone, Lease{Name: LeaseName("t00"), Owner: "dead", Generation: 1}); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("stale fence accepted: %v", err)
	}
}

func TestBacklogSkipsOlderSlots(t *testing.T) {
	coord := NewMemCoordinator()
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Second)
	for i := 3; i >= 1; i-- {
		_ = coord.EnsureSlot(ctx, "t00", base.Add(-time.Duration(i)*time.Minute), false)
	}
	rec := newRecorder(0)
	d, _ := New(Options{Tenants: tenants(1, "@every 1h"), Scheduler: sched(0, time.Second, false),
		Scan: rec.scan, Coordinator: coord, Owner: "a"})
	if _, err := d.ScanNow(ctx, "t00"); err != nil {
		t.Fatal(err)
	}
	want := map[time.Duration]string{3: SlotSkipped, 2: SlotSkipped, 1: SlotSkipped, 0: SlotDone}
	for back, w := range want {
		if st, _ := coord.SlotStatus("t00", base.Add(-back*time.Minute)); st != w {
			t.Errorf("slot -%dm: %q, want %q", back, st, w)
		}
	}
	if rec.total() != 1 {
		t.Errorf("ran %d scans, want 1", rec.total())
	}
}

func TestJitterAndSlots(t *testing.T) {
	for _, name := range []string{"a", "contoso", "fabrikam", "t19"} {
		j := jitterFor(name, 30*time.Second)
		if j < 0 || j >= 30*time.Second || j != jitterFor(name, 30*time.Second) {
			t.Errorf("jitter(%s) = %s", name, j)
		}
	}
	if jitterFor("x", 0) != 0 {
		t.Error("no window, no jitter")
	}
	s, _ := config.ParseSchedule("0 */4 * * *")
	at := time.Date(2025, 3, 10, 9, 30, 0, 0, time.UTC)
	got, ok := latestSlot(s, at)
	if !ok || !got.Equal(time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("latestSlot = %v %v", got, ok)
	}
	weekly, _ := config.ParseSchedule("0 7 * * 1")
	got, _ = latestSlot(weekly, at)
	if !got.Equal(time.Date(2025, 3, 10, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("weekly latestSlot = %v", got)
	}
	j := jittered{base: config.Every(time.Minute), offset: 7 * time.Second}
	if n := j.Next(at); !n.Equal(at.Add(7 * time.Second)) {
		t.Errorf("jittered next = %v", n)
	}
}

func TestNewRejectsBadSchedule(t *testing.T) {
	_, err := New(Options{Tenants: []config.Tenant{{Name: "acme", Schedule: "nope"}}, Scan: newRecorder(0).scan,
		Coordinator: NewMemCoordinator(), Owner: "a"})
	if err == nil || !strings.Contains(err.Error(), "tenants.acme.schedule") {
		t.Fatalf("got %v", err)
	}
}
