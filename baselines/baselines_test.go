package baselines_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sharedrift/sharedrift/baselines"
)

func TestShippedPacksLoad(t *testing.T) {
	want := []string{"cis-m365", "cisa-scuba", "recommended", "strict"}
	if got := baselines.Names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, n := range want {
		t.Run(n, func(t *testing.T) {
			b, err := baselines.Load(n)
			if err != nil {
				t.Fatal(err)
			}
			if b.Name != n || b.Source != n || b.Description == "" {
				t.Errorf("name %q source %q description %q", b.Name, b.Source, b.Description)
			}
			if b.SharePoint.MaxSharingLevel == nil || b.Entra.MaxGuestAccess == nil {
				t.Errorf("pack sets no tenant sharing or guest access ceiling")
			}
		})
	}
}

func TestPackSemantics(t *testing.T) {
	scuba, err := baselines.Load("cisa-scuba")
	if err != nil {
		t.Fatal(err)
	}
	// SCuBA 1.1: existing guests at most; 1.3: allow list; 3.1: 30 days; 8.2.
	if *scuba.SharePoint.MaxSharingLevel != baselines.LevelExistingGuests ||
		*scuba.SharePoint.DomainRestriction.Mode != baselines.ModeAllowList ||
		*scuba.SharePoint.AnyoneLinks.MaxExpiryDays != 30 ||
		*scuba.SharePoint.MaxVerificationCodeReauthDays != 30 ||
		*scuba.Entra.MaxInviteFrom != baselines.InviteAdminsAndGuestInviters ||
		*scuba.Entra.InvitationDomains.Mode != baselines.ModeAllowList {
		t.Errorf("cisa-scuba does not encode the SCuBA values: %+v", scuba.SharePoint)
	}
	strict, err := baselines.Load("strict")
	if err != nil {
		t.Fatal(err)
	}
	if *strict.SharePoint.MaxSharingLevel != baselines.LevelDisabled || *strict.Entra.MaxInviteFrom != baselines.InviteNone {
		t.Errorf("strict shares outside the organisation")
	}
}

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExtendsMergesDeep(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "base.yaml", "extends: recommended\nname: org-base\nguests:\n  stale_after_days: 60\n")
	p := write(t, dir, "team.yaml", `extends: base.yaml
sharepoint:
  anyone_links:
    allowed: true
  domain_restriction:
    allowed: [northwindtraders.com]
exchange:
  organization_relationships:
    allowed:
      - domain: "*.northwindtraders.com"
        max_free_busy: limited_details
exceptions:
  - id: EX-1
    rule: sites.sharing_level
    object: "site:*"
    accepted: anyone
    reason: Press kit
    owner: it@contoso.com
    expires: 2026-12-31
`)
	b, err := baselines.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "team" {
		t.Errorf("derived baseline inherited name %q", b.Name)
	}
	if want := []string{p, filepath.Join(dir, "base.yaml"), "recommended"}; !reflect.DeepEqual(b.Chain, want) {
		t.Errorf("chain %v, want %v", b.Chain, want)
	}
	a := b.SharePoint.AnyoneLinks
	// Overridden key, and siblings kept from the parent (deep merge).
	if !*a.Allowed || *a.MaxExpiryDays != 7 || !*a.ViewOnly {
		t.Errorf("anyone_links not deep-merged: allowed=%v max=%v view=%v", *a.Allowed, *a.MaxExpiryDays, *a.ViewOnly)
	}
	if *b.Guests.StaleAfterDays != 60 || *b.Guests.PendingMaxDays != 30 {
		t.Errorf("guests: stale %d pending %d", *b.Guests.StaleAfterDays, *b.Guests.PendingMaxDays)
	}
	if got := *b.SharePoint.DomainRestriction.Allowed; !reflect.DeepEqual(got, []string{"northwindtraders.com"}) {
		t.Errorf("lists replace rather than merge: got %v", got)
	}
	if len(b.SharePoint.DomainRestriction.MustBlock) != 5 {
		t.Errorf("must_block lost: %v", b.SharePoint.DomainRestriction.MustBlock)
	}
	if got := b.Exceptions[0].ExpiresAt; !got.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date expiry should run through the day, got %v", got)
	}
	// The resolved YAML must load back to the same baseline.
	y, err := b.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(y), "extends") {
		t.Errorf("resolved YAML still has extends:\n%s", y)
	}
	again, err := baselines.Parse(y, filepath.Join(dir, "shown.yaml"))
	if err != nil {
		t.Fatalf("resolved YAML does not load: %v\n%s", err, y)
	}
	if !reflect.DeepEqual(again.SharePoint, b.SharePoint) || !reflect.DeepEqual(again.Exceptions, b.Exceptions) || again.Name != b.Name {
		t.Errorf("resolved YAML does not round-trip:\n%s", y)
	}
}

