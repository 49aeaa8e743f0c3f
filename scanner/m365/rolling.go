package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
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

// storedState is what a rolling turn keeps from the store for its verified
// drives: their Anyone links by drive and item, and by drive the items
// holding a direct grant to people outside the organization. With byBatch
// set, the Anyone links are not held here but read for a batch of drives
// at a time as the drives are read (storedAnyoneIn).
type storedState struct {
	anyone  map[string]map[string][]tenant.Link
	grants  map[string]map[string]bool
	byBatch ScopedState
}

// defaultStoredAnyoneBatch is how many drives' stored Anyone links a read
// holds at once when more drives than that are verified. When every
// drive's turn has come (a scan a day or more after the last whole read),
// the verified drives are the whole tenant and their Anyone links a third
// of its links: s2's 333,000, held at once, took about 60 MB.
const defaultStoredAnyoneBatch = 256

func (src linksSource) anyoneBatch() int {
	if src.o.StoredAnyoneBatch > 0 {
		return src.o.StoredAnyoneBatch
	}
	return defaultStoredAnyoneBatch
}

// forDrive returns the stored Anyone links of a verified drive by item
// (empty when it has none), nil for a drive not verified.
func (st storedState) forDrive(id string) map[string][]tenant.Link { return st.anyone[id] }

// anonymousScope, storedDirect and outsideGrantee find stored links cheaply before
// decoding them.
var (
	anonymousScope = []byte(`"scope":"` + string(tenant.LinkScopeAnonymous) + `"`)
	storedDirect   = []byte(`"direct":true`)
	outsideGrantee = []byte(`"externalRecipients":`)
)

// storedLinks reads the stored Anyone links and outside direct grants of
// the verified drives. Only those are held (a small share of all links).
func (src linksSource) storedLinks(ctx context.Context, verified map[string]bool, gc *groupCache) (storedState, error) {
	if len(verified) == 0 || gc == nil || src.o.State == nil {
		return storedState{}, nil
	}
	out := storedState{grants: map[string]map[string]bool{}}
	if ss, ok := src.o.State.(ScopedState); ok && len(verified) > src.anyoneBatch() && drivePrefixes(verified) {
		// Many verified drives: this pass finds the grants only (they
		// are needed before any drive is read), and each batch of drives
		// reads its Anyone links again, by key range, when its turn comes.
		out.byBatch = ss
	} else {
		out.anyone = make(map[string]map[string][]tenant.Link, len(verified))
		for id := range verified {
			out.anyone[id] = map[string][]tenant.Link{}
		}
	}
	err := src.o.State.Previous(ctx, tenant.SectionLinks, func(doc []byte) error {
		anyone := out.byBatch == nil && bytes.Contains(doc, anonymousScope)
		grant := bytes.Contains(doc, storedDirect) && bytes.Contains(doc, outsideGrantee)
		if !anyone && !grant {
			return nil
		}
		var l tenant.Link
		if err := json.Unmarshal(doc, &l); err != nil {
			return fmt.Errorf("stored link: %w", err)
		}
		if !verified[l.DriveID] {
			return nil
		}
		switch {
		case l.Scope == tenant.LinkScopeAnonymous:
			if out.byBatch == nil {
				out.anyone[l.DriveID][l.ItemID] = append(out.anyone[l.DriveID][l.ItemID], l)
			}
		case l.Direct && len(l.ExternalRecipients) > 0:
			if out.grants[l.DriveID] == nil {
				out.grants[l.DriveID] = map[string]bool{}
			}
			out.grants[l.DriveID][l.ItemID] = true
		}
		return nil
	})
	if err != nil {
		return storedState{}, fmt.Errorf("stored Anyone links: %w", err)
	}
	gc.setVerified(len(verified))
	return out, nil
}

// drivePrefixes says whether every drive has a key prefix to read its
// stored links by.
func drivePrefixes(drives map[string]bool) bool {
	for id := range drives {
		if _, ok := tenant.DriveKeyPrefix(id); !ok {
			return false
		}
	}
	return true
}

// storedAnyoneIn reads the stored Anyone links of the verified drives
// among ds, by drive and item (see storedLinks); every verified drive of
// ds gets a map, empty when it has none.
func (st storedState) storedAnyoneIn(ctx context.Context, ds []driveRef, verified map[string]bool) (map[string]map[string][]tenant.Link, error) {
	out := map[string]map[string][]tenant.Link{}
	var prefixes []string
	for _, d := range ds {
		if !verified[d.DriveID] || out[d.DriveID] != nil {
			continue
		}
		p, _ := tenant.DriveKeyPrefix(d.DriveID) // drivePrefixes checked it
		prefixes = append(prefixes, p)
		out[d.DriveID] = map[string][]tenant.Link{}
	}
	if len(prefixes) == 0 {
		return out, nil
	}
	err := st.byBatch.PreviousIn(ctx, tenant.SectionLinks, prefixes, func(doc []byte) error {
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
	return out, nil
}

// tokenLinksOrphans keeps, per drive, the shareIds of the Anyone link
// groups whose link was gone at the drive's last full read through
// groups: "driveId<TAB>shareId,shareId" lines, sorted. A turn that is not
// deep leaves those groups aside instead of reading their items'
// permissions again on every turn; a deep turn reads every Anyone item
// and finds them anew. That a removed link's shareId is never given to
// a new link is assumed (shapes.go).
const tokenLinksOrphans = "links/orphans"

// orphansOf returns the known orphaned groups of the given drives.
func orphansOf(tok string, drives map[string]bool) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for line := range strings.Lines(tok) {
		drive, ids, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		if !ok || !drives[drive] {
			continue
		}
		set := map[string]bool{}
		for id := range strings.SplitSeq(ids, ",") {
			if id != "" {
				set[id] = true
			}
		}
		out[drive] = set
	}
	return out
}

// mergeOrphans returns the token with the drives read in full through
// groups (found, nil or empty: none any more) replaced, and drives no
// longer in the inventory (live) dropped.
func mergeOrphans(tok string, found map[string][]string, live map[string]bool) string {
	var lines []string
	for line := range strings.Lines(tok) {
		line = strings.TrimSuffix(line, "\n")
		drive, _, ok := strings.Cut(line, "\t")
		if _, replaced := found[drive]; ok && live[drive] && !replaced {
			lines = append(lines, line)
		}
	}
	for drive, ids := range found {
		if len(ids) > 0 {
			ids = slices.Clone(ids)
			slices.Sort(ids)
			lines = append(lines, drive+"\t"+strings.Join(slices.Compact(ids), ","))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

// withoutOrphans drops the groups named in orphans.
func withoutOrphans(gs []linkGroup, orphans map[string]bool) []linkGroup {
	if len(orphans) == 0 {
		return gs
	}
	out := make([]linkGroup, 0, len(gs))
	for _, g := range gs {
		if !orphans[g.ShareID] {
			out = append(out, g)
		}
	}
	return out
}

// orphanedAnyone returns the item's Anyone link groups whose link is not
// among its permissions as read.
func orphanedAnyone(gs []linkGroup, links []tenant.Link) []string {
	var out []string
	for _, g := range gs {
		if k, ok := linkKinds[g.Kind]; !ok || k.scope != tenant.LinkScopeAnonymous {
			continue
		}
		if !slices.ContainsFunc(links, func(l tenant.Link) bool { return strings.EqualFold(l.PermissionID, g.ShareID) }) {
			out = append(out, g.ShareID)
		}
	}
	return out
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
