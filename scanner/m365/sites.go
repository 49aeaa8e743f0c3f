package m365

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

var graphSiteSelect = []string{"id", "webUrl", "displayName", "sharepointIds", "siteCollection", "root"}

var csomSiteProps = []string{
	"Url", "Title", "Template", "GroupId", "LockState", "SharingCapability",
	"SharingDomainRestrictionMode", "SharingAllowedDomainList", "SharingBlockedDomainList", "SensitivityLabel",
}

const csomSitesType = "Microsoft.Online.SharePoint.TenantAdministration.SPOSitePropertiesEnumerable"

// graphSite is the part of a Graph site the collector keeps.
type graphSite struct {
	ID     string // site collection GUID
	FullID string // hostname,siteGuid,webGuid
	URL    string
	Title  string
}

// parseGraphSites reads the items of a getAllSites page.
func parseGraphSites(items []json.RawMessage) ([]graphSite, error) {
	const ep = "GET /v1.0/sites/getAllSites"
	out := make([]graphSite, 0, len(items))
	for i, raw := range items {
		p, err := decodeProps(ep, raw)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		s := graphSite{FullID: p.s("id"), URL: p.s("webUrl"), Title: p.s("displayName")}
		if s.Title == "" {
			s.Title = p.s("name")
		}
		if ids := p.object("sharepointIds"); ids != nil && ids.s("siteId") != "" {
			s.ID = strings.ToLower(ids.s("siteId"))
		} else if parts := strings.Split(s.FullID, ","); len(parts) == 3 {
			s.ID = strings.ToLower(parts[1])
		}
		if s.ID == "" || s.URL == "" {
			return nil, fmt.Errorf("%s: item %d: site without id or webUrl", ep, i)
		}
		out = append(out, s)
	}
	return out, nil
}

// parseCSOMSites reads one GetSitePropertiesFromSharePoint answer: the
// sites on the page and the start index of the next page ("" when done).
func parseCSOMSites(arr []json.RawMessage) (sites []props, next string, err error) {
	const ep = "POST /_vti_bin/client.svc/ProcessQuery (GetSitePropertiesFromSharePoint)"
	obj, err := csomObject(ep, arr, csomSitesType)
	if err != nil {
		return nil, "", err
	}
	p, err := decodeProps(ep, obj)
	if err != nil {
		return nil, "", err
	}
	raw := p.raw("_Child_Items_")
	if raw == nil || raw[0] != '[' {
		return nil, "", fmt.Errorf("%s: answer has no _Child_Items_ array", ep)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, "", fmt.Errorf("%s: _Child_Items_: %w", ep, err)
	}
	for i, it := range items {
		sp, err := decodeProps(ep, it)
		if err != nil {
			return nil, "", fmt.Errorf("site %d: %w", i, err)
		}
		sites = append(sites, sp)
	}
	return sites, p.s("NextStartIndexFromSharePoint"), nil
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
	if src.o.State != nil {
		return src.collectState(ctx, snap)
	}
	return src.collectFull(ctx, snap)
}

func (src sitesSource) collectFull(ctx context.Context, snap *tenant.Snapshot) error {
	gsites, err := src.c.listSites(ctx)
	if err != nil {
		return fmt.Errorf("collect sites: %w", err)
	}
	csom := map[string]props{}
	if _, _, err := src.propertyPages(ctx, csom, "", 0, ""); err != nil {
		return err
	}
	return src.join(ctx, snap, gsites, csom)
}