func TestNullOverrideSilences(t *testing.T) {
	b, err := baselines.Parse([]byte("extends: recommended\nsharepoint:\n  max_sharing_level: null\n"), "relax.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if b.SharePoint.MaxSharingLevel != nil || b.SharePoint.OneDriveMaxSharingLevel == nil {
		t.Errorf("null should silence only that key")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.yaml", "extends: b.yaml\n")
	write(t, dir, "b.yaml", "extends: c.yaml\n")
	write(t, dir, "c.yaml", "extends: a.yaml\n")
	write(t, dir, "self.yaml", "extends: self.yaml\n")
	write(t, dir, "badparent.yaml", "sharepoint:\n  max_sharing_level: everyone\n")
	write(t, dir, "child.yaml", "extends: badparent.yaml\n")
	tests := []struct {
		name string
		doc  string // parsed as bad.yaml in dir; empty means load file
		file string
		want []string
		is   error
	}{
		{name: "malformed YAML", doc: "sharepoint: [\n", want: []string{"bad.yaml", "malformed YAML"}},
		{name: "not a mapping", doc: "- a\n- b\n", want: []string{"bad.yaml", "malformed YAML"}},
		{name: "unknown top-level key", doc: "sharepiont: {}\n", want: []string{"bad.yaml: sharepiont: unknown key", "expected one of name, description, extends, sharepoint"}},
		{name: "unknown nested key", doc: "sharepoint:\n  anyone_links:\n    max_days: 3\n", want: []string{"sharepoint.anyone_links.max_days: unknown key", "max_expiry_days"}},
		{name: "unknown key in list item", doc: "sites:\n  by_url:\n    - {url: '*', max_sharing_level: anyone, extra: 1}\n", want: []string{"sites.by_url[0].extra: unknown key"}},
		{name: "string for number", doc: "guests:\n  stale_after_days: \"90\"\n", want: []string{"guests.stale_after_days", `got "90"`, "expected a whole number"}},
		{name: "fraction for number", doc: "guests:\n  stale_after_days: 90.5\n", want: []string{"guests.stale_after_days", "90.5", "whole number"}},
		{name: "string for bool", doc: "guests:\n  sponsor_required: \"yes\"\n", want: []string{"guests.sponsor_required", "true or false"}},
		{name: "scalar for section", doc: "entra: strict\n", want: []string{"bad.yaml: entra", "map"}},
		{name: "bad sharing level", doc: "sharepoint:\n  max_sharing_level: everyone\n", want: []string{"sharepoint.max_sharing_level", `got "everyone"`, "disabled, existing_guests, new_and_existing_guests, anyone"}},
		{name: "bad mode", doc: "entra:\n  invitation_domains:\n    mode: allowlist\n", want: []string{"entra.invitation_domains.mode", "allow_list"}},
		{name: "bad calendar detail", doc: "exchange:\n  calendar_sharing:\n    max_all_domains_detail: full\n", want: []string{"max_all_domains_detail", "free_busy_simple"}},
		{name: "zero days", doc: "sharepoint:\n  max_guest_access_expiry_days: 0\n", want: []string{"sharepoint.max_guest_access_expiry_days", "from 1 to 3650"}},
		{name: "too many days", doc: "sharepoint:\n  anyone_links: {max_expiry_days: 100000}\n", want: []string{"sharepoint.anyone_links.max_expiry_days", "100000"}},
		{name: "bad glob", doc: "confidential:\n  url_patterns: ['https://x/sites/[ab]*']\n", want: []string{"confidential.url_patterns[0]", "character classes"}},
		{name: "URL as domain", doc: "sharepoint:\n  domain_restriction: {must_block: ['https://evil.com/']}\n", want: []string{"must_block[0]", "not a URL"}},
		{name: "forwarding allowed everywhere", doc: "exchange:\n  auto_forwarding: {allowed: false, allowed_domains: ['*']}\n", want: []string{"exchange.auto_forwarding.allowed_domains[0]", "a named domain"}},
		{name: "partner not a tenant id", doc: "entra:\n  cross_tenant: {approved_partners: [contoso.com]}\n", want: []string{"entra.cross_tenant.approved_partners[0]", "contoso.com", "a tenant id"}},
		{name: "allowed and must_block overlap", doc: "entra:\n  invitation_domains: {must_block: [gmail.com], allowed: [gmail.com]}\n", want: []string{"entra.invitation_domains.allowed", "gmail.com"}},
		{name: "by_url without level", doc: "sites:\n  by_url: [{url: '*'}]\n", want: []string{"sites.by_url[0].max_sharing_level"}},
		{name: "bad expiry", doc: "exceptions:\n  - {id: a, rule: r, object: '*', accepted: x, reason: r, owner: o, expires: next year}\n", want: []string{"exceptions[0].expires", "next year", "YYYY-MM-DD"}},
		{name: "exception without owner", doc: "exceptions:\n  - {id: a, rule: r, object: '*', accepted: x, reason: r, expires: 2026-01-01}\n", want: []string{"exceptions[0].owner"}},
		{name: "duplicate exception id", doc: "exceptions:\n  - {id: a, rule: r, object: '*', accepted: x, reason: r, owner: o, expires: 2026-01-01}\n  - {id: a, rule: r, object: '*', accepted: x, reason: r, owner: o, expires: 2026-01-01}\n", want: []string{"exceptions[1].id"}},
		{name: "exception object and name", doc: "exceptions:\n  - {id: a, rule: r, object: '*', name: 'Brand Kit.zip', accepted: x, reason: r, owner: o, expires: 2026-01-01}\n", want: []string{"exceptions[0].name", "not both"}},
		{name: "exception name padded", doc: "exceptions:\n  - {id: a, rule: r, name: ' Brand Kit.zip', accepted: x, reason: r, owner: o, expires: 2026-01-01}\n", want: []string{"exceptions[0].name", "whitespace"}},
		{name: "exception object padded", doc: "exceptions:\n  - {id: a, rule: r, object: 'Brand Kit* ', accepted: x, reason: r, owner: o, expires: 2026-01-01}\n", want: []string{"exceptions[0].object", "trailing"}},
		{name: "extends cycle", file: "a.yaml", want: []string{"extends cycle", "a.yaml -> ", "b.yaml -> ", "c.yaml -> ", "a.yaml"}, is: baselines.ErrCycle},
		{name: "extends itself", file: "self.yaml", is: baselines.ErrCycle, want: []string{"self.yaml"}},
		{name: "extends missing file", doc: "extends: nowhere.yaml\n", want: []string{"bad.yaml: extends", "nowhere.yaml"}, is: baselines.ErrNotFound},
		{name: "error names the parent file", file: "child.yaml", want: []string{"badparent.yaml: sharepoint.max_sharing_level"}},
		{name: "missing file", file: "absent.yaml", is: baselines.ErrNotFound, want: []string{"absent.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.file != "" {
				_, err = baselines.Load(filepath.Join(dir, tc.file))
			} else {
				_, err = baselines.Parse([]byte(tc.doc), filepath.Join(dir, "bad.yaml"))
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

func TestShippedCannotExtendPaths(t *testing.T) {
	if _, err := baselines.Load("../etc/passwd"); !errors.Is(err, baselines.ErrNotFound) {
		t.Errorf("got %v", err)
	}
	if _, ok := baselines.Shipped("recommended"); !ok {
		t.Errorf("Shipped(recommended) missing")
	}
	if _, ok := baselines.Shipped("../recommended"); ok {
		t.Errorf("Shipped accepted a path")
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything/at all", true},
		{"gmail.com", "GMAIL.com", true},
		{"*.contoso.com", "eu.contoso.com", true},
		{"*.contoso.com", "contoso.com", false},
		{"https://contoso.sharepoint.com/sites/HR*", "https://contoso.sharepoint.com/sites/HR-Payroll", true},
		{"https://contoso.sharepoint.com/sites/HR*", "https://contoso.sharepoint.com/sites/Finance", false},
		{"*/sites/*/Contracts", "https://x/sites/Legal/Contracts", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+"|"+tc.s, func(t *testing.T) {
			if got := baselines.Glob(tc.pattern, tc.s); got != tc.want {
				t.Errorf("Glob(%q, %q) = %v", tc.pattern, tc.s, got)
			}
		})
	}
}

func TestExceptionMatching(t *testing.T) {
	ex := baselines.Exception{Rule: "links.anyone_link", Object: "link:b!drive/*", ExpiresAt: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	if !ex.Matches("links.anyone_link", "link:b!drive/item/perm", "") || ex.Matches("links.anyone_link_edit", "link:b!drive/item/perm", "") {
		t.Errorf("rule or key matching wrong")
	}
	if ex.Lapsed(time.Date(2026, 5, 31, 23, 59, 0, 0, time.UTC)) || !ex.Lapsed(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("lapse boundary wrong")
	}
}

// FuzzLoad feeds arbitrary documents to the loader: it must never panic,
// every error must name the document, and whatever it accepts must render
// to YAML that loads back equal.
func FuzzLoad(f *testing.F) {
	for _, n := range baselines.Names() {
		b, _ := baselines.Shipped(n)
		f.Add(b)
	}
	f.Add([]byte("sharepoint:\n  max_sharing_level: anyone\nguests: {stale_after_days: 3}\n"))
	f.Add([]byte("exceptions:\n  - {id: a, rule: r, object: '*', accepted: x, reason: r, owner: o, expires: 2026-01-01}\n"))
	f.Add([]byte("extends: strict\nexchange: {organization_relationships: {allowed: [{domain: '*.x.com'}]}}\n"))
	f.Add([]byte("sharepoint: [\n"))
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a]\nentra: {invitation_domains: {must_block: *b, allowed: *b}}\n"))
	f.Add([]byte("exceptions: &e [{id: a}]\nsites: {by_url: *e}\n"))
	// One directory for every run: a relative extends: resolves in it, and
	// creating one per run would be most of the cost of a run.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, doc []byte) {
		if bytes.Contains(doc, []byte("/dev")) || bytes.Contains(doc, []byte("/proc")) {
			return // extends: /dev/stdin would wait for input
		}
		b, err := baselines.Parse(doc, filepath.Join(dir, "fuzz.yaml"))
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the document: %v", err)
			}
			return
		}
		y, err := b.YAML()
		if err != nil {
			t.Fatalf("accepted baseline does not render: %v", err)
		}
		again, err := baselines.Parse(y, filepath.Join(dir, "again.yaml"))
		if err != nil {
			t.Fatalf("rendered baseline does not load: %v\n%s", err, y)
		}
		if !reflect.DeepEqual(again.SharePoint, b.SharePoint) || !reflect.DeepEqual(again.Guests, b.Guests) ||
			!slices.EqualFunc(again.Exceptions, b.Exceptions, func(x, y baselines.Exception) bool { return x.ID == y.ID && x.ExpiresAt.Equal(y.ExpiresAt) }) {
			t.Fatalf("round trip changed the baseline:\n%s", y)
		}
	})
}

// FuzzGlob checks Glob against a regular expression built from the same
// pattern.
func FuzzGlob(f *testing.F) {
	f.Add("*.contoso.com", "eu.contoso.com")
	f.Add("https://x/sites/HR*", "https://x/sites/hr-payroll")
	f.Add("a*b?c*", "aXXbYcZZ")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 256 || !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			return
		}
		var re strings.Builder
		re.WriteString("(?is)^")
		for _, c := range pattern {
			switch c {
			case '*':
				re.WriteString(".*")
			case '?':
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		// Glob works on bytes and folds ASCII only; compare on ASCII input.
		for i := 0; i < len(pattern); i++ {
			if pattern[i] >= 0x80 {
				return
			}
		}
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return
			}
		}
		want := regexp.MustCompile(re.String()).MatchString(s)
		if got := baselines.Glob(pattern, s); got != want {
			t.Fatalf("Glob(%q, %q) = %v, regexp says %v", pattern, s, got, want)
		}
	})
}

