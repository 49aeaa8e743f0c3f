package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

// The fields read of a Graph site, a sites delta item, a CSOM
// SiteProperties object and its page, and a sensitivity label.
var (
	sharePointIDsSchema = newSchema("")
	spidSiteID          = sharePointIDsSchema.str("siteId")
	graphSiteSchema     = newSchema("site")
	gsID                = graphSiteSchema.identity("id")
	gsWebURL            = graphSiteSchema.str("webUrl")
	gsDisplayName       = graphSiteSchema.str("displayName")
	gsName              = graphSiteSchema.str("name") // the documented sample's only title
	gsSharePointIDs     = graphSiteSchema.object("sharepointIds", sharePointIDsSchema)

	// A sites delta item: a deleted site may carry nothing but its id.
	siteDeltaSchema = newSchema("site")
	sdID            = siteDeltaSchema.identity("id")
	sdSharePointIDs = siteDeltaSchema.object("sharepointIds", sharePointIDsSchema)
	sdDeleted       = siteDeltaSchema.facet("deleted")

	csomSiteSchema   = newSchema("site")
	csURL            = csomSiteSchema.identity("Url")
	csTitle          = csomSiteSchema.str("Title")
	csTemplate       = csomSiteSchema.str("Template")
	csGroupID        = csomSiteSchema.str("GroupId")
	csLockState      = csomSiteSchema.str("LockState")
	csSharingCap     = csomSiteSchema.integer("SharingCapability")
	csDomainMode     = csomSiteSchema.integer("SharingDomainRestrictionMode")
	csAllowedDomains = csomSiteSchema.str("SharingAllowedDomainList")
	csBlockedDomains = csomSiteSchema.str("SharingBlockedDomainList")
	csSensitivity    = csomSiteSchema.str("SensitivityLabel")
	csomSitesPage    = newSchema("")
	cspItems         = csomSitesPage.items("_Child_Items_", csomSiteSchema)
	cspNext          = csomSitesPage.str("NextStartIndexFromSharePoint")

	labelSchema = newSchema("label")
	lbID        = labelSchema.identity("id")
	// The beta security.sensitivityLabel has name and no displayName:
	// selecting displayName is answered 400.
	lbName = labelSchema.str("name")
)

const (
	csomSitesType      = "Microsoft.Online.SharePoint.TenantAdministration.SPOSitePropertiesEnumerable"
	epGetAllSites      = "GET /v1.0/sites/getAllSites"
	epSitesDelta       = "GET /v1.0/sites/delta"
	epSite             = "GET /v1.0/sites/{site-id}"
	epCSOMSites        = "POST /_vti_bin/client.svc/ProcessQuery (GetSitePropertiesFromSharePoint)"
	epCSOMSiteByURL    = "POST /_vti_bin/client.svc/ProcessQuery (GetSitePropertiesByUrl)"
	epSensitivityLabel = "GET /beta/security/informationProtection/sensitivityLabels"
)

// graphSite is the part of a Graph site the collector keeps.
type graphSite struct {
	ID     string // site collection GUID
	FullID string // hostname,siteGuid,webGuid
	URL    string
	Title  string
}

// siteCollectionID is the site collection GUID: sharepointIds.siteId, or
// the middle part of the composite id.
func siteCollectionID(r *reader, ids objField, fullID string) string {
	var sub reader
	if r.open(ids, &sub) {
		if id := sub.str(spidSiteID); id != "" {
			return strings.ToLower(id)
		}
	}
	if parts := strings.Split(fullID, ","); len(parts) == 3 {
		return strings.ToLower(parts[1])
	}
	return ""
}

// parseGraphSites reads the items of a getAllSites page (or the sites a
// sites delta page reports, ep naming which). Sites that cannot be read
// are left out and reported as FieldErrors.
func parseGraphSites(ep string, items []json.RawMessage) ([]graphSite, error) {
	out := make([]graphSite, 0, len(items))
	var bad FieldErrors
	var r reader
	for i, raw := range items {
		if !r.item(ep, graphSiteSchema, raw, i) {
			bad.add(r.first())
			continue
		}
		s := graphSite{FullID: r.str(gsID), URL: r.str(gsWebURL), Title: r.str(gsDisplayName)}
		if name := r.str(gsName); s.Title == "" {
			s.Title = name
		}
		s.ID = siteCollectionID(&r, gsSharePointIDs, s.FullID)
		switch {
		case r.failed():
		case s.URL == "" && ep != epSitesDelta:
			// Sites delta items may carry only id and name (Microsoft's
			// documented example): their URL is resolved afterwards.
			r.fail("webUrl", -1, "string", "nothing")
		case s.ID == "":
			r.fail("id", -1, "hostname,siteId,webId or sharepointIds.siteId", strconv.Quote(s.FullID))
		}
		if r.failed() {
			bad.add(r.first())
			continue
		}
		out = append(out, s)
	}
	return out, bad.err()
}

