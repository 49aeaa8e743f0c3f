package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

// collectDriveSites reads, for a read of some drives (OnlyDrives), the
// sites those drives belong to and no other: each one's Graph site and
// CSOM properties, as a whole read would join them. The section is then
// scoped to those sites' keys (tenant.SiteKeyPrefix), so recording it
// touches their objects and findings alone. It returns false, having read
// nothing, when the read cannot be scoped: no ScopedState, no stored
// drive inventory, a drive named that is not in it, or a site id without
// an unambiguous key prefix; the caller then reads the sites as a whole
// scan would.
func (src sitesSource) collectDriveSites(ctx context.Context, snap *tenant.Snapshot) (bool, error) {
	ss, ok := src.o.State.(ScopedState)
	if !ok || len(src.o.OnlyDrives) == 0 {
		return false, nil
	}
	raw, err := src.o.State.DeltaToken(ctx, tokenLinksDrives)
	if err != nil || raw == "" {
		return false, nil
	}
	var inv []driveRef
	if json.Unmarshal([]byte(raw), &inv) != nil {
		return false, nil
	}
	byDrive := make(map[string]driveRef, len(inv))
	for _, d := range inv {
		byDrive[d.DriveID] = d
	}
	sites := map[string]graphSite{}
	var scope []string
	for _, id := range src.o.OnlyDrives {
		d, ok := byDrive[id]
		if !ok || d.SiteFullID == "" || d.SiteURL == "" {
			return false, nil
		}
		p, ok := tenant.SiteKeyPrefix(d.SiteID)
		if !ok {
			return false, nil
		}
		if _, seen := sites[d.SiteID]; !seen {
			sites[d.SiteID] = graphSite{ID: d.SiteID, FullID: d.SiteFullID, URL: d.SiteURL}
			scope = append(scope, p)
		}
	}
	// The store pairs and removes within the scope's key ranges: a stored
	// site whose key merely starts with a scoped one would be read as
	// removed, so such a store is read whole.
	err = ss.PreviousIn(ctx, tenant.SectionSites, scope, func(doc []byte) error {
		var s tenant.Site
		if err := json.Unmarshal(doc, &s); err != nil {
			return fmt.Errorf("stored site: %w", err)
		}
		if _, ok := sites[s.ID]; !ok {
			return errors.New("a stored site's key starts with a scoped site's")
		}
		return nil
	})
	if err != nil {
		src.c.logger.WarnContext(ctx, "sites of the changed drives read whole", "reason", err.Error())
		return false, nil
	}
	snap.SetScope(tenant.SectionSites, scope)

	// A site that cannot be read leaves its label and sharing unknown:
	// the section is partial, and the link rules that need it say unknown.
	var bad FieldErrors
	var errs []error
	reqs := make([]BatchRequest, 0, len(sites))
	ids := make([]string, 0, len(sites))
	for id := range sites {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s := sites[id]
		reqs = append(reqs, BatchRequest{ID: s.FullID, URL: "/sites/" + escapePath(s.FullID) + selectQuery(graphSiteSelect())})
	}
	res := src.c.BatchObjects(ctx, V1, reqs)
	gsites := make([]graphSite, 0, len(sites))
	csom := make(map[string]csomSite, len(sites))
	for _, id := range ids {
		want := sites[id]
		r := res[want.FullID]
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("site %s: %w", want.URL, r.Err))
			continue
		}
		got, err := parseGraphSites(epSite, r.Items)
		if err := noteItems(&bad, err); err != nil {
			errs = append(errs, err)
			continue
		}
		if len(got) != 1 || got[0].ID != want.ID {
			errs = append(errs, fmt.Errorf("site %s: answered for another site", want.URL))
			continue
		}
		p, err := src.c.siteProps(ctx, got[0].URL)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		csom[normURL(got[0].URL)] = p
		gsites = append(gsites, got[0])
	}
	err = src.join(ctx, snap, gsites, csom, &bad)
	if len(errs) > 0 {
		return true, scanner.Partial(fmt.Errorf("collect sites of the changed drives: %w", errors.Join(append([]error{err}, errs...)...)))
	}
	return true, err
}
