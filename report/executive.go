package report

import (
	"cmp"
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

// riskList keeps the maxRisks most severe rows seen and counts the rest,
// so that a million failing links cost no more than ten rows.
type riskList struct {
	top *topN[riskRow]
	n   int
}

func newRiskList() *riskList {
	return &riskList{top: newTopN(maxRisks, func(a, b *riskRow) bool { return riskOrder(*a, *b) < 0 })}
}

func (l *riskList) add(r riskRow) { l.top.push(r); l.n++ }

func (l *riskList) rows() ([]riskRow, int) {
	rows := l.top.sorted()
	return rows, l.n - len(rows)
}

// buildExecutive counts the verified fixes; buildSummary fills the lists
// in its passes over the results.
func (v *view) buildExecutive() {
	for _, r := range v.In.Remediation {
		if r.Verified != nil && *r.Verified {
			v.Exec.Verified++
		}
	}
}

// wantedURLs lists the keys of every object the report names in a row,
// with the URL its result carries (an admin-center page for a setting),
// for the link inventory's pass to fill with links' web addresses.
func (v *view) wantedURLs() map[string]string {
	want := map[string]string{}
	for _, rv := range v.Rules {
		for _, r := range rv.Fails {
			want[r.ObjectKey] = r.ObjectURL
		}
	}
	for _, l := range [][]riskRow{v.Exec.TopRisks, v.Exec.New, v.Exec.Fixed} {
		for _, r := range l {
			if want[r.ObjectKey] == "" {
				want[r.ObjectKey] = r.ObjectURL
			}
		}
	}
	return want
}

// applyURLs adds the sites' addresses to the links' ones and keeps the safe
// ones for the rows.
func (v *view) applyURLs(want map[string]string) {
	if v.In.Snapshot != nil {
		for i := range v.In.Snapshot.Sites {
			s := &v.In.Snapshot.Sites[i]
			if _, ok := want[s.Key()]; ok {
				want[s.Key()] = s.URL
			}
		}
	}
	v.URLs = map[string]string{}
	for k, u := range want {
		if safeURL(u) {
			v.URLs[k] = u
		}
	}
	for _, l := range [][]riskRow{v.Exec.TopRisks, v.Exec.New, v.Exec.Fixed} {
		for i := range l {
			l[i].URL = v.URLs[l[i].ObjectKey]
		}
	}
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
