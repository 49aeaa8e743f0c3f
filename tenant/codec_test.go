package tenant

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fullSnapshot sets every field of every section, so a round trip through
// the codec exercises the whole encoding.
func fullSnapshot() *Snapshot {
	t0 := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	later := t0.Add(30 * 24 * time.Hour)
	return &Snapshot{
		Schema:      SchemaV1,
		Tenant:      "contoso.onmicrosoft.com",
		TenantID:    "7f3c1f0e-0000-4000-8000-000000000001",
		CollectedAt: t0,
		Status: map[Section]SectionStatus{
			SectionSharePoint: {State: StateComplete, Calls: 2, RU: 4},
			SectionSites:      {State: StateComplete, Calls: 3},
			SectionLinks:      {State: StatePartial, Error: "drive b!x: 429 after 5 retries", Calls: 40, RU: 200},
			SectionGuests:     {State: StateComplete},
			SectionEntra:      {State: StateComplete},
			SectionGroups:     {State: StateFailed, Error: "403 Forbidden"},
			SectionExchange:   {State: StateComplete},
		},
		SharePoint: &SharePointSettings{
			SharingCapability:         SharingNewAndExistingGuests,
			OneDriveSharingCapability: SharingExistingGuests,
			DomainRestrictionMode:     DomainModeBlockList,
			AllowedDomains:            []string{},
			BlockedDomains:            []string{"gmail.com", "outlook.com"},
			DefaultLinkScope:          LinkScopeOrganization,
			DefaultLinkPermission:     LinkTypeView,
			AnyoneLinkExpirationDays:  Ptr(7),
			FileAnyoneLinkType:        LinkTypeView,
			FolderAnyoneLinkType:      LinkTypeView,
			ResharingByGuests:         Ptr(false),
			RequireAccountMatch:       Ptr(true),
			GuestExpirationRequired:   Ptr(true),
			GuestExpirationDays:       Ptr(60),
			EmailAttestationRequired:  Ptr(true),
			EmailAttestationDays:      Ptr(30),
		},
		Sites: []Site{{
			ID:                    "1b2c3d4e-0000-4000-8000-000000000010",
			URL:                   "https://contoso.sharepoint.com/sites/finance",
			Title:                 "Finance",
			Template:              "GROUP#0",
			GroupID:               "g-finance",
			SharingCapability:     SharingExistingGuests,
			DomainRestrictionMode: DomainModeAllowList,
			AllowedDomains:        []string{"fabrikam.com"},
			BlockedDomains:        []string{"example.org"},
			SensitivityLabelID:    "label-confidential",
			SensitivityLabel:      "Confidential",
			LockState:             "Unlock",
		}, {
			ID:       "1b2c3d4e-0000-4000-8000-000000000011",
			URL:      "https://contoso-my.sharepoint.com/personal/adele_contoso_com",
			Personal: true,
		}},
		Links: []Link{{
			DriveID:          "b!drive1",
			ItemID:           "01ITEM",
			PermissionID:     "perm1",
			SiteID:           "1b2c3d4e-0000-4000-8000-000000000010",
			SiteURL:          "https://contoso.sharepoint.com/sites/finance",
			Library:          "Documents",
			ItemPath:         "/Budget/2025.xlsx",
			Folder:           true,
			Scope:            LinkScopeAnonymous,
			Type:             LinkTypeView,
			Roles:            []string{"read"},
			Expires:          &later,
			HasPassword:      Ptr(false),
			PreventsDownload: Ptr(true),
			GrantedTo:        []string{"someone@fabrikam.com"},
			WebURL:           "https://contoso.sharepoint.com/:x:/s/finance/abc",
		}},
		Guests: []Guest{{
			ID:             "guest-1",
			UPN:            "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com",
			Mail:           "bob@fabrikam.com",
			DisplayName:    "Bob",
			Domain:         "fabrikam.com",
			State:          GuestAccepted,
			StateChangedAt: &t0,
			CreatedAt:      &t0,
			AccountEnabled: Ptr(true),
			SignIn:         &SignIn{Last: &t0, LastSuccessful: &t0},
			Sponsors:       []Ref{{ID: "u1", DisplayName: "Adele", Type: "user"}},
			MemberOf:       []Ref{},
		}},
		Entra: &EntraSettings{
			AllowInvitesFrom: InviteAdminsAndGuestInviters,
			GuestUserRoleID:  GuestRoleRestricted,
			Invitations:      &DomainList{Mode: DomainModeAllowList, Allowed: []string{"fabrikam.com"}, Blocked: []string{}},
			CrossTenantDefault: &CrossTenantDefault{
				B2BCollaborationInbound:  "allowed",
				B2BCollaborationOutbound: "allowed",
				B2BDirectConnectInbound:  "blocked",
				B2BDirectConnectOutbound: "blocked",
				InboundTrustMFA:          Ptr(false),
			},
		},
		Groups: &GroupsSettings{
			Configured:                true,
			AllowToAddGuests:          Ptr(false),
			AllowGuestsToAccessGroups: Ptr(true),
			AllowGuestsToBeGroupOwner: Ptr(false),
			Groups: []Group{{
				ID:               "g-finance",
				DisplayName:      "Finance",
				Mail:             "finance@contoso.com",
				Visibility:       "Private",
				AllowToAddGuests: Ptr(false),
				Labels:           []Label{{ID: "label-confidential", DisplayName: "Confidential"}},
			}},
		},
		Exchange: &ExchangeSettings{
			SharingPolicies: []SharingPolicy{{
				Name:    "Default Sharing Policy",
				Enabled: Ptr(true),
				Default: true,
				Domains: []SharingDomain{{Domain: "*", Actions: []string{CalendarFreeBusySimple}}},
			}},
			OrganizationRelationships: []OrgRelationship{{
				Name:                  "Fabrikam",
				DomainNames:           []string{"fabrikam.com"},
				Enabled:               Ptr(true),
				FreeBusyAccessEnabled: Ptr(true),
				FreeBusyAccessLevel:   FreeBusyAvailabilityOnly,
				FreeBusyAccessScope:   "",
				MailTipsAccessEnabled: Ptr(false),
				MailTipsAccessLevel:   "None",
			}},
		},
	}
}