// TestDocExample keeps the commented example in docs/baselines.md loadable.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "baselines.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## A complete, commented example\n\n```yaml\n")
	if !ok {
		t.Fatal("example section not found")
	}
	example, _, _ := strings.Cut(rest, "```")
	b, err := baselines.Parse([]byte(example), filepath.Join("..", "docs", "example.yaml"))
	if err != nil {
		t.Fatalf("documented example does not load: %v", err)
	}
	if b.Name != "contoso" || len(b.Exceptions) != 1 || len(b.Sites.ByURL) != 2 || b.Exchange.OrganizationRelationships.Allowed == nil {
		t.Errorf("example loaded incompletely: %+v", b)
	}
}

// TestExceptionObjectsWithSpaces checks that an exception names objects as
// admins see them: a pattern with spaces, or an exact name or key.
func TestExceptionObjectsWithSpaces(t *testing.T) {
	b, err := baselines.Parse([]byte(`exceptions:
  - {id: kit, rule: links.anyone_link, object: '*/Brand Kit 2026.zip', accepted: Anyone link, reason: press, owner: comms, expires: 2099-01-01}
  - {id: pay, rule: links.anyone_link, name: 'https://fabrikam.sharepoint.com/sites/Finance /Payroll/Payroll 2026.xlsx', accepted: Anyone link, reason: r, owner: o, expires: 2099-01-01}
  - {id: key, rule: guests.pending, name: 'guest:G?1', accepted: pending, reason: r, owner: o, expires: 2099-01-01}
`), "spaces.yaml")
	if err != nil {
		t.Fatal(err)
	}
	kit, pay, key := &b.Exceptions[0], &b.Exceptions[1], &b.Exceptions[2]
	for _, c := range []struct {
		ex              *baselines.Exception
		rule, key, name string
		want            bool
	}{
		{kit, "links.anyone_link", "link:d/i/p", "https://fabrikam.sharepoint.com/sites/Marketing /Brand Kit 2026.zip", true},
		{kit, "links.anyone_link", "link:d/i/p", "https://fabrikam.sharepoint.com/sites/Marketing /Brand Kit 2025.zip", false},
		{pay, "links.anyone_link", "link:d/i/p", "https://fabrikam.sharepoint.com/sites/Finance /Payroll/Payroll 2026.xlsx", true},
		{pay, "links.anyone_link", "link:d/i/p", "https://fabrikam.sharepoint.com/sites/finance /payroll/payroll 2026.xlsx", false},
		{pay, "links.anyone_edit", "link:d/i/p", "https://fabrikam.sharepoint.com/sites/Finance /Payroll/Payroll 2026.xlsx", false},
		{key, "guests.pending", "guest:G?1", "", true},
		{key, "guests.pending", "guest:GX1", "", false}, // exact: ? is no wildcard
	} {
		if got := c.ex.Matches(c.rule, c.key, c.name); got != c.want {
			t.Errorf("%s matches (%s, %s, %q) = %v, want %v", c.ex.ID, c.rule, c.key, c.name, got, c.want)
		}
	}
}
