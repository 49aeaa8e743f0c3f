package m365_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

// scopedMemState is memState that can read part of the stored links and
// counts the drive tokens asked for.
type scopedMemState struct {
	*memState
	driveTokens *int
}

func (m scopedMemState) DeltaToken(ctx context.Context, key string) (string, error) {
	if strings.HasPrefix(key, "links/drive/") {
		*m.driveTokens++
	}
	return m.memState.DeltaToken(ctx, key)
}

func (m scopedMemState) PreviousIn(ctx context.Context, sec tenant.Section, prefixes []string, fn func([]byte) error) error {
	return m.Previous(ctx, sec, func(doc []byte) error {
		var o struct {
			ID           string `json:"id"`
			DriveID      string `json:"driveId"`
			ItemID       string `json:"itemId"`
			PermissionID string `json:"permissionId"`
		}
		if err := json.Unmarshal(doc, &o); err != nil {
			return err
		}
		key := (&tenant.Link{DriveID: o.DriveID, ItemID: o.ItemID, PermissionID: o.PermissionID}).Key()
		if sec == tenant.SectionSites {
			key = (&tenant.Site{ID: o.ID}).Key()
		}
		for _, p := range prefixes {
			if strings.HasPrefix(key, p) {
				return fn(doc)
			}
		}
		return nil
	})
}