func encodeString(t *testing.T, s *Snapshot) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, s); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return buf.String()
}

func TestRoundTrip(t *testing.T) {
	want := fullSnapshot()
	data := encodeString(t, want)
	got, err := Decode(strings.NewReader(data), "full.json")
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the snapshot:\n got %+v\nwant %+v", got, want)
	}
	if again := encodeString(t, got); again != data {
		t.Errorf("re-encoding is not byte-identical:\n%s\n---\n%s", again, data)
	}
}

func TestEncodeSetsSchema(t *testing.T) {
	s := &Snapshot{Tenant: "t"}
	data := encodeString(t, s)
	if !strings.Contains(data, `"schema": "sharedrift.snapshot/v1"`) {
		t.Errorf("encoded snapshot lacks the schema tag:\n%s", data)
	}
	if !strings.HasSuffix(data, "}\n") {
		t.Errorf("encoded snapshot should end with a newline")
	}
}

// minimal is the smallest valid snapshot; error cases below mutate it.
const minimal = `{"schema":"sharedrift.snapshot/v1","tenant":"t","collectedAt":"2025-03-01T00:00:00Z","status":{}}`

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		// want lists substrings the error must contain: the file name plus
		// whatever identifies the bad key or value.
		want []string
		is   error
	}{
		{name: "empty", input: ``, want: []string{"bad.json"}},
		{name: "malformed", input: `{"schema": "sharedrift.snapshot/v1",`, want: []string{"bad.json"}},
		{name: "syntax error names offset", input: `{"schema" "x"}`, want: []string{"bad.json", "malformed JSON at byte"}},
		{name: "not an object", input: `[]`, want: []string{"bad.json"}},
		{name: "null", input: `null`, want: []string{"bad.json", "schema"}, is: ErrSchema},
		{name: "missing schema", input: `{"tenant":"t"}`, want: []string{"bad.json", "schema", `""`}, is: ErrSchema},
		{name: "unknown schema version", input: strings.Replace(minimal, "snapshot/v1", "snapshot/v2", 1),
			want: []string{"bad.json", "schema", "sharedrift.snapshot/v2", "sharedrift.snapshot/v1"}, is: ErrSchema},
		{name: "unknown top-level key", input: strings.Replace(minimal, `"tenant"`, `"tenantName":"x","tenant"`, 1),
			want: []string{"bad.json", "tenantName"}},
		{name: "unknown nested key", input: strings.Replace(minimal, `"status":{}`, `"status":{},"sharepoint":{"sharingLevel":"x"}`, 1),
			want: []string{"bad.json", "sharingLevel"}},
		{name: "wrong type names field path", input: strings.Replace(minimal, `"status":{}`, `"status":{},"sharepoint":{"guestExpirationDays":"sixty"}`, 1),
			want: []string{"bad.json", "sharepoint.guestExpirationDays", "string", "int"}},
		{name: "wrong type in list", input: strings.Replace(minimal, `"status":{}`, `"status":{},"sites":[{"id":"s","url":"u","personal":"yes"}]`, 1),
			want: []string{"bad.json", "personal", "bool"}},
		{name: "bad time", input: strings.Replace(minimal, "2025-03-01T00:00:00Z", "yesterday", 1),
			want: []string{"bad.json", "yesterday"}},
		{name: "unknown section", input: strings.Replace(minimal, `"status":{}`, `"status":{"onenote":{"state":"complete"}}`, 1),
			want: []string{"bad.json", "status.onenote", "unknown section"}},
		{name: "bad state", input: strings.Replace(minimal, `"status":{}`, `"status":{"sites":{"state":"done"}}`, 1),
			want: []string{"bad.json", "status.sites.state", `"done"`, "complete, partial or failed"}},
		{name: "empty state", input: strings.Replace(minimal, `"status":{}`, `"status":{"sites":{}}`, 1),
			want: []string{"bad.json", "status.sites.state"}},
		{name: "trailing data", input: minimal + ` {}`, want: []string{"bad.json", "trailing data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Decode(strings.NewReader(tt.input), "bad.json")
			if err == nil {
				t.Fatalf("Decode succeeded, want error; got %+v", s)
			}
			if s != nil {
				t.Errorf("Decode returned a snapshot along with error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "bad.json: ") {
				t.Errorf("error %q does not start with the file name", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

func TestDecodeTrailingWhitespaceOK(t *testing.T) {
	if _, err := Decode(strings.NewReader(minimal+"\n\n  \t"), "ok.json"); err != nil {
		t.Fatalf("Decode: %v", err)
	}
}

// TestUnknownEnumValuesKept checks that values Microsoft may add later
// survive decoding and encoding verbatim and rank as unknown.
func TestUnknownEnumValuesKept(t *testing.T) {
	input := strings.Replace(minimal, `"status":{}`, `"status":{"sharepoint":{"state":"complete"},"links":{"state":"complete"},"entra":{"state":"complete"}},
		"sharepoint":{"sharingCapability":"externalUserSharingWithVerifiedPartners","defaultLinkScope":"peopleInSensitivityScope","domainRestrictionMode":"trustedOnly","allowedDomains":null,"blockedDomains":null},
		"links":[{"driveId":"d","itemId":"i","permissionId":"p","scope":"tenantAndPartners","type":"hologram"}],
		"entra":{"allowInvitesFrom":"nobodyOnTuesdays","guestUserRoleId":"00000000-0000-0000-0000-000000000000"}`, 1)
	s, err := Decode(strings.NewReader(input), "future.json")
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	checks := []struct {
		name string
		got  string
		want string
		rank func() (int, bool)
	}{
		{"sharingCapability", string(s.SharePoint.SharingCapability), "externalUserSharingWithVerifiedPartners", s.SharePoint.SharingCapability.Rank},
		{"defaultLinkScope", string(s.SharePoint.DefaultLinkScope), "peopleInSensitivityScope", s.SharePoint.DefaultLinkScope.Rank},
		{"domainRestrictionMode", string(s.SharePoint.DomainRestrictionMode), "trustedOnly", nil},
		{"link scope", string(s.Links[0].Scope), "tenantAndPartners", s.Links[0].Scope.Rank},
		{"link type", string(s.Links[0].Type), "hologram", s.Links[0].Type.Rank},
		{"allowInvitesFrom", string(s.Entra.AllowInvitesFrom), "nobodyOnTuesdays", s.Entra.AllowInvitesFrom.Rank},
		{"guest access", string(s.Entra.GuestAccess()), "", s.Entra.GuestAccess().Rank},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %q, want %q kept verbatim", c.got, c.want)
			}
			if c.rank != nil {
				if _, ok := c.rank(); ok {
					t.Errorf("Rank of %q reports ok; unknown values must not rank", c.got)
				}
			}
		})
	}
	out := encodeString(t, s)
	for _, v := range []string{"externalUserSharingWithVerifiedPartners", "peopleInSensitivityScope", "trustedOnly", "tenantAndPartners", `"hologram"`, "nobodyOnTuesdays"} {
		if !strings.Contains(out, v) {
			t.Errorf("re-encoded snapshot lost %s:\n%s", v, out)
		}
	}
}

// TestMissingMeansUnknown checks that absent properties decode to nil, not
// to a zero value that would read as "disabled" or "no expiry".
func TestMissingMeansUnknown(t *testing.T) {
	input := strings.Replace(minimal, `"status":{}`, `"status":{"sharepoint":{"state":"complete"},"guests":{"state":"complete"}},
		"sharepoint":{"allowedDomains":[],"blockedDomains":[]},
		"guests":[{"id":"g1"},{"id":"g2","sponsors":[],"memberOf":[],"signIn":{}}]`, 1)
	s, err := Decode(strings.NewReader(input), "sparse.json")
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	sp := s.SharePoint
	if sp.SharingCapability != "" || sp.AnyoneLinkExpirationDays != nil || sp.ResharingByGuests != nil ||
		sp.GuestExpirationDays != nil || sp.EmailAttestationRequired != nil {
		t.Errorf("absent SharePoint properties should stay unset, got %+v", sp)
	}
	if _, ok := sp.SharingCapability.Rank(); ok {
		t.Errorf("empty sharing capability must not rank")
	}
	g1, g2 := s.Guests[0], s.Guests[1]
	if g1.Sponsors != nil || g1.MemberOf != nil || g1.SignIn != nil {
		t.Errorf("guest without sponsors/memberOf/signIn should have nil fields (not collected), got %+v", g1)
	}
	if g2.Sponsors == nil || len(g2.Sponsors) != 0 || g2.MemberOf == nil || len(g2.MemberOf) != 0 {
		t.Errorf("guest with [] sponsors/memberOf should have empty non-nil slices (collected, none), got %+v", g2)
	}
	if g2.SignIn == nil || g2.SignIn.Last != nil {
		t.Errorf("guest with signIn {} should have sign-in data with a nil Last (never signed in), got %+v", g2.SignIn)
	}
	if s.Entra != nil || s.Groups != nil || s.Exchange != nil {
		t.Errorf("uncollected sections should be nil")
	}
	// Collected-but-empty and not-collected must stay distinct after a round trip.
	out := encodeString(t, s)
	back, err := Decode(strings.NewReader(out), "again.json")
	if err != nil {
		t.Fatalf("Decode of re-encoded: %v", err)
	}
	if back.Guests[0].Sponsors != nil || back.Guests[1].Sponsors == nil {
		t.Errorf("nil vs empty sponsors not preserved: %q / %q", back.Guests[0].Sponsors, back.Guests[1].Sponsors)
	}
}

func TestComplete(t *testing.T) {
	s := fullSnapshot()
	tests := []struct {
		sec  Section
		want bool
	}{
		{SectionSharePoint, true},
		{SectionLinks, false},  // partial
		{SectionGroups, false}, // failed
	}
	for _, tt := range tests {
		t.Run(string(tt.sec), func(t *testing.T) {
			if got := s.Complete(tt.sec); got != tt.want {
				t.Errorf("Complete(%s) = %v, want %v", tt.sec, got, tt.want)
			}
		})
	}
	delete(s.Status, SectionSites)
	if s.Complete(SectionSites) {
		t.Errorf("a section without status must not count as complete")
	}
	var empty Snapshot
	if empty.Complete(SectionSharePoint) {
		t.Errorf("a snapshot without status map must not count as complete")
	}
}

func TestKeys(t *testing.T) {
	s := fullSnapshot()
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"sharepoint", s.SharePoint.Key(), "sharepoint:tenant"},
		{"site", s.Sites[0].Key(), "site:1b2c3d4e-0000-4000-8000-000000000010"},
		{"link", s.Links[0].Key(), "link:b!drive1/01ITEM/perm1"},
		{"guest", s.Guests[0].Key(), "guest:guest-1"},
		{"groups", s.Groups.Key(), "groups:tenant"},
		{"group", s.Groups.Groups[0].Key(), "group:g-finance"},
		{"sharing policy", s.Exchange.SharingPolicies[0].Key(), "sharingpolicy:Default Sharing Policy"},
		{"org relationship", s.Exchange.OrganizationRelationships[0].Key(), "orgrel:Fabrikam"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("key = %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	base := Result{RuleID: "sp.sharing_level", ObjectKey: "sharepoint:tenant", Expected: "at most existing guests", Actual: "anyone", Outcome: Fail}
	fp := base.Fingerprint()
	if len(fp) != 32 {
		t.Fatalf("fingerprint %q should be 32 hex characters", fp)
	}
	same := base
	same.Actual = "new and existing guests"
	same.Message = "different wording"
	same.Severity = SeverityHigh
	same.Outcome = Pass
	if same.Fingerprint() != fp {
		t.Errorf("fingerprint must depend only on rule, object and expectation")
	}
	tests := []struct {
		name string
		mod  func(r *Result)
	}{
		{"rule", func(r *Result) { r.RuleID = "sp.other" }},
		{"object", func(r *Result) { r.ObjectKey = "site:x" }},
		{"expectation", func(r *Result) { r.Expected = "disabled" }},
		// The separator keeps "ab"+"c" and "a"+"bc" apart.
		{"boundary", func(r *Result) { r.RuleID += "s"; r.ObjectKey = r.ObjectKey[1:] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.mod(&r)
			if r.Fingerprint() == fp {
				t.Errorf("changing the %s must change the fingerprint", tt.name)
			}
		})
	}
}

type ranker interface{ Rank() (int, bool) }

func TestRanks(t *testing.T) {
	tests := []struct {
		name    string
		ordered []ranker
	}{
		{"sharing level", []ranker{SharingDisabled, SharingExistingGuests, SharingNewAndExistingGuests, SharingAnyone}},
		{"link scope", []ranker{LinkScopeUsers, LinkScopeOrganization, LinkScopeAnonymous}},
		{"link type", []ranker{LinkTypeNone, LinkTypeView, LinkTypeEdit}},
		{"invite from", []ranker{InviteNone, InviteAdminsAndGuestInviters, InviteAdminsInvitersMembers, InviteEveryone}},
		{"guest access", []ranker{GuestAccessRestricted, GuestAccessLimited, GuestAccessMember}},
		{"severity", []ranker{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev := -1
			for _, v := range tt.ordered {
				r, ok := v.Rank()
				if !ok {
					t.Fatalf("%v does not rank", v)
				}
				if r <= prev {
					t.Errorf("%v ranks %d, not above the previous %d", v, r, prev)
				}
				prev = r
			}
		})
	}
	funcs := []struct {
		name    string
		rank    func(string) (int, bool)
		ordered []string
	}{
		{"calendar detail", CalendarDetailRank, []string{CalendarFreeBusySimple, CalendarFreeBusyDetail, CalendarFreeBusyReviewer}},
		{"free/busy", FreeBusyRank, []string{FreeBusyNone, FreeBusyAvailabilityOnly, FreeBusyLimitedDetails}},
	}
	for _, tt := range funcs {
		t.Run(tt.name, func(t *testing.T) {
			prev := -1
			for _, v := range tt.ordered {
				r, ok := tt.rank(v)
				if !ok || r <= prev {
					t.Errorf("%s ranks (%d, %v) after %d", v, r, ok, prev)
				}
				prev = r
			}
			if _, ok := tt.rank("SomethingNew"); ok {
				t.Errorf("unknown value ranks")
			}
		})
	}
	if _, ok := CalendarDetailRank(ContactsSharing); ok {
		t.Errorf("contacts sharing is not a calendar detail level")
	}
}

func TestEqualRanks(t *testing.T) {
	pairs := []struct {
		name string
		a, b ranker
	}{
		{"existing access is as narrow as users", LinkScopeExisting, LinkScopeUsers},
		{"embed is view", LinkTypeEmbed, LinkTypeView},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			ra, _ := p.a.Rank()
			rb, _ := p.b.Rank()
			if ra != rb {
				t.Errorf("%v ranks %d, %v ranks %d", p.a, ra, p.b, rb)
			}
		})
	}
}

func TestSeverityAtLeast(t *testing.T) {
	tests := []struct {
		s, min Severity
		want   bool
	}{
		{SeverityCritical, SeverityHigh, true},
		{SeverityHigh, SeverityHigh, true},
		{SeverityMedium, SeverityHigh, false},
		{SeverityInfo, SeverityLow, false},
		{"", SeverityLow, false},
		{SeverityHigh, "urgent", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.s)+">="+string(tt.min), func(t *testing.T) {
			if got := tt.s.AtLeast(tt.min); got != tt.want {
				t.Errorf("%q.AtLeast(%q) = %v, want %v", tt.s, tt.min, got, tt.want)
			}
		})
	}
}

func TestGuestAccessFromRole(t *testing.T) {
	tests := map[string]GuestAccess{
		GuestRoleMember:     GuestAccessMember,
		GuestRoleLimited:    GuestAccessLimited,
		GuestRoleRestricted: GuestAccessRestricted,
		"":                  "",
		"not-a-role":        "",
	}
	for id, want := range tests {
		t.Run(id, func(t *testing.T) {
			if got := GuestAccessFromRole(id); got != want {
				t.Errorf("GuestAccessFromRole(%q) = %q, want %q", id, got, want)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := ReadFile(good); err != nil || s.Tenant != "t" {
		t.Fatalf("ReadFile(good) = %+v, %v", s, err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"schema":"nope"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("ReadFile(bad) error %v should name %s", err, bad)
	}
	missing := filepath.Join(dir, "missing.json")
	_, err := ReadFile(missing)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("ReadFile(missing) error %v should wrap ErrNotExist and name the file", err)
	}
}

// TestFixtures decodes every shipped snapshot fixture strictly.
func TestFixtures(t *testing.T) {
	paths, err := filepath.Glob("../testdata/snapshots/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			s, err := ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if s.Tenant == "" || s.CollectedAt.IsZero() {
				t.Errorf("fixture lacks tenant or collectedAt: %q %v", s.Tenant, s.CollectedAt)
			}
		})
	}
}
