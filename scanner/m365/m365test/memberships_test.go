package m365test_test

import (
	"testing"

	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
)

// TestMembershipChangesFromGroupsDelta: a change set adds guests to
// groups without changing the users (users delta is silent); the
// incremental scan finds them through groups delta, reads memberships of
// changed guests only (at most two reads per changed guest), and its
// guests equal a full read's.
func TestMembershipChangesFromGroupsDelta(t *testing.T) {
	spec := m365test.Spec{Seed: 11, Sites: 2, ItemsPerDrive: 50, SharedPerDrive: 5, LinksPerShared: 1, Guests: 2000}
	srv, err := m365test.NewGenerated(spec, m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st := &memState{tokens: map[string]string{}, pending: map[string]string{}}
	st.commit(genScan(t, srv, st))
	truth := srv.Generated().ApplyChanges(0.02)
	srv.ResetUsage()
	inc := genScan(t, srv, st)
	u := srv.Usage()
	if n := u.ByKind["users memberOf"]; n == 0 || n > int64(2*len(truth.Guests)) {
		t.Errorf("%d membership reads for %d changed guests", n, len(truth.Guests))
	}
	if u.ByKind["users"] != 0 {
		t.Errorf("the guests were listed in full (%d pages)", u.ByKind["users"])
	}
	full := genScan(t, srv, nil)
	if len(inc.Guests) != len(full.Guests) {
		t.Fatalf("incremental %d guests, full %d", len(inc.Guests), len(full.Guests))
	}
	joined := 0
	for i := range full.Guests {
		a, b := inc.Guests[i], full.Guests[i]
		if a.ID != b.ID || len(a.MemberOf) != len(b.MemberOf) {
			t.Fatalf("guest %s: incremental memberships %v, full %v", b.ID, a.MemberOf, b.MemberOf)
		}
		for j := range a.MemberOf {
			if a.MemberOf[j].ID != b.MemberOf[j].ID {
				t.Fatalf("guest %s: incremental memberships %v, full %v", b.ID, a.MemberOf, b.MemberOf)
			}
		}
		if len(b.MemberOf) > 2 {
			joined++ // more than the two groups a guest starts with
		}
	}
	if joined == 0 {
		t.Fatal("no guest joined a group: the test proves nothing")
	}
}
