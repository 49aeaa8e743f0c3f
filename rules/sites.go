package rules

import (
	"fmt"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/tenant"
)

const (
	docSiteSharing = "https://learn.microsoft.com/en-us/sharepoint/change-external-sharing-site"
	docLabels      = "https://learn.microsoft.com/en-us/purview/sensitivity-labels-teams-groups-sites"
)

// siteCeiling is the ceiling sites.sharing_level applies to a site, and
// where it comes from.
func siteCeiling(b *baselines.Baseline, st *tenant.Site) (*baselines.SharingLevel, string) {
	for _, u := range b.Sites.ByURL {
		if baselines.Glob(u.URL, st.URL) {
			return u.MaxSharingLevel, "sites.by_url " + u.URL
		}
	}
	if b.Sites.MaxSharingLevel != nil {
		return b.Sites.MaxSharingLevel, "sites.max_sharing_level"
	}
	if st.Personal {
		return b.SharePoint.OneDriveMaxSharingLevel, "sharepoint.onedrive_max_sharing_level"
	}
	return b.SharePoint.MaxSharingLevel, "sharepoint.max_sharing_level"
}

func siteName(st *tenant.Site) string {
	if st.URL != "" {
		return st.URL
	}
	return st.Title
}

// siteLevel emits the verdict for one site against a ceiling.
func siteLevel(r *builtin, emit func(tenant.Result), si *siteInfo, max baselines.SharingLevel, why string) {
	st := si.site
	expected := atMost(max)
	rank, ok := st.SharingCapability.Rank()
	if !ok {
		emit(r.result(tenant.Unknown, si.key, siteName(st), expected, string(st.SharingCapability), "site sharing level missing or not recognised"))
		return
	}
	limit, _ := max.Rank()
	if rank > limit {
		emit(r.result(tenant.Fail, si.key, siteName(st), expected, levelName(st.SharingCapability), fmt.Sprintf("site allows %s sharing, above %s (%s)", levelName(st.SharingCapability), max, why)))
		return
	}
	emit(r.result(tenant.Pass, si.key, siteName(st), expected, levelName(st.SharingCapability), ""))
}

func evalSiteSharing(r *builtin, e *env, emit func(tenant.Result)) {
	b := e.b
	if len(b.Sites.ByURL) == 0 && b.Sites.MaxSharingLevel == nil && b.SharePoint.MaxSharingLevel == nil && b.SharePoint.OneDriveMaxSharingLevel == nil {
		emit(notApplicable(r, keySites, "sites", silent))
		return
	}
	if why := e.incomplete(tenant.SectionSites); why != "" {
		emit(r.result(tenant.Unknown, keySites, "sites", "", "", why))
		return
	}
	e.buildSites()
	n := 0
	for _, si := range e.siteOrder {
		max, why := siteCeiling(b, si.site)
		if max == nil {
			continue
		}
		n++
		siteLevel(r, emit, si, *max, why)
	}
	if n == 0 {
		emit(r.result(tenant.Pass, keySites, "sites", "", "", "no site has a sharing ceiling in the baseline"))
	}
}

func evalLabelSharing(r *builtin, e *env, emit func(tenant.Result)) {
	rules := e.b.Sites.ByLabel
	if len(rules) == 0 {
		emit(notApplicable(r, keySites, "sites", silent))
		return
	}
	if why := e.incomplete(tenant.SectionSites); why != "" {
		emit(r.result(tenant.Unknown, keySites, "sites", "", "", why))
		return
	}
	e.buildSites()
	n := 0
	for _, si := range e.siteOrder {
		for _, lr := range rules {
			if labelMatch([]string{lr.Label}, si.site) == "" {
				continue
			}
			n++
			siteLevel(r, emit, si, *lr.MaxSharingLevel, "label "+lr.Label)
			break
		}
	}
	if n == 0 {
		emit(r.result(tenant.Pass, keySites, "sites", "", "", "no site carries a label the baseline caps"))
	}
}

func evalConfidentialSharing(r *builtin, e *env, emit func(tenant.Result)) {
	c := &e.b.Confidential
	if !c.Configured() || c.MaxSharingLevel == nil {
		emit(notApplicable(r, keySites, "sites", silent))
		return
	}
	if why := e.incomplete(tenant.SectionSites); why != "" {
		emit(r.result(tenant.Unknown, keySites, "sites", "", "", why))
		return
	}
	e.buildSites()
	n := 0
	for _, si := range e.siteOrder {
		if !si.confidential {
			continue
		}
		n++
		siteLevel(r, emit, si, *c.MaxSharingLevel, "confidential: "+si.why)
	}
	if n == 0 {
		emit(r.result(tenant.Pass, keySites, "sites", "", "", "no confidential site found"))
	}
}
