package m365

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// Keys of the sites section's tokens.
const (
	tokenSitesDelta = "sites/delta"      // sites delta link
	tokenSitesProps = "sites/properties" // when every site's properties were last read
)

// maxSiteReads bounds the sites whose properties an incremental scan reads
// one by one; beyond it one paged read of every site costs less.
const maxSiteReads = 50

// collectState reads the sites with a State: from the stored sites delta
// link when there is one (only sites added, changed or deleted since),
// otherwise in full, keeping a delta link for the next scan.
func (src sitesSource) collectState(ctx context.Context, snap *tenant.Snapshot) error {
	st := src.o.State
	start := src.o.now()
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
		st.SaveDeltaTokens(tenant.SectionSites, map[string]string{tokenSitesDelta: newLink, tokenSitesProps: stamp(start)})
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

// siteCollectionID is the site collection GUID of a sites delta item; a
// deleted site may carry nothing but its composite id.
func siteCollectionID(p props) string {
	if ids := p.object("sharepointIds"); ids != nil && ids.s("siteId") != "" {
		return strings.ToLower(ids.s("siteId"))
	}
	if parts := strings.Split(p.s("id"), ","); len(parts) == 3 {
		return strings.ToLower(parts[1])
	}
	return ""
}

// incremental applies the sites delta to the stored sites. Site
// properties have no change feed: they are read for every site when due
// (or when many sites changed), otherwise only for the sites the delta
// reports, and the other sites keep their stored properties.
func (src sitesSource) incremental(ctx context.Context, snap *tenant.Snapshot, link, propsAt string, start time.Time) error {
	const ep = "GET /v1.0/sites/delta"
	st := src.o.State
	if !sameOrigin(src.c.graphURL(V1, "/"), link) {
		return &APIError{Endpoint: ep, Status: http.StatusGone, Message: "stored delta link points to another host"}
	}
	changed := map[string]bool{}
	var added []graphSite
	newLink, err := src.c.graphPagesURL(ctx, link, nil, func(items []json.RawMessage) error {
		for i, raw := range items {
			p, err := decodeProps(ep, raw)
			if err != nil {
				return err
			}
			id := siteCollectionID(p)
			if id == "" {
				return fmt.Errorf("%s: item %d: site without id", ep, i)
			}
			changed[id] = true
			if p.raw("deleted") != nil {
				continue
			}
			s, err := parseGraphSites([]json.RawMessage{raw})
			if err != nil {
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
	err = st.Previous(ctx, tenant.SectionSites, func(doc []byte) error {
		var s tenant.Site
		if err := json.Unmarshal(doc, &s); err != nil {
			return fmt.Errorf("stored site: %w", err)
		}
		if !changed[s.ID] {
			kept = append(kept, s)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("collect sites: stored sites: %w", err)
	}
	toks := map[string]string{tokenSitesDelta: newLink}

	csom := map[string]props{}
	all := src.propertiesDue(propsAt, start) || len(added) > maxSiteReads
	for _, g := range added {
		if all {
			break
		}
		p, err := src.c.siteProps(ctx, g.URL)
		if err != nil {
			// A site CSOM cannot find by URL (yet) is read with the rest.
			all = true
			break
		}
		csom[normURL(g.URL)] = p
	}
	inv := added
	if all {
		if csom, err = src.siteProperties(ctx); err != nil {
			return err
		}
		inv = make([]graphSite, 0, len(kept)+len(added))
		for _, s := range kept {
			inv = append(inv, graphSite{ID: s.ID, URL: s.URL, Title: s.Title})
		}
		inv = append(inv, added...)
		kept = nil
		toks[tokenSitesProps] = stamp(start)
	}
	err = src.join(ctx, snap, inv, csom)
	if len(kept) > 0 {
		snap.Sites = append(snap.Sites, kept...)
		sort.Slice(snap.Sites, func(i, j int) bool { return snap.Sites[i].URL < snap.Sites[j].URL })
	}
	if err != nil {
		return err
	}
	st.SaveDeltaTokens(tenant.SectionSites, toks)
	return nil
}

// siteProps reads one site's CSOM properties by URL.
func (c *Client) siteProps(ctx context.Context, siteURL string) (props, error) {
	const ep = "POST /_vti_bin/client.svc/ProcessQuery (GetSitePropertiesByUrl)"
	arr, err := c.ProcessQuery(ctx, siteByURLXML(siteURL, csomSiteProps))
	if err != nil {
		return nil, fmt.Errorf("read site %s: %w", siteURL, err)
	}
	raw, err := csomAnswer(ep, arr, 5)
	if err != nil {
		return nil, err
	}
	return decodeProps(ep, raw)
}
