package m365test_test

import (
	"context"
	"testing"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/tenant"
)

// rollState is a memState whose every unit has the same turn.
type rollState struct {
	*memState
	turn m365.Turn
}

func (r *rollState) Turn(context.Context, string) m365.Turn { return r.turn }

// TestRollingVerifiedRead: a full read that is not deep keeps the stored
// detail of the Anyone links the groups confirm and reads the permissions
// of the other Anyone items (an orphaned group, a link the store does not
// know); a deep read reads them all. Either way the links are the
// tenant's, with the per-item detail.
func TestRollingVerifiedRead(t *testing.T) {
	srv := newGroupTenant(t)
	st := &rollState{memState: &memState{tokens: map[string]string{}, pending: map[string]string{}}}
	o := m365.SourceOptions{Discovery: m365.DiscoveryGroups, PeopleLinkDetail: true, State: st}
	first := scanLinks(t, srv, o)
	st.commit(first)
	want := byKey(first)
	anyone := map[string]bool{}
	for _, l := range want {
		if l.Scope == tenant.LinkScopeAnonymous {
			anyone[l.DriveID+"/"+l.ItemID] = true
		}
	}
	truth := truthKeys(srv)

	// A link the store lost (as if re-created with a new id unseen):
	// the groups name a link the store does not hold, so its item is read.
	var lost tenant.Link
	for i, l := range st.links {
		if l.Scope == tenant.LinkScopeAnonymous {
			lost = l
			st.links[i].PermissionID = "00000000-0000-4000-8000-000000000000"
			break
		}
	}

	st.turn = m365.Turn{Full: true}
	verified := scanLinks(t, srv, o)
	reads := srv.Usage().ByKind["permissions"]
	got := byKey(verified)
	if len(got) != len(truth) {
		t.Fatalf("verified read found %d links, the tenant has %d", len(got), len(truth))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || !truth[k] {
			t.Fatalf("link %s: found %v, in the tenant %v", k, ok, truth[k])
		}
		if w.Scope == tenant.LinkScopeAnonymous && (g.WebURL != w.WebURL || (g.Expires == nil) != (w.Expires == nil) ||
			g.Expires != nil && !g.Expires.Equal(*w.Expires) || g.HasPassword == nil || g.Type != w.Type) {
			t.Errorf("Anyone link %s: %+v, first read %+v", k, g, w)
		}
	}
	if _, ok := got[lost.Key()]; !ok {
		t.Errorf("the link the store lost (%s) was not read again", lost.Key())
	}
	d := verified.Status[tenant.SectionLinks].Discovery
	if d == nil || d.VerifiedDrives != groupSpec.Sites || d.KeptAnyoneLinks == 0 || d.RollingFullDrives != groupSpec.Sites {
		t.Errorf("discovery status %+v", d)
	}
	if reads == 0 || int(reads) >= len(anyone) {
		t.Errorf("verified read: %d permission reads for %d Anyone items: want some (orphans, the lost link) and fewer than all", reads, len(anyone))
	}
	st.commit(verified)

	st.turn = m365.Turn{Full: true, Deep: true}
	deep := scanLinks(t, srv, o)
	if n := srv.Usage().ByKind["permissions"]; int(n) != len(anyone) {
		t.Errorf("deep read: %d permission reads, want every Anyone item (%d)", n, len(anyone))
	}
	if len(byKey(deep)) != len(truth) {
		t.Errorf("deep read found %d links, the tenant has %d", len(byKey(deep)), len(truth))
	}
	st.commit(deep)

	st.turn = m365.Turn{}
	srv.ResetUsage()
	incr := scanLinks(t, srv, o)
	if n := srv.Usage().ByKind["permissions"]; n != 0 || len(byKey(incr)) != len(truth) {
		t.Errorf("no turn: %d permission reads, %d links (want 0, %d)", n, len(byKey(incr)), len(truth))
	}
}

