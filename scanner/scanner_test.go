package scanner_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

type fakeSource struct {
	sec tenant.Section
	run func(ctx context.Context, s *tenant.Snapshot) error
}

func (f fakeSource) Section() tenant.Section { return f.sec }
func (f fakeSource) Collect(ctx context.Context, s *tenant.Snapshot) error {
	scanner.StatsFrom(ctx).Calls.Add(2)
	return f.run(ctx, s)
}

func TestScan(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sources := []scanner.Source{
		fakeSource{tenant.SectionSharePoint, func(_ context.Context, s *tenant.Snapshot) error {
			s.SharePoint = &tenant.SharePointSettings{SharingCapability: tenant.SharingDisabled}
			return nil
		}},
		fakeSource{tenant.SectionGuests, func(_ context.Context, s *tenant.Snapshot) error {
			s.Guests = []tenant.Guest{{ID: "g"}}
			return scanner.Partial(errors.New("sponsors unreadable"))
		}},
		fakeSource{tenant.SectionSites, func(_ context.Context, s *tenant.Snapshot) error {
			s.Sites = []tenant.Site{{ID: "half-read"}}
			return errors.New("sites exploded")
		}},
		fakeSource{tenant.SectionExchange, func(ctx context.Context, _ *tenant.Snapshot) error {
			<-ctx.Done()
			return ctx.Err()
		}},
		fakeSource{tenant.SectionEntra, func(context.Context, *tenant.Snapshot) error { panic("parser bug") }},
	}
	snap := scanner.Scan(context.Background(), sources, scanner.Options{
		Tenant: "t", Now: func() time.Time { return now },
		Timeout: 5 * time.Second, Timeouts: map[tenant.Section]time.Duration{tenant.SectionExchange: 50 * time.Millisecond},
	})
	if !snap.CollectedAt.Equal(now) || snap.Tenant != "t" || snap.Schema != tenant.SchemaV1 {
		t.Errorf("header %+v", snap)
	}
	tests := []struct {
		sec     tenant.Section
		state   tenant.State
		mention string
	}{
		{tenant.SectionSharePoint, tenant.StateComplete, ""},
		{tenant.SectionGuests, tenant.StatePartial, "sponsors unreadable"},
		{tenant.SectionSites, tenant.StateFailed, "sites exploded"},
		{tenant.SectionExchange, tenant.StateFailed, "section timeout 50ms"},
		{tenant.SectionEntra, tenant.StateFailed, "panic: parser bug"},
	}
	for _, tt := range tests {
		t.Run(string(tt.sec), func(t *testing.T) {
			st := snap.Status[tt.sec]
			if st.State != tt.state || !strings.Contains(st.Error, tt.mention) || st.Calls != 2 {
				t.Errorf("status %+v, want %s mentioning %q with 2 calls", st, tt.state, tt.mention)
			}
		})
	}
	if _, ok := snap.Status[tenant.SectionLinks]; ok {
		t.Error("a section without a source has a status")
	}
	if snap.SharePoint == nil || len(snap.Guests) != 1 {
		t.Error("complete and partial data must be kept")
	}
	if snap.Sites != nil {
		t.Error("a failed section's data must be dropped")
	}
}

func TestPartial(t *testing.T) {
	if scanner.Partial(nil) != nil {
		t.Error("Partial(nil) != nil")
	}
	base := errors.New("x")
	err := scanner.Partial(base)
	if !scanner.IsPartial(err) || !errors.Is(err, base) || scanner.IsPartial(base) {
		t.Error("Partial does not wrap")
	}
}

// TestProgress follows a scan from another goroutine: sections done and
// running, their requests, and an estimate once one section is done.
func TestProgress(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	sources := []scanner.Source{
		fakeSource{tenant.SectionSharePoint, func(ctx context.Context, _ *tenant.Snapshot) error {
			scanner.StatsFrom(ctx).RU.Add(5)
			return nil
		}},
		fakeSource{tenant.SectionLinks, func(ctx context.Context, _ *tenant.Snapshot) error {
			scanner.StatsFrom(ctx).RU.Add(40)
			close(started)
			<-release
			return nil
		}},
	}
	p := &scanner.Progress{}
	done := make(chan *tenant.Snapshot)
	go func() { done <- scanner.Scan(context.Background(), sources, scanner.Options{Tenant: "t", Progress: p}) }()
	<-started
	var mid scanner.ProgressTotals
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if mid = p.Totals(time.Now()); mid.Done == 1 {
			break
		}
	}
	if mid.Sections != 2 || mid.Done != 1 || mid.Requests != 4 || mid.RU != 45 ||
		len(mid.Running) != 1 || mid.Running[0] != tenant.SectionLinks || mid.Left <= 0 {
		t.Errorf("mid-scan totals %+v", mid)
	}
	close(release)
	<-done
	if end := p.Totals(time.Now()); end.Done != 2 || len(end.Running) != 0 || end.Left != 0 {
		t.Errorf("final totals %+v", end)
	}
}

type sizedSource struct{ fakeSource }

func (sizedSource) TenantSized() bool { return true }

// TestTenantSizedOneAtATime: sources that hold a tenant-sized working set
// never run together, and run in the order given, while the others run
// beside them; a sized source's timeout counts from its own start.
func TestTenantSizedOneAtATime(t *testing.T) {
	var mu sync.Mutex
	var order []tenant.Section
	running, overlap := 0, false
	besides := make(chan struct{})
	sized := func(sec tenant.Section) scanner.Source {
		return sizedSource{fakeSource{sec, func(ctx context.Context, _ *tenant.Snapshot) error {
			// The other sources run beside: this one waits for sites.
			select {
			case <-besides:
			case <-ctx.Done():
				return ctx.Err()
			}
			mu.Lock()
			running++
			overlap = overlap || running > 1
			order = append(order, sec)
			mu.Unlock()
			select {
			case <-time.After(1200 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			mu.Lock()
			running--
			mu.Unlock()
			return nil
		}}}
	}
	sources := []scanner.Source{
		sized(tenant.SectionLinks),
		fakeSource{tenant.SectionSites, func(ctx context.Context, _ *tenant.Snapshot) error {
			close(besides)
			return nil
		}},
		sized(tenant.SectionGuests),
	}
	snap := scanner.Scan(context.Background(), sources, scanner.Options{Tenant: "t", Timeout: 2 * time.Second})
	for _, sec := range []tenant.Section{tenant.SectionLinks, tenant.SectionSites, tenant.SectionGuests} {
		if !snap.Complete(sec) {
			t.Errorf("%s: %+v (the second sized source's timeout must start with it)", sec, snap.Status[sec])
		}
	}
	if overlap {
		t.Error("two tenant-sized sources ran at once")
	}
	if len(order) != 2 || order[0] != tenant.SectionLinks || order[1] != tenant.SectionGuests {
		t.Errorf("tenant-sized sources ran in order %v, want links then guests", order)
	}
}
