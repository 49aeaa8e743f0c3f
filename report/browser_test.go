package report

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/report/browsertest"
)

// artifactDir is where browser tests leave screenshots for people to look
// at; it is ignored by git.
var artifactDir = filepath.Join("..", "testdata", "artifacts")

// a11yScript checks the accessibility basics the HTML report promises and
// returns a list of problems.
const a11yScript = `(() => {
  const problems = [];
  if (document.documentElement.lang !== 'en') problems.push('html lang is ' + document.documentElement.lang);
  if (document.querySelectorAll('h1').length !== 1) problems.push('expected one h1');
  let prev = 1;
  for (const h of document.querySelectorAll('h1,h2,h3,h4,h5,h6')) {
    const lvl = +h.tagName[1];
    if (lvl > prev + 1) problems.push('heading level skips to ' + h.tagName + ' "' + h.textContent.trim().slice(0, 40) + '"');
    prev = lvl;
  }
  for (const t of document.querySelectorAll('table')) {
    if (!t.querySelector(':scope > caption')) problems.push('table without caption near ' + (t.previousElementSibling ? t.previousElementSibling.textContent.slice(0, 40) : '?'));
  }
  for (const th of document.querySelectorAll('table th')) {
    if (!['col', 'row'].includes(th.getAttribute('scope'))) problems.push('th without scope: ' + th.textContent.slice(0, 40));
  }
  for (const svg of document.querySelectorAll('svg')) {
    if (svg.getAttribute('role') !== 'img' || !svg.getAttribute('aria-label')) problems.push('svg without role=img and aria-label');
  }
  ` + browsertest.ContrastCheck + `(problems);
  if (document.querySelectorAll('[src], link[href], script, iframe, object, embed').length) problems.push('external resource element present');
  for (const a of document.querySelectorAll('a[href]')) {
    const href = a.getAttribute('href');
    // Object links leave the report by design; they go to https pages only
    // and pass no referrer (a report opened from disk names its path).
    if (!href.startsWith('#')) {
      if (!href.startsWith('https://') || !(a.rel || '').includes('noreferrer')) problems.push('non-local link ' + href);
    } else if (!document.getElementById(href.slice(1))) problems.push('dangling link ' + href);
  }
  return problems;
})()`

// badPage breaks the promises a11yScript checks: no lang, a skipped
// heading level, a table without caption or th scope, low contrast.
const badPage = `<!DOCTYPE html><html><body><h1>x</h1><h3>skip</h3>
<table><tr><th>a</th></tr></table><p style="color:#bbb">faint</p></body></html>`

// wantSections are the h2 ids every HTML report has.
var wantSections = []string{"summary", "posture", "findings", "compliance", "drift", "anyone-links", "guests", "calendar", "remediation", "exceptions", "coverage"}

