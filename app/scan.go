package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// ScanStore is what a scan reads and writes: the delta tokens and current
// objects it resumes from, and the recording of the scan.
type ScanStore interface {
	stateStore
	RecordScan(ctx context.Context, in store.ScanInput) (store.Scan, error)
}

// ScanJob is one scan of one tenant.
type ScanJob struct {
	Tenant   string
	TenantID string
	Client   *m365.Client
	// Sources tunes the collector; Scan sets its State (and GuestRefresh to
	// FullEvery when unset).
	Sources m365.SourceOptions
	// Sections limits the scan to these sections; nil means all.
	Sections []tenant.Section
	// Baseline is evaluated on the snapshot (no results without one);
	// BaselineRef is what the scan records as its baseline.
	Baseline    *baselines.Baseline
	BaselineRef string
	// FullEvery is how often each section is read in full (default
	// config.DefaultFullScanEvery).
	FullEvery time.Duration
	// Started is when the scan started (default now).
	Started time.Time
	// Timeout bounds each section's collection (scanner default when 0).
	Timeout time.Duration
	// Clock stamps the snapshot's collection time (default time.Now); a
	// fixture tenant's clock keeps age-based rules reproducible.
	Clock func() time.Time
	// Fence, when set, commits the scan only while this lease is held.
	Fence  *store.Lease
	Logger *slog.Logger
	// Progress, when set, follows the collection as it runs.
	Progress *scanner.Progress
	// Collected and Evaluated, when set, are called after collection and
	// after evaluation (the benchmark measures between them).
	Collected func(*tenant.Snapshot)
	Evaluated func()
}

// Scanned is a recorded scan with what it was computed from. Close
// releases the snapshot's and the results' spools.
type Scanned struct {
	Scan     store.Scan
	Snapshot *tenant.Snapshot
	Results  *tenant.ResultSpool
	// Tokens is how many delta tokens were stored with the scan.
	Tokens int
	// ownSnapshot is set when Scan collected the snapshot.
	ownSnapshot bool
}

// Close releases the results' spool, and the snapshot's when Scan
// collected it.
func (s *Scanned) Close() {
	s.Results.Close()
	if s.ownSnapshot {
		s.Snapshot.Close()
	}
}

// Scan is sharedrift's one scan: collect the tenant (incrementally, from
// the store's delta tokens and objects), evaluate the baseline's rules
// into a spool, and record it all in one transaction with the tokens of
// the sections that completed. The daemon, `scan --store`, `remediate
// plan` and the benchmark all scan through it. The caller closes the
// result.
func Scan(ctx context.Context, st ScanStore, job ScanJob) (*Scanned, error) {
	if job.Client == nil {
		return nil, errors.New("scan: no client")
	}
	started := job.Started
	if started.IsZero() {
		started = time.Now().UTC()
	}
	log := job.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	state := NewState(st, job.Tenant, job.FullEvery, started)
	so := job.Sources
	so.State = state
	// Group discovery leaves out the recipients of links for specific
	// people unless a rule of the baseline judges them.
	so.PeopleLinkDetail = so.PeopleLinkDetail || job.Baseline.NeedsLinkRecipients()
	if so.GuestRefresh == 0 {
		so.GuestRefresh = state.fullEvery
	}
	if so.Started.IsZero() {
		so.Started = started
	}
	sections := job.Sections
	if sections == nil {
		sections = tenant.AllSections
	}
	srcs, err := m365.SourcesFor(job.Client, so, sections...)
	if err != nil {
		return nil, err
	}
	snap := scanner.Scan(ctx, srcs, scanner.Options{Tenant: job.Tenant, TenantID: job.TenantID, Timeout: job.Timeout, Logger: log, Now: job.Clock, Progress: job.Progress})
	if err := ctx.Err(); err != nil {
		// Sections cut short by cancellation are not a tenant's state.
		snap.Close()
		return nil, fmt.Errorf("collect %s: %w", job.Tenant, context.Cause(ctx))
	}
	freeIfLarge(snap)
	if job.Collected != nil {
		job.Collected(snap)
	}
	out, err := Record(ctx, st, snap, RecordJob{Baseline: job.Baseline, BaselineRef: job.BaselineRef, Started: started,
		Tokens: state.Tokens(snap), Fence: job.Fence, Evaluated: job.Evaluated})
	if err != nil {
		snap.Close()
		return nil, err
	}
	out.ownSnapshot = true
	return out, nil
}

