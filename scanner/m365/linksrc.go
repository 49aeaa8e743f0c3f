package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

// Keys of the links section's delta tokens.
const (
	tokenLinksSites  = "links/sites"  // sites delta link
	tokenLinksDrives = "links/drives" // drive inventory (JSON)
	tokenDrivePrefix = "links/drive/" // + drive id: the drive's delta link
)

// errUnresolvedSites says sites the sites delta reported could not be
// resolved to their URL: the inventory is then listed in full.
var errUnresolvedSites = errors.New("sites delta: sites without webUrl could not be resolved")

// driveRef is one drive of the inventory the links section keeps between
// scans, so that an unchanged tenant is not asked for its drives again.
type driveRef struct {
	SiteID     string `json:"siteId"`
	SiteFullID string `json:"siteFullId"`
	SiteURL    string `json:"siteUrl"`
	DriveID    string `json:"driveId"`
	Name       string `json:"name"`
}

// linksSource finds shared items with drive delta and reads their
// permissions in batches. With a State it reads only what changed since
// the stored delta tokens and merges it onto the stored links.
type linksSource struct {
	c *Client
	o SourceOptions
}

func (linksSource) Section() tenant.Section { return tenant.SectionLinks }

// TenantSized: a large tenant's links section holds runs of links, site
// groups and stored Anyone links while it reads (scanner.TenantSized).
func (linksSource) TenantSized() bool { return true }

// driveResult is what one drive's delta gave.
type driveResult struct {
	ref   driveRef
	links []tenant.Link
	// full says the links replace all of the drive's stored links;
	// otherwise they replace those of the touched items only.
	full    bool
	touched map[string]bool
	// paths are new paths of items whose sharing did not change.
	paths     map[string]string
	deltaLink string
	err       error
	// groupsRead says the drive was read in full through its site's
	// groups; orphans are then its Anyone link groups whose link is gone.
	groupsRead bool
	orphans    []string
}

