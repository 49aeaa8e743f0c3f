package daemon

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"
)

// ErrLeaseLost is returned when an operation needs a lease this owner no
// longer holds (it expired and another replica took the tenant over).
var ErrLeaseLost = errors.New("tenant lease lost")

// Slot outcomes recorded with FinishSlot.
const (
	SlotDone    = "done"
	SlotFailed  = "failed"
	SlotSkipped = "skipped"
)

// Lease is a held tenant lease. Generation grows each time the lease
// changes hands; the scan commit is fenced on it.
type Lease struct {
	Name       string
	Owner      string
	Generation int64
}

// LeaseName is the lease that serializes scans of a tenant.
func LeaseName(tenant string) string { return "tenant:" + tenant }

// Coordinator keeps the durable queue of due slots and the per-tenant
// leases that replicas share. Expiry is judged by the coordinator's clock
// (the database's), so replicas' clock skew does not matter. Slots are UTC
// with second precision.
type Coordinator interface {
	// EnsureSlot records that tenant's scan for slot is due; idempotent.
	// A forced slot (a manual trigger) is run even if a recent scan would
	// otherwise count for it.
	EnsureSlot(ctx context.Context, tenant string, slot time.Time, force bool) error
	// ClaimTenant takes the tenant's lease for ttl if it is free, expired,
	// or already ours.
	ClaimTenant(ctx context.Context, tenant, owner string, ttl time.Duration) (Lease, bool, error)
	// RenewTenant extends a held lease; false means it was lost.
	RenewTenant(ctx context.Context, l Lease, ttl time.Duration) (bool, error)
	// ReleaseTenant gives the lease up if it is still held.
	ReleaseTenant(ctx context.Context, l Lease) error
	// PendingSlots lists the tenant's unfinished slots, oldest first.
	PendingSlots(ctx context.Context, tenant string) ([]time.Time, error)
	// FinishSlot closes a slot with a status; ErrLeaseLost unless l is
	// still held.
	FinishSlot(ctx context.Context, tenant string, slot time.Time, status string, l Lease) error
	// DueTenants lists tenants with a pending slot and no live lease.
	DueTenants(ctx context.Context) ([]string, error)
}

// MemCoordinator is an in-process Coordinator: right for a single daemon
// (the embedded SQLite store, guarded by a lock file) and for tests. It
// forgets everything on exit.
type MemCoordinator struct {
	mu     sync.Mutex
	now    func() time.Time
	slots  map[string]map[int64]string // tenant -> slot (unix s) -> status ("" = pending)
	leases map[string]memLease
	gen    map[string]int64
}

type memLease struct {
	owner string
	gen   int64
	until time.Time
}

// NewMemCoordinator returns an empty in-process coordinator.
func NewMemCoordinator() *MemCoordinator {
	return &MemCoordinator{now: time.Now, slots: map[string]map[int64]string{}, leases: map[string]memLease{}, gen: map[string]int64{}}
}

// EnsureSlot implements Coordinator.
func (m *MemCoordinator) EnsureSlot(_ context.Context, tenant string, slot time.Time, _ bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.slots[tenant]
	if s == nil {
		s = map[int64]string{}
		m.slots[tenant] = s
	}
	if _, ok := s[slot.Unix()]; !ok {
		s[slot.Unix()] = ""
	}
	return nil
}

func (m *MemCoordinator) held(l Lease) bool {
	cur, ok := m.leases[l.Name]
	return ok && cur.owner == l.Owner && cur.gen == l.Generation && !cur.until.Before(m.now())
}

// ClaimTenant implements Coordinator.
func (m *MemCoordinator) ClaimTenant(_ context.Context, tenant, owner string, ttl time.Duration) (Lease, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := LeaseName(tenant)
	now := m.now()
	cur, ok := m.leases[name]
	switch {
	case ok && cur.owner == owner && !cur.until.Before(now):
	case ok && !cur.until.Before(now):
		return Lease{}, false, nil
	default:
		m.gen[name]++
		cur = memLease{owner: owner, gen: m.gen[name]}
	}
	cur.until = now.Add(ttl)
	m.leases[name] = cur
	return Lease{Name: name, Owner: owner, Generation: cur.gen}, true, nil
}

// RenewTenant implements Coordinator.
func (m *MemCoordinator) RenewTenant(_ context.Context, l Lease, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.held(l) {
		return false, nil
	}
	cur := m.leases[l.Name]
	cur.until = m.now().Add(ttl)
	m.leases[l.Name] = cur
	return true, nil
}

// ReleaseTenant implements Coordinator.
func (m *MemCoordinator) ReleaseTenant(_ context.Context, l Lease) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.leases[l.Name]; ok && cur.owner == l.Owner && cur.gen == l.Generation {
		delete(m.leases, l.Name)
	}
	return nil
}

// PendingSlots implements Coordinator.
func (m *MemCoordinator) PendingSlots(_ context.Context, tenant string) ([]time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []time.Time
	for s, st := range m.slots[tenant] {
		if st == "" {
			out = append(out, time.Unix(s, 0).UTC())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out, nil
}

// FinishSlot implements Coordinator.
func (m *MemCoordinator) FinishSlot(_ context.Context, tenant string, slot time.Time, status string, l Lease) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.held(l) {
		return ErrLeaseLost
	}
	if s := m.slots[tenant]; s != nil {
		s[slot.Unix()] = status
	}
	return nil
}

// DueTenants implements Coordinator.
func (m *MemCoordinator) DueTenants(_ context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var out []string
	for t, slots := range m.slots {
		if l, ok := m.leases[LeaseName(t)]; ok && !l.until.Before(now) {
			continue
		}
		for _, st := range slots {
			if st == "" {
				out = append(out, t)
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// SlotStatus reports a slot's recorded status ("" pending; ok false if unknown).
func (m *MemCoordinator) SlotStatus(tenant string, slot time.Time) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.slots[tenant][slot.Unix()]
	return st, ok
}
