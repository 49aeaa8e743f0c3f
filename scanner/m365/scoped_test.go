package m365_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

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
			DriveID      string `json:"driveId"`
			ItemID       string `json:"itemId"`
			PermissionID string `json:"permissionId"`
		}
		if err := json.Unmarshal(doc, &o); err != nil {
			return err
		}
		l := tenant.Link{DriveID: o.DriveID, ItemID: o.ItemID, PermissionID: o.PermissionID}
		for _, p := range prefixes {
			if strings.HasPrefix(l.Key(), p) {
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
