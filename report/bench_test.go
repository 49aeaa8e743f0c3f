package report

import (
	"fmt"
	"io"
	"iter"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// syntheticInput describes a large tenant whose links and guests are
// generated on the fly, as a store would page them, so the benchmark
// measures the renderers' memory and not the fixture's.
func syntheticInput(guests, links, sites int) *Input {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	snap := &tenant.Snapshot{
		Schema: tenant.SchemaV1, Tenant: "Synthetic", CollectedAt: at,
		Status: map[tenant.Section]tenant.SectionStatus{},
		SharePoint: &tenant.SharePointSettings{DomainRestrictionMode: tenant.DomainModeBlockList,
			BlockedDomains: []string{"d7.example", "d13.example"}},
	}
	for _, s := range tenant.AllSections {
		snap.Status[s] = tenant.SectionStatus{State: tenant.StateComplete, Calls: 100}
	}
	labels := []string{"", "General", "Confidential", "Highly Confidential"}
	for i := range sites {
		snap.Sites = append(snap.Sites, tenant.Site{ID: fmt.Sprintf("site-%d", i),
			URL: fmt.Sprintf("https://synthetic.sharepoint.com/sites/s%05d", i), SensitivityLabel: labels[i%len(labels)]})
	}
	scopes := []tenant.LinkScope{tenant.LinkScopeAnonymous, tenant.LinkScopeAnonymous, tenant.LinkScopeOrganization, tenant.LinkScopeUsers}
	linkSeq := func(yield func(*tenant.Link, error) bool) {
		var l tenant.Link // reused: consumers must not keep the pointer
		for i := range links {
			var exp *time.Time
			if i%3 != 0 {
				t := at.AddDate(0, 0, i%200-50)
				exp = &t
			}
			l = tenant.Link{
				DriveID: "drive", ItemID: fmt.Sprintf("item-%d", i), PermissionID: "p",
				SiteID: fmt.Sprintf("site-%d", i%sites), ItemPath: fmt.Sprintf("/Shared Documents/folder-%d/file-%d.docx", i%97, i),
				Scope: scopes[i%len(scopes)], Type: []tenant.LinkType{tenant.LinkTypeView, tenant.LinkTypeEdit}[i%2], Expires: exp,
			}
			if !yield(&l, nil) {
				return
			}
		}
	}
	guestSeq := func(yield func(*tenant.Guest, error) bool) {
		var g tenant.Guest
		for i := range guests {
			created := at.AddDate(0, 0, -(i % 700))
			last := at.AddDate(0, 0, -(i % 400))
			g = tenant.Guest{
				ID: fmt.Sprintf("guest-%d", i), DisplayName: fmt.Sprintf("Guest %d", i),
				Mail: fmt.Sprintf("user%d@d%d.example", i, i%2000), State: tenant.GuestAccepted, CreatedAt: &created,
				SignIn: &tenant.SignIn{Last: &last}, Sponsors: []tenant.Ref{}, MemberOf: []tenant.Ref{},
			}
			if i%5 == 0 {
				g.State = tenant.GuestPending
			}
			if i%4 != 0 {
				g.Sponsors = []tenant.Ref{{ID: "sponsor"}}
			}
			if !yield(&g, nil) {
				return
			}
		}
	}
	var results []tenant.Result
	for i := range 20000 {
		results = append(results, tenant.Result{RuleID: fmt.Sprintf("R-%02d", i%20), Section: tenant.SectionLinks,
			Outcome:  []tenant.Outcome{tenant.Fail, tenant.Pass, tenant.Unknown, tenant.NotApplicable}[i%4],
			Severity: tenant.SeverityMedium, ObjectKey: fmt.Sprintf("link:drive/item-%d/p", i), Expected: "expiry", Actual: "none"})
	}
	return &Input{Tenant: "Synthetic", GeneratedAt: at, Snapshot: snap, Results: results,
		Links: iter.Seq2[*tenant.Link, error](linkSeq), Guests: iter.Seq2[*tenant.Guest, error](guestSeq)}
}

// peakHeap samples the live heap while f runs and returns the highest value.
func peakHeap(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	return peak
}

// BenchmarkLargeTenant renders a tenant with 100,000 guests and 1,000,000
// links in every format and reports the peak live heap (peak-heap-MiB).
// Run: go test ./report -run '^$' -bench LargeTenant -benchtime 1x
func BenchmarkLargeTenant(b *testing.B) {
	in := syntheticInput(100_000, 1_000_000, 5_000)
	cases := []struct {
		name   string
		render func(io.Writer) error
	}{
		{"html", func(w io.Writer) error { return HTML(w, in) }},
		{"markdown", func(w io.Writer) error { return Markdown(w, in) }},
		{"json", func(w io.Writer) error { return JSON(w, in) }},
		{"csv-anyone-links", func(w io.Writer) error { return CSV(w, InventoryAnyoneLinks, in) }},
		{"csv-guests", func(w io.Writer) error { return CSV(w, InventoryGuests, in) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var peak uint64
			var written int64
			for b.Loop() {
				cw := &countWriter{}
				p := peakHeap(func() {
					if err := c.render(cw); err != nil {
						b.Fatal(err)
					}
				})
				peak = max(peak, p)
				written = cw.n
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(written)/(1<<20), "output-MiB")
		})
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
