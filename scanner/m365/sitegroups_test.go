package m365

import (
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/tenant"
)

const (
	recordedItem  = "6c3e69d8-85ba-4a74-a214-3ba666040c1b"
	recordedShare = "d2b42daa-4d3d-4076-ba1d-d4ce45524bc7"
)

// TestParseSharingLinkGroup: the recorded title parses; other groups are
// not link groups; a title that starts like one but does not parse is an
// error (its link must not be dropped silently); an unknown kind parses.
func TestParseSharingLinkGroup(t *testing.T) {
	for _, tt := range []struct {
		name, title string
		isLink      bool
		err         string
		want        linkGroup
	}{
		{"recorded", "SharingLinks." + recordedItem + ".Flexible." + recordedShare, true, "", linkGroup{recordedItem, "Flexible", recordedShare}},
		{"upper-case ids", "SharingLinks." + strings.ToUpper(recordedItem) + ".AnonymousView." + strings.ToUpper(recordedShare), true, "", linkGroup{recordedItem, "AnonymousView", recordedShare}},
		{"unknown kind", "SharingLinks." + recordedItem + ".FutureKind." + recordedShare, true, "", linkGroup{recordedItem, "FutureKind", recordedShare}},
		{"site group", "prov-2 Members", false, "", linkGroup{}},
		{"empty", "", false, "", linkGroup{}},
		{"lower-case prefix", "sharinglinks." + recordedItem + ".Flexible." + recordedShare, false, "", linkGroup{}},
		{"prefix alone", "SharingLinks.", true, "expected SharingLinks.", linkGroup{}},
		{"missing share id", "SharingLinks." + recordedItem + ".Flexible", true, "expected SharingLinks.", linkGroup{}},
		{"extra part", "SharingLinks." + recordedItem + ".Flexible." + recordedShare + ".x", true, "expected SharingLinks.", linkGroup{}},
		{"item not a GUID", "SharingLinks.item.Flexible." + recordedShare, true, "item id \"item\" is not a GUID", linkGroup{}},
		{"share not a GUID", "SharingLinks." + recordedItem + ".Flexible.u!aHR0", true, "share id \"u!aHR0\" is not a GUID", linkGroup{}},
		{"empty kind", "SharingLinks." + recordedItem + ".." + recordedShare, true, "kind \"\" is not a name", linkGroup{}},
		{"kind with space", "SharingLinks." + recordedItem + ".Anyone View." + recordedShare, true, "is not a name", linkGroup{}},
		{"kind with quote", "SharingLinks." + recordedItem + ".Anon\"ymous." + recordedShare, true, "is not a name", linkGroup{}},
		{"kind unicode", "SharingLinks." + recordedItem + ".Anonymоus." + recordedShare, true, "is not a name", linkGroup{}},
		{"GUID with braces", "SharingLinks.{" + recordedItem + "}.Flexible." + recordedShare, true, "is not a GUID", linkGroup{}},
		{"huge", "SharingLinks." + strings.Repeat("a", 100000) + ".Flexible." + recordedShare, true, "…", linkGroup{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, isLink, err := parseSharingLinkGroup(tt.title)
			if isLink != tt.isLink {
				t.Fatalf("link group %v, want %v", isLink, tt.isLink)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				if len(err.Error()) > 400 {
					t.Fatalf("error of %d bytes quotes the whole title", len(err.Error()))
				}
				return
			}
			if err != nil || g != tt.want {
				t.Fatalf("got %+v, %v; want %+v", g, err, tt.want)
			}
		})
	}
}

func FuzzParseSharingLinkGroup(f *testing.F) {
	f.Add("SharingLinks." + recordedItem + ".Flexible." + recordedShare)
	f.Add("SharingLinks...")
	f.Add("Owners")
	f.Fuzz(func(t *testing.T, title string) {
		g, isLink, err := parseSharingLinkGroup(title)
		if !strings.HasPrefix(title, sharingLinksPrefix) && (isLink || err != nil) {
			t.Fatalf("%q: not a link group, got %v %v", title, isLink, err)
		}
		if isLink && err == nil && (!guidRE.MatchString(g.ItemUID) || !guidRE.MatchString(g.ShareID) || g.Kind == "") {
			t.Fatalf("%q parsed to %+v", title, g)
		}
	})
}

// TestNeedsDetail: Anyone and unknown kinds always need the item's
// permissions; links for specific people only when asked.
func TestNeedsDetail(t *testing.T) {
	g := func(kind string) linkGroup { return linkGroup{recordedItem, kind, recordedShare} }
	for _, tt := range []struct {
		kinds  []string
		people bool
		want   bool
	}{
		{[]string{"OrganizationView", "OrganizationEdit"}, true, false},
		{[]string{"OrganizationView", "AnonymousEdit"}, false, true},
		{[]string{"AnonymousView"}, false, true},
		{[]string{"Flexible"}, false, false},
		{[]string{"Flexible"}, true, true},
		{[]string{"OrganizationView", "FutureKind"}, false, true},
		{[]string{"Direct"}, false, true},
	} {
		var gs []linkGroup
		for _, k := range tt.kinds {
			gs = append(gs, g(k))
		}
		if got := needsDetail(gs, tt.people); got != tt.want {
			t.Errorf("%v people=%v: %v, want %v", tt.kinds, tt.people, got, tt.want)
		}
	}
	ls := groupLinks([]linkGroup{g("OrganizationEdit"), g("Flexible")}, tenant.Link{DriveID: "d", ItemID: "i"})
	if len(ls) != 2 || ls[0].Scope != tenant.LinkScopeOrganization || ls[0].Type != tenant.LinkTypeEdit || ls[0].Roles[0] != "write" ||
		ls[0].PermissionID != recordedShare || ls[1].Scope != tenant.LinkScopeUsers || ls[1].Type != "" || ls[1].Roles != nil {
		t.Errorf("group links %+v", ls)
	}
}
