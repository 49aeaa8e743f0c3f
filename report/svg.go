package report

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// Charts are inline SVG built as strings: they are small and fixed in size
// whatever the tenant's size, and need neither scripts nor external files.
// Every chart carries role="img" and a text alternative, and the numbers it
// shows are also in a table next to it.

type bar struct {
	Label string
	Value int
	Class string
}

var outcomeClass = map[tenant.Outcome]string{
	tenant.Pass: "c-pass", tenant.Fail: "c-fail", tenant.NotApplicable: "c-na", tenant.Unknown: "c-unknown",
}

var outcomeNames = map[tenant.Outcome]string{
	tenant.Pass: "Pass", tenant.Fail: "Fail", tenant.NotApplicable: "Not applicable", tenant.Unknown: "Unknown",
}

func outcomeName(o tenant.Outcome) string {
	if n, ok := outcomeNames[o]; ok {
		return n
	}
	return string(o)
}

// scoreRing draws the posture score as a ring.
func scoreRing(score *float64) template.HTML {
	const r = 52.0
	circ := 2 * 3.14159265 * r
	var b strings.Builder
	label := "Posture score not available"
	text := "n/a"
	frac := 0.0
	if score != nil {
		label = fmt.Sprintf("Posture score %.1f out of 100", *score)
		text = fmt.Sprintf("%.1f", *score)
		frac = *score / 100
	}
	cls := "c-fail"
	switch {
	case score == nil:
		cls = "c-na"
	case *score >= 90:
		cls = "c-pass"
	case *score >= 70:
		cls = "c-unknown"
	}
	fmt.Fprintf(&b, `<svg class="ring" width="140" height="140" viewBox="0 0 140 140" role="img" aria-label="%s">`, html.EscapeString(label))
	fmt.Fprintf(&b, `<circle cx="70" cy="70" r="%.0f" fill="none" stroke="#e4e7eb" stroke-width="14"/>`, r)
	fmt.Fprintf(&b, `<circle class="%s" cx="70" cy="70" r="%.0f" fill="none" stroke-width="14" stroke-dasharray="%.2f %.2f" transform="rotate(-90 70 70)"/>`, cls, r, circ*frac, circ)
	fmt.Fprintf(&b, `<text x="70" y="68" text-anchor="middle" class="ring-num">%s</text>`, text)
	b.WriteString(`<text x="70" y="90" text-anchor="middle" class="ring-sub">of 100</text></svg>`)
	return template.HTML(b.String())
}

