package m365

import (
	"reflect"
	"slices"
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
		{"recorded", "SharingLinks." + recordedItem + ".Flexible." + recordedShare, true, "", linkGroup{ItemUID: recordedItem, Kind: "Flexible", ShareID: recordedShare}},
		{"upper-case ids", "SharingLinks." + strings.ToUpper(recordedItem) + ".AnonymousView." + strings.ToUpper(recordedShare), true, "", linkGroup{ItemUID: recordedItem, Kind: "AnonymousView", ShareID: recordedShare}},
		{"unknown kind", "SharingLinks." + recordedItem + ".FutureKind." + recordedShare, true, "", linkGroup{ItemUID: recordedItem, Kind: "FutureKind", ShareID: recordedShare}},
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
			if err != nil || !reflect.DeepEqual(g, tt.want) {
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
	g := func(kind string) linkGroup {
		return linkGroup{ItemUID: recordedItem, Kind: kind, ShareID: recordedShare}
	}
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

// TestGroupMembers: a people link whose group's members were read needs no
// permission read and carries the members as recipients, placed like a
// permission's grantees (an unknown login form is outside); an empty
// member list still needs the item's permissions.
func TestGroupMembers(t *testing.T) {
	members := []groupMember{
		{Login: "i:0#.f|membership|ann@contoso.com", Email: "Ann@contoso.com", Title: "Ann"},
		{Login: "i:0#.f|membership|bo_gmail.com#ext#@contoso.onmicrosoft.com", Email: "bo@gmail.com", Title: "Bo"},
		{Login: "urn:spo:guest#cy@fabrikam.com", Email: "", Title: "Cy"},
		{Login: "c:0o.c|federateddirectoryclaimprovider|1234", Email: "", Title: "Some group"},
		{Login: "i:0#.f|membership|ann@contoso.com", Email: "ann@contoso.com", Title: "Ann again"},
	}
	read := linkGroup{ItemUID: recordedItem, Kind: "Flexible", ShareID: recordedShare, Members: members, members: true}
	empty := linkGroup{ItemUID: recordedItem, Kind: "Flexible", ShareID: recordedShare, members: true}
	if needsDetail([]linkGroup{read}, true) {
		t.Error("a people group with members read needs detail")
	}
	if !needsDetail([]linkGroup{empty}, true) {
		t.Error("an empty people group needs no detail")
	}
	ls := groupLinks([]linkGroup{read}, tenant.Link{DriveID: "d", ItemID: "i"})
	wantNames := []string{"ann@contoso.com", "bo@gmail.com", "c:0o.c|federateddirectoryclaimprovider|1234", "urn:spo:guest#cy@fabrikam.com"}
	if len(ls) != 1 || !slices.Equal(ls[0].GrantedTo, wantNames) {
		t.Fatalf("links %+v, want recipients %v", ls, wantNames)
	}
	if want := []string{"contoso.com", "fabrikam.com", "gmail.com"}; !slices.Equal(ls[0].RecipientDomains, want) {
		t.Errorf("domains %v, want %v", ls[0].RecipientDomains, want)
	}
	if want := []string{"bo@gmail.com", "c:0o.c|federateddirectoryclaimprovider|1234", "urn:spo:guest#cy@fabrikam.com"}; !slices.Equal(ls[0].ExternalRecipients, want) {
		t.Errorf("outside %v, want %v", ls[0].ExternalRecipients, want)
	}
}