// largeSnapshot is the object count from which a scan frees what a step
// left behind before the next: below it the heap is small and the
// runtime's own pacing is enough; above it (a spooled links section, a
// large directory) a forced collection is small against the work rules
// and recording do over every object.
const largeSnapshot = 50_000

// freeIfLarge frees what collecting or evaluating left behind before the
// next step of a large tenant's scan: the collector then sizes that step's
// heap by what it holds, not by the previous step's garbage (about twice
// the live heap). The benchmark measures scans with these collections.
func freeIfLarge(snap *tenant.Snapshot) {
	if snap.LinkCount()+len(snap.Guests)+len(snap.Sites) >= largeSnapshot {
		runtime.GC()
	}
}

// RecordJob is how a collected snapshot is recorded.
type RecordJob struct {
	Baseline    *baselines.Baseline
	BaselineRef string
	Started     time.Time
	// Tokens are the delta tokens to store with the scan.
	Tokens    map[string]string
	Fence     *store.Lease
	Evaluated func()
}

// Record evaluates the baseline's rules on a collected snapshot, streaming
// the results into a spool, and records the scan. The caller keeps snap.
func Record(ctx context.Context, st ScanStore, snap *tenant.Snapshot, job RecordJob) (*Scanned, error) {
	// Results are spooled: a large tenant fails rules on a million links,
	// and the store reads them in the spool's order.
	results := tenant.NewResultSpool("", 0)
	if job.Baseline != nil {
		b, err := withAcceptedRisks(ctx, st, snap, job.Baseline)
		if err != nil {
			results.Close()
			return nil, err
		}
		if err := rules.Stream(snap, b, results.Add); err != nil {
			results.Close()
			return nil, fmt.Errorf("evaluate %s: %w", snap.Tenant, err)
		}
	}
	// The last run goes to the spool's file before recording, which
	// holds a section's hashes meanwhile.
	if err := results.Seal(); err != nil {
		results.Close()
		return nil, fmt.Errorf("evaluate %s: %w", snap.Tenant, err)
	}
	freeIfLarge(snap)
	if job.Evaluated != nil {
		job.Evaluated()
	}
	in := store.ScanInput{Snapshot: snap, ResultSet: results, Baseline: job.BaselineRef, StartedAt: job.Started, DeltaTokens: job.Tokens, Fence: job.Fence}
	sc, err := st.RecordScan(ctx, in)
	if err != nil {
		results.Close()
		if errors.Is(err, store.ErrLeaseLost) {
			return nil, err
		}
		return nil, fmt.Errorf("record scan of %s: %w", snap.Tenant, err)
	}
	return &Scanned{Scan: sc, Snapshot: snap, Results: results, Tokens: len(job.Tokens)}, nil
}

// riskStore keeps the risks accepted on findings (every store.Store does).
type riskStore interface {
	AcceptedRisks(ctx context.Context, tenantName string, at time.Time) ([]store.Finding, error)
}

// withAcceptedRisks adds the tenant's accepted risks that hold at the
// snapshot's time to the baseline as exceptions. Each names its object by
// exact key and accepts the value the finding had, so the rules re-check
// it like any exception: it holds while the value is the accepted one,
// and a finding whose value changes, or whose acceptance lapses, fails.
func withAcceptedRisks(ctx context.Context, st ScanStore, snap *tenant.Snapshot, b *baselines.Baseline) (*baselines.Baseline, error) {
	rs, ok := st.(riskStore)
	if !ok {
		return b, nil
	}
	fs, err := rs.AcceptedRisks(ctx, snap.Tenant, snap.CollectedAt)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", snap.Tenant, err)
	}
	extra := make([]baselines.Exception, 0, len(fs))
	for i := range fs {
		f := &fs[i]
		a := f.Accepted
		extra = append(extra, baselines.Exception{ID: f.ExceptionID(), Rule: f.RuleID, Name: f.ObjectKey, Accepted: a.Value,
			Reason: a.Reason, Owner: a.Owner, Expires: a.Until.UTC().Format(time.RFC3339), ExpiresAt: a.Until})
	}
	return b.WithExceptions(extra...), nil
}
