package scanner

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/sharedrift/sharedrift/tenant"
)

// Stats counts the API traffic of one section. API clients find it in the
// request context (StatsFrom) and add to it; the scanner copies the totals
// into the section's status.
type Stats struct {
	Calls     atomic.Int64
	Retries   atomic.Int64
	Throttled atomic.Int64
	RU        atomic.Int64

	mu        sync.Mutex
	discovery *tenant.LinkDiscovery
}

// SetLinkDiscovery records how the links section found its links.
func (s *Stats) SetLinkDiscovery(d *tenant.LinkDiscovery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.discovery = d
}

type statsKey struct{}

// WithStats returns a context whose API calls are counted in s.
func WithStats(ctx context.Context, s *Stats) context.Context {
	return context.WithValue(ctx, statsKey{}, s)
}

// StatsFrom returns the Stats attached to ctx, or nil.
func StatsFrom(ctx context.Context) *Stats {
	s, _ := ctx.Value(statsKey{}).(*Stats)
	return s
}

func (s *Stats) fill(st *tenant.SectionStatus) {
	st.Calls = int(s.Calls.Load())
	st.Retries = int(s.Retries.Load())
	st.Throttled = int(s.Throttled.Load())
	st.RU = s.RU.Load()
	s.mu.Lock()
	st.Discovery = s.discovery
	s.mu.Unlock()
}
