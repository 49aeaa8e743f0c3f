package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// pageNames are the pages; each is parsed with the shared layout.
var pageNames = []string{"login", "error", "overview", "findings", "finding", "changes", "scans"}

var funcs = template.FuncMap{
	"httpsURL": httpsURL,
	// count says "1 finding", "2 findings".
	"count": func(n int, noun string) string {
		if n == 1 {
			return "1 " + noun
		}
		return fmt.Sprintf("%d %ss", n, noun)
	},
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v == nil || v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		}
		return fmt.Sprint(t)
	},
	"day":       func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"inc":       func(n int64) int64 { return n + 1 },
	"eventText": eventText,
	"score": func(s *float64) string {
		if s == nil {
			return "no score yet"
		}
		return fmt.Sprintf("%.1f", *s)
	},
	"short": func(fp string) string { return fp[:min(12, len(fp))] },
	"sev":   func(m map[tenant.Severity]int, s tenant.Severity) int { return m[s] },
	"field": func(f drift.FieldChange) string { return f.String() },
	"json": func(b json.RawMessage) string {
		if len(b) == 0 {
			return "(none)"
		}
		return string(b)
	},
	"lower": strings.ToLower,
	"after": func(a, b time.Time) bool { return a.After(b) },
	"add":   func(a, b int) int { return a + b },
}

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// eventText says in words what a scan did to a finding.
func eventText(e store.FindingEvent) string {
	switch e.Kind {
	case store.TransitionNew:
		if e.Severity != "" {
			return "Opened (" + string(e.Severity) + ")"
		}
		return "Opened"
	case store.TransitionReopened:
		if e.Count > 1 {
			return fmt.Sprintf("Reopened (%d times in all)", e.Count)
		}
		return "Reopened"
	case store.TransitionResolved:
		return "Resolved"
	case store.TransitionEscalated:
		return fmt.Sprintf("Escalated from %s to %s", e.PrevSeverity, e.Severity)
	case store.TransitionDeescalated:
		return fmt.Sprintf("Severity lowered from %s to %s", e.PrevSeverity, e.Severity)
	}
	return string(e.Kind)
}
