package scanner

import (
	"slices"
	"sync"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// Progress follows a scan while it runs: which sections have started and
// finished, and the API traffic of each so far. Scan fills it when
// Options.Progress is set; a reporter reads Totals from another goroutine.
type Progress struct {
	mu       sync.Mutex
	start    time.Time
	total    int
	sections map[tenant.Section]*sectionProgress
}

type sectionProgress struct {
	stats *Stats
	done  bool
	took  time.Duration
}

// ProgressTotals is a moment of a scan.
type ProgressTotals struct {
	Sections, Done int
	// Requests counts API requests (each page of a collection is one);
	// RU the SharePoint resource units they cost.
	Requests, RU, Throttled int64
	Elapsed                 time.Duration
	// Running lists the sections still being collected.
	Running []tenant.Section
	// Left estimates the time until the last section is done: the
	// running sections are assumed to take as long as the slowest done
	// one, at least as long as they have run. Zero until one is done.
	Left time.Duration
}

func (p *Progress) begin(total int, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start, p.total, p.sections = now, total, map[tenant.Section]*sectionProgress{}
}

func (p *Progress) section(sec tenant.Section, s *Stats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sections[sec] = &sectionProgress{stats: s}
}

func (p *Progress) finish(sec tenant.Section, took time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if sp := p.sections[sec]; sp != nil {
		sp.done, sp.took = true, took
	}
}

// Totals sums the sections' traffic at now.
func (p *Progress) Totals(now time.Time) ProgressTotals {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := ProgressTotals{Sections: p.total}
	if p.start.IsZero() {
		return t
	}
	t.Elapsed = now.Sub(p.start)
	var slowest time.Duration
	for sec, sp := range p.sections {
		t.Requests += sp.stats.Calls.Load()
		t.RU += sp.stats.RU.Load()
		t.Throttled += sp.stats.Throttled.Load()
		if sp.done {
			t.Done++
			slowest = max(slowest, sp.took)
		} else {
			t.Running = append(t.Running, sec)
		}
	}
	slices.Sort(t.Running)
	if t.Done > 0 && t.Done < t.Sections {
		t.Left = max(slowest-t.Elapsed, 0)
		if t.Left == 0 {
			// Running longer than any finished section: expect as long
			// again as the slowest took, a guess that shrinks as they end.
			t.Left = slowest / 2
		}
	}
	return t
}
