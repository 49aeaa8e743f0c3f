package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

// rollingTurns applies a RollingState's turns to a stored inventory: the
// drives (and the site inventory) whose turn it is lose their delta token
// and are read in full. It returns the drives whose full read is not deep
// (their confirmed Anyone links keep their stored detail); with item
// discovery there is no group to confirm them, so every full read is deep.
func (src linksSource) rollingTurns(ctx context.Context, inv []driveRef, toks map[string]string) (verified map[string]bool, full int) {
	rs, ok := src.o.State.(RollingState)
	if !ok || inv == nil {
		return nil, 0
	}
	if rs.Turn(ctx, tokenLinksSites).Full {
		delete(toks, tokenLinksSites)
	}
	verified = map[string]bool{}
	for _, d := range inv {
		key := tokenDrivePrefix + d.DriveID
		t := rs.Turn(ctx, key)
		if !t.Full {
			continue
		}
		full++
		delete(toks, key)
		if !t.Deep && src.discovery() == DiscoveryGroups {
			verified[d.DriveID] = true
		}
	}
	return verified, full
}

// anonymousScope finds stored Anyone links cheaply before decoding them.
var anonymousScope = []byte(`"scope":"` + string(tenant.LinkScopeAnonymous) + `"`)

// storedAnyone reads the stored Anyone links of the verified drives, by
// drive and item. Only Anyone links are held (a small share of all).
func (src linksSource) storedAnyone(ctx context.Context, verified map[string]bool, gc *groupCache) (map[string]map[string][]tenant.Link, error) {
	if len(verified) == 0 || gc == nil || src.o.State == nil {
		return nil, nil
	}
	out := make(map[string]map[string][]tenant.Link, len(verified))
	for id := range verified {
		out[id] = map[string][]tenant.Link{}
	}
	err := src.o.State.Previous(ctx, tenant.SectionLinks, func(doc []byte) error {
		if !bytes.Contains(doc, anonymousScope) {
			return nil
		}
		var l tenant.Link
		if err := json.Unmarshal(doc, &l); err != nil {
			return fmt.Errorf("stored link: %w", err)
		}
		if byItem, ok := out[l.DriveID]; ok && l.Scope == tenant.LinkScopeAnonymous {
			byItem[l.ItemID] = append(byItem[l.ItemID], l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stored Anyone links: %w", err)
	}
	gc.setVerified(len(verified))
	return out, nil
}

// confirmsAnyone says whether an item's sharing-link groups confirm its
// stored Anyone links: the groups name Anyone links, exactly the stored
// ones (same permission ids, same view or edit kind), and its other
// groups need no detail. A link added, removed or re-kinded since, an
// orphaned group, or an unknown kind means the item's permissions are
// read again.
func confirmsAnyone(gs []linkGroup, st []tenant.Link, peopleDetail bool) bool {
	if len(st) == 0 || needsDetail(withoutAnyone(gs), peopleDetail) {
		return false
	}
	want := map[string]tenant.LinkType{}
	for _, g := range gs {
		if k, ok := linkKinds[g.Kind]; ok && k.scope == tenant.LinkScopeAnonymous {
			want[g.ShareID] = k.typ
		}
	}
	if len(want) != len(st) {
		return false
	}
	for _, l := range st {
		typ, ok := want[strings.ToLower(l.PermissionID)]
		if !ok || typ != l.Type {
			return false
		}
		delete(want, strings.ToLower(l.PermissionID))
	}
	return len(want) == 0
}

// withoutAnyone are the groups of links other than Anyone links.
func withoutAnyone(gs []linkGroup) []linkGroup {
	out := make([]linkGroup, 0, len(gs))
	for _, g := range gs {
		if k, ok := linkKinds[g.Kind]; ok && k.scope == tenant.LinkScopeAnonymous {
			continue
		}
		out = append(out, g)
	}
	return out
}
