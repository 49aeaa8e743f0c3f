package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

// Keys of the sites section's tokens.
const (
	tokenSitesDelta  = "sites/delta"             // sites delta link
	tokenSitesProps  = "sites/properties"        // when site properties were last read
	tokenSitesCursor = "sites/properties-cursor" // where the next window of site properties starts
)

// maxSiteReads bounds the sites whose properties an incremental scan reads
// one by one; beyond it one paged read of every site costs less.
const maxSiteReads = 50

// collectState reads the sites with a State: from the stored sites delta
// link when there is one (only sites added, changed or deleted since),
// otherwise in full, keeping a delta link for the next scan.
func (src sitesSource) collectState(ctx context.Context, snap *tenant.Snapshot) error {
	st := src.o.State
	start := src.o.started()
	link, _ := st.DeltaToken(ctx, tokenSitesDelta)
	propsAt, _ := st.DeltaToken(ctx, tokenSitesProps)
	if link != "" {
		err := src.incremental(ctx, snap, link, propsAt, start)
		if !IsStatus(err, http.StatusGone) {
			return err
		}
		snap.Sites = nil // an expired link: read everything
	}
	// The delta link is taken first: a site added while listing is then
	// reported again next time, never lost. Without it (the service
	// refused) every scan lists every site.
	newLink, err := src.c.GraphPages(ctx, V1, "/sites/delta?token=latest", nil, func([]json.RawMessage) error { return nil })
	if err != nil {
		newLink = ""
	}
	if err := src.collectFull(ctx, snap); err != nil {
		return err
	}
	if newLink != "" {
		// Every page was read: the next window starts from the first.
		st.SaveDeltaTokens(tenant.SectionSites, map[string]string{tokenSitesDelta: newLink, tokenSitesProps: stamp(start), tokenSitesCursor: ""})
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// propertiesDue reports whether every site's properties are to be read
// again: each scan unless SitePropertiesEvery says otherwise.
func (src sitesSource) propertiesDue(at string, now time.Time) bool {
	if src.o.SitePropertiesEvery <= 0 {
		return true
	}
	t, err := time.Parse(time.RFC3339, at)
	return err != nil || t.After(now) || now.Sub(t) >= src.o.SitePropertiesEvery
}

// incremental applies the sites delta to the stored sites. Site
// properties have no change feed: when due they are read for every site,
// or with SitePropertiesPages for the next window of pages; otherwise (and
// outside the window) only the sites the delta reports are read, and the
// other sites keep their stored properties.
func (src sitesSource) incremental(ctx context.Context, snap *tenant.Snapshot, link, propsAt string, start time.Time) error {
	st := src.o.State
	if !sameOrigin(src.c.graphURL(V1, "/"), link) {
		return &APIError{Endpoint: epSitesDelta, Status: http.StatusGone, Message: "stored delta link points to another host"}
	}
	// A delta item that cannot be read leaves its site's change unknown:
	// the section is then partial, so this delta link is not kept and the
	// next scan reads the same changes again.
	var bad FieldErrors
	changed, deleted := map[string]bool{}, map[string]bool{}
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
			changed[d.ID] = true
			if d.Deleted {
				deleted[d.ID] = true
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
		return err
	}
	var kept []tenant.Site
	known := map[string]graphSite{}
	stored := map[string]tenant.Site{}
	err = st.Previous(ctx, tenant.SectionSites, func(doc []byte) error {
		var s tenant.Site
		if err := json.Unmarshal(doc, &s); err != nil {
			return fmt.Errorf("stored site: %w", err)
		}
		known[s.ID] = graphSite{ID: s.ID, URL: s.URL, Title: s.Title}
		if !changed[s.ID] {
			kept = append(kept, s)
		} else if !deleted[s.ID] {
			stored[s.ID] = s
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("collect sites: stored sites: %w", err)
	}
	// Sparse delta items get their URL from the stored sites or a read;
	// a site that cannot be resolved keeps its stored state, and the
	// section is partial.
	added, resolveErr := src.c.resolveSites(ctx, added, known)
	resolved := map[string]bool{}
	for _, g := range added {
		resolved[g.ID] = true
	}
	for id, s := range stored {
		if !resolved[id] {
			kept = append(kept, s)
		}
	}
	toks := map[string]string{tokenSitesDelta: newLink}

	// Properties are read for every site (due without a window, or many
	// sites added), for a window of pages (due with a window), or not at
	// all; the delta's sites the read missed are then read one by one.
	due := src.propertiesDue(propsAt, start)
	every := len(added) > maxSiteReads || (due && src.o.SitePropertiesPages <= 0)
	csom := map[string]csomSite{}
	if due && !every {
		cursor, _ := st.DeltaToken(ctx, tokenSitesCursor)
		next, err := src.propertiesWindow(ctx, csom, cursor, &bad)
		if err != nil {
			return err
		}
		toks[tokenSitesProps] = stamp(start)
		toks[tokenSitesCursor] = next
	}
	for _, g := range added {
		if every {
			break
		}
		if _, ok := csom[normURL(g.URL)]; ok {
			continue
		}
		p, err := src.c.siteProps(ctx, g.URL)
		if err != nil {
			// A site CSOM cannot find (or read) by URL is read with the
			// rest.
			every = true
			break
		}
		csom[normURL(g.URL)] = p
	}
	if every {
		csom = map[string]csomSite{}
		if _, _, err := src.propertyPages(ctx, csom, "", 0, "", &bad); err != nil {
			return err
		}
		toks[tokenSitesProps] = stamp(start)
		toks[tokenSitesCursor] = ""
	}
	// Stored sites whose properties were just read are joined again; the
	// others keep their stored properties.
	inv := make([]graphSite, 0, len(added))
	inv = append(inv, added...)
	var rest []tenant.Site
	for _, s := range kept {
		if _, ok := csom[normURL(s.URL)]; ok || every {
			inv = append(inv, graphSite{ID: s.ID, URL: s.URL, Title: s.Title})
		} else {
			rest = append(rest, s)
		}
	}
	kept = rest
	err = src.join(ctx, snap, inv, csom, &bad)
	if len(kept) > 0 {
		snap.Sites = append(snap.Sites, kept...)
		sort.Slice(snap.Sites, func(i, j int) bool { return snap.Sites[i].URL < snap.Sites[j].URL })
	}
	if resolveErr != nil {
		err = scanner.Partial(errors.Join(err, fmt.Errorf("collect sites: %w", resolveErr)))
	}
	if err != nil {
		return err
	}
	st.SaveDeltaTokens(tenant.SectionSites, toks)
	return nil
}

// propertiesWindow reads SitePropertiesPages pages of site properties
// into csom from cursor, the start index kept from the previous scan (""
// for the first page), and returns the cursor for the next scan. Windows
// wrap around: one that reaches the last page goes on from the first, up
// to where it started, so that each costs the same; one that ends on the
// last page returns "", and the next starts from the first page.
func (src sitesSource) propertiesWindow(ctx context.Context, csom map[string]csomSite, cursor string, bad *FieldErrors) (string, error) {
	n := src.o.SitePropertiesPages
	var pageBad FieldErrors
	next, read, err := src.propertyPages(ctx, csom, cursor, n, "", &pageBad)
	if err != nil && read == 0 && cursor != "" && refusedStart(err) {
		// A start index from an earlier scan may not be valid any more
		// (shapes.go): start over from the first page, once.
		src.c.logger.WarnContext(ctx, "stored start of site properties refused, reading from the first page", "error", err.Error())
		clear(csom)
		pageBad = FieldErrors{}
		cursor = ""
		next, read, err = src.propertyPages(ctx, csom, "", n, "", &pageBad)
	}
	if err == nil && next == "" && cursor != "" && read < n {
		// Stopping at the window's own start relies on start indices
		// comparing equal; if they do not, a few pages are read twice.
		next, _, err = src.propertyPages(ctx, csom, "", n-read, cursor, &pageBad)
	}
	bad.merge(&pageBad)
	return next, err
}

// refusedStart reports whether the service refused a request, as it
// refuses a start index it does not know: a CSOM error answer or a 400.
// A failing service (5xx, throttling, a body that is not JSON, a timeout)
// is not a refusal: starting over would let the window complete without
// the pages that failed.
func refusedStart(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Status == http.StatusOK || ae.Status == http.StatusBadRequest)
}

// siteProps reads one site's CSOM properties by URL.
func (c *Client) siteProps(ctx context.Context, siteURL string) (csomSite, error) {
	arr, err := c.ProcessQuery(ctx, siteByURLXML(siteURL, csomSiteProps()))
	if err != nil {
		return csomSite{}, fmt.Errorf("read site %s: %w", siteURL, err)
	}
	raw, err := csomAnswer(epCSOMSiteByURL, arr, 5)
	if err != nil {
		return csomSite{}, err
	}
	var r reader
	r.item(epCSOMSiteByURL, csomSiteSchema, raw, 0)
	s := readCSOMSite(&r)
	return s, r.err()
}