// siteDelta is what a sites delta item says: which site changed, and
// whether it was deleted.
type siteDelta struct {
	FullID, ID string
	Deleted    bool
}

// parseSiteDelta reads one sites delta item.
func parseSiteDelta(raw []byte, index int) (siteDelta, error) {
	var r reader
	if !r.item(epSitesDelta, siteDeltaSchema, raw, index) {
		return siteDelta{}, r.err()
	}
	d := siteDelta{FullID: r.str(sdID), Deleted: r.has(sdDeleted)}
	d.ID = siteCollectionID(&r, sdSharePointIDs, d.FullID)
	if !r.failed() && d.ID == "" {
		r.fail("id", -1, "hostname,siteId,webId or sharepointIds.siteId", strconv.Quote(d.FullID))
	}
	return d, r.err()
}

// csomSite is what the collector reads of a CSOM SiteProperties object.
type csomSite struct {
	URL, Title, Template, LockState string
	GroupID, SensitivityLabelID     string
	SharingCapability               tenant.SharingLevel
	DomainRestrictionMode           tenant.DomainMode
	AllowedDomains, BlockedDomains  []string
}

// readCSOMSite reads an opened SiteProperties object.
func readCSOMSite(r *reader) csomSite {
	s := csomSite{URL: r.str(csURL), Title: r.str(csTitle), Template: r.str(csTemplate), LockState: r.str(csLockState)}
	if v, ok := r.strOK(csGroupID); ok {
		s.GroupID = csomGUID(&v)
	}
	if v, ok := r.strOK(csSensitivity); ok {
		s.SensitivityLabelID = csomGUID(&v)
	}
	if n, ok := r.intOK(csSharingCap); ok {
		s.SharingCapability = csomEnum(csomSharingCapability, &n)
	}
	if n, ok := r.intOK(csDomainMode); ok {
		s.DomainRestrictionMode = csomEnum(csomDomainMode, &n)
	}
	if v, ok := r.strOK(csAllowedDomains); ok {
		s.AllowedDomains = csomDomainList(&v)
	}
	if v, ok := r.strOK(csBlockedDomains); ok {
		s.BlockedDomains = csomDomainList(&v)
	}
	return s
}

// parseCSOMSites reads one GetSitePropertiesFromSharePoint answer: the
// sites on the page and the start index of the next page ("" when done).
// Sites that cannot be read are left out and reported as FieldErrors; an
// answer without the enumerable, or with an unreadable start index, is an
// error of its own, since the pages after it are unknown.
func parseCSOMSites(arr []json.RawMessage) (sites []csomSite, next string, err error) {
	const ep = epCSOMSites
	obj, err := csomObject(ep, arr, csomSitesType)
	if err != nil {
		return nil, "", err
	}
	var r reader
	r.item(ep, csomSitesPage, obj, 0)
	if r.raw(cspItems.fieldRef) == nil && !r.failed() {
		r.fail("_Child_Items_", -1, "array", "nothing")
	}
	next = r.str(cspNext)
	if err := r.err(); err != nil {
		// Not FieldErrors: without the page, the pages after it are unknown.
		return nil, "", fmt.Errorf("page of site properties: %w", shapeError(err))
	}
	var bad FieldErrors
	var sr reader
	for it := r.items(cspItems); it.nextItem(&sr); {
		s := readCSOMSite(&sr)
		if sr.failed() {
			bad.add(sr.first())
			continue
		}
		sites = append(sites, s)
	}
	return sites, next, bad.err()
}

func normURL(u string) string { return strings.TrimRight(strings.ToLower(u), "/") }

