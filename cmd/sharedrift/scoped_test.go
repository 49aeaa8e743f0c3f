package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/store/storetest"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestDBStatusLatestWholeScan: db status names the latest whole scan as
// the tenant's latest and counts the scoped (change notification) scans
// recorded since, rather than presenting one of those as the tenant's
// state.
func TestDBStatusLatestWholeScan(t *testing.T) {
	t.Setenv(envStoreDSN, "")
	t.Setenv(envStateDir, "")
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.OpenStateDir(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	full := storetest.Snapshot(storetest.T0)
	whole, err := st.RecordScan(ctx, store.ScanInput{Snapshot: full, Results: storetest.Evaluate(full)})
	if err != nil {
		t.Fatal(err)
	}
	var last store.Scan
	for i := 1; i <= 2; i++ {
		snap := &tenant.Snapshot{Schema: tenant.SchemaV1, Tenant: full.Tenant, CollectedAt: storetest.T0.Add(time.Duration(i) * time.Minute),
			Sites: full.Sites, Links: full.Links[:1],
			Status: map[tenant.Section]tenant.SectionStatus{tenant.SectionSites: {State: tenant.StateComplete}, tenant.SectionLinks: {State: tenant.StateComplete}}}
		p, _ := tenant.DriveKeyPrefix(full.Links[0].DriveID)
		snap.SetScope(tenant.SectionLinks, []string{p})
		if last, err = st.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: storetest.Evaluate(snap)}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	out, errOut, code := cli(t, "db", "status", "--state-dir", dir, "--tenant", storetest.Tenant)
	want := fmt.Sprintf("scans:   3, latest %d at %s, complete; since then 2 scoped to changed drives, the latest %d at ",
		whole.ID, whole.StartedAt.UTC().Format("2006-01-02 15:04"), last.ID)
	if code != 0 || !strings.Contains(out, want) {
		t.Errorf("db status: code %d\n%s%s\nwant a line with %q", code, out, errOut, want)
	}
}