func (src linksSource) Collect(ctx context.Context, snap *tenant.Snapshot) error {
	st := src.o.State
	tokens := map[string]string{}
	var inv []driveRef
	var prevTokens map[string]string
	if st != nil {
		inv, prevTokens = src.loadState(ctx, src.o.OnlyDrives)
	}
	// Sites and drives that cannot be read leave the drives of the
	// inventory unknown: the others are read and the section is partial.
	var bad FieldErrors
	// kept are drives of the inventory left unread (OnlyDrives): their
	// stored links and tokens stay as they are.
	var kept []driveRef
	var sitesLink string
	// verified are the drives whose rolling full read keeps the stored
	// detail of the Anyone links their groups confirm.
	var verified map[string]bool
	rollFull := 0
	// scope, when set, are the key prefixes of the drives read: the
	// section then holds only their links (see driveScope).
	var scope []string
	// named says the drives read are those OnlyDrives named, without the
	// rolling turns or the inventory of a whole read.
	named := false
	if len(src.o.OnlyDrives) > 0 && inv != nil {
		only := make(map[string]bool, len(src.o.OnlyDrives))
		for _, d := range src.o.OnlyDrives {
			only[d] = true
		}
		var read []driveRef
		for _, d := range inv {
			if only[d.DriveID] {
				read = append(read, d)
			} else {
				kept = append(kept, d)
			}
		}
		inv, sitesLink = read, prevTokens[tokenLinksSites]
		scope, named = src.driveScope(read), true
	} else {
		verified, rollFull = src.rollingTurns(ctx, inv, prevTokens)
		var err error
		inv, sitesLink, err = src.inventory(ctx, inv, prevTokens[tokenLinksSites])
		if err := noteItems(&bad, err); err != nil {
			return fmt.Errorf("collect links: %w", err)
		}
	}
	// Links go to a spool as each drive completes: a large tenant's links
	// are never all in memory at once.
	spool := tenant.NewLinkSpool(src.o.TempDir, src.o.LinkRun)
	var failures []error
	var spoolErr error
	byDrive := make(map[string]*driveResult, len(inv)+len(kept))
	incremental := len(kept) > 0
	for _, d := range kept {
		// Read "incrementally" with nothing touched: every stored link stays.
		byDrive[d.DriveID] = &driveResult{ref: d}
	}
	// Links of drives read incrementally are held until the merge with
	// the stored links (only the items whose sharing changed: few), so
	// that a folder's link an item below it shows too is kept once.
	var held []tenant.Link
	gc := src.newGroupCache(inv)
	stored, err := src.storedLinks(ctx, verified, gc)
	if err != nil {
		spool.Close()
		return fmt.Errorf("collect links: %w", err)
	}
	gc.planUsers(inv, verified, stored.grants)
	// Orphaned groups known from earlier reads, for the verified drives;
	// found are those the drives read in full through groups find now.
	orphanTok := prevTokens[tokenLinksOrphans]
	known := orphansOf(orphanTok, verified)
	found := map[string][]string{}
	src.scanDrives(ctx, inv, prevTokens, gc, stored, verified, known, func(r *driveResult) {
		// The links a drive gave are kept even when some of its reads
		// failed: the section is then partial.
		if !r.full && r.err == nil {
			held = append(held, r.links...)
		} else {
			for i := range r.links {
				if err := spool.Add(&r.links[i]); err != nil && spoolErr == nil {
					spoolErr = err
				}
			}
		}
		r.links = nil
		if r.err != nil {
			failures = append(failures, fmt.Errorf("drive %s of %s: %w", r.ref.Name, r.ref.SiteURL, r.err))
			return
		}
		if r.full {
			// Only drives read incrementally need their items for the merge.
			r.touched, r.paths = nil, nil
		}
		if r.groupsRead {
			found[r.ref.DriveID] = r.orphans
		}
		byDrive[r.ref.DriveID] = r
		incremental = incremental || !r.full
		if r.full {
			// Read again in full (its delta link expired): the drive's
			// delta was reset, so the stored view is in doubt; merge
			// onto every stored link as a whole read would.
			scope = nil
		}
		if src.o.OnDeltaLink != nil && r.deltaLink != "" {
			src.o.OnDeltaLink(r.ref.DriveID, r.deltaLink)
		}
		if r.deltaLink != "" && r.deltaLink != prevTokens[tokenDrivePrefix+r.ref.DriveID] {
			tokens[tokenDrivePrefix+r.ref.DriveID] = r.deltaLink
		}
	})
	if s := scanner.StatsFrom(ctx); s != nil {
		r := gc.report(src.discovery())
		r.RollingFullDrives = rollFull
		s.SetLinkDiscovery(r)
	}
	if spoolErr != nil {
		spool.Close()
		return fmt.Errorf("collect links: %w", spoolErr)
	}
	if err := bad.err(); err != nil {
		failures = append([]error{err}, failures...)
	}
	addHeld := func(skip map[int]bool) error {
		for i := range held {
			if !skip[i] {
				if err := spool.Add(&held[i]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if len(failures) > 0 {
		// A partial section is not stored, so neither are its tokens.
		if err := addHeld(nil); err != nil {
			spool.Close()
			return fmt.Errorf("collect links: %w", err)
		}
		snap.SetLinks(spool)
		return scanner.Partial(fmt.Errorf("collect links: %d failures: %w", len(failures), errors.Join(failures...)))
	}
	if incremental {
		// A link both held (re-read on a changed item) and stored (on an
		// unchanged one) is one permission: it stays on the higher item.
		byPerm := make(map[string]int, len(held))
		for i := range held {
			byPerm[permKey(&held[i])] = i
		}
		dropped := map[int]bool{}
		merge := func(fn func(doc []byte) error) error { return st.Previous(ctx, tenant.SectionLinks, fn) }
		if scope != nil {
			ss := st.(ScopedState) // driveScope checked it
			merge = func(fn func(doc []byte) error) error { return ss.PreviousIn(ctx, tenant.SectionLinks, scope, fn) }
		}
		err := merge(func(doc []byte) error {
			var l tenant.Link
			if err := json.Unmarshal(doc, &l); err != nil {
				return fmt.Errorf("stored link: %w", err)
			}
			r, ok := byDrive[l.DriveID]
			if !ok || r.full || r.touched[l.ItemID] {
				return nil // the drive is gone or was read again
			}
			if p, ok := r.paths[l.ItemID]; ok {
				l.ItemPath = p
			}
			if i, ok := byPerm[permKey(&l)]; ok {
				if !higherLink(&l, &held[i]) {
					return nil
				}
				dropped[i] = true
			}
			return spool.Add(&l)
		})
		if err == nil {
			err = addHeld(dropped)
		}
		if err != nil {
			spool.Close()
			return fmt.Errorf("collect links: merge with stored links: %w", err)
		}
	} else if err := addHeld(nil); err != nil {
		spool.Close()
		return fmt.Errorf("collect links: %w", err)
	}
	snap.SetLinks(spool)
	if scope != nil {
		snap.SetScope(tenant.SectionLinks, scope)
	}
	if st != nil {
		if sitesLink != "" && sitesLink != prevTokens[tokenLinksSites] {
			tokens[tokenLinksSites] = sitesLink
		}
		if len(kept) > 0 {
			// The inventory was not refreshed: it stays as stored (and so
			// do the orphaned groups).
		} else {
			if b, err := json.Marshal(inv); err == nil && string(b) != prevTokens[tokenLinksDrives] {
				tokens[tokenLinksDrives] = string(b)
			}
			if len(found) > 0 {
				live := make(map[string]bool, len(inv))
				for _, d := range inv {
					live[d.DriveID] = true
				}
				if t := mergeOrphans(orphanTok, found, live); t != orphanTok {
					tokens[tokenLinksOrphans] = t
				}
			}
		}
		if ps, ok := st.(PartReadState); ok && named {
			ps.SavePartTokens(tenant.SectionLinks, tokens)
		} else {
			st.SaveDeltaTokens(tenant.SectionLinks, tokens)
		}
	}
	return nil
}

// driveScope returns the key prefixes of the drives a change read names,
// or nil when the section must be merged whole: the state cannot stream
// part of a section, a drive named is not in the stored inventory, or a
// drive id gives no unambiguous prefix.
func (src linksSource) driveScope(read []driveRef) []string {
	if _, ok := src.o.State.(ScopedState); !ok {
		return nil
	}
	found := make(map[string]bool, len(read))
	out := make([]string, 0, len(read))
	for _, d := range read {
		p, ok := tenant.DriveKeyPrefix(d.DriveID)
		if !ok {
			return nil
		}
		if !found[d.DriveID] {
			out = append(out, p)
		}
		found[d.DriveID] = true
	}
	for _, d := range src.o.OnlyDrives {
		if !found[d] {
			return nil
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// loadState reads the stored inventory and every drive's token, or with
// only (OnlyDrives) the tokens of those drives alone: a read of a few
// drives asks the store for a few tokens, not one per drive of the tenant.
// Anything unreadable just means a full read.
func (src linksSource) loadState(ctx context.Context, only []string) ([]driveRef, map[string]string) {
	st := src.o.State
	toks := map[string]string{}
	raw, err := st.DeltaToken(ctx, tokenLinksDrives)
	if err != nil || raw == "" {
		return nil, toks
	}
	var inv []driveRef
	if json.Unmarshal([]byte(raw), &inv) != nil {
		return nil, toks
	}
	toks[tokenLinksDrives] = raw
	if t, err := st.DeltaToken(ctx, tokenLinksSites); err == nil {
		toks[tokenLinksSites] = t
	}
	if len(only) == 0 {
		// Only a whole read uses and rewrites the orphaned groups;
		// unreadable means none known.
		if t, err := st.DeltaToken(ctx, tokenLinksOrphans); err == nil && t != "" {
			toks[tokenLinksOrphans] = t
		}
	}
	var named map[string]bool
	if len(only) > 0 {
		named = make(map[string]bool, len(only))
		for _, d := range only {
			named[d] = true
		}
	}
	for _, d := range inv {
		if named != nil && !named[d.DriveID] {
			continue
		}
		if t, err := st.DeltaToken(ctx, tokenDrivePrefix+d.DriveID); err == nil && t != "" {
			toks[tokenDrivePrefix+d.DriveID] = t
		}
	}
	return inv, toks
}

// inventory returns the drives to read. With a stored inventory and sites
// delta link it applies the sites that changed since; otherwise (or when
// the link expired) it lists every site and its drives.
func (src linksSource) inventory(ctx context.Context, inv []driveRef, sitesLink string) ([]driveRef, string, error) {
	if inv != nil && sitesLink != "" {
		out, link, err := src.applySiteChanges(ctx, inv, sitesLink)
		if err == nil {
			return out, link, nil
		}
		if !IsStatus(err, http.StatusGone) && !errors.Is(err, errUnresolvedSites) {
			return nil, "", err
		}
	}
	// Take the sites delta link first: a site added while listing is then
	// seen by the next scan.
	link := ""
	if src.o.State != nil {
		l, err := src.c.GraphPages(ctx, V1, "/sites/delta?token=latest", nil, func([]json.RawMessage) error { return nil })
		if err == nil {
			link = l
		}
	}
	var bad FieldErrors
	sites, err := src.c.listSites(ctx)
	if err := noteItems(&bad, err); err != nil {
		return nil, "", err
	}
	out, err := src.drivesOf(ctx, sites)
	if err := noteItems(&bad, err); err != nil {
		return nil, "", err
	}
	return out, link, bad.err()
}

// drivesOf lists the drives of sites with $batch. Drives that cannot be
// read are left out and returned as FieldErrors with the others.
func (src linksSource) drivesOf(ctx context.Context, sites []graphSite) ([]driveRef, error) {
	reqs := make([]BatchRequest, 0, len(sites))
	byID := make(map[string]graphSite, len(sites))
	for _, s := range sites {
		byID[s.FullID] = s
		reqs = append(reqs, BatchRequest{ID: s.FullID, URL: "/sites/" + escapePath(s.FullID) + "/drives" + selectQuery(driveSelect())})
	}
	res := src.c.BatchCollections(ctx, V1, reqs)
	var out []driveRef
	var errs []error
	var bad FieldErrors
	for _, key := range sortedKeys(res) {
		r, site := res[key], byID[key]
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("drives of %s: %w", site.URL, r.Err))
			continue
		}
		drives, err := parseDrives(r.Items)
		if err := noteItems(&bad, err); err != nil {
			errs = append(errs, err)
			continue
		}
		for _, d := range drives {
			out = append(out, driveRef{SiteID: site.ID, SiteFullID: site.FullID, SiteURL: site.URL, DriveID: d.ID, Name: d.Name})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, bad.err()
}

// applySiteChanges follows the sites delta: deleted sites lose their
// drives, added or changed sites have their drives listed again.
func (src linksSource) applySiteChanges(ctx context.Context, inv []driveRef, link string) ([]driveRef, string, error) {
	if !sameOrigin(src.c.graphURL(V1, "/"), link) {
		// Like an expired link: list everything again.
		return nil, "", &APIError{Endpoint: epSitesDelta, Status: http.StatusGone, Message: "stored delta link points to another host"}
	}
	var bad FieldErrors
	changed := map[string]bool{}
	var added []graphSite
	newLink, err := src.c.graphPagesURL(ctx, link, nil, func(items []json.RawMessage) error {
		for i, raw := range items {
			d, err := parseSiteDelta(raw, i)
			if err != nil {
				if err := noteItems(&bad, err); err != nil {
					return err
				}
				continue
			}
			changed[d.FullID] = true
			if d.Deleted {
				continue
			}
			s, err := parseGraphSites(epSitesDelta, []json.RawMessage{raw})
			if err := noteItems(&bad, err); err != nil {
				return err
			}
			added = append(added, s...)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if len(changed) == 0 {
		return inv, newLink, bad.err()
	}
	// Sparse delta items get their URL from the inventory or a read; when
	// a site cannot be resolved every site is listed again instead.
	known := map[string]graphSite{}
	for _, d := range inv {
		known[d.SiteID] = graphSite{ID: d.SiteID, FullID: d.SiteFullID, URL: d.SiteURL}
	}
	added, err = src.c.resolveSites(ctx, added, known)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", errUnresolvedSites, err)
	}
	out := make([]driveRef, 0, len(inv))
	for _, d := range inv {
		if !changed[d.SiteFullID] {
			out = append(out, d)
		}
	}
	more, err := src.drivesOf(ctx, added)
	if err := noteItems(&bad, err); err != nil {
		return nil, "", err
	}
	return append(out, more...), newLink, bad.err()
}

func (src linksSource) concurrency() int {
	if src.o.Concurrency > 0 {
		return src.o.Concurrency
	}
	return 8
}

// scanDrives reads every drive, several at once, and hands each drive's
// result to done as soon as it is read, one call at a time.
func (src linksSource) scanDrives(ctx context.Context, inv []driveRef, toks map[string]string, gc *groupCache, stored storedState, verified map[string]bool,
	orphans map[string]map[string]bool, done func(*driveResult)) {
	// A job is a drive to read with its stored Anyone links, so that a
	// batch's links are held only until its drives are read.
	type job struct {
		i      int
		anyone map[string][]tenant.Link
		err    error
	}
	next := make(chan job)
	var mu sync.Mutex
	finish := func(r driveResult) {
		mu.Lock()
		defer mu.Unlock()
		done(&r)
	}
	var wg sync.WaitGroup
	for w := 0; w < min(src.concurrency(), len(inv)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				d := inv[j.i]
				if j.err != nil {
					// Its stored links could not be read: the drive fails,
					// and with it the section, as a failed read would.
					finish(driveResult{ref: d, err: j.err})
					continue
				}
				finish(src.driveLinks(ctx, d, toks[tokenDrivePrefix+d.DriveID], gc, j.anyone, stored.grants[d.DriveID], orphans[d.DriveID]))
			}
		}()
	}
	var (
		batch    map[string]map[string][]tenant.Link
		batchErr error
	)
	for i := range inv {
		if ctx.Err() != nil {
			for j := i; j < len(inv); j++ {
				finish(driveResult{ref: inv[j], err: ctx.Err()})
			}
			break
		}
		j := job{i: i, anyone: stored.forDrive(inv[i].DriveID)}
		if stored.byBatch != nil {
			if n := src.anyoneBatch(); i%n == 0 {
				batch, batchErr = stored.storedAnyoneIn(ctx, inv[i:min(i+n, len(inv))], verified)
			}
			j.anyone, j.err = batch[inv[i].DriveID], batchErr
		}
		next <- j
	}
	close(next)
	wg.Wait()
}

// driveLinks reads one drive: from its delta link when there is one
// (only what changed), otherwise the whole drive. An expired link (410)
// falls back to a whole read.
//
// stored, for a drive whose rolling full read is not deep, holds its
// stored Anyone links by item: an item whose sharing-link groups name
// exactly those links (same ids, same kinds) keeps their detail instead
// of having its permissions read again, its groups known to be orphaned
// (orphans, by shareId) left aside. The items in grants hold a stored
// direct grant to people outside: no group shows a grant, so their
// permissions are read again.
func (src linksSource) driveLinks(ctx context.Context, d driveRef, link string, gc *groupCache, stored map[string][]tenant.Link,
	grants, orphans map[string]bool) driveResult {
	res := driveResult{ref: d, full: link == ""}
	if link != "" && !sameOrigin(src.c.graphURL(V1, "/"), link) {
		res.full, link = true, ""
	}
	byID := map[string]DriveItem{}
	var order []string
	// Items that cannot be read are left out and make the drive's result
	// an error; the rest of the delta is still read.
	var bad FieldErrors
	collect := func(items []json.RawMessage) error {
		its, err := ParseDeltaItems(items)
		for _, it := range its {
			if _, seen := byID[it.ID]; !seen {
				order = append(order, it.ID)
			}
			byID[it.ID] = it // the last occurrence wins
		}
		return noteItems(&bad, err)
	}
	hdr := http.Header{"Prefer": {DeltaPrefer}}
	var err error
	if link != "" {
		res.deltaLink, err = src.c.graphPagesURL(ctx, link, hdr, collect)
		if IsStatus(err, http.StatusGone) {
			res.full, byID, order, bad = true, map[string]DriveItem{}, nil, FieldErrors{}
		} else if err != nil {
			res.err = err
			return res
		}
	}
	if res.full {
		path := "/drives/" + escapePath(d.DriveID) + "/root/delta" + selectQuery(deltaSelect, "$top="+itoa(src.c.o.PageSize))
		res.deltaLink, err = src.c.GraphPages(ctx, V1, path, hdr, collect)
		if err != nil {
			res.err = err
			return res
		}
	}
	var reqs, itemReqs []BatchRequest
	res.touched = map[string]bool{}
	var pathOnly []string
	// A full read may take its links from the site's sharing-link groups;
	// a read of changes reads the changed items' permissions.
	var groups map[string][]linkGroup
	if res.full {
		groups = gc.site(ctx, src.c, d, src.o.PeopleLinkDetail)
		res.groupsRead = groups != nil
		defer gc.release(d)
	} else {
		gc.delta(d)
	}
	for _, id := range order {
		it := byID[id]
		var gs []linkGroup
		if groups != nil && it.Shared && it.UniqueID != "" {
			// Groups whose item is gone or unshared are never looked up.
			all := groups[it.UniqueID]
			gs = withoutOrphans(all, orphans)
			if len(gs) < len(all) && len(gs) > 0 {
				for _, g := range all {
					if orphans[g.ShareID] {
						res.orphans = append(res.orphans, g.ShareID) // still orphaned
					}
				}
			} else if len(gs) == 0 {
				gs = all // only orphans known: its permissions say
			}
		}
		switch {
		case it.Root:
		case it.Deleted:
			res.touched[id] = true
		case groups != nil && grants[id] && it.Shared:
			res.touched[id] = true
			reqs = append(reqs, BatchRequest{ID: id, URL: "/drives/" + escapePath(d.DriveID) + "/items/" + escapePath(id) + "/permissions" + selectQuery(permissionSelect())})
			gc.grantRead()
		case len(gs) > 0 && !needsDetail(gs, src.o.PeopleLinkDetail):
			res.touched[id] = true
			base := tenant.Link{DriveID: d.DriveID, ItemID: it.ID, SiteID: d.SiteID, SiteURL: d.SiteURL, Library: d.Name,
				ItemPath: itemPath(it, byID), Folder: it.Folder}
			res.links = append(res.links, groupLinks(gs, base)...)
		case len(gs) > 0 && stored != nil && confirmsAnyone(gs, stored[it.ID], src.o.PeopleLinkDetail):
			res.touched[id] = true
			base := tenant.Link{DriveID: d.DriveID, ItemID: it.ID, SiteID: d.SiteID, SiteURL: d.SiteURL, Library: d.Name,
				ItemPath: itemPath(it, byID), Folder: it.Folder}
			res.links = append(res.links, groupLinks(withoutAnyone(gs), base)...)
			for _, l := range stored[it.ID] {
				l.SiteID, l.SiteURL, l.Library, l.ItemPath, l.Folder = base.SiteID, base.SiteURL, base.Library, base.ItemPath, base.Folder
				res.links = append(res.links, l)
			}
			gc.keptAnyone(len(stored[it.ID]))
		case res.full && it.Shared, !res.full && it.SharedChanged:
			res.touched[id] = true
			reqs = append(reqs, BatchRequest{ID: id, URL: "/drives/" + escapePath(d.DriveID) + "/items/" + escapePath(id) + "/permissions" + selectQuery(permissionSelect())})
		case !res.full && it.Shared:
			// Changed, but not its sharing: its links stay; only a rename
			// or move changes their path.
			pathOnly = append(pathOnly, id)
		}
	}
	if !res.full {
		// Delta pages of changes do not carry the parents, so the path of
		// every item whose links are kept or re-read is asked for.
		for _, r := range reqs {
			itemReqs = append(itemReqs, BatchRequest{ID: r.ID, URL: "/drives/" + escapePath(d.DriveID) + "/items/" + escapePath(r.ID) + selectQuery(itemPathSelect)})
		}
		for _, id := range pathOnly {
			itemReqs = append(itemReqs, BatchRequest{ID: id, URL: "/drives/" + escapePath(d.DriveID) + "/items/" + escapePath(id) + selectQuery(itemPathSelect)})
		}
	}
	var errs []error
	if err := bad.err(); err != nil {
		errs = append(errs, err)
	}
	paths := map[string]string{}
	if len(itemReqs) > 0 {
		for id, r := range src.c.BatchObjects(ctx, V1, itemReqs) {
			if r.Err != nil {
				errs = append(errs, r.Err)
				continue
			}
			its, err := parseDriveItems(epDriveItem, r.Items)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if len(its) != 1 {
				errs = append(errs, fmt.Errorf("%s: item %s: expected one item, got %d", epDriveItem, id, len(its)))
				continue
			}
			paths[id] = itemPath(its[0], nil)
		}
		res.paths = map[string]string{}
		for _, id := range pathOnly {
			if p, ok := paths[id]; ok {
				res.paths[id] = p
			}
		}
	}
	perms := src.c.BatchCollections(ctx, V1, reqs)
	for _, r := range reqs {
		it := byID[r.ID]
		pr := perms[r.ID]
		if pr.Err != nil {
			if !res.full && IsStatus(pr.Err, http.StatusNotFound) {
				continue // deleted since the delta page: no links
			}
			errs = append(errs, pr.Err)
			continue
		}
		p, ok := paths[it.ID]
		if !ok {
			p = itemPath(it, byID)
		}
		base := tenant.Link{DriveID: d.DriveID, ItemID: it.ID, SiteID: d.SiteID, SiteURL: d.SiteURL, Library: d.Name,
			ItemPath: p, Folder: it.Folder}
		l, err := ParsePermissions(pr.Items, base)
		res.links = append(res.links, l...)
		if err != nil {
			errs = append(errs, err)
		} else if groups != nil && it.UniqueID != "" {
			res.orphans = append(res.orphans, orphanedAnyone(groups[it.UniqueID], l)...)
		}
	}
	res.links = dedupeLinks(res.links)
	res.err = errors.Join(errs...)
	return res
}

func (src linksSource) discovery() string {
	if src.o.Discovery == DiscoveryGroups {
		return DiscoveryGroups
	}
	return DiscoveryItems
}

// newGroupCache returns the cache of site groups of one collection; with
// item discovery it is nil and every site is read item by item.
func (src linksSource) newGroupCache(inv []driveRef) *groupCache {
	if src.discovery() != DiscoveryGroups {
		return nil
	}
	gc := &groupCache{sites: map[string]*siteGroups{}, drives: map[string]int{}}
	for _, d := range inv {
		gc.drives[d.SiteFullID]++
	}
	return gc
}

// groupCache reads each site's sharing-link groups once per collection,
// for every drive of the site, and remembers which method each site used.
type groupCache struct {
	mu    sync.Mutex
	sites map[string]*siteGroups
	// drives counts each site's drives not yet read: a site's groups are
	// dropped when its last drive is done, so that a large tenant's
	// groups are never all held at once.
	drives     map[string]int
	groupSites int
	deltaSites map[string]bool
	// verified counts drives read in full but not deep, kept their Anyone
	// links whose stored detail the groups confirmed.
	verified, kept int
	items          []tenant.SiteMethod
	// outsiders counts the sites read item by item for their users.
	outsiders int
	// usersKept are the sites whose users are not read this time (every
	// drive of the site is on a turn that is not deep): their groups are
	// read, and the items holding a stored direct grant to people outside
	// have their permissions read again (grantSites counts those sites,
	// grantItems those items).
	usersKept, grantSites map[string]bool
	grantItems            int
	// refused is set once SharePoint refuses the app's token (401, e.g.
	// a client secret, which SharePoint does not accept app-only): the
	// other sites are then read item by item without asking again.
	refused error
}

type siteGroups struct {
	once   sync.Once
	groups map[string][]linkGroup
}

// site returns the site's groups by item UniqueId, or nil when the site is
// to be read item by item (item discovery, or the groups could not be
// read: the failure is recorded, never a finding).
func (gc *groupCache) site(ctx context.Context, c *Client, d driveRef, members bool) map[string][]linkGroup {
	if gc == nil {
		return nil
	}
	gc.mu.Lock()
	e, ok := gc.sites[d.SiteFullID]
	if !ok {
		e = &siteGroups{}
		gc.sites[d.SiteFullID] = e
	}
	gc.mu.Unlock()
	e.once.Do(func() {
		gc.mu.Lock()
		refused, usersKept := gc.refused, gc.usersKept[d.SiteFullID]
		gc.mu.Unlock()
		var g map[string][]linkGroup
		// The site's users first: a site with users who may be outside
		// is read item by item, and its groups need not be read.
		err := refused
		what := "site users not read: "
		n, examples := 0, []string(nil)
		if err == nil && !usersKept {
			n, examples, err = c.siteOutsiders(ctx, d.SiteURL)
		}
		if err == nil && n > 0 {
			gc.mu.Lock()
			gc.outsiders++
			gc.items = append(gc.items, tenant.SiteMethod{Site: d.SiteURL, Reason: fmt.Sprintf(
				"%d site users may be outside the organization (%s): grants to them show only in item permissions", n, strings.Join(examples, ", "))})
			gc.mu.Unlock()
			return
		}
		if err == nil {
			what = "sharing-link groups not read: "
			g, err = c.siteLinkGroups(ctx, d.SiteURL, members)
		}
		if err != nil {
			gc.mu.Lock()
			if IsStatus(err, http.StatusUnauthorized) && gc.refused == nil {
				gc.refused = err
			}
			gc.items = append(gc.items, tenant.SiteMethod{Site: d.SiteURL, Reason: what + err.Error()})
			gc.mu.Unlock()
			return
		}
		e.groups = g
		gc.mu.Lock()
		gc.groupSites++
		gc.mu.Unlock()
	})
	return e.groups
}

// planUsers decides which sites' users a rolling turn does not read: the
// sites all of whose drives are on a turn that is not deep. A person given
// an item becomes a site user, and the sharing change reaches the store
// through the drive's delta (sharedChanged); the items whose stored links
// hold a direct grant to someone outside have their permissions read
// again (no group shows a grant), the site's other items go by its
// groups. A grant the delta missed waits for the drive's deep turn, like
// an Anyone link's changed settings.
func (gc *groupCache) planUsers(inv []driveRef, verified map[string]bool, grants map[string]map[string]bool) {
	if gc == nil || len(verified) == 0 {
		return
	}
	gc.usersKept, gc.grantSites = map[string]bool{}, map[string]bool{}
	mixed := map[string]bool{}
	for _, d := range inv {
		if !verified[d.DriveID] {
			mixed[d.SiteFullID] = true
			continue
		}
		gc.usersKept[d.SiteFullID] = true
		if len(grants[d.DriveID]) > 0 {
			gc.grantSites[d.SiteFullID] = true
		}
	}
	for site := range mixed {
		delete(gc.usersKept, site)
		delete(gc.grantSites, site)
	}
}

// release notes that a drive of the site was read.
func (gc *groupCache) release(d driveRef) {
	if gc == nil {
		return
	}
	gc.mu.Lock()
	defer gc.mu.Unlock()
	gc.drives[d.SiteFullID]--
	if e, ok := gc.sites[d.SiteFullID]; ok && gc.drives[d.SiteFullID] <= 0 {
		e.groups = nil
	}
}

func (gc *groupCache) setVerified(n int) {
	if gc != nil {
		gc.mu.Lock()
		gc.verified = n
		gc.mu.Unlock()
	}
}

// grantRead notes an item read again for its stored direct grant.
func (gc *groupCache) grantRead() {
	if gc != nil {
		gc.mu.Lock()
		gc.grantItems++
		gc.mu.Unlock()
	}
}

func (gc *groupCache) keptAnyone(n int) {
	if gc != nil {
		gc.mu.Lock()
		gc.kept += n
		gc.mu.Unlock()
	}
}

// delta notes a drive read from its delta link.
func (gc *groupCache) delta(d driveRef) {
	if gc == nil {
		return
	}
	gc.mu.Lock()
	defer gc.mu.Unlock()
	if gc.deltaSites == nil {
		gc.deltaSites = map[string]bool{}
	}
	gc.deltaSites[d.SiteFullID] = true
}

// report summarises the methods; with item discovery there is nothing to
// list site by site.
func (gc *groupCache) report(method string) *tenant.LinkDiscovery {
	r := &tenant.LinkDiscovery{Method: method}
	if gc == nil {
		return r
	}
	gc.mu.Lock()
	defer gc.mu.Unlock()
	for full := range gc.sites {
		delete(gc.deltaSites, full)
	}
	r.GroupSites = gc.groupSites
	r.OutsiderSites = gc.outsiders
	r.VerifiedDrives, r.KeptAnyoneLinks = gc.verified, gc.kept
	r.GrantSites, r.GrantItems = len(gc.grantSites), gc.grantItems
	r.DeltaSites = len(gc.deltaSites)
	r.ItemSites = append([]tenant.SiteMethod(nil), gc.items...)
	sort.Slice(r.ItemSites, func(i, j int) bool { return r.ItemSites[i].Site < r.ItemSites[j].Site })
	return r
}

var itemPathSelect = []string{"id", "name", "parentReference", "folder", "file"}

// DriveInventoryKey is the delta-token key under which the links section
// keeps the drives it reads; change notifications subscribe to them.
const DriveInventoryKey = tokenLinksDrives

// StoredDrives returns the drive ids of a stored drive inventory.
func StoredDrives(raw string) ([]string, error) {
	var inv []driveRef
	if err := json.Unmarshal([]byte(raw), &inv); err != nil {
		return nil, fmt.Errorf("stored drive inventory: %w", err)
	}
	out := make([]string, 0, len(inv))
	for _, d := range inv {
		if d.DriveID == "" {
			return nil, errors.New("stored drive inventory: a drive without id")
		}
		out = append(out, d.DriveID)
	}
	return out, nil
}
