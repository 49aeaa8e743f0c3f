package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// Coordinator implements daemon.Coordinator on the store: tenant leases
// are the store's (the scan commit is fenced on them), and a slot counts as
// done once the tenant has a recorded scan that started at or after it
// (Pipeline.Scan never records a start before the slot), so replicas agree
// through the scans table itself. Each replica keeps its own
// queue of due slots; every replica schedules every tenant, so each queue
// holds every slot.
type Coordinator struct {
	S coordinatorStore
	// TTL is used to check a lease is still held when a slot is finished.
	TTL time.Duration

	mu sync.Mutex
	// pending holds due slots; the value is true for forced slots.
	pending map[string]map[int64]bool
}

// coordinatorStore is what the coordinator needs: the leases and the
// latest scan of a tenant.
type coordinatorStore interface {
	store.Leases
	Scans(ctx context.Context, f store.ScanFilter) ([]store.Scan, error)
}

// NewCoordinator returns a store-backed coordinator.
func NewCoordinator(s coordinatorStore, ttl time.Duration) *Coordinator {
	return &Coordinator{S: s, TTL: ttl, pending: map[string]map[int64]bool{}}
}

// EnsureSlot implements daemon.Coordinator.
func (c *Coordinator) EnsureSlot(_ context.Context, tenantName string, slot time.Time, force bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.pending[tenantName]
	if m == nil {
		m = map[int64]bool{}
		c.pending[tenantName] = m
	}
	m[slot.Unix()] = m[slot.Unix()] || force
	return nil
}

func lease(l store.Lease) daemon.Lease {
	return daemon.Lease{Name: l.Name, Owner: l.Owner, Generation: l.Generation}
}

// ClaimTenant implements daemon.Coordinator.
func (c *Coordinator) ClaimTenant(ctx context.Context, tenantName, owner string, ttl time.Duration) (daemon.Lease, bool, error) {
	l, ok, err := c.S.TryLease(ctx, daemon.LeaseName(tenantName), owner, ttl)
	if err != nil || !ok {
		return daemon.Lease{}, false, err
	}
	return lease(l), true, nil
}

// RenewTenant implements daemon.Coordinator.
func (c *Coordinator) RenewTenant(ctx context.Context, l daemon.Lease, ttl time.Duration) (bool, error) {
	got, err := c.S.RenewLease(ctx, l.Name, l.Owner, ttl)
	if errors.Is(err, store.ErrLeaseLost) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return got.Generation == l.Generation, nil
}

// ReleaseTenant implements daemon.Coordinator.
func (c *Coordinator) ReleaseTenant(ctx context.Context, l daemon.Lease) error {
	return c.S.ReleaseLease(ctx, l.Name, l.Owner)
}

// lastStart returns when the tenant's latest scheduled-kind scan started. Scans of some sections (those change notifications
// run) cover no slot: the scheduled scan stays the safety net.
func (c *Coordinator) lastStart(ctx context.Context, tenantName string) (time.Time, error) {
	f := store.ScanFilter{Tenant: tenantName, Limit: 1}
	for {
		scans, err := c.S.Scans(ctx, f)
		if err != nil {
			return time.Time{}, fmt.Errorf("latest scan of %s: %w", tenantName, err)
		}
		for _, sc := range scans {
			if coversSlot(sc) {
				return sc.StartedAt, nil
			}
		}
		if len(scans) < f.Limit {
			return time.Time{}, nil
		}
		f.BeforeID, f.Limit = scans[len(scans)-1].ID, 100
	}
}

