package m365test_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

// memState keeps what a store would: the last complete objects of each
// section and the tokens, committed together.
type memState struct {
	mu      sync.Mutex
	tokens  map[string]string
	pending map[string]string
	links   []tenant.Link
	guests  []tenant.Guest
	sites   []tenant.Site
	// reorder, when set, changes the order (and copies) in which stored
	// guests are handed back, as a store with another collation might.
	reorder func([]tenant.Guest) []tenant.Guest
}

func (m *memState) DeltaToken(_ context.Context, key string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tokens[key], nil
}

func (m *memState) Previous(_ context.Context, sec tenant.Section, fn func([]byte) error) error {
	var docs []any
	switch sec {
	case tenant.SectionLinks:
		for i := range m.links {
			docs = append(docs, &m.links[i])
		}
	case tenant.SectionGuests:
		gs := m.guests
		if m.reorder != nil {
			gs = m.reorder(slices.Clone(gs))
		}
		for i := range gs {
			docs = append(docs, &gs[i])
		}
	case tenant.SectionSites:
		for i := range m.sites {
			docs = append(docs, &m.sites[i])
		}
	}
	for _, d := range docs {
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

func (m *memState) SaveDeltaTokens(_ tenant.Section, toks map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range toks {
		m.pending[k] = v
	}
}

func (m *memState) commit(s *tenant.Snapshot) {
	m.links, m.guests, m.sites = allLinks(s), s.Guests, s.Sites
	for k, v := range m.pending {
		m.tokens[k] = v
	}
	m.pending = map[string]string{}
}

var genSections = []tenant.Section{tenant.SectionSites, tenant.SectionLinks, tenant.SectionGuests}

func genScan(t *testing.T, srv *m365test.Server, st m365.State) *tenant.Snapshot {
	t.Helper()
	return genScanRun(t, srv, st, 0)
}

// genScanRun scans with links spooled to disk in runs of linkRun (0: the
// default, which keeps a small tenant's links in memory).
func genScanRun(t *testing.T, srv *m365test.Server, st m365.State, linkRun int) *tenant.Snapshot {
	t.Helper()
	o := m365.SourceOptions{LinkRun: linkRun}
	if st != nil {
		o.State = st
	}
	return genScanWith(t, srv, o, genSections...)
}

// genScanWith scans sections with o (on the fake's clock, spooling to a
// test directory unless o says otherwise) and fails the test unless every
// one is complete.
func genScanWith(t *testing.T, srv *m365test.Server, o m365.SourceOptions, sections ...tenant.Section) *tenant.Snapshot {
	t.Helper()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	if o.Now == nil {
		o.Now = srv.Clock().Now
	}
	if o.TempDir == "" {
		o.TempDir = t.TempDir()
	}
	srcs, err := m365.SourcesFor(c, o, sections...)
	if err != nil {
		t.Fatal(err)
	}
	snap := scanner.Scan(context.Background(), srcs, scanner.Options{Tenant: srv.Meta().Tenant})
	for _, sec := range sections {
		if !snap.Complete(sec) {
			t.Fatalf("section %s: %+v", sec, snap.Status[sec])
		}
	}
	return snap
}

// TestIncrementalMatchesFull: after a change set, an incremental scan
// merged onto the previous one equals a full scan of the changed tenant;
// a second incremental scan without changes reads no permissions.
func TestIncrementalMatchesFull(t *testing.T) {
	for _, tc := range []struct {
		name    string
		linkRun int
	}{{"links in memory", 0}, {"links spooled to disk", 50}} {
		t.Run(tc.name, func(t *testing.T) { testIncrementalMatchesFull(t, tc.linkRun) })
	}
}

func testIncrementalMatchesFull(t *testing.T, linkRun int) {
	spec := m365test.Spec{Seed: 3, Sites: 6, ItemsPerDrive: 400, SharedPerDrive: 40, LinksPerShared: 2, Guests: 300}
	srv, err := m365test.NewGenerated(spec, m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st := &memState{tokens: map[string]string{}, pending: map[string]string{}}
	first := genScanRun(t, srv, st, linkRun)
	st.commit(first)
	count := srv.Generated().Count()
	if first.LinkCount() != count.Links || len(first.Guests) != count.Guests {
		t.Fatalf("first scan: %d links, %d guests; tenant has %d and %d", first.LinkCount(), len(first.Guests), count.Links, count.Guests)
	}
	if spilled := len(first.Links) == 0; spilled != (linkRun > 0) {
		t.Fatalf("links spooled to disk: %v, want %v", spilled, linkRun > 0)
	}
	for round := 1; round <= 3; round++ {
		truth := srv.Generated().ApplyChanges(0.05)
		if len(truth.Links) == 0 || len(truth.Guests) == 0 {
			t.Fatalf("round %d: empty change set %+v", round, truth)
		}
		srv.ResetUsage()
		inc := genScanRun(t, srv, st, linkRun)
		st.commit(inc)
		full := genScan(t, srv, nil)
		if il, fl := allLinks(inc), allLinks(full); !reflect.DeepEqual(il, fl) {
			t.Errorf("round %d: incremental links (%d) differ from a full scan (%d)", round, len(il), len(fl))
			diffKeys(t, linkKeys(il), linkKeys(fl))
		}
		if !reflect.DeepEqual(inc.Guests, full.Guests) {
			t.Errorf("round %d: incremental guests (%d) differ from a full scan (%d)", round, len(inc.Guests), len(full.Guests))
			for i := range min(len(inc.Guests), len(full.Guests)) {
				if !reflect.DeepEqual(inc.Guests[i], full.Guests[i]) {
					a, _ := json.Marshal(inc.Guests[i])
					b, _ := json.Marshal(full.Guests[i])
					t.Logf("first difference:\n inc  %s\n full %s", a, b)
					break
				}
			}
		}
	}
	srv.ResetUsage()
	st.commit(genScanRun(t, srv, st, linkRun))
	u := srv.Usage()
	if u.ByKind["permissions"] != 0 || u.ByKind["drive delta"] != int64(spec.Sites) {
		t.Errorf("unchanged re-scan: %v", u.ByKind)
	}
}

// allLinks reads a snapshot's links, spooled ones included.
func allLinks(s *tenant.Snapshot) []tenant.Link {
	var out []tenant.Link
	if err := s.EachLink(func(l *tenant.Link) error { out = append(out, *l); return nil }); err != nil {
		panic(err)
	}
	return out
}

func linkKeys(ls []tenant.Link) []string {
	out := make([]string, len(ls))
	for i := range ls {
		out[i] = ls[i].Key()
	}
	return out
}

func diffKeys(t *testing.T, a, b []string) {
	t.Helper()
	in := map[string]bool{}
	for _, k := range a {
		in[k] = true
	}
	n := 0
	for _, k := range b {
		if !in[k] && n < 5 {
			t.Logf("only in full: %s", k)
			n++
		}
		delete(in, k)
	}
	for k := range in {
		if n < 10 {
			t.Logf("only in incremental: %s", k)
			n++
		}
	}
}

// TestExpiredDeltaTokens: drives whose tokens expired (410) are read in
// full and the result still equals a full scan.
func TestExpiredDeltaTokens(t *testing.T) {
	spec := m365test.Spec{Seed: 4, Sites: 4, ItemsPerDrive: 300, SharedPerDrive: 30, LinksPerShared: 1, Guests: 50}
	srv, err := m365test.NewGenerated(spec, m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st := &memState{tokens: map[string]string{}, pending: map[string]string{}}
	st.commit(genScan(t, srv, st))
	srv.Generated().ApplyChanges(0.05)
	srv.Generated().ExpireTokens(2)
	srv.ResetUsage()
	inc := genScan(t, srv, st)
	if !reflect.DeepEqual(inc.Links, genScan(t, srv, nil).Links) {
		t.Error("links after expired tokens differ from a full scan")
	}
	if u := srv.Usage(); u.ByKind["drive delta"] < int64(spec.Sites) {
		t.Errorf("drive delta calls %d", u.ByKind["drive delta"])
	}
}
