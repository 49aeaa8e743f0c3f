package rules

import (
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

// objectLabel is the sensitivity label of the object a result is about,
// as the snapshot has it: a site's label, the label of a link's site (the
// snapshot holds no per-item labels), or a group's labels. It names a
// label by its display name, else by its ID, so that findings can be
// filtered by it. Objects that carry no label give "".
func (e *env) objectLabel(key string) string {
	prefix, _, _ := strings.Cut(key, ":")
	switch prefix {
	case "site":
		if si := e.siteByKey(key); si != nil {
			return siteLabel(si.site)
		}
	case "link":
		if key != e.linkKey {
			return ""
		}
		if si := e.siteOf(&tenant.Link{SiteID: e.linkSiteID, SiteURL: e.linkSiteURL}); si != nil {
			return siteLabel(si.site)
		}
	case "group":
		if e.groupLabels == nil {
			e.groupLabels = map[string]string{}
			if e.s.Groups != nil {
				for i := range e.s.Groups.Groups {
					g := &e.s.Groups.Groups[i]
					if len(g.Labels) == 0 {
						continue
					}
					names := make([]string, len(g.Labels))
					for j, l := range g.Labels {
						names[j] = labelName(l.DisplayName, l.ID)
					}
					e.groupLabels[g.Key()] = strings.Join(names, ", ")
				}
			}
		}
		return e.groupLabels[key]
	}
	return ""
}

func siteLabel(st *tenant.Site) string { return labelName(st.SensitivityLabel, st.SensitivityLabelID) }

func labelName(name, id string) string {
	if name != "" {
		return name
	}
	return id
}
