package m365

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestHeaderPacer(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"budget left", http.Header{"Ratelimit-Remaining": {"10"}, "Ratelimit-Reset": {"30"}}, 0},
		{"budget spent", http.Header{"Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"7"}}, 7 * time.Second},
		{"entra warning", http.Header{"X-Ms-Throttle-Limit-Percentage": {"0.95"}}, time.Second},
		{"entra fine", http.Header{"X-Ms-Throttle-Limit-Percentage": {"0.5"}}, 0},
		{"absurd reset capped", http.Header{"Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"86400"}}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var waited time.Duration
			p := NewHeaderPacer()
			p.Now = func() time.Time { return now }
			p.Sleep = func(_ context.Context, d time.Duration) error { waited = d; return nil }
			p.Observe(AudienceSharePoint, tt.header)
			if err := p.Wait(context.Background(), AudienceSharePoint); err != nil {
				t.Fatal(err)
			}
			if waited != tt.want {
				t.Errorf("waited %s, want %s", waited, tt.want)
			}
			waited = 0
			_ = p.Wait(context.Background(), AudienceGraph)
			if waited != 0 {
				t.Errorf("another audience waited %s", waited)
			}
		})
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"10", 10 * time.Second, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			d, ok := retryAfter(http.Header{"Retry-After": {tt.v}}, now)
			if d != tt.want || ok != tt.ok {
				t.Errorf("got %s %v", d, ok)
			}
		})
	}
}
