package m365

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestGraphCost(t *testing.T) {
	tests := []struct {
		method, url string
		meter       Meter
		cost        int64
	}{
		{"GET", "https://graph.microsoft.com/v1.0/drives/b!x/root/delta?$select=id", MeterSharePoint, RUMulti},
		{"GET", "https://graph.microsoft.com/v1.0/drives/b!x/root/delta?token=abc", MeterSharePoint, RUSingle},
		{"GET", "/drives/b!x/items/1/permissions?$select=id", MeterSharePoint, RUPermission},
		{"DELETE", "/drives/b!x/items/1/permissions/p", MeterSharePoint, RUPermission},
		{"GET", "/drives/b!x/items/1?$select=id,parentReference", MeterSharePoint, RUSingle},
		{"GET", "/sites/getAllSites?$top=999", MeterSharePoint, RUMulti},
		{"GET", "/sites/h,a,b/drives", MeterSharePoint, RUMulti},
		{"GET", "/sites/delta?token=latest", MeterSharePoint, RUSingle},
		{"PATCH", "/admin/sharepoint/settings", MeterSharePoint, RUMulti},
		{"GET", "/users?$select=id&$top=999", MeterEntra, 1},
		{"GET", "/users?$select=id&$expand=sponsors", MeterEntra, 2},
		{"GET", "/users", MeterEntra, 2},
		{"GET", "/users/1/memberOf?$select=id", MeterEntra, 1},
		{"GET", "/groups/1/members", MeterEntra, 3},
		{"GET", "/users?$select=id&$top=5", MeterEntra, 1},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.url, func(t *testing.T) {
			m, c := GraphCost(tt.method, tt.url)
			if m != tt.meter || c != tt.cost {
				t.Errorf("got %s %d, want %s %d", m, c, tt.meter, tt.cost)
			}
		})
	}
}

// fakeClock moves only when slept on.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return nil
}

func TestBudgetPacerMirrorsRateLimit(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := NewBudgetPacer()
	p.Now, p.Sleep = clk.Now, clk.Sleep
	ctx := context.Background()
	tk := Ticket{Audience: AudienceGraph, Meter: MeterSharePoint, Cost: 100}
	// Before the service names its limit nothing waits.
	done, err := p.Acquire(ctx, tk)
	if err != nil {
		t.Fatal(err)
	}
	done(200, http.Header{"Ratelimit-Limit": {"600"}, "Ratelimit-Remaining": {"100"}, "Ratelimit-Reset": {"50"}})
	start := clk.now
	// 100 left: one more at once, then 100 RU per 10s (600 per minute).
	for i := 0; i < 4; i++ {
		done, err := p.Acquire(ctx, tk)
		if err != nil {
			t.Fatal(err)
		}
		done(200, nil)
	}
	if got, want := clk.now.Sub(start), 30*time.Second; got < want-time.Second || got > want+time.Second {
		t.Errorf("four requests of 100 RU with 100 left took %s, want about %s", got, want)
	}
}

func TestBudgetPacerHoldsMeterOnRetryAfter(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := NewBudgetPacer()
	p.Now, p.Sleep = clk.Now, clk.Sleep
	ctx := context.Background()
	done, _ := p.Acquire(ctx, Ticket{Meter: MeterEntra, Cost: 1})
	done(429, http.Header{"Retry-After": {"7"}})
	start := clk.now
	done, _ = p.Acquire(ctx, Ticket{Meter: MeterEntra, Cost: 1})
	done(200, nil)
	if got := clk.now.Sub(start); got != 7*time.Second {
		t.Errorf("another request waited %s, want the 7s Retry-After", got)
	}
	start = clk.now
	done, _ = p.Acquire(ctx, Ticket{Meter: MeterSharePoint, Cost: 1})
	done(200, nil)
	if clk.now != start {
		t.Error("another meter was held")
	}
}

func TestBudgetPacerLearnsFromSilence(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := NewBudgetPacer()
	p.Now, p.Sleep = clk.Now, clk.Sleep
	tk := Ticket{Meter: MeterSharePoint, Cost: 100}
	blocked := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		done, err := p.Acquire(ctx, tk)
		if err != nil {
			return true
		}
		done(200, nil)
		return false
	}
	first, err := p.Acquire(context.Background(), tk)
	if err != nil {
		t.Fatal(err)
	}
	if !blocked() {
		t.Fatal("a second 100 RU request went out before anything is known of the budget")
	}
	first(200, nil)
	// 1,800 RU spent within the window without a budget header: the
	// limit is at least 1,000, so 200 may be in flight.
	for i := 0; i < 18; i++ {
		done, err := p.Acquire(context.Background(), tk)
		if err != nil {
			t.Fatal(err)
		}
		done(200, nil)
	}
	held, err := p.Acquire(context.Background(), tk)
	if err != nil {
		t.Fatal(err)
	}
	if blocked() {
		t.Error("silence about the budget did not allow more in flight")
	}
	held(200, nil)
}