// stackedBar draws the share of each outcome as one bar with a legend.
func stackedBar(title string, c Counts) template.HTML {
	const w, h = 560.0, 26.0
	total := c.Total()
	var b strings.Builder
	parts := make([]string, 0, 4)
	for _, o := range Outcomes {
		parts = append(parts, fmt.Sprintf("%s %d", outcomeName(o), c.Of(o)))
	}
	fmt.Fprintf(&b, `<svg class="chart" width="100%%" viewBox="0 0 %.0f 56" preserveAspectRatio="xMinYMin meet" role="img" aria-label="%s">`,
		w, html.EscapeString(title+": "+strings.Join(parts, ", ")))
	x := 0.0
	if total == 0 {
		fmt.Fprintf(&b, `<rect x="0" y="0" width="%.0f" height="%.0f" fill="#e4e7eb"/>`, w, h)
	}
	for _, o := range Outcomes {
		n := c.Of(o)
		if n == 0 || total == 0 {
			continue
		}
		bw := w * float64(n) / float64(total)
		fmt.Fprintf(&b, `<rect class="%s" x="%.2f" y="0" width="%.2f" height="%.0f"/>`, outcomeClass[o], x, bw, h)
		x += bw
	}
	lx := 0.0
	for _, o := range Outcomes {
		fmt.Fprintf(&b, `<rect class="%s" x="%.0f" y="38" width="12" height="12"/><text x="%.0f" y="49" class="lg">%s %d</text>`,
			outcomeClass[o], lx, lx+16, html.EscapeString(outcomeName(o)), c.Of(o))
		lx += 140
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// hbars draws labelled horizontal bars scaled to the largest value.
func hbars(title string, bars []bar) template.HTML {
	const labelW, barW, rowH = 190.0, 330.0, 24.0
	maxV := 0
	parts := make([]string, 0, len(bars))
	for _, br := range bars {
		maxV = max(maxV, br.Value)
		parts = append(parts, fmt.Sprintf("%s %d", br.Label, br.Value))
	}
	height := rowH*float64(len(bars)) + 4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" width="100%%" viewBox="0 0 %.0f %.0f" preserveAspectRatio="xMinYMin meet" role="img" aria-label="%s">`,
		labelW+barW+70, height, html.EscapeString(title+": "+strings.Join(parts, ", ")))
	for i, br := range bars {
		y := float64(i) * rowH
		bw := 0.0
		if maxV > 0 {
			bw = barW * float64(br.Value) / float64(maxV)
		}
		cls := br.Class
		if cls == "" {
			cls = "c-bar"
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end" class="lg">%s</text>`, labelW-8, y+16, html.EscapeString(truncate(br.Label, 30)))
		fmt.Fprintf(&b, `<rect class="%s" x="%.0f" y="%.0f" width="%.2f" height="16" rx="2"/>`, cls, labelW, y+4, max(bw, 1))
		fmt.Fprintf(&b, `<text x="%.2f" y="%.0f" class="lg">%d</text>`, labelW+max(bw, 1)+6, y+16, br.Value)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// dayBars draws changes per day.
func dayBars(title string, days []dayCount) template.HTML {
	const w, h, top, bottom = 720.0, 120.0, 12.0, 22.0
	maxV, total := 0, 0
	for _, d := range days {
		maxV = max(maxV, d.Count)
		total += d.Count
	}
	var b strings.Builder
	label := fmt.Sprintf("%s: %d changes over %d days", title, total, len(days))
	if len(days) > 0 {
		label += fmt.Sprintf(" from %s to %s, at most %d in a day", days[0].Day.Format(time.DateOnly), days[len(days)-1].Day.Format(time.DateOnly), maxV)
	}
	fmt.Fprintf(&b, `<svg class="chart" width="100%%" viewBox="0 0 %.0f %.0f" preserveAspectRatio="xMinYMin meet" role="img" aria-label="%s">`, w, h, html.EscapeString(label))
	fmt.Fprintf(&b, `<line x1="0" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#8c959f"/>`, h-bottom, w, h-bottom)
	if n := len(days); n > 0 {
		slot := w / float64(n)
		plot := h - top - bottom
		for i, d := range days {
			if d.Count == 0 || maxV == 0 {
				continue
			}
			bh := plot * float64(d.Count) / float64(maxV)
			fmt.Fprintf(&b, `<rect class="c-bar" x="%.2f" y="%.2f" width="%.2f" height="%.2f"><title>%s: %d</title></rect>`,
				float64(i)*slot+slot*0.15, h-bottom-bh, slot*0.7, bh, d.Day.Format(time.DateOnly), d.Count)
		}
		fmt.Fprintf(&b, `<text x="0" y="%.0f" class="lg">%s</text>`, h-6, days[0].Day.Format(time.DateOnly))
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end" class="lg">%s</text>`, w, h-6, days[n-1].Day.Format(time.DateOnly))
		fmt.Fprintf(&b, `<text x="%.0f" y="10" text-anchor="end" class="lg">max %d/day</text>`, w, maxV)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// trendChart draws the posture score of each recorded scan as a line on a
// 0-100 scale; scans without a score leave a gap.
func trendChart(points []TrendPoint) template.HTML {
	const w, h, left, top, bottom = 720.0, 160.0, 34.0, 10.0, 24.0
	plotW, plotH := w-left-8, h-top-bottom
	var b strings.Builder
	var scored []TrendPoint
	for _, p := range points {
		if p.Score != nil {
			scored = append(scored, p)
		}
	}
	label := fmt.Sprintf("Posture score over %d recorded scans", len(points))
	if len(scored) > 0 {
		first, last := scored[0], scored[len(scored)-1]
		label += fmt.Sprintf(": %.1f on %s, %.1f on %s", *first.Score, first.At.UTC().Format(time.DateOnly), *last.Score, last.At.UTC().Format(time.DateOnly))
	}
	fmt.Fprintf(&b, `<svg class="chart" width="100%%" viewBox="0 0 %.0f %.0f" preserveAspectRatio="xMinYMin meet" role="img" aria-label="%s">`, w, h, html.EscapeString(label))
	for _, g := range []float64{0, 50, 100} {
		y := top + plotH*(1-g/100)
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.2f" x2="%.0f" y2="%.2f" stroke="#d0d7de"/><text x="%.0f" y="%.2f" text-anchor="end" class="lg">%.0f</text>`, left, y, w-8, y, left-4, y+4, g)
	}
	n := len(points)
	x := func(i int) float64 {
		if n == 1 {
			return left + plotW/2
		}
		return left + plotW*float64(i)/float64(n-1)
	}
	var path strings.Builder
	pen := false
	for i, p := range points {
		if p.Score == nil {
			pen = false
			continue
		}
		y := top + plotH*(1-*p.Score/100)
		if pen {
			fmt.Fprintf(&path, " L%.2f %.2f", x(i), y)
		} else {
			fmt.Fprintf(&path, " M%.2f %.2f", x(i), y)
			pen = true
		}
		fmt.Fprintf(&b, `<circle class="c-bar" cx="%.2f" cy="%.2f" r="3"><title>%s: %.1f</title></circle>`, x(i), y, p.At.UTC().Format(time.DateOnly), *p.Score)
	}
	if path.Len() > 0 {
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#2f6fb3" stroke-width="2"/>`, strings.TrimSpace(path.String()))
	}
	if n > 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="lg">%s</text>`, left, h-6, points[0].At.UTC().Format(time.DateOnly))
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end" class="lg">%s</text>`, w-8, h-6, points[n-1].At.UTC().Format(time.DateOnly))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// sparkline draws a tenant's recent scores as a small line on a 0-100 scale.
func sparkline(tenantName string, points []TrendPoint) template.HTML {
	const w, h = 120.0, 28.0
	var pts []string
	var last *float64
	var lastX, lastY float64
	for i, p := range points {
		if p.Score == nil {
			continue
		}
		x := w / 2
		if len(points) > 1 {
			x = w * float64(i) / float64(len(points)-1)
		}
		lastX, lastY = x, 2+(h-4)*(1-*p.Score/100)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", lastX, lastY))
		last = p.Score
	}
	label := fmt.Sprintf("%s: no scored scans", tenantName)
	if last != nil {
		label = fmt.Sprintf("%s: posture over %d scans, latest %.1f", tenantName, len(points), *last)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, w, h, w, h, html.EscapeString(label))
	fmt.Fprintf(&b, `<line x1="0" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#d0d7de"/>`, h-2, w, h-2)
	if len(pts) > 0 {
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#2f6fb3" stroke-width="2"/>`, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="#2f6fb3"/>`, lastX, lastY)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Sparkline is a tenant's posture over points as a small inline SVG with
// role="img" and a text alternative, as the rollup draws it.
func Sparkline(tenantName string, points []TrendPoint) template.HTML {
	return sparkline(tenantName, points)
}
