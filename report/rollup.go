package report

import (
	"bufio"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"time"

	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// RollupSchemaV1 tags the JSON form of the all-tenants rollup.
const RollupSchemaV1 = "sharedrift.rollup/v1"

// maxRollupTrend caps the scans each tenant's sparkline reads.
const maxRollupTrend = 30

// Rollup is the MSP view over every tenant of a store: per tenant its
// posture, failing checks by severity and last scan.
type Rollup struct {
	GeneratedAt time.Time    `json:"generatedAt"`
	Version     string       `json:"version,omitempty"`
	Tenants     []RollupRow  `json:"tenants"`
	Totals      RollupTotals `json:"totals"`
}

// RollupRow is one tenant of a Rollup.
type RollupRow struct {
	Tenant        string         `json:"tenant"`
	TenantID      string         `json:"tenantId,omitempty"`
	Scans         int            `json:"scans"`
	LastScan      *time.Time     `json:"lastScan"`
	LastStatus    string         `json:"lastStatus,omitempty"`
	Baseline      string         `json:"baseline,omitempty"`
	Score         *float64       `json:"score"`
	PreviousScore *float64       `json:"previousScore"`
	UnknownPoints float64        `json:"unknownPoints"`
	Failing       map[string]int `json:"failingBySeverity"`
	Unknown       int            `json:"unknown"`
	Trend         []TrendPoint   `json:"trend"`
	sevFails      map[tenant.Severity]int
}

// RollupTotals sums the tenants' failing checks.
type RollupTotals struct {
	Tenants int            `json:"tenants"`
	Failing map[string]int `json:"failingBySeverity"`
}

// BuildRollup reads every tenant of the store: the latest scan's score and
// failing checks, the one before for the trend, and up to 30 scans for the
// sparkline. Tenants are ordered worst first: most critical, then most
// high failures, then lowest score; a tenant without scans comes last.
func BuildRollup(ctx context.Context, h History, now time.Time) (*Rollup, error) {
	tenants, err := h.Tenants(ctx)
	if err != nil {
		return nil, fmt.Errorf("rollup: %w", err)
	}
	infos := RuleInfos(rules.Builtin())
	r := &Rollup{GeneratedAt: now, Totals: RollupTotals{Failing: map[string]int{}}}
	for _, t := range tenants {
		row := RollupRow{Tenant: t.Name, TenantID: t.TenantID, Failing: map[string]int{}, sevFails: map[tenant.Severity]int{}}
		// Scores come from whole scans: a scoped one judged a few drives.
		scans, err := h.Scans(ctx, store.ScanFilter{Tenant: t.Name, Limit: maxRollupTrend, Whole: true})
		if err != nil {
			return nil, fmt.Errorf("rollup %s: %w", t.Name, err)
		}
		row.Scans = len(scans)
		if len(scans) > 0 {
			cur := scans[0]
			row.LastScan, row.LastStatus, row.Baseline = &cur.CollectedAt, string(cur.Status), cur.Baseline
			if row.Trend, err = trend(ctx, h, scans, infos); err != nil {
				return nil, err
			}
			results, counts, err := scanResults(ctx, h, cur.ID)
			if err != nil {
				return nil, err
			}
			sevOf := map[string]tenant.Severity{}
			for _, ri := range infos {
				sevOf[ri.ID] = ri.Severity
			}
			sc := ScoreOf(counts, func(id string) tenant.Severity { return sevOf[id] })
			row.Score, row.UnknownPoints, row.Unknown = sc.Value, sc.UnknownPoints, sc.Unknown
			if n := len(row.Trend); n > 1 {
				row.PreviousScore = row.Trend[n-2].Score
			}
			for _, res := range results {
				if res.Outcome == tenant.Fail {
					row.Failing[string(res.Severity)] += res.Objects()
					row.sevFails[res.Severity] += res.Objects()
					r.Totals.Failing[string(res.Severity)] += res.Objects()
				}
			}
		}
		r.Tenants = append(r.Tenants, row)
	}
	r.Totals.Tenants = len(r.Tenants)
	slices.SortStableFunc(r.Tenants, func(a, b RollupRow) int {
		if (a.Scans == 0) != (b.Scans == 0) { // tenants without scans last
			if a.Scans == 0 {
				return 1
			}
			return -1
		}
		for _, s := range []tenant.Severity{tenant.SeverityCritical, tenant.SeverityHigh} {
			if c := cmp.Compare(b.sevFails[s], a.sevFails[s]); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(scoreOr(a.Score), scoreOr(b.Score)); c != 0 {
			return c
		}
		return cmp.Compare(a.Tenant, b.Tenant)
	})
	return r, nil
}

func scoreOr(s *float64) float64 {
	if s == nil {
		return -1 // no score sorts with the worst
	}
	return *s
}

//go:embed templates/rollup.html.tmpl
var rollupFS embed.FS

var rollupTemplate = template.Must(template.New("rollup.html.tmpl").Funcs(htmlFuncs).Funcs(template.FuncMap{
	"sparkline": sparkline,
	"sevs":      func() []string { return []string{"critical", "high", "medium", "low"} },
}).ParseFS(rollupFS, "templates/rollup.html.tmpl"))

// RenderRollup writes the rollup as HTML, Markdown or JSON.
func RenderRollup(w io.Writer, f Format, r *Rollup) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch f {
	case FormatHTML:
		err = rollupTemplate.Execute(bw, r)
	case FormatJSON:
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		err = enc.Encode(struct {
			Schema string `json:"schema"`
			*Rollup
		}{RollupSchemaV1, r})
	case FormatMarkdown:
		m := &mdWriter{w: bw}
		m.f("# Tenants overview\n\nGenerated %s by sharedrift %s. Posture score as in a tenant's report (%s)\n\n", datetime(r.GeneratedAt), mdEscape(r.Version), mdEscape(ScoreFormula))
		m.head("Tenant", "-Score", "Trend", "-Critical", "-High", "-Medium", "-Low", "-Unknown", "Last scan", "Status")
		for _, t := range r.Tenants {
			m.row(t.Tenant, scoreText(t.Score), trendText(t.Score, t.PreviousScore),
				thousands(int64(t.Failing["critical"])), thousands(int64(t.Failing["high"])), thousands(int64(t.Failing["medium"])),
				thousands(int64(t.Failing["low"])), thousands(int64(t.Unknown)), datetimeptr(t.LastScan), orDash(t.LastStatus))
		}
		m.f("\n")
		err = m.err
	default:
		return fmt.Errorf("%w %q for the tenants rollup, expected html, markdown or json", ErrUnknownFormat, f)
	}
	if err != nil {
		return fmt.Errorf("render rollup: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write rollup: %w", err)
	}
	return nil
}
