package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
	"os"
	"path/filepath"
	"testing"
)

func TestRenderAllFormats(t *testing.T) {
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, f, sampleInput()); err != nil {
				t.Fatalf("Render: %v", err)
			}
			if buf.Len() == 0 {
				t.Fatal("empty output")
			}
			if dir := os.Getenv("SHAREDRIFT_REPORT_DUMP"); dir != "" {
				os.WriteFile(filepath.Join(dir, "sample."+string(f)), buf.Bytes(), 0o644)
			}
		})
	}
}

func TestStatusAggregation(t *testing.T) {
	tests := []struct {
		name string
		in   []tenant.Outcome
		want tenant.Outcome
	}{
		{"any fail wins", []tenant.Outcome{tenant.Pass, tenant.Unknown, tenant.Fail, tenant.NotApplicable}, tenant.Fail},
		{"unknown before pass", []tenant.Outcome{tenant.Pass, tenant.Unknown}, tenant.Unknown},
		{"pass over n/a", []tenant.Outcome{tenant.NotApplicable, tenant.Pass}, tenant.Pass},
		{"only n/a", []tenant.Outcome{tenant.NotApplicable}, tenant.NotApplicable},
		{"nothing", nil, tenant.NotApplicable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Counts
			for _, o := range tt.in {
				c.Add(o)
			}
			if got := overall(c); got != tt.want {
				t.Errorf("overall = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSummaryAndCompliance(t *testing.T) {
	v, err := build(sampleInput())
	if err != nil {
		t.Fatal(err)
	}
	// Checks weighted by rule severity: SP-001 one pass (high 5), LINK-001
	// one fail and one unknown (medium 3 each), GUEST-001 one fail and one
	// pass (low 1 each), EXO-001 one unknown (high 5), GRP-001 n/a (left
	// out): (5 + 1) / (5 + 6 + 2 + 5) = 6 / 18. The unknowns hold 8 / 18.
	if v.Summary.Score == nil || *v.Summary.Score != 33.3 {
		t.Errorf("score = %v, want 33.3", scoreText(v.Summary.Score))
	}
	if d := v.Summary.ScoreDetail; d.UnknownPoints != 44.4 || d.Passing != 2 || d.Failing != 2 || d.Unknown != 2 {
		t.Errorf("score detail = %+v, want 44.4 unknown points over 2 passing, 2 failing, 2 unknown checks", d)
	}
	// Previous: SP-001 fail (5), LINK-001 pass (3): 3 / 8.
	if v.Summary.PreviousScore == nil || *v.Summary.PreviousScore != 37.5 {
		t.Errorf("previous score = %v, want 37.5", scoreText(v.Summary.PreviousScore))
	}
	if want := (Counts{Pass: 2, Fail: 2, NotApplicable: 1, Unknown: 2}); v.Summary.Results != want {
		t.Errorf("result counts = %+v, want %+v", v.Summary.Results, want)
	}
	if v.Summary.NewFails != 2 || v.Summary.ResolvedFails != 1 {
		t.Errorf("new/resolved = %d/%d, want 2/1", v.Summary.NewFails, v.Summary.ResolvedFails)
	}
	got := map[string]tenant.Outcome{}
	for _, fw := range v.Frameworks {
		for _, c := range fw.Controls {
			got[fw.ID+":"+c.ID] = c.Status
		}
	}
	want := map[string]tenant.Outcome{
		"cis:1.3.10": tenant.NotApplicable, "cis:5.1.6.2": tenant.Fail, "cis:7.2.3": tenant.Pass, "cis:7.2.9": tenant.Fail,
		"scuba:MS.EXO.6.2v1": tenant.Unknown, "scuba:MS.SHAREPOINT.1.1v1": tenant.Pass, "scuba:MS.SHAREPOINT.3.1v1": tenant.Fail,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("controls = %v, want %v", got, want)
	}
	if v.Lapsing != 1 || v.Expired != 1 {
		t.Errorf("lapsing/expired = %d/%d, want 1/1", v.Lapsing, v.Expired)
	}
}

func TestNaturalCompare(t *testing.T) {
	ids := []string{"7.2.10", "1.3.1", "7.2.9", "MS.AAD.8.10v1", "MS.AAD.8.2v1", "1.10"}
	slices.SortFunc(ids, naturalCompare)
	want := []string{"1.3.1", "1.10", "7.2.9", "7.2.10", "MS.AAD.8.2v1", "MS.AAD.8.10v1"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("sorted = %v, want %v", ids, want)
	}
}

func TestGuestFlags(t *testing.T) {
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	old := now.AddDate(0, 0, -200)
	recent := now.AddDate(0, 0, -5)
	pol := domainPolicy{lists: []domainList{{mode: tenant.DomainModeBlockList, blocked: []string{"bad.example"}}}}
	tests := []struct {
		name string
		g    tenant.Guest
		want []string
	}{
		{"active", tenant.Guest{Mail: "a@ok.example", State: tenant.GuestAccepted, SignIn: &tenant.SignIn{Last: &recent}, Sponsors: []tenant.Ref{{ID: "s"}}, MemberOf: []tenant.Ref{}}, []string{}},
		{"stale and orphaned", tenant.Guest{Mail: "a@ok.example", SignIn: &tenant.SignIn{Last: &old}, Sponsors: []tenant.Ref{}, MemberOf: []tenant.Ref{}}, []string{FlagOrphaned, FlagStale}},
		{"blocked subdomain", tenant.Guest{Mail: "a@eu.bad.example"}, []string{FlagBlockedDomain}},
		{"never signed in, old", tenant.Guest{Mail: "a@ok.example", CreatedAt: &old, SignIn: &tenant.SignIn{}}, []string{FlagStale, FlagNeverSignedIn}},
		{"never signed in, new pending", tenant.Guest{Mail: "a@ok.example", CreatedAt: &recent, State: tenant.GuestPending, SignIn: &tenant.SignIn{}}, []string{FlagNeverSignedIn, FlagPending}},
		{"sign-in not collected", tenant.Guest{Mail: "a@ok.example", CreatedAt: &old, AccountEnabled: tenant.Ptr(false)}, []string{FlagDisabled}},
		{"domain from UPN", tenant.Guest{UPN: "x_bad.example#EXT#@t.onmicrosoft.com"}, []string{FlagBlockedDomain}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := guestRow(&tt.g, pol, 90*24*time.Hour, now)
			if !reflect.DeepEqual(r.Flags, tt.want) {
				t.Errorf("flags = %v, want %v", r.Flags, tt.want)
			}
		})
	}
}

func TestCalendarExposure(t *testing.T) {
	rows := calendarRows(sampleInput().Snapshot)
	var got []string
	for _, r := range rows {
		got = append(got, r.Domain+"="+r.Exposure)
	}
	want := []string{"*=high", "Anonymous=high", "partner.example=medium"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("exposure = %v, want %v", got, want)
	}
}

// TestLongInventoriesAreCapped checks that HTML and Markdown cap tables with
// a count of the rest while CSV and JSON carry every row.
func TestLongInventoriesAreCapped(t *testing.T) {
	in := syntheticInput(1000, 4000, 30)
	in.Options.MaxRows = 10
	anyone := 2000 // half of the synthetic links are Anyone links

	var html bytes.Buffer
	if err := HTML(&html, in); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"… and 1,990 more Anyone links", "… and 990 more guests", "… and 20 more sites"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	var md bytes.Buffer
	if err := Markdown(&md, in); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "… and 1,990 more Anyone links") {
		t.Errorf("Markdown lacks the Anyone link count")
	}

	for inv, want := range map[Inventory]int{InventoryAnyoneLinks: anyone, InventoryGuests: 1000} {
		var buf bytes.Buffer
		if err := CSV(&buf, inv, in); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", inv, err)
		}
		if len(recs)-1 != want {
			t.Errorf("%s: %d rows, want %d", inv, len(recs)-1, want)
		}
	}

	var js bytes.Buffer
	if err := JSON(&js, in); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema      string `json:"schema"`
		AnyoneLinks struct {
			Anyone int               `json:"anyone"`
			Items  []json.RawMessage `json:"items"`
		} `json:"anyoneLinks"`
		Guests struct {
			Items []json.RawMessage `json:"items"`
		} `json:"guests"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("JSON report does not parse: %v", err)
	}
	if doc.Schema != SchemaV1 || doc.AnyoneLinks.Anyone != anyone || len(doc.AnyoneLinks.Items) != anyone || len(doc.Guests.Items) != 1000 {
		t.Errorf("JSON: schema %q, anyone %d, %d link items, %d guest items", doc.Schema, doc.AnyoneLinks.Anyone, len(doc.AnyoneLinks.Items), len(doc.Guests.Items))
	}
}

func TestTopNKeepsRiskiest(t *testing.T) {
	top := newTopN(3, func(a, b *int) bool { return *a > *b })
	for _, v := range []int{5, 1, 9, 3, 7, 2, 8} {
		top.push(v)
	}
	if got := top.sorted(); !reflect.DeepEqual(got, []int{9, 8, 7}) {
		t.Errorf("top = %v, want [9 8 7]", got)
	}
}

func TestEscaping(t *testing.T) {
	in := sampleInput()
	var html bytes.Buffer
	if err := HTML(&html, in); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html.String(), "<b>.docx") {
		t.Error("HTML does not escape item paths")
	}
	var md bytes.Buffer
	if err := Markdown(&md, in); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), `/=HYPERLINK("x")\|&lt;b>.docx`) {
		t.Error("Markdown does not escape pipes and angle brackets in cells")
	}
	var c bytes.Buffer
	if err := CSV(&c, InventoryAnyoneLinks, in); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.String(), ",/=HYPERLINK") || !strings.Contains(c.String(), "/=HYPERLINK") {
		t.Errorf("unexpected CSV:\n%s", c.String())
	}
	for _, tt := range []struct{ in, want string }{{"=1+1", "'=1+1"}, {"+x", "'+x"}, {"-x", "'-x"}, {"@x", "'@x"}, {"plain", "plain"}, {"", ""}} {
		if got := cell(tt.in); got != tt.want {
			t.Errorf("cell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnknownFormatAndInventory(t *testing.T) {
	if _, err := ParseFormat("pdf"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("ParseFormat(pdf) = %v", err)
	}
	if f, err := ParseFormat("md"); err != nil || f != FormatMarkdown {
		t.Errorf("ParseFormat(md) = %v, %v", f, err)
	}
	if err := CSV(io.Discard, "nope", sampleInput()); !errors.Is(err, ErrUnknownInventory) {
		t.Errorf("CSV(nope) = %v", err)
	}
}

func TestWriteCSVDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteCSVDir(dir, sampleInput()); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"anyone-links.csv", "calendar-exposure.csv", "findings.csv", "guests.csv", "people-links.csv"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("files = %v, want %v", names, want)
	}
}

// TestScoreMovesWithChecks: fixing one of many failing objects raises the
// score, an unknown check never counts as passing, and a tenant with
// nothing judged has no score.
func TestScoreMovesWithChecks(t *testing.T) {
	sev := func(string) tenant.Severity { return tenant.SeverityHigh }
	before := ScoreOf(map[string]Counts{"r": {Pass: 21, Fail: 4}}, sev)
	after := ScoreOf(map[string]Counts{"r": {Pass: 22, Fail: 3}}, sev)
	if before.Value == nil || after.Value == nil || *after.Value <= *before.Value || *before.Value != 84 {
		t.Errorf("score %v -> %v, want 84 rising", scoreText(before.Value), scoreText(after.Value))
	}
	unk := ScoreOf(map[string]Counts{"r": {Pass: 1, Unknown: 1}}, sev)
	if *unk.Value != 50 || unk.UnknownPoints != 50 {
		t.Errorf("one pass one unknown = %+v, want 50 with 50 unknown points", unk)
	}
	if s := ScoreOf(map[string]Counts{"r": {NotApplicable: 3}}, sev); s.Value != nil {
		t.Errorf("only not-applicable checks scored %v, want none", *s.Value)
	}
	info := ScoreOf(map[string]Counts{"r": {Fail: 3}}, func(string) tenant.Severity { return tenant.SeverityInfo })
	if info.Value != nil {
		t.Errorf("info-only checks scored %v, want none (weight 0)", *info.Value)
	}
}

// TestExecutivePage: the most severe finding leads, its object links to its
// web address, a non-https address is not linked, and what was fixed lists
// the check that failed in the previous period.
func TestExecutivePage(t *testing.T) {
	in := sampleInput()
	in.Snapshot.Links[0].WebURL = "https://sample.sharepoint.com/:x:/s/finance/budget"
	in.Results = append(in.Results, tenant.Result{RuleID: "GUEST-001", Section: tenant.SectionGuests, Outcome: tenant.Fail,
		Severity: tenant.SeverityCritical, ObjectKey: "site:s2", ObjectName: "Marketing"})
	in.Snapshot.Sites[1].URL = "javascript:alert(1)"
	v, err := build(in)
	if err != nil {
		t.Fatal(err)
	}
	e := v.Exec
	if len(e.TopRisks) != 3 || e.TopRisks[0].ObjectKey != "site:s2" || e.TopRisks[1].ObjectKey != "link:d1/i1/p1" {
		t.Fatalf("top risks = %+v, want site:s2 (critical) then link:d1/i1/p1 (high)", e.TopRisks)
	}
	if e.TopRisks[0].URL != "" {
		t.Errorf("javascript: URL linked: %q", e.TopRisks[0].URL)
	}
	if e.TopRisks[1].URL != "https://sample.sharepoint.com/:x:/s/finance/budget" {
		t.Errorf("link URL = %q", e.TopRisks[1].URL)
	}
	if len(e.Fixed) != 1 || e.Fixed[0].RuleID != "SP-001" || e.Verified != 1 {
		t.Errorf("fixed = %+v, verified %d; want SP-001 and 1 verified fix", e.Fixed, e.Verified)
	}
	if len(e.New) != 3 {
		t.Errorf("new failing = %d rows, want 3", len(e.New))
	}
	var buf bytes.Buffer
	if err := HTML(&buf, in); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	risks := page[strings.Index(page, `id="summary-risks"`):]
	if !strings.Contains(risks, `<a href="https://sample.sharepoint.com/:x:/s/finance/budget"`) || strings.Contains(page, `href="javascript:`) {
		t.Errorf("object links wrong in the executive page")
	}
	if strings.Index(page, `id="summary-risks"`) > strings.Index(page, `id="findings"`) {
		t.Errorf("top risks come after the findings")
	}
}
