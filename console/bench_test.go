package console

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/store/storetest"
)

// benchFindings is the size of the benchmark store: an s1 tenant's ~100k
// findings; SHAREDRIFT_BENCH_FINDINGS overrides it.
func benchFindings() int {
	if n, err := strconv.Atoi(os.Getenv("SHAREDRIFT_BENCH_FINDINGS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// BenchmarkFindingsPage renders the findings list (first page, a page in
// the middle, a tenant and severity filter, a search) from a SQLite store
// holding ~100k findings,
// server side: store query, template and the handler around them. The
// budget is 200 ms a page.
func BenchmarkFindingsPage(b *testing.B) {
	n := benchFindings()
	st := testStore(b, n)
	c := newTestConsole(b, st, config.Console{})
	id, _ := c.sessions.create(adminPrincipal())
	// The cursor of a page in the middle of the list.
	mid, err := st.FindingsList(context.Background(), store.FindingFilter{Offset: n / 2, Limit: 1})
	if err != nil || len(mid) != 1 {
		b.Fatalf("middle finding: %v", err)
	}
	for _, page := range []struct{ name, url string }{
		{"first", "/findings"},
		{"middle", "/findings?after=" + encodeAfter(mid[0].Key())},
		{"tenant-high", "/findings?tenant=" + storetest.Tenant + "&severity=high"},
		{"search", "/findings?q=file" + strconv.Itoa(n/2)}, // matches nothing: the whole budget
		{"search-match", "/findings?q=filex" + strconv.Itoa(n/2)},
		{"search-broad", "/findings?q=file"},
	} {
		b.Run(page.name, func(b *testing.B) {
			var worst time.Duration
			for i := 0; i < b.N; i++ {
				rec := timedGet(c, id, page.url, &worst)
				if rec.Code != 200 || !strings.Contains(rec.Body.String(), "links.anyone") {
					b.Fatalf("%s: %d", page.url, rec.Code)
				}
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
		})
	}
}

// BenchmarkFindingsSearchToMatch follows a search that matches one finding
// in the middle of the list from its first page, through "Search further",
// to the page that shows the match: what a person waits for in all.
func BenchmarkFindingsSearchToMatch(b *testing.B) {
	n := benchFindings()
	st := testStore(b, n)
	c := newTestConsole(b, st, config.Console{})
	id, _ := c.sessions.create(adminPrincipal())
	term := "filex" + strconv.Itoa(n/2) + ".docx" // testStore's links are named filex0, filex1, …
	next := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	pages, worst := 0, time.Duration(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u := "/findings?q=" + url.QueryEscape(term)
		for pages = 1; ; pages++ {
			rec := timedGet(c, id, u, &worst)
			body := rec.Body.String()
			if rec.Code != 200 {
				b.Fatalf("%s: %d", u, rec.Code)
			}
			if strings.Contains(body, "/"+term+"</a>") {
				break
			}
			m := next.FindStringSubmatch(body)
			if m == nil || pages > 1000 {
				b.Fatalf("no match for %q after %d pages", term, pages)
			}
			u = html.UnescapeString(m[1])
		}
	}
	b.ReportMetric(float64(pages), "pages")
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-page-ms")
}

// timedGet renders one page for session id and keeps the slowest render
// in worst.
func timedGet(c *Console, id, u string, worst *time.Duration) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", u, nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
	rec := httptest.NewRecorder()
	start := time.Now()
	c.ServeHTTP(rec, req)
	if d := time.Since(start); d > *worst {
		*worst = d
	}
	return rec
}

func adminPrincipal() daemon.Principal {
	return daemon.Principal{Name: "ops", Scope: config.ScopeAdmin}
}