// TestHTMLInChromium loads the fabrikam HTML report in headless Chromium: no
// console errors, no network requests but the file itself, every key
// section present, accessibility basics met. It leaves a screenshot and a
// printed PDF in testdata/artifacts.
func TestHTMLInChromium(t *testing.T) {
	bin, err := browsertest.FindChromium()
	if err != nil {
		t.Fatal(err) // a missing browser is a broken test setup, not a skip
	}
	in := fabrikamInput(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report-fabrikam.html")
	var buf bytes.Buffer
	if err := HTML(&buf, in); err != nil {
		t.Fatalf("HTML: %v", err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b, err := browsertest.Start(ctx, bin, filepath.Join(dir, "profile"))
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	defer b.Close()
	url := "file://" + page
	if err := b.Navigate(ctx, url); err != nil {
		t.Fatalf("navigate: %v", err)
	}

	var ids []string
	if err := b.Eval(ctx, `[...document.querySelectorAll('h2[id]')].map(e => e.id)`, &ids); err != nil {
		t.Fatalf("query sections: %v", err)
	}
	for _, id := range wantSections {
		if !slices.Contains(ids, id) {
			t.Errorf("section h2#%s missing; have %v", id, ids)
		}
	}
	var text string
	if err := b.Eval(ctx, `document.body.innerText`, &text); err != nil {
		t.Fatalf("read text: %v", err)
	}
	for _, want := range []string{"Pass", "Fail", "Not applicable", "Unknown", "Posture score", "score = 100 ×"} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
	var problems []string
	if err := b.Eval(ctx, a11yScript, &problems); err != nil {
		t.Fatalf("accessibility checks: %v", err)
	}
	for _, p := range problems {
		t.Errorf("accessibility: %s", p)
	}

	if err := os.MkdirAll(artifactDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, shot := range []struct {
		name string
		full bool
	}{{"report-fabrikam.png", false}, {"report-fabrikam-full.png", true}} {
		png, err := b.Screenshot(ctx, 1280, 1600, shot.full)
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Fatalf("screenshot is not a PNG")
		}
		path := filepath.Join(artifactDir, shot.name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
	pdf, err := b.PDF(ctx)
	if err != nil {
		t.Fatalf("print to PDF: %v", err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("print output is not a PDF")
	}
	if err := os.WriteFile(filepath.Join(artifactDir, "report-fabrikam.pdf"), pdf, 0o644); err != nil {
		t.Fatal(err)
	}

	console, requests := b.Snapshot()
	// The checks above must be able to fail: a page with known defects has
	// to produce problems.
	bad := filepath.Join(dir, "bad.html")
	if err := os.WriteFile(bad, []byte(badPage), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.Navigate(ctx, "file://"+bad); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	problems = nil
	if err := b.Eval(ctx, a11yScript, &problems); err != nil {
		t.Fatalf("accessibility checks: %v", err)
	}
	if len(problems) < 4 {
		t.Errorf("accessibility checks missed defects of the bad page; got %v", problems)
	}
	for _, c := range console {
		t.Errorf("console: %s", c)
	}
	for _, r := range requests {
		if r != url {
			t.Errorf("unexpected network request %s", r)
		}
	}
	if !slices.Contains(requests, url) {
		t.Errorf("the report file itself was not requested; requests: %v", requests)
	}
}

// TestHistoryAndRollupInChromium loads a report from history (with its
// trend chart) and the all-tenants rollup in headless Chromium, runs the
// accessibility checks on both and keeps screenshots.
func TestHistoryAndRollupInChromium(t *testing.T) {
	bin, err := browsertest.FindChromium()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	st := rollupStore(t)
	now := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	hist, err := FromStore(ctx, st, "fabrikam.onmicrosoft.com", now.AddDate(0, 0, -30), now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	roll, err := BuildRollup(ctx, st, now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pages := []struct {
		name   string
		render func(*bytes.Buffer) error
		want   []string
	}{
		{"report-fabrikam-history", func(b *bytes.Buffer) error { return HTML(b, hist) }, []string{"Posture over time", "Top risks", "What was fixed"}},
		{"rollup", func(b *bytes.Buffer) error { return RenderRollup(b, FormatHTML, roll) }, []string{"Tenants overview", "fabrikam.onmicrosoft.com", "contoso.onmicrosoft.com"}},
	}
	b, err := browsertest.Start(ctx, bin, filepath.Join(dir, "profile"))
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	defer b.Close()
	if err := os.MkdirAll(artifactDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		var buf bytes.Buffer
		if err := p.render(&buf); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		file := filepath.Join(dir, p.name+".html")
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := b.Navigate(ctx, "file://"+file); err != nil {
			t.Fatalf("navigate %s: %v", p.name, err)
		}
		var text string
		if err := b.Eval(ctx, `document.body.innerText`, &text); err != nil {
			t.Fatal(err)
		}
		for _, w := range p.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %q", p.name, w)
			}
		}
		var problems []string
		if err := b.Eval(ctx, a11yScript, &problems); err != nil {
			t.Fatal(err)
		}
		for _, pr := range problems {
			t.Errorf("%s accessibility: %s", p.name, pr)
		}
		png, err := b.Screenshot(ctx, 1280, 1200, true)
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(artifactDir, p.name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	console, _ := b.Snapshot()
	for _, c := range console {
		t.Errorf("console: %s", c)
	}
}
