package console

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/store/storetest"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestScopedScanShown: the overview's last scan is the latest whole one,
// and the scans page says which scan was scoped to changed drives.
func TestScopedScanShown(t *testing.T) {
	st := testStore(t, 0)
	ctx := context.Background()
	whole, err := st.Scans(ctx, store.ScanFilter{Tenant: storetest.Tenant, Limit: 1})
	if err != nil || len(whole) != 1 {
		t.Fatalf("whole scan: %v %v", whole, err)
	}
	full := storetest.Snapshot(time.Now().UTC())
	snap := &tenant.Snapshot{Schema: tenant.SchemaV1, Tenant: full.Tenant, CollectedAt: full.CollectedAt, Sites: full.Sites, Links: full.Links,
		Status: map[tenant.Section]tenant.SectionStatus{tenant.SectionSites: {State: tenant.StateComplete}, tenant.SectionLinks: {State: tenant.StateComplete}}}
	p, _ := tenant.DriveKeyPrefix(full.Links[0].DriveID)
	snap.SetScope(tenant.SectionLinks, []string{p})
	scoped, err := st.RecordScan(ctx, store.ScanInput{Snapshot: snap, Results: storetest.Evaluate(snap)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newTestConsole(t, st, config.Console{}))
	defer srv.Close()
	c := newClient(t, srv.URL)
	c.signIn(readToken)
	_, page := c.do("GET", "/", nil, nil)
	if want, not := whole[0].CollectedAt.UTC().Format("2006-01-02 15:04"), scoped.CollectedAt.UTC().Format("2006-01-02 15:04"); !strings.Contains(page, want) || strings.Contains(page, not) {
		t.Errorf("overview: the last scan shown is not the whole scan of %s (the scoped one is of %s):\n%s", want, not, page)
	}
	_, page = c.do("GET", "/tenants/"+storetest.Tenant+"/scans", nil, nil)
	i, j := strings.Index(page, `id="scan-`+strconv.FormatInt(scoped.ID, 10)+`"`), strings.Index(page, `id="scan-`+strconv.FormatInt(whole[0].ID, 10)+`"`)
	if i < 0 || j < i {
		t.Fatalf("scans page lists scan %d then %d? positions %d %d", scoped.ID, whole[0].ID, i, j)
	}
	if s := page[i:j]; !strings.Contains(s, "Scoped: a change notification scan") || !strings.Contains(s, "scoped to 1 drive") {
		t.Errorf("scoped scan not marked:\n%s", s)
	}
	if strings.Contains(page[j:], "Scoped:") {
		t.Error("the whole scan is marked scoped")
	}
}