// personalSite recognises OneDrive sites by host or path.
func personalSite(u, template string) bool {
	if strings.HasPrefix(strings.ToUpper(template), "SPSPERS") {
		return true
	}
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	return strings.HasSuffix(strings.SplitN(pu.Host, ".", 2)[0], "-my") || strings.HasPrefix(pu.Path, "/personal/")
}

// sitesSource joins Graph's inventory with CSOM site properties. With a
// State it follows the sites delta instead of listing every site.
type sitesSource struct {
	c *Client
	o SourceOptions
}

func (sitesSource) Section() tenant.Section { return tenant.SectionSites }

func (src sitesSource) Collect(ctx context.Context, snap *tenant.Snapshot) error {
	if src.o.State != nil && len(src.o.OnlyDrives) > 0 {
		if done, err := src.collectDriveSites(ctx, snap); done {
			return err
		}
	}
	if src.o.State != nil {
		return src.collectState(ctx, snap)
	}
	return src.collectFull(ctx, snap)
}

func (src sitesSource) collectFull(ctx context.Context, snap *tenant.Snapshot) error {
	var bad FieldErrors
	gsites, err := src.c.listSites(ctx)
	if err := noteItems(&bad, err); err != nil {
		return fmt.Errorf("collect sites: %w", err)
	}
	csom := map[string]csomSite{}
	if _, _, err := src.propertyPages(ctx, csom, "", 0, "", &bad); err != nil {
		return err
	}
	return src.join(ctx, snap, gsites, csom, &bad)
}

// propertyPages pages through GetSitePropertiesFromSharePoint into csom,
// by URL, from start ("" for the first page) for at most limit pages
// (0: to the last), stopping early before a page that starts at stop
// (unless ""). It returns where the following page starts ("" after the
// last) and how many pages were read. Sites it cannot read are added to
// bad.
func (src sitesSource) propertyPages(ctx context.Context, csom map[string]csomSite, start string, limit int, stop string, bad *FieldErrors) (next string, read int, err error) {
	for {
		arr, err := src.c.ProcessQuery(ctx, SitesQueryXML(start, csomSitesIncludeDetail, csomSiteProps()))
		if err != nil {
			return "", read, fmt.Errorf("collect sites: site properties: %w", err)
		}
		page, next, err := parseCSOMSites(arr)
		if err := noteItems(bad, err); err != nil {
			return "", read, fmt.Errorf("collect sites: %w", err)
		}
		read++
		for _, s := range page {
			csom[normURL(s.URL)] = s
		}
		if next == "" || next == start {
			return "", read, nil
		}
		if next == stop || (limit > 0 && read >= limit) {
			return next, read, nil
		}
		start = next
	}
}

// join builds the sites of the Graph inventory with their CSOM properties.
// Objects that could not be read (bad) make the section partial.
func (src sitesSource) join(ctx context.Context, snap *tenant.Snapshot, gsites []graphSite, csom map[string]csomSite, bad *FieldErrors) error {
	var labelErr error
	labels := map[string]string{}
	if hasLabelledSite(csom) {
		labels, labelErr = src.c.labelNames(ctx)
	}
	sites := make([]tenant.Site, 0, len(gsites))
	for _, g := range gsites {
		s := tenant.Site{ID: g.ID, URL: g.URL, Title: g.Title}
		if p, ok := csom[normURL(g.URL)]; ok {
			if p.Title != "" {
				s.Title = p.Title
			}
			s.Template = p.Template
			s.GroupID = p.GroupID
			// Only locks are recorded; "Unlock" is every site's normal state.
			if !strings.EqualFold(p.LockState, "Unlock") {
				s.LockState = p.LockState
			}
			s.SharingCapability = p.SharingCapability
			s.DomainRestrictionMode = p.DomainRestrictionMode
			if len(p.AllowedDomains) > 0 {
				s.AllowedDomains = p.AllowedDomains
			}
			if len(p.BlockedDomains) > 0 {
				s.BlockedDomains = p.BlockedDomains
			}
			s.SensitivityLabelID = p.SensitivityLabelID
			if s.SensitivityLabelID != "" {
				s.SensitivityLabel = labels[s.SensitivityLabelID]
			}
		}
		s.Personal = personalSite(s.URL, s.Template)
		sites = append(sites, s)
	}
	sort.Slice(sites, func(i, j int) bool { return sites[i].URL < sites[j].URL })
	snap.Sites = sites
	var errs []error
	if err := bad.err(); err != nil {
		errs = append(errs, err)
	}
	if labelErr != nil {
		errs = append(errs, fmt.Errorf("label names: %w", labelErr))
	}
	if len(errs) > 0 {
		return scanner.Partial(fmt.Errorf("collect sites: %w", errors.Join(errs...)))
	}
	return nil
}

