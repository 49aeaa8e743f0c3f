package report

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/tenant"
)

// maxRisks caps the executive page's lists: a CISO reads ten rows, the
// findings section and the JSON carry the rest.
const maxRisks = 10

// TrendPoint is the posture score of one recorded scan.
type TrendPoint struct {
	At    time.Time `json:"at"`
	Score *float64  `json:"score"`
	// Failing counts the scan's failing checks.
	Failing int `json:"failing"`
}

// riskRow is one finding on the executive page.
type riskRow struct {
	tenant.Result
	RuleTitle string
	// URL opens the object (a link's webUrl, a site's URL) when known.
	URL string
}

type executive struct {
	TopRisks  []riskRow
	MoreRisks int
	New       []riskRow // failing now, not at the end of the previous period
	MoreNew   int
	Fixed     []riskRow // failing then, not any more
	MoreFixed int
	// Verified counts remediation attempts applied and read back matching.
	Verified int
}

// riskOrder puts the most severe finding first; ties by rule then object,
// so the page is stable.
func riskOrder(a, b riskRow) int {
	if c := cmp.Compare(sevRank(b.Severity), sevRank(a.Severity)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.RuleID, b.RuleID); c != 0 {
		return c
	}
	return cmp.Compare(a.ObjectKey, b.ObjectKey)
}

func capRows(rows []riskRow) ([]riskRow, int) {
	slices.SortStableFunc(rows, riskOrder)
	if len(rows) > maxRisks {
		return rows[:maxRisks], len(rows) - maxRisks
	}
	return rows, 0
}

func (v *view) buildExecutive() error {
	title := map[string]string{}
	for _, rv := range v.Rules {
		title[rv.Info.ID] = rv.Info.Title
	}
	row := func(r tenant.Result) riskRow { return riskRow{Result: r, RuleTitle: title[r.RuleID]} }
	var top, fresh, fixed []riskRow
	cur := map[string]bool{}
	for _, r := range v.In.Results {
		if r.Outcome == tenant.Fail {
			cur[r.Fingerprint()] = true
		}
	}
	prev := map[string]bool{}
	for _, r := range v.In.Previous {
		if r.Outcome != tenant.Fail {
			continue
		}
		prev[r.Fingerprint()] = true
		if !cur[r.Fingerprint()] {
			fixed = append(fixed, row(r))
		}
	}
	for _, r := range v.In.Results {
		if r.Outcome != tenant.Fail {
			continue
		}
		top = append(top, row(r))
		if v.In.Previous != nil && !prev[r.Fingerprint()] {
			fresh = append(fresh, row(r))
		}
	}
	e := &v.Exec
	e.TopRisks, e.MoreRisks = capRows(top)
	e.New, e.MoreNew = capRows(fresh)
	e.Fixed, e.MoreFixed = capRows(fixed)
	for _, r := range v.In.Remediation {
		if r.Verified != nil && *r.Verified {
			e.Verified++
		}
	}
	return v.resolveURLs()
}

// resolveURLs finds the web address of every object the report names in a
// row: sites from the snapshot, links in one pass over the link inventory.
func (v *view) resolveURLs() error {
	want := map[string]string{}
	lists := [][]riskRow{v.Exec.TopRisks, v.Exec.New, v.Exec.Fixed}
	for _, rv := range v.Rules {
		for _, r := range rv.Fails {
			want[r.ObjectKey] = ""
		}
	}
	for _, l := range lists {
		for _, r := range l {
			want[r.ObjectKey] = ""
		}
	}
	needLinks := false
	for k := range want {
		needLinks = needLinks || strings.HasPrefix(k, "link:")
	}
	if v.In.Snapshot != nil {
		for i := range v.In.Snapshot.Sites {
			s := &v.In.Snapshot.Sites[i]
			if _, ok := want[s.Key()]; ok {
				want[s.Key()] = s.URL
			}
		}
	}
	if needLinks {
		for l, err := range v.In.links() {
			if err != nil {
				return err
			}
			if _, ok := want[l.Key()]; ok {
				want[l.Key()] = l.WebURL
			}
		}
	}
	v.URLs = map[string]string{}
	for k, u := range want {
		if safeURL(u) {
			v.URLs[k] = u
		}
	}
	for _, l := range lists {
		for i := range l {
			l[i].URL = v.URLs[l[i].ObjectKey]
		}
	}
	return nil
}

// safeURL admits only https addresses: an object's URL comes from the
// tenant and is rendered as a link.
func safeURL(u string) bool {
	return strings.HasPrefix(strings.ToLower(u), "https://") && !strings.ContainsAny(u, " \t\r\n\"'<>")
}

// controlInfo looks a control up in the catalogue; empty when it is not there.
func controlInfo(fw, id string) (title, version string) {
	c, ok := rules.LookupControl(rules.Framework(fw), id)
	if !ok {
		return "", ""
	}
	return c.Title, c.Version
}