// TestOnlyDrivesScope: a read of named drives is scoped to them, holding
// their links alone, only when every drive named is in the stored
// inventory and the state can read part of the links; otherwise it holds
// every stored link and no scope, as a whole read would.
func TestOnlyDrivesScope(t *testing.T) {
	const drive = "b!Qx1-fin"
	prefix, _ := tenant.DriveKeyPrefix(drive)
	keys := func(s *tenant.Snapshot) (all, in int) {
		t.Helper()
		if err := s.EachLink(func(l *tenant.Link) error {
			all++
			if strings.HasPrefix(l.Key(), prefix) {
				in++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return all, in
	}
	for _, tc := range []struct {
		name   string
		scoped bool // the state reads part of a section
		drives []string
		want   bool
	}{
		{"named drive", true, []string{drive}, true},
		{"a drive not in the inventory", true, []string{drive, "b!not-listed"}, false},
		{"state without part reads", false, []string{drive}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := m365test.New(filepath.Join("..", "..", "testdata", "tenants", "fabrikam"), m365test.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			c, err := srv.Client()
			if err != nil {
				t.Fatal(err)
			}
			mem := newMemState()
			var st m365.State = mem
			driveTokens := 0
			if tc.scoped {
				st = scopedMemState{mem, &driveTokens}
			}
			first := collectSection(t, c, m365.SourceOptions{State: st}, tenant.SectionLinks)
			if !first.Complete(tenant.SectionLinks) || first.Status[tenant.SectionLinks].Scoped() {
				t.Fatalf("whole read: %+v", first.Status[tenant.SectionLinks])
			}
			mem.commit(first)
			total, ofDrive := keys(first)
			if ofDrive == 0 || ofDrive == total {
				t.Fatalf("fixture: %d links, %d on %s", total, ofDrive, drive)
			}
			driveTokens = 0
			snap := collectSection(t, c, m365.SourceOptions{State: st, OnlyDrives: tc.drives}, tenant.SectionLinks)
			// A read of named drives asks for their tokens only, not one
			// per drive of the tenant.
			if tc.scoped && driveTokens != 1 {
				t.Errorf("drive tokens read: %d, want the named drive's (1)", driveTokens)
			}
			stat := snap.Status[tenant.SectionLinks]
			all, in := keys(snap)
			switch {
			case stat.State != tenant.StateComplete:
				t.Fatalf("status %+v", stat)
			case tc.want && (len(stat.Scope) != 1 || stat.Scope[0] != prefix || all != ofDrive || in != ofDrive):
				t.Errorf("scoped read: scope %v, %d links (%d on the drive), want only the drive's %d", stat.Scope, all, in, ofDrive)
			case !tc.want && (stat.Scoped() || all != total):
				t.Errorf("unscoped read: scope %v, %d links, want every stored link (%d)", stat.Scope, all, total)
			}
		})
	}
}

// TestOnlyDrivesSites: with named drives the sites section reads the
// sites of those drives alone (no listing of the tenant's sites or of
// every site's properties), each as a whole read gives it, and is scoped
// to their keys; a drive not in the stored inventory reads every site; a
// site whose properties cannot be read leaves the section partial.
func TestOnlyDrivesSites(t *testing.T) {
	tenants := []struct {
		name  string
		drive string
		open  func() (*m365test.Server, error)
	}{
		{"fabrikam", "b!Qx1-fin", func() (*m365test.Server, error) {
			return m365test.New(filepath.Join("..", "..", "testdata", "tenants", "fabrikam"), m365test.Options{})
		}},
		{"generated", "b!gen-00003", func() (*m365test.Server, error) {
			return m365test.NewGenerated(m365test.Spec{Seed: 5, Sites: 12, ItemsPerDrive: 4, SharedPerDrive: 1, LinksPerShared: 1, Guests: 3}, m365test.Options{})
		}},
	}
	for _, tn := range tenants {
		drive := tn.drive
		for _, tc := range []struct {
			name   string
			drives []string
			fault  bool
		}{
			{"named drive", []string{drive}, false},
			{"a drive not in the inventory", []string{drive, "b!not-listed"}, false},
			{"site properties unreadable", []string{drive}, true},
		} {
			t.Run(tn.name+"/"+tc.name, func(t *testing.T) { onlyDrivesSites(t, tn.open, drive, tc.drives, tc.fault) })
		}
	}
}

// onlyDrivesSites reads the tenant open serves whole, then its sites for
// drives, with the site properties unreadable when fault is set.
func onlyDrivesSites(t *testing.T, open func() (*m365test.Server, error), drive string, drives []string, fault bool) {
	t.Helper()
	srv, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	co := srv.ClientOptions()
	co.Sleep = func(context.Context, time.Duration) error { return nil }
	c, err := m365.New(co)
	if err != nil {
		t.Fatal(err)
	}
	mem := newMemState()
	st := scopedMemState{mem, new(int)}
	first := collectSection(t, c, m365.SourceOptions{State: st}, tenant.SectionSites, tenant.SectionLinks)
	if !first.Complete(tenant.SectionSites) || !first.Complete(tenant.SectionLinks) {
		t.Fatalf("whole read: %+v", first.Status)
	}
	mem.commit(first)
	var siteID string
	if err := first.EachLink(func(l *tenant.Link) error {
		if l.DriveID == drive {
			siteID = l.SiteID
		}
		return nil
	}); err != nil || siteID == "" {
		t.Fatalf("site of %s: %q %v", drive, siteID, err)
	}
	var want tenant.Site
	for _, s := range first.Sites {
		if s.ID == siteID {
			want = s
		}
	}
	if len(first.Sites) < 2 || want.ID == "" {
		t.Fatalf("fixture: %d sites, the drive's %q", len(first.Sites), siteID)
	}
	if fault {
		srv.Faults.Add("CSOM GetSitePropertiesByUrl", m365test.Fault{Status: http.StatusInternalServerError})
	}
	before := srv.Usage().ByKind
	snap := collectSection(t, c, m365.SourceOptions{State: st, OnlyDrives: drives}, tenant.SectionSites)
	stat := snap.Status[tenant.SectionSites]
	used := srv.Usage().ByKind
	// Listing sites (or their changes) is of kinds "sites" and
	// "sites delta"; each site's properties are one "csom" call.
	listed := used["sites"] - before["sites"] + used["sites delta"] - before["sites delta"]
	csom := used["csom"] - before["csom"]
	prefix, _ := tenant.SiteKeyPrefix(siteID)
	switch {
	case fault:
		if stat.State == tenant.StateComplete || !strings.Contains(stat.Error, "ProcessQuery") {
			t.Errorf("a site that could not be read: %+v", stat)
		}
		if srv.Faults.Fired("CSOM GetSitePropertiesByUrl") == 0 {
			t.Error("the fault never fired")
		}
	case len(drives) == 1:
		if stat.State != tenant.StateComplete || !reflect.DeepEqual(stat.Scope, []string{prefix}) {
			t.Fatalf("status %+v, want complete and scoped to %s", stat, prefix)
		}
		if len(snap.Sites) != 1 || !reflect.DeepEqual(snap.Sites[0], want) {
			t.Errorf("sites read: %+v, want the drive's as a whole read gives it: %+v", snap.Sites, want)
		}
		if listed != 0 || csom != 1 {
			t.Errorf("%d listings of the tenant's sites and %d CSOM calls for one drive's site (used %v)", listed, csom, used)
		}
	default:
		if stat.State != tenant.StateComplete || stat.Scoped() || len(snap.Sites) != len(first.Sites) {
			t.Errorf("unscoped read: %+v, %d sites, want every site (%d)", stat, len(snap.Sites), len(first.Sites))
		}
		if listed == 0 {
			t.Errorf("a whole read listed no sites (used %v)", used)
		}
	}
}
