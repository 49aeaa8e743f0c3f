// Package scanner runs one Source per snapshot section concurrently and
// assembles their output into a tenant.Snapshot. A source that fails or times
// out is recorded in the section's status; the other sections still complete.
package scanner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// Source collects one section of a snapshot.
type Source interface {
	// Section names the section the source fills.
	Section() tenant.Section
	// Collect writes the section's data into snap and touches nothing else.
	// It returns an error wrapped with Partial when it kept some data but
	// could not read everything.
	Collect(ctx context.Context, snap *tenant.Snapshot) error
}

// DefaultTimeout bounds each source when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Minute

// Options configures a scan.
type Options struct {
	Tenant   string
	TenantID string
	// Timeout bounds each source separately; Timeouts overrides it per section.
	Timeout  time.Duration
	Timeouts map[tenant.Section]time.Duration
	Logger   *slog.Logger
	// Now stamps CollectedAt; time.Now when nil.
	Now func() time.Time
	// Progress, when set, follows the scan as it runs (a progress line).
	Progress *Progress
}

// partialError marks an error after which a source's data is still usable.
type partialError struct{ err error }

func (p *partialError) Error() string { return p.err.Error() }
func (p *partialError) Unwrap() error { return p.err }

// Partial wraps err to say the source kept what it could read: the section
// is stored with state partial instead of failed. Partial(nil) is nil.
func Partial(err error) error {
	if err == nil {
		return nil
	}
	return &partialError{err: err}
}

// IsPartial reports whether err was wrapped with Partial.
func IsPartial(err error) bool {
	var p *partialError
	return errors.As(err, &p)
}

// TenantSized is implemented by sources whose working set grows with the
// tenant (a million links, a hundred thousand guests). Scan runs them one
// after another, in the order given, beside the others: their peaks then
// do not add up, and a scan of a large tenant fits a small container. It
// costs little time, as they spend different services' budgets and the
// largest (links) dwarfs the others.
type TenantSized interface {
	TenantSized() bool
}

func tenantSized(src Source) bool {
	ts, ok := src.(TenantSized)
	return ok && ts.TenantSized()
}

// Scan runs every source concurrently (those TenantSized one at a time),
// each under its own timeout from its start, and returns the assembled
// snapshot. It never fails as a whole: each section's
// outcome is in Status. Sections without a source get no status entry.
func Scan(ctx context.Context, sources []Source, opts Options) *tenant.Snapshot {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	snap := &tenant.Snapshot{
		Schema:      tenant.SchemaV1,
		Tenant:      opts.Tenant,
		TenantID:    opts.TenantID,
		CollectedAt: now().UTC(),
		Status:      map[tenant.Section]tenant.SectionStatus{},
	}

	type outcome struct {
		sec    tenant.Section
		part   *tenant.Snapshot
		status tenant.SectionStatus
	}
	results := make(chan outcome, len(sources))
	var wg sync.WaitGroup
	if opts.Progress != nil {
		opts.Progress.begin(len(sources), time.Now())
	}
	run := func(src Source) {
		sec := src.Section()
		timeout := opts.Timeout
		if t, ok := opts.Timeouts[sec]; ok {
			timeout = t
		}
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		stats := &Stats{}
		if opts.Progress != nil {
			opts.Progress.section(sec, stats)
		}
		sctx, cancel := context.WithTimeout(WithStats(ctx, stats), timeout)
		defer cancel()
		start := time.Now()
		part := &tenant.Snapshot{}
		err := collect(sctx, src, part)
		if err != nil && sctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			err = fmt.Errorf("%w (section timeout %s)", err, timeout)
		}
		st := statusFor(err)
		stats.fill(&st)
		// A source that read only part of its section says so on the
		// part: the store must record it as that part, not the whole.
		st.Scope = part.Status[sec].Scope
		if opts.Progress != nil {
			opts.Progress.finish(sec, time.Since(start))
		}
		logger.LogAttrs(ctx, levelFor(st.State), "section collected",
			slog.String("section", string(sec)), slog.String("state", string(st.State)),
			slog.Int("calls", st.Calls), slog.Int("retries", st.Retries), slog.Int("throttled", st.Throttled),
			slog.Duration("elapsed", time.Since(start)), slog.String("error", st.Error))
		results <- outcome{sec: sec, part: part, status: st}
	}
	var sized []Source
	for _, src := range sources {
		if tenantSized(src) {
			sized = append(sized, src)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(src)
		}()
	}
	if len(sized) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, src := range sized {
				run(src)
			}
		}()
	}
	wg.Wait()
	close(results)
	for r := range results {
		snap.Status[r.sec] = r.status
		if r.status.State != tenant.StateFailed {
			copySection(snap, r.part, r.sec)
		}
		r.part.Close() // what a failed section spooled
	}
	return snap
}

// collect runs one source, turning a panic into an error so that one broken
// parser cannot take the other sections down.
func collect(ctx context.Context, src Source, part *tenant.Snapshot) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("collect %s: panic: %v", src.Section(), r)
		}
	}()
	return src.Collect(ctx, part)
}

func statusFor(err error) tenant.SectionStatus {
	switch {
	case err == nil:
		return tenant.SectionStatus{State: tenant.StateComplete}
	case IsPartial(err):
		return tenant.SectionStatus{State: tenant.StatePartial, Error: err.Error()}
	default:
		return tenant.SectionStatus{State: tenant.StateFailed, Error: err.Error()}
	}
}

func levelFor(s tenant.State) slog.Level {
	if s == tenant.StateComplete {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// copySection moves section sec from src into dst.
func copySection(dst, src *tenant.Snapshot, sec tenant.Section) {
	switch sec {
	case tenant.SectionSharePoint:
		dst.SharePoint = src.SharePoint
	case tenant.SectionSites:
		dst.Sites = src.Sites
	case tenant.SectionLinks:
		dst.TakeLinks(src)
	case tenant.SectionGuests:
		dst.Guests = src.Guests
	case tenant.SectionEntra:
		dst.Entra = src.Entra
	case tenant.SectionGroups:
		dst.Groups = src.Groups
	case tenant.SectionExchange:
		dst.Exchange = src.Exchange
	case tenant.SectionTeams:
		dst.Teams = src.Teams
	case tenant.SectionPowerBI:
		dst.PowerBI = src.PowerBI
	}
}