// uncovered drops (and forgets) the slots a recorded scan already covers
// and returns the rest, oldest first. Callers hold c.mu.
func (c *Coordinator) uncovered(tenantName string, last time.Time) []time.Time {
	var out []time.Time
	for s, forced := range c.pending[tenantName] {
		slot := time.Unix(s, 0).UTC()
		if !forced && !last.IsZero() && !last.Before(slot) {
			delete(c.pending[tenantName], s)
			continue
		}
		out = append(out, slot)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// PendingSlots implements daemon.Coordinator.
func (c *Coordinator) PendingSlots(ctx context.Context, tenantName string) ([]time.Time, error) {
	c.mu.Lock()
	n := len(c.pending[tenantName])
	c.mu.Unlock()
	if n == 0 {
		return nil, nil
	}
	last, err := c.lastStart(ctx, tenantName)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uncovered(tenantName, last), nil
}

// FinishSlot implements daemon.Coordinator.
func (c *Coordinator) FinishSlot(ctx context.Context, tenantName string, slot time.Time, _ string, l daemon.Lease) error {
	held, err := c.RenewTenant(ctx, l, c.TTL)
	if err != nil {
		return err
	}
	if !held {
		return daemon.ErrLeaseLost
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending[tenantName], slot.Unix())
	return nil
}

// DueTenants implements daemon.Coordinator.
func (c *Coordinator) DueTenants(ctx context.Context) ([]string, error) {
	c.mu.Lock()
	var names []string
	for t, m := range c.pending {
		if len(m) > 0 {
			names = append(names, t)
		}
	}
	c.mu.Unlock()
	if len(names) == 0 {
		return nil, nil
	}
	leases, err := c.S.ListLeases(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	live := map[string]bool{}
	for _, l := range leases {
		if l.ExpiresAt.After(now) {
			live[l.Name] = true
		}
	}
	var out []string
	for _, t := range names {
		if live[daemon.LeaseName(t)] {
			continue
		}
		last, err := c.lastStart(ctx, t)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		left := len(c.uncovered(t, last))
		c.mu.Unlock()
		if left > 0 {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Reader implements daemon.Reader and daemon.StateSource on the store.
type Reader struct {
	S ReaderStore
}

// ReaderStore is the part of the store the API and the metrics read.
type ReaderStore interface {
	Ping(ctx context.Context) error
	SchemaVersion(ctx context.Context) (current, supported int, err error)
	Tenants(ctx context.Context) ([]store.Tenant, error)
	Scan(ctx context.Context, id int64) (store.Scan, error)
	Scans(ctx context.Context, f store.ScanFilter) ([]store.Scan, error)
	Changes(ctx context.Context, f store.ChangeFilter) ([]store.Change, error)
	FindingsList(ctx context.Context, f store.FindingFilter) ([]store.Finding, error)
	FindingCounts(ctx context.Context, tenantName string) ([]store.FindingCount, error)
	OutboxStats(ctx context.Context, tenantName string) ([]store.OutboxCount, error)
}

// Ready implements daemon.Reader: reachable and fully migrated.
func (r Reader) Ready(ctx context.Context) error {
	if err := r.S.Ping(ctx); err != nil {
		return err
	}
	cur, sup, err := r.S.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if cur != sup {
		return fmt.Errorf("schema version %d, binary wants %d", cur, sup)
	}
	return nil
}

// TenantInfo implements daemon.Reader.
func (r Reader) TenantInfo(ctx context.Context) (map[string]daemon.TenantState, error) {
	ts, err := r.S.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := r.S.FindingCounts(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make(map[string]daemon.TenantState, len(ts))
	for _, t := range ts {
		st := daemon.TenantState{TenantID: t.TenantID, OpenFindings: map[string]int{}}
		if t.LastScanID != 0 {
			sc, err := r.S.Scan(ctx, t.LastScanID)
			if err != nil {
				return nil, err
			}
			st.LastScan = &sc
		}
		out[t.Name] = st
	}
	for _, c := range counts {
		if st, ok := out[c.Tenant]; ok && c.State != store.FindingResolved {
			st.OpenFindings[string(c.Severity)] += int(c.Count)
		}
	}
	return out, nil
}

// Scans implements daemon.Reader.
func (r Reader) Scans(ctx context.Context, q daemon.ScanQuery) ([]store.Scan, error) {
	return r.S.Scans(ctx, store.ScanFilter{Tenant: q.Tenant, BeforeID: q.BeforeID, Limit: q.Limit})
}

// Findings implements daemon.Reader.
func (r Reader) Findings(ctx context.Context, q daemon.FindingQuery) ([]store.Finding, error) {
	f := store.FindingFilter{Tenant: q.Tenant, MinSeverity: tenant.Severity(q.MinSeverity),
		Section: tenant.Section(q.Section), RuleID: q.RuleID, Label: q.Label, Limit: q.Limit, Offset: q.Offset}
	for _, s := range q.States {
		f.States = append(f.States, store.FindingState(s))
	}
	return r.S.FindingsList(ctx, f)
}

// Changes implements daemon.Reader.
func (r Reader) Changes(ctx context.Context, q daemon.ChangeQuery) ([]store.Change, error) {
	return r.S.Changes(ctx, store.ChangeFilter{Tenant: q.Tenant, Since: q.Since, AfterID: q.AfterID, Limit: q.Limit})
}

// FindingCounts implements daemon.StateSource.
func (r Reader) FindingCounts(ctx context.Context) ([]daemon.FindingCount, error) {
	cs, err := r.S.FindingCounts(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]daemon.FindingCount, len(cs))
	for i, c := range cs {
		out[i] = daemon.FindingCount{Tenant: c.Tenant, Severity: string(c.Severity), State: string(c.State), Count: int(c.Count)}
	}
	return out, nil
}

// OutboxCounts implements daemon.StateSource.
func (r Reader) OutboxCounts(ctx context.Context) ([]daemon.OutboxCount, error) {
	cs, err := r.S.OutboxStats(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]daemon.OutboxCount, len(cs))
	for i, c := range cs {
		out[i] = daemon.OutboxCount{Destination: c.Destination, State: string(c.State), Count: int(c.Count)}
	}
	return out, nil
}