// TestRollingRemembersOrphansAndUsers: a full read through groups
// remembers the orphaned Anyone groups it found (links/orphans). Without
// that memory a turn that is not deep reads the permissions of the items
// with an orphaned Anyone group; with it, it reads none. Such a turn
// reads no site users; an item whose stored links hold a direct grant to
// someone outside has its permissions read again. A deep turn reads the
// users and every Anyone item again, and the links stay the tenant's.
func TestRollingRemembersOrphansAndUsers(t *testing.T) {
	srv := newGroupTenant(t)
	st := &rollState{memState: &memState{tokens: map[string]string{}, pending: map[string]string{}}}
	o := m365.SourceOptions{Discovery: m365.DiscoveryGroups, PeopleLinkDetail: true, State: st}
	truth := truthKeys(srv)
	check := func(name string, s *tenant.Snapshot) {
		t.Helper()
		got := byKey(s)
		if len(got) != len(truth) {
			t.Fatalf("%s: %d links, the tenant has %d", name, len(got), len(truth))
		}
		for k := range got {
			if !truth[k] {
				t.Fatalf("%s: link %s is not in the tenant", name, k)
			}
		}
	}
	st.commit(scanLinks(t, srv, o))
	if st.tokens["links/orphans"] == "" {
		t.Fatal("the first read remembered no orphaned group")
	}
	delete(st.tokens, "links/orphans") // as after an upgrade

	st.turn = m365.Turn{Full: true}
	srv.ResetUsage()
	first := scanLinks(t, srv, o)
	check("first turn", first)
	if n := srv.Usage().ByKind["permissions"]; n == 0 {
		t.Fatal("first turn: no permission read; the generated tenant has orphaned Anyone groups to find")
	}
	if n := srv.Usage().ByKind["site users"]; n != 0 {
		t.Errorf("first turn: %d site-user reads, want none", n)
	}
	st.commit(first)
	if st.tokens["links/orphans"] == "" {
		t.Fatal("no orphaned groups remembered")
	}

	srv.ResetUsage()
	second := scanLinks(t, srv, o)
	check("second turn", second)
	if n := srv.Usage().ByKind["permissions"]; n != 0 {
		t.Errorf("second turn: %d permission reads, want none (orphans known)", n)
	}
	if _, ok := st.pending["links/orphans"]; ok {
		t.Errorf("second turn rewrote the orphans it already knew")
	}
	st.commit(second)

	// A stored direct grant to a guest on one item: its site is still read
	// through its groups and its users are not asked for; that item's
	// permissions are read again, and the grant the tenant does not have
	// is gone from the read.
	for _, l := range st.links {
		g := l
		g.PermissionID, g.Scope, g.Type, g.Direct = "aW5nOmRpcmVjdA", tenant.LinkScopeUsers, tenant.LinkTypeEdit, true
		g.GrantedTo, g.ExternalRecipients, g.WebURL, g.Expires, g.HasPassword = []string{"x@partner.example"}, []string{"x@partner.example"}, "", nil, nil
		st.links = append(st.links, g)
		break
	}
	srv.ResetUsage()
	third := scanLinks(t, srv, o)
	check("turn with a stored grant", third)
	u := srv.Usage().ByKind
	if u["site users"] != 0 || int(u["site groups"]) != groupSpec.Sites || u["permissions"] != 1 {
		t.Errorf("turn with a stored grant: %d site-user, %d site-group, %d permission reads; want 0, %d, 1", u["site users"], u["site groups"], u["permissions"], groupSpec.Sites)
	}
	d := third.Status[tenant.SectionLinks].Discovery
	if d == nil || d.OutsiderSites != 0 || len(d.ItemSites) != 0 || d.GrantSites != 1 || d.GrantItems != 1 {
		t.Errorf("discovery status %+v", d)
	}
	st.commit(third)

	st.turn = m365.Turn{Full: true, Deep: true}
	srv.ResetUsage()
	deep := scanLinks(t, srv, o)
	check("deep turn", deep)
	if n := srv.Usage().ByKind["site users"]; int(n) != groupSpec.Sites {
		t.Errorf("deep turn: %d site-user reads, want one a site (%d)", n, groupSpec.Sites)
	}
}

// TestRollingGrantSiteThroughGroups: on a turn that is not deep, a site
// with guests is read through its groups; only its items holding a stored
// direct grant to people outside (and items the groups cannot confirm)
// have their permissions read, and every grant and link is the tenant's.
// A deep turn reads its users and the site item by item again.
func TestRollingGrantSiteThroughGroups(t *testing.T) {
	srv := newOutsiderTenant(t)
	st := &rollState{memState: &memState{tokens: map[string]string{}, pending: map[string]string{}}}
	o := m365.SourceOptions{Discovery: m365.DiscoveryGroups, PeopleLinkDetail: true, State: st}
	truth := truthKeys(srv)
	check := func(name string, s *tenant.Snapshot) (grants int) {
		t.Helper()
		got := byKey(s)
		if len(got) != len(truth) {
			t.Fatalf("%s: %d links, the tenant has %d", name, len(got), len(truth))
		}
		for k, l := range got {
			if !truth[k] {
				t.Fatalf("%s: link %s is not in the tenant", name, k)
			}
			if l.Direct && len(l.ExternalRecipients) > 0 {
				grants++
			}
		}
		return grants
	}
	first := scanLinks(t, srv, o)
	want := check("first read", first)
	if want == 0 {
		t.Fatal("the generated tenant has no direct grant to a guest")
	}
	if d := first.Status[tenant.SectionLinks].Discovery; d == nil || d.OutsiderSites != 1 {
		t.Fatalf("first read: discovery %+v, want one site read item by item for its users", d)
	}
	st.commit(first)
	grantItems := map[string]bool{}
	for _, l := range st.links {
		if l.Direct && len(l.ExternalRecipients) > 0 {
			grantItems[l.DriveID+"/"+l.ItemID] = true
		}
	}

	st.turn = m365.Turn{Full: true}
	srv.ResetUsage()
	turn := scanLinks(t, srv, o)
	if got := check("turn", turn); got != want {
		t.Errorf("turn: %d direct grants to guests, the first read %d", got, want)
	}
	u := srv.Usage().ByKind
	d := turn.Status[tenant.SectionLinks].Discovery
	if d == nil || d.OutsiderSites != 0 || len(d.ItemSites) != 0 || d.GrantSites != 1 || d.GrantItems != len(grantItems) {
		t.Errorf("turn: discovery %+v, want the guests' site through groups with %d grant items", d, len(grantItems))
	}
	if u["site users"] != 0 || int(u["site groups"]) != outsiderSpec.Sites || int(u["permissions"]) < len(grantItems) ||
		int(u["permissions"]) >= len(grantItems)+outsiderSpec.SharedPerDrive {
		t.Errorf("turn: %d site-user, %d site-group, %d permission reads; want 0, %d, from %d to below %d",
			u["site users"], u["site groups"], u["permissions"], outsiderSpec.Sites, len(grantItems), len(grantItems)+outsiderSpec.SharedPerDrive)
	}
	st.commit(turn)

	st.turn = m365.Turn{Full: true, Deep: true}
	srv.ResetUsage()
	deep := scanLinks(t, srv, o)
	check("deep turn", deep)
	if d := deep.Status[tenant.SectionLinks].Discovery; d == nil || d.OutsiderSites != 1 || d.GrantSites != 0 {
		t.Errorf("deep turn: discovery %+v, want the guests' site item by item for its users", d)
	}
}