// propertyPages pages through GetSitePropertiesFromSharePoint into csom,
// by URL, from start ("" for the first page) for at most limit pages
// (0: to the last), stopping early before a page that starts at stop
// (unless ""). It returns where the following page starts ("" after the
// last) and how many pages were read.
func (src sitesSource) propertyPages(ctx context.Context, csom map[string]props, start string, limit int, stop string) (next string, read int, err error) {
	for {
		arr, err := src.c.ProcessQuery(ctx, SitesQueryXML(start, csomSitesIncludeDetail, csomSiteProps))
		if err != nil {
			return "", read, fmt.Errorf("collect sites: site properties: %w", err)
		}
		page, next, err := parseCSOMSites(arr)
		if err != nil {
			return "", read, fmt.Errorf("collect sites: %w", err)
		}
		read++
		for _, p := range page {
			csom[normURL(p.s("Url"))] = p
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
func (src sitesSource) join(ctx context.Context, snap *tenant.Snapshot, gsites []graphSite, csom map[string]props) error {
	var labelErr error
	labels := map[string]string{}
	if hasLabelledSite(csom) {
		labels, labelErr = src.c.labelNames(ctx)
	}
	sites := make([]tenant.Site, 0, len(gsites))
	for _, g := range gsites {
		s := tenant.Site{ID: g.ID, URL: g.URL, Title: g.Title}
		if p, ok := csom[normURL(g.URL)]; ok {
			if t := p.s("Title"); t != "" {
				s.Title = t
			}
			s.Template = p.s("Template")
			s.GroupID = csomGUID(p.str("GroupId"))
			// Only locks are recorded; "Unlock" is every site's normal state.
			if ls := p.s("LockState"); !strings.EqualFold(ls, "Unlock") {
				s.LockState = ls
			}
			s.SharingCapability = csomEnum(csomSharingCapability, p.integer("SharingCapability"))
			s.DomainRestrictionMode = csomEnum(csomDomainMode, p.integer("SharingDomainRestrictionMode"))
			if l := csomDomainList(p.str("SharingAllowedDomainList")); len(l) > 0 {
				s.AllowedDomains = l
			}
			if l := csomDomainList(p.str("SharingBlockedDomainList")); len(l) > 0 {
				s.BlockedDomains = l
			}
			s.SensitivityLabelID = csomGUID(p.str("SensitivityLabel"))
			if s.SensitivityLabelID != "" {
				s.SensitivityLabel = labels[s.SensitivityLabelID]
			}
		}
		s.Personal = personalSite(s.URL, s.Template)
		sites = append(sites, s)
	}
	sort.Slice(sites, func(i, j int) bool { return sites[i].URL < sites[j].URL })
	snap.Sites = sites
	if labelErr != nil {
		return scanner.Partial(fmt.Errorf("collect sites: label names: %w", labelErr))
	}
	return nil
}

func hasLabelledSite(csom map[string]props) bool {
	for _, p := range csom {
		if csomGUID(p.str("SensitivityLabel")) != "" {
			return true
		}
	}
	return false
}

// listSites pages through getAllSites.
func (c *Client) listSites(ctx context.Context) ([]graphSite, error) {
	var out []graphSite
	_, err := c.GraphPages(ctx, V1, "/sites/getAllSites"+selectQuery(graphSiteSelect, "$top="+itoa(c.o.PageSize)), nil, func(items []json.RawMessage) error {
		s, err := parseGraphSites(items)
		out = append(out, s...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	return out, nil
}

// unifiedGroupsFilter selects Microsoft 365 groups.
const unifiedGroupsFilter = "$filter=" + "groupTypes/any(c:c+eq+'Unified')"

// ParseSensitivityLabels maps label ids to names from the organization's
// label catalogue.
func ParseSensitivityLabels(items []json.RawMessage) (map[string]string, error) {
	const ep = "GET /beta/security/informationProtection/sensitivityLabels"
	out := map[string]string{}
	for i, raw := range items {
		p, err := decodeProps(ep, raw)
		if err != nil {
			return nil, fmt.Errorf("label %d: %w", i, err)
		}
		name := p.s("name")
		if name == "" {
			name = p.s("displayName")
		}
		if p.s("id") != "" {
			out[strings.ToLower(p.s("id"))] = name
		}
	}
	return out, nil
}

// labelNames reads the label catalogue (application permission
// InformationProtectionPolicy.Read.All).
func (c *Client) labelNames(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	_, err := c.GraphPages(ctx, Beta, "/security/informationProtection/sensitivityLabels"+selectQuery([]string{"id", "name", "displayName"}), nil, func(items []json.RawMessage) error {
		m, err := ParseSensitivityLabels(items)
		for k, v := range m {
			out[k] = v
		}
		return err
	})
	return out, err
}
