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
	emit = expectingAll(emit, ceiling(tenant.ScaleSharing, max.Tenant(), st.SharingCapability))
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

// judgeSites runs a site sharing-ceiling rule. ceiling returns the
// ceiling the rule puts on a site and why, or nil when it puts none; when
// no site has one, a single tenant-level pass says so with none.
func judgeSites(r *builtin, e *env, emit func(tenant.Result), configured bool, none string, ceiling func(*siteInfo) (*baselines.SharingLevel, string)) {
	if !configured {
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
		max, why := ceiling(si)
		if max == nil {
			continue
		}
		n++
		siteLevel(r, emit, si, *max, why)
	}
	if n == 0 {
		emit(r.result(tenant.Pass, keySites, "sites", "", "", none))
	}
}

func evalSiteSharing(r *builtin, e *env, emit func(tenant.Result)) {
	b := e.b
	configured := len(b.Sites.ByURL) > 0 || b.Sites.MaxSharingLevel != nil || b.SharePoint.MaxSharingLevel != nil || b.SharePoint.OneDriveMaxSharingLevel != nil
	judgeSites(r, e, emit, configured, "no site has a sharing ceiling in the baseline", func(si *siteInfo) (*baselines.SharingLevel, string) {
		return siteCeiling(b, si.site)
	})
}

func evalLabelSharing(r *builtin, e *env, emit func(tenant.Result)) {
	byLabel := e.b.Sites.ByLabel
	judgeSites(r, e, emit, len(byLabel) > 0, "no site carries a label the baseline caps", func(si *siteInfo) (*baselines.SharingLevel, string) {
		for _, lr := range byLabel {
			if labelMatch([]string{lr.Label}, si.site) != "" {
				return lr.MaxSharingLevel, "label " + lr.Label
			}
		}
		return nil, ""
	})
}

func evalConfidentialSharing(r *builtin, e *env, emit func(tenant.Result)) {
	c := &e.b.Confidential
	judgeSites(r, e, emit, c.Configured() && c.MaxSharingLevel != nil, "no confidential site found", func(si *siteInfo) (*baselines.SharingLevel, string) {
		if !si.confidential {
			return nil, ""
		}
		return c.MaxSharingLevel, "confidential: " + si.why
	})
}