func hasLabelledSite(csom map[string]csomSite) bool {
	for _, s := range csom {
		if s.SensitivityLabelID != "" {
			return true
		}
	}
	return false
}

// resolveSites completes sites delta items that carry no webUrl: from
// known (the sites the collector already holds, by site collection id)
// when it knows them, otherwise by reading each site. A site that cannot
// be resolved is left out and reported, so the section is partial and
// its delta link is not kept.
func (c *Client) resolveSites(ctx context.Context, sites []graphSite, known map[string]graphSite) ([]graphSite, error) {
	out := make([]graphSite, 0, len(sites))
	var reqs []BatchRequest
	for _, s := range sites {
		if s.URL != "" {
			out = append(out, s)
			continue
		}
		if k, ok := known[s.ID]; ok && k.URL != "" {
			s.URL = k.URL
			if s.Title == "" {
				s.Title = k.Title
			}
			out = append(out, s)
			continue
		}
		reqs = append(reqs, BatchRequest{ID: s.FullID, URL: "/sites/" + escapePath(s.FullID) + selectQuery(graphSiteSelect())})
	}
	if len(reqs) == 0 {
		return out, nil
	}
	var errs []error
	var bad FieldErrors
	res := c.BatchObjects(ctx, V1, reqs)
	for _, key := range sortedKeys(res) {
		r := res[key]
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("site %s from sites delta: %w", key, r.Err))
			continue
		}
		got, err := parseGraphSites(epSite, r.Items)
		if err := noteItems(&bad, err); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, got...)
	}
	if err := bad.err(); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// listSites pages through getAllSites. Sites it cannot read are left out
// and returned as FieldErrors with the others.
func (c *Client) listSites(ctx context.Context) ([]graphSite, error) {
	var out []graphSite
	var bad FieldErrors
	_, err := c.GraphPages(ctx, V1, "/sites/getAllSites"+selectQuery(graphSiteSelect(), "$top="+itoa(c.o.PageSize)), nil, func(items []json.RawMessage) error {
		s, err := parseGraphSites(epGetAllSites, items)
		out = append(out, s...)
		return noteItems(&bad, err)
	})
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	return out, bad.err()
}

// unifiedGroupsFilter selects Microsoft 365 groups.
const unifiedGroupsFilter = "$filter=" + "groupTypes/any(c:c+eq+'Unified')"

// ParseSensitivityLabels maps label ids to names from the organization's
// label catalogue. Labels that cannot be read are left out and reported
// as FieldErrors.
func ParseSensitivityLabels(items []json.RawMessage) (map[string]string, error) {
	out := map[string]string{}
	var bad FieldErrors
	var r reader
	for i, raw := range items {
		if !r.item(epSensitivityLabel, labelSchema, raw, i) {
			bad.add(r.first())
			continue
		}
		id, name := r.str(lbID), r.str(lbName)
		if r.failed() {
			bad.add(r.first())
			continue
		}
		out[strings.ToLower(id)] = name
	}
	return out, bad.err()
}

// labelNames reads the label catalogue (application permission
// InformationProtectionPolicy.Read.All).
func (c *Client) labelNames(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	var bad FieldErrors
	_, err := c.GraphPages(ctx, Beta, "/security/informationProtection/sensitivityLabels"+selectQuery(labelSchema.names()), nil, func(items []json.RawMessage) error {
		m, err := ParseSensitivityLabels(items)
		for k, v := range m {
			out[k] = v
		}
		return noteItems(&bad, err)
	})
	if err != nil {
		return out, err
	}
	return out, bad.err()
}

// graphSiteSelect lists the fields asked for.
func graphSiteSelect() []string { return append(graphSiteSchema.names(), "siteCollection", "root") }

// csomSiteProps lists the fields asked for.
func csomSiteProps() []string { return csomSiteSchema.names() }
