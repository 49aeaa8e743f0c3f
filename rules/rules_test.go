package rules_test

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/tenant"
)

type (
	snapFn func(*tenant.Snapshot)
	baseFn func(*baselines.Baseline)
)

// ruleCase is one scenario for one rule: a fixture, optional changes to the
// snapshot and to the recommended baseline, and the outcome it must give.
type ruleCase struct {
	name    string
	fixture string // "contoso" (default) or "fabrikam"
	snap    snapFn
	base    baseFn
	want    tenant.Outcome
}

// clone deep-copies a snapshot through its JSON encoding so that cases
// cannot leak changes into each other.
func clone(t *testing.T, s *tenant.Snapshot) *tenant.Snapshot {
	t.Helper()
	var buf bytes.Buffer
	if err := tenant.Encode(&buf, s); err != nil {
		t.Fatal(err)
	}
	c, err := tenant.Decode(&buf, "clone")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var fixtureCache = map[string]*tenant.Snapshot{}

func fixture(t *testing.T, name string) *tenant.Snapshot {
	t.Helper()
	if name == "" {
		name = "contoso"
	}
	if fixtureCache[name] == nil {
		fixtureCache[name] = loadFixture(t, name)
	}
	return clone(t, fixtureCache[name])
}

func site(s *tenant.Snapshot, suffix string) *tenant.Site {
	for i := range s.Sites {
		if strings.HasSuffix(s.Sites[i].URL, suffix) {
			return &s.Sites[i]
		}
	}
	panic("no site " + suffix)
}

func anyoneOn(s *tenant.Snapshot, siteSuffix, library string, typ tenant.LinkType, expires *time.Time) {
	st := site(s, siteSuffix)
	s.Links = append(s.Links, tenant.Link{
		DriveID: "b!test-" + st.ID[:8], ItemID: "01TESTITEM", PermissionID: "anon-" + string(typ),
		SiteID: st.ID, SiteURL: st.URL, Library: library, ItemPath: "/Shared/test.docx",
		Scope: tenant.LinkScopeAnonymous, Type: typ, Expires: expires,
	})
}

// peopleOn adds a link for specific people on a site, given to recipients
// (outside the organization when external).
func peopleOn(s *tenant.Snapshot, siteSuffix string, external bool, recipients ...string) {
	st := site(s, siteSuffix)
	l := tenant.Link{
		DriveID: "b!test-" + st.ID[:8], ItemID: "01TESTITEM", PermissionID: "users-test",
		SiteID: st.ID, SiteURL: st.URL, Library: "Shared Documents", ItemPath: "/Shared/people.docx",
		Scope: tenant.LinkScopeUsers, Type: tenant.LinkTypeView, GrantedTo: recipients,
	}
	for _, r := range recipients {
		if _, d, ok := strings.Cut(r, "@"); ok && !slices.Contains(l.RecipientDomains, d) {
			l.RecipientDomains = append(l.RecipientDomains, d)
		}
	}
	if external {
		l.ExternalRecipients = recipients
	}
	s.Links = append(s.Links, l)
}

// grantOn is peopleOn for a direct grant (an invitation, no link).
func grantOn(s *tenant.Snapshot, siteSuffix string, external bool, recipients ...string) {
	peopleOn(s, siteSuffix, external, recipients...)
	l := &s.Links[len(s.Links)-1]
	l.Direct, l.PermissionID = true, "aTowIy5mfGdyYW50"
}

func sharingPolicy(s *tenant.Snapshot) *tenant.SharingPolicy { return &s.Exchange.SharingPolicies[0] }

func days(s *tenant.Snapshot, n int) *time.Time { t := s.CollectedAt.AddDate(0, 0, n); return &t }

func tenantAnyone(s *tenant.Snapshot) {
	s.SharePoint.SharingCapability = tenant.SharingAnyone
	s.SharePoint.AnyoneLinkExpirationDays = tenant.Ptr(7)
}

func lvl(l baselines.SharingLevel) *baselines.SharingLevel { return &l }

var cases = map[string][]ruleCase{
	"sharepoint.sharing_level": {
		{name: "within ceiling", want: tenant.Pass},
		{name: "anyone above new and existing guests", fixture: "fabrikam", want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.SharePoint.MaxSharingLevel = nil }, want: tenant.NotApplicable},
		{name: "level missing", snap: func(s *tenant.Snapshot) { s.SharePoint.SharingCapability = "" }, want: tenant.Unknown},
		{name: "future level kept verbatim", snap: func(s *tenant.Snapshot) { s.SharePoint.SharingCapability = "somethingNew" }, want: tenant.Unknown},
		{name: "settings missing", snap: func(s *tenant.Snapshot) { s.SharePoint = nil }, want: tenant.Unknown},
	},
	"sharepoint.onedrive_sharing_level": {
		{name: "within ceiling", want: tenant.Pass},
		{name: "anyone", snap: func(s *tenant.Snapshot) { s.SharePoint.OneDriveSharingCapability = tenant.SharingAnyone }, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.SharePoint.OneDriveMaxSharingLevel = nil }, want: tenant.NotApplicable},
		{name: "level missing", snap: func(s *tenant.Snapshot) { s.SharePoint.OneDriveSharingCapability = "" }, want: tenant.Unknown},
	},
	"sharepoint.domain_restriction_mode": {
		{name: "block list as required", want: tenant.Pass},
		{name: "no restriction", fixture: "fabrikam", want: tenant.Fail},
		// An allow list is narrower than a block list: it meets the
		// requirement while it keeps every must-block domain out.
		{name: "allow list keeping must-block domains out", snap: func(s *tenant.Snapshot) {
			s.SharePoint.DomainRestrictionMode, s.SharePoint.AllowedDomains = tenant.DomainModeAllowList, []string{"northwindtraders.com"}
		}, want: tenant.Pass},
		{name: "allow list letting a must-block domain in", snap: func(s *tenant.Snapshot) {
			s.SharePoint.DomainRestrictionMode, s.SharePoint.AllowedDomains = tenant.DomainModeAllowList, []string{"northwindtraders.com", "MAILINATOR.com"}
		}, want: tenant.Fail},
		{name: "block list where allow list required", base: func(b *baselines.Baseline) {
			b.SharePoint.DomainRestriction.Mode = tenant.Ptr(baselines.DomainMode("allow_list"))
		}, want: tenant.Fail},
		{name: "mode not recognised", snap: func(s *tenant.Snapshot) { s.SharePoint.DomainRestrictionMode = "denyEverything" }, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.SharePoint.DomainRestriction.Mode = nil }, want: tenant.NotApplicable},
		{name: "sharing disabled", snap: func(s *tenant.Snapshot) { s.SharePoint.SharingCapability = tenant.SharingDisabled }, want: tenant.NotApplicable},
		{name: "mode missing", snap: func(s *tenant.Snapshot) { s.SharePoint.DomainRestrictionMode = "" }, want: tenant.Unknown},
		{name: "sharing level missing", snap: func(s *tenant.Snapshot) { s.SharePoint.SharingCapability = "" }, want: tenant.Unknown},
		{name: "sharing level not recognised", snap: func(s *tenant.Snapshot) { s.SharePoint.SharingCapability = "superDuperSharing" }, want: tenant.Unknown},
	},
	"sharepoint.blocked_domains": {
		{name: "all on block list", want: tenant.Pass},
		{name: "removed from block list", snap: func(s *tenant.Snapshot) { s.SharePoint.BlockedDomains = s.SharePoint.BlockedDomains[1:] }, want: tenant.Fail},
		{name: "allow list without them", snap: func(s *tenant.Snapshot) {
			s.SharePoint.DomainRestrictionMode, s.SharePoint.AllowedDomains = tenant.DomainModeAllowList, []string{"northwindtraders.com"}
		}, want: tenant.Pass},
		{name: "on the allow list", snap: func(s *tenant.Snapshot) {
			s.SharePoint.DomainRestrictionMode, s.SharePoint.AllowedDomains = tenant.DomainModeAllowList, []string{"mailinator.com"}
		}, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.SharePoint.DomainRestriction.MustBlock = nil }, want: tenant.NotApplicable},
		{name: "mode missing", snap: func(s *tenant.Snapshot) { s.SharePoint.DomainRestrictionMode = "" }, want: tenant.Unknown},
	},
	"sharepoint.allowed_domains": {
		{name: "empty allow list", want: tenant.Pass},
		{name: "approved by glob", snap: func(s *tenant.Snapshot) { s.SharePoint.AllowedDomains = []string{"eu.adatum.com"} },
			base: func(b *baselines.Baseline) { b.SharePoint.DomainRestriction.Allowed = &[]string{"*.adatum.com"} }, want: tenant.Pass},
		{name: "unapproved domain added", snap: func(s *tenant.Snapshot) { s.SharePoint.AllowedDomains = []string{"gmail.com"} }, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.SharePoint.DomainRestriction.Allowed = nil }, want: tenant.NotApplicable},
		{name: "settings missing", snap: func(s *tenant.Snapshot) { s.SharePoint = nil }, want: tenant.Unknown},
	},
	"sharepoint.default_link_scope": {
		{name: "specific people", want: tenant.Pass},
		{name: "organization", snap: func(s *tenant.Snapshot) { s.SharePoint.DefaultLinkScope = tenant.LinkScopeOrganization }, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.SharePoint.MaxDefaultLinkScope = nil }, want: tenant.NotApplicable},
		{name: "missing", snap: func(s *tenant.Snapshot) { s.SharePoint.DefaultLinkScope = "" }, want: tenant.Unknown},
	},
	"sharepoint.default_link_permission": {
		{name: "view", want: tenant.Pass},
		{name: "edit", snap: func(s *tenant.Snapshot) { s.SharePoint.DefaultLinkPermission = tenant.LinkTypeEdit }, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.SharePoint.MaxDefaultLinkPerm = nil }, want: tenant.NotApplicable},
		{name: "missing", snap: func(s *tenant.Snapshot) { s.SharePoint.DefaultLinkPermission = "" }, want: tenant.Unknown},
	},
	"sharepoint.anyone_link_expiry": {
		{name: "anyone with 7 days", snap: tenantAnyone, want: tenant.Pass},
		{name: "anyone with 30 days", snap: func(s *tenant.Snapshot) { tenantAnyone(s); s.SharePoint.AnyoneLinkExpirationDays = tenant.Ptr(30) }, want: tenant.Fail},
		{name: "anyone without expiry", snap: func(s *tenant.Snapshot) { tenantAnyone(s); s.SharePoint.AnyoneLinkExpirationDays = tenant.Ptr(-1) }, want: tenant.Fail},
		{name: "anyone not enabled", want: tenant.NotApplicable},
		{name: "baseline silent", snap: tenantAnyone, base: func(b *baselines.Baseline) { b.SharePoint.AnyoneLinks = nil }, want: tenant.NotApplicable},
		{name: "days missing", snap: func(s *tenant.Snapshot) { tenantAnyone(s); s.SharePoint.AnyoneLinkExpirationDays = nil }, want: tenant.Unknown},
		{name: "sharing level not recognised", snap: func(s *tenant.Snapshot) {
			tenantAnyone(s)
			s.SharePoint.SharingCapability = "superDuperSharing"
		}, want: tenant.Unknown},
	},
	"sharepoint.anyone_link_permission": {
		{name: "view only", snap: tenantAnyone, want: tenant.Pass},
		{name: "folders edit", snap: func(s *tenant.Snapshot) { tenantAnyone(s); s.SharePoint.FolderAnyoneLinkType = tenant.LinkTypeEdit }, want: tenant.Fail},
		{name: "anyone not enabled", want: tenant.NotApplicable},
		{name: "baseline allows edit", snap: tenantAnyone, base: func(b *baselines.Baseline) { b.SharePoint.AnyoneLinks.ViewOnly = tenant.Ptr(false) }, want: tenant.NotApplicable},
		{name: "file type missing", snap: func(s *tenant.Snapshot) { tenantAnyone(s); s.SharePoint.FileAnyoneLinkType = "" }, want: tenant.Unknown},
		{name: "file type not recognised fails", snap: func(s *tenant.Snapshot) { tenantAnyone(s); s.SharePoint.FileAnyoneLinkType = "7" }, want: tenant.Fail},
	},
	"sharepoint.verification_code_reauth": {
		{name: "30 days", want: tenant.Pass},
		{name: "45 days", snap: func(s *tenant.Snapshot) { s.SharePoint.EmailAttestationDays = tenant.Ptr(45) }, want: tenant.Fail},
		{name: "not required", snap: func(s *tenant.Snapshot) { s.SharePoint.EmailAttestationRequired = tenant.Ptr(false) }, want: tenant.Fail},
		{name: "sharing disabled", snap: func(s *tenant.Snapshot) { s.SharePoint.SharingCapability = tenant.SharingDisabled }, want: tenant.NotApplicable},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.SharePoint.MaxVerificationCodeReauthDays = nil }, want: tenant.NotApplicable},
		{name: "setting missing", snap: func(s *tenant.Snapshot) { s.SharePoint.EmailAttestationRequired = nil }, want: tenant.Unknown},
	},
	"sharepoint.guest_resharing": {
		{name: "off", want: tenant.Pass},
		{name: "on", snap: func(s *tenant.Snapshot) { s.SharePoint.ResharingByGuests = tenant.Ptr(true) }, want: tenant.Fail},
		{name: "baseline allows it", base: func(b *baselines.Baseline) { b.SharePoint.AllowResharingByGuests = tenant.Ptr(true) }, want: tenant.NotApplicable},
		{name: "missing", snap: func(s *tenant.Snapshot) { s.SharePoint.ResharingByGuests = nil }, want: tenant.Unknown},
	},
	"sharepoint.guest_access_expiry": {
		{name: "60 days", want: tenant.Pass},
		{name: "120 days", snap: func(s *tenant.Snapshot) { s.SharePoint.GuestExpirationDays = tenant.Ptr(120) }, want: tenant.Fail},
		{name: "never", snap: func(s *tenant.Snapshot) { s.SharePoint.GuestExpirationRequired = tenant.Ptr(false) }, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.SharePoint.MaxGuestAccessExpiryDays = nil }, want: tenant.NotApplicable},
		{name: "missing", snap: func(s *tenant.Snapshot) { s.SharePoint.GuestExpirationRequired = nil }, want: tenant.Unknown},
	},
	"sites.sharing_level": {
		{name: "all within tenant ceiling", want: tenant.Pass},
		{name: "site opened to anyone", snap: func(s *tenant.Snapshot) { site(s, "/sites/Marketing").SharingCapability = tenant.SharingAnyone }, want: tenant.Fail},
		{name: "URL rule tighter", base: func(b *baselines.Baseline) {
			b.Sites.ByURL = []baselines.SiteURLRule{{URL: "https://contoso.sharepoint.com/sites/Market*", MaxSharingLevel: lvl(baselines.LevelExistingGuests)}}
		}, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) {
			b.SharePoint.MaxSharingLevel, b.SharePoint.OneDriveMaxSharingLevel = nil, nil
		}, want: tenant.NotApplicable},
		{name: "site level missing", snap: func(s *tenant.Snapshot) { site(s, "/sites/Marketing").SharingCapability = "" }, want: tenant.Unknown},
	},
	"sites.label_sharing_level": {
		{name: "labelled sites within ceiling", want: tenant.Pass},
		{name: "confidential site opened", snap: func(s *tenant.Snapshot) {
			site(s, "/sites/Finance").SharingCapability = tenant.SharingNewAndExistingGuests
		}, want: tenant.Fail},
		{name: "label matched by ID", snap: func(s *tenant.Snapshot) {
			st := site(s, "/sites/Legal")
			st.SensitivityLabel, st.SharingCapability = "", tenant.SharingExistingGuests
		}, base: func(b *baselines.Baseline) {
			b.Sites.ByLabel = []baselines.LabelRule{{Label: "4e1f0a2b-3333-4c3d-9e8f-0a1b2c3d4e03", MaxSharingLevel: lvl(baselines.LevelDisabled)}}
		}, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Sites.ByLabel = nil }, want: tenant.NotApplicable},
		{name: "site level missing", snap: func(s *tenant.Snapshot) { site(s, "/sites/Finance").SharingCapability = "" }, want: tenant.Unknown},
	},
	"sites.confidential_sharing_level": {
		{name: "confidential sites capped", want: tenant.Pass},
		{name: "confidential by URL pattern", base: func(b *baselines.Baseline) {
			b.Confidential.URLPatterns = []string{"https://contoso.sharepoint.com/sites/ProjectAtlas"}
		}, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Confidential.MaxSharingLevel = nil }, want: tenant.NotApplicable},
		{name: "site level missing", snap: func(s *tenant.Snapshot) { site(s, "/sites/Finance").SharingCapability = "" }, want: tenant.Unknown},
	},
	"links.anyone_link": {
		{name: "no Anyone links", want: tenant.Pass},
		{name: "unrecognised scope may be Anyone", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Marketing", "Shared Documents", tenant.LinkTypeView, days(s, 3))
			s.Links[len(s.Links)-1].Scope = "galaxy"
		}, want: tenant.Unknown},
		{name: "an Anyone link", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Marketing", "Shared Documents", tenant.LinkTypeView, days(s, 3))
		}, want: tenant.Fail},
		{name: "baseline allows them", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Marketing", "Shared Documents", tenant.LinkTypeView, nil)
		},
			base: func(b *baselines.Baseline) { b.SharePoint.AnyoneLinks.Allowed = tenant.Ptr(true) }, want: tenant.NotApplicable},
		{name: "scope missing", snap: func(s *tenant.Snapshot) { s.Links[0].Scope = "" }, want: tenant.Unknown},
	},
	"links.people_external_on_confidential": {
		{name: "external recipients on ordinary sites", want: tenant.Pass},
		{name: "guest on a confidential site", fixture: "fabrikam", want: tenant.Fail},
		{name: "external address on a labelled site", snap: func(s *tenant.Snapshot) { peopleOn(s, "/sites/Legal", true, "ann@gmail.com") }, want: tenant.Fail},
		{name: "colleague on a labelled site", snap: func(s *tenant.Snapshot) { peopleOn(s, "/sites/Legal", false, "megan@contoso.com") }, want: tenant.Pass},
		{name: "direct grant to an external address on a labelled site", snap: func(s *tenant.Snapshot) { grantOn(s, "/sites/Legal", true, "ann@gmail.com") }, want: tenant.Fail},
		{name: "direct grant to a colleague on a labelled site", snap: func(s *tenant.Snapshot) { grantOn(s, "/sites/Legal", false, "megan@contoso.com") }, want: tenant.Pass},
		{name: "recipients not reported", snap: func(s *tenant.Snapshot) { peopleOn(s, "/sites/Legal", false) }, want: tenant.Unknown},
		{name: "scope not recognised", snap: func(s *tenant.Snapshot) { s.Links[0].Scope = "somePeople" }, want: tenant.Unknown},
		{name: "sites section failed", snap: func(s *tenant.Snapshot) {
			peopleOn(s, "/sites/Legal", true, "ann@gmail.com")
			s.Status[tenant.SectionSites] = tenant.SectionStatus{State: tenant.StateFailed, Error: "503"}
		}, want: tenant.Unknown},
		{name: "baseline allows it", base: func(b *baselines.Baseline) { b.SharePoint.PeopleLinks.AllowExternalOnConfidential = tenant.Ptr(true) }, want: tenant.NotApplicable},
		{name: "nothing confidential", base: func(b *baselines.Baseline) { b.Confidential = baselines.Confidential{} }, want: tenant.NotApplicable},
	},
	"links.people_blocked_domain": {
		{name: "recipients in allowed domains", want: tenant.Pass},
		{name: "recipient in a must-block domain", fixture: "fabrikam", want: tenant.Fail},
		{name: "recipient in a domain SharePoint blocks", snap: func(s *tenant.Snapshot) {
			peopleOn(s, "/sites/Marketing", true, "x@"+s.SharePoint.BlockedDomains[0])
		}, want: tenant.Fail},
		{name: "colleague", snap: func(s *tenant.Snapshot) { s.Links = nil; peopleOn(s, "/sites/Marketing", false, "megan@contoso.com") }, want: tenant.Pass},
		{name: "direct grant to a recipient in a blocked domain", snap: func(s *tenant.Snapshot) {
			grantOn(s, "/sites/Marketing", true, "x@"+s.SharePoint.BlockedDomains[0])
		}, want: tenant.Fail},
		{name: "recipient domain unknown", snap: func(s *tenant.Snapshot) { peopleOn(s, "/sites/Marketing", true, "urn:spo:guest") }, want: tenant.Unknown},
		{name: "sharepoint section failed", snap: func(s *tenant.Snapshot) {
			s.Status[tenant.SectionSharePoint] = tenant.SectionStatus{State: tenant.StateFailed, Error: "503"}
		}, want: tenant.Unknown},
		{name: "baseline allows it", base: func(b *baselines.Baseline) { b.SharePoint.PeopleLinks.AllowBlockedDomains = tenant.Ptr(true) }, want: tenant.NotApplicable},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.SharePoint.PeopleLinks = nil }, want: tenant.NotApplicable},
	},
	"links.anyone_on_confidential": {
		{name: "sites section failed", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Finance", "Shared Documents", tenant.LinkTypeView, days(s, 3))
			s.Status[tenant.SectionSites] = tenant.SectionStatus{State: tenant.StateFailed, Error: "503"}
		}, want: tenant.Unknown},
		{name: "Anyone link on ordinary site", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Marketing", "Shared Documents", tenant.LinkTypeView, days(s, 3))
		}, want: tenant.Pass},
		{name: "on labelled site", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Finance", "Shared Documents", tenant.LinkTypeView, days(s, 3))
		}, want: tenant.Fail},
		{name: "on confidential library", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Marketing", "Contracts", tenant.LinkTypeView, days(s, 3))
		},
			base: func(b *baselines.Baseline) { b.Confidential.URLPatterns = []string{"*/sites/*/Contracts"} }, want: tenant.Fail},
		{name: "nothing confidential", base: func(b *baselines.Baseline) { b.Confidential = baselines.Confidential{} }, want: tenant.NotApplicable},
		{name: "sites not collected", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Finance", "Shared Documents", tenant.LinkTypeView, days(s, 3))
			s.Status[tenant.SectionSites] = tenant.SectionStatus{State: tenant.StateFailed, Error: "403"}
		}, want: tenant.Unknown},
	},
	"links.anyone_link_expiry": {
		{name: "expires in 3 days", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Marketing", "Shared Documents", tenant.LinkTypeView, days(s, 3))
		}, want: tenant.Pass},
		{name: "never expires", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Marketing", "Shared Documents", tenant.LinkTypeView, nil)
		}, want: tenant.Fail},
		{name: "expires in 60 days", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Marketing", "Shared Documents", tenant.LinkTypeView, days(s, 60))
		}, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.SharePoint.AnyoneLinks.MaxExpiryDays = nil }, want: tenant.NotApplicable},
		{name: "scope missing", snap: func(s *tenant.Snapshot) { s.Links[0].Scope = "" }, want: tenant.Unknown},
	},
	"links.anyone_link_edit": {
		{name: "view", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Marketing", "Shared Documents", tenant.LinkTypeView, days(s, 3))
		}, want: tenant.Pass},
		{name: "edit", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Marketing", "Shared Documents", tenant.LinkTypeEdit, days(s, 3))
		}, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.SharePoint.AnyoneLinks.ViewOnly = nil }, want: tenant.NotApplicable},
		{name: "type missing", snap: func(s *tenant.Snapshot) { anyoneOn(s, "/sites/Marketing", "Shared Documents", "", days(s, 3)) }, want: tenant.Unknown},
		{name: "review link is not view-only", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Marketing", "Shared Documents", tenant.LinkTypeReview, days(s, 3))
		}, want: tenant.Fail},
		{name: "unrecognised type fails", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Marketing", "Shared Documents", "hologram", days(s, 3))
		}, want: tenant.Fail},
		{name: "blocksDownload is view-only", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Marketing", "Shared Documents", tenant.LinkTypeBlocksDownload, days(s, 3))
		}, want: tenant.Pass},
		{name: "view type with a write role", snap: func(s *tenant.Snapshot) {
			anyoneOn(s, "/sites/Marketing", "Shared Documents", tenant.LinkTypeView, days(s, 3))
			s.Links[len(s.Links)-1].Roles = []string{"write"}
		}, want: tenant.Fail},
	},
	"guests.blocked_domain": {
		{name: "partner domains", want: tenant.Pass},
		{name: "domain now on the block list", snap: func(s *tenant.Snapshot) {
			s.SharePoint.BlockedDomains = append(s.SharePoint.BlockedDomains, "adatum.com")
		}, want: tenant.Fail},
		{name: "baseline allows them", base: func(b *baselines.Baseline) { b.Guests.AllowFromBlockedDomains = tenant.Ptr(true) }, want: tenant.NotApplicable},
		{name: "domain missing", snap: func(s *tenant.Snapshot) { s.Guests[0].Domain, s.Guests[0].Mail = "", "" }, want: tenant.Unknown},
		{name: "Entra list not collected", snap: func(s *tenant.Snapshot) {
			s.Status[tenant.SectionEntra] = tenant.SectionStatus{State: tenant.StatePartial}
		}, want: tenant.Unknown},
	},
	"guests.stale": {
		{name: "recent sign-ins", want: tenant.Pass},
		{name: "no sign-in for 200 days", snap: func(s *tenant.Snapshot) { s.Guests[1].SignIn = &tenant.SignIn{Last: days(s, -200)} }, want: tenant.Fail},
		{name: "never signed in, old", snap: func(s *tenant.Snapshot) { s.Guests[1].SignIn = &tenant.SignIn{}; s.Guests[1].CreatedAt = days(s, -120) }, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Guests.StaleAfterDays = nil }, want: tenant.NotApplicable},
		{name: "sign-in not collected", snap: func(s *tenant.Snapshot) { s.Guests[1].SignIn = nil }, want: tenant.Unknown},
	},
	"guests.pending": {
		{name: "recent invitation", want: tenant.Pass},
		{name: "pending for 45 days", snap: func(s *tenant.Snapshot) { s.Guests[2].StateChangedAt = days(s, -45) }, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Guests.PendingMaxDays = nil }, want: tenant.NotApplicable},
		{name: "dates missing", snap: func(s *tenant.Snapshot) { s.Guests[2].StateChangedAt, s.Guests[2].CreatedAt = nil, nil }, want: tenant.Unknown},
		{name: "state missing", snap: func(s *tenant.Snapshot) { s.Guests[0].State = "" }, want: tenant.Unknown},
	},
	"guests.sponsor": {
		{name: "all sponsored", want: tenant.Pass},
		{name: "no sponsor", snap: func(s *tenant.Snapshot) { s.Guests[0].Sponsors = []tenant.Ref{} }, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Guests.SponsorRequired = nil }, want: tenant.NotApplicable},
		{name: "not collected", snap: func(s *tenant.Snapshot) { s.Guests[0].Sponsors = nil }, want: tenant.Unknown},
	},
	"guests.orphaned": {
		{name: "sponsor but no groups is not orphaned", want: tenant.Pass},
		{name: "no sponsor, no groups", snap: func(s *tenant.Snapshot) { s.Guests[2].Sponsors = []tenant.Ref{} }, want: tenant.Fail},
		{name: "baseline allows them", base: func(b *baselines.Baseline) { b.Guests.AllowOrphaned = tenant.Ptr(true) }, want: tenant.NotApplicable},
		{name: "sponsors not collected", snap: func(s *tenant.Snapshot) { s.Guests[2].Sponsors = nil }, want: tenant.Unknown},
	},
	"entra.invite_from": {
		{name: "admins and guest inviters", want: tenant.Pass},
		{name: "everyone", snap: func(s *tenant.Snapshot) { s.Entra.AllowInvitesFrom = tenant.InviteEveryone }, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Entra.MaxInviteFrom = nil }, want: tenant.NotApplicable},
		{name: "missing", snap: func(s *tenant.Snapshot) { s.Entra.AllowInvitesFrom = "" }, want: tenant.Unknown},
		{name: "unrecognised value fails", snap: func(s *tenant.Snapshot) { s.Entra.AllowInvitesFrom = "everyoneAndTheirDog" }, want: tenant.Fail},
	},
	"entra.guest_access": {
		{name: "limited", want: tenant.Pass},
		{name: "member", snap: func(s *tenant.Snapshot) { s.Entra.GuestUserRoleID = tenant.GuestRoleMember }, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Entra.MaxGuestAccess = nil }, want: tenant.NotApplicable},
		{name: "unrecognised role fails showing it", snap: func(s *tenant.Snapshot) { s.Entra.GuestUserRoleID = "00000000-0000-0000-0000-000000000000" }, want: tenant.Fail},
		{name: "role missing", snap: func(s *tenant.Snapshot) { s.Entra.GuestUserRoleID = "" }, want: tenant.Unknown},
	},
	"entra.invitation_domain_mode": {
		{name: "block list", want: tenant.Pass},
		{name: "no list", snap: func(s *tenant.Snapshot) { s.Entra.Invitations.Mode = tenant.DomainModeNone }, want: tenant.Fail},
		{name: "allow list keeping must-block domains out", snap: func(s *tenant.Snapshot) {
			s.Entra.Invitations.Mode, s.Entra.Invitations.Allowed = tenant.DomainModeAllowList, []string{"northwindtraders.com"}
		}, want: tenant.Pass},
		{name: "allow list letting a must-block domain in", snap: func(s *tenant.Snapshot) {
			s.Entra.Invitations.Mode, s.Entra.Invitations.Allowed = tenant.DomainModeAllowList, []string{"northwindtraders.com", "mailinator.com"}
		}, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Entra.InvitationDomains = nil }, want: tenant.NotApplicable},
		{name: "policy not collected", snap: func(s *tenant.Snapshot) { s.Entra.Invitations = nil }, want: tenant.Unknown},
	},
	"entra.invitation_blocked_domains": {
		{name: "all blocked", want: tenant.Pass},
		{name: "unblocked", snap: func(s *tenant.Snapshot) { s.Entra.Invitations.Blocked = []string{"yopmail.com"} }, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Entra.InvitationDomains.MustBlock = nil }, want: tenant.NotApplicable},
		{name: "policy not collected", snap: func(s *tenant.Snapshot) { s.Entra.Invitations = nil }, want: tenant.Unknown},
	},
	"entra.invitation_allowed_domains": {
		{name: "empty allow list", want: tenant.Pass},
		{name: "domain added", snap: func(s *tenant.Snapshot) {
			s.Entra.Invitations = &tenant.DomainList{Mode: tenant.DomainModeAllowList, Allowed: []string{"gmail.com"}, Blocked: []string{}}
		}, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Entra.InvitationDomains.Allowed = nil }, want: tenant.NotApplicable},
		{name: "policy not collected", snap: func(s *tenant.Snapshot) { s.Entra.Invitations = nil }, want: tenant.Unknown},
	},
	"groups.guest_settings": {
		{name: "guests cannot own groups", want: tenant.Pass},
		{name: "guests may own groups", snap: func(s *tenant.Snapshot) { s.Groups.AllowGuestsToBeGroupOwner = tenant.Ptr(true) }, want: tenant.Fail},
		{name: "template default applies", snap: func(s *tenant.Snapshot) {
			s.Groups.Configured, s.Groups.AllowToAddGuests = false, nil
		}, base: func(b *baselines.Baseline) { b.Groups.AllowOwnersToAddGuests = tenant.Ptr(false) }, want: tenant.Fail},
		{name: "baseline permits everything", base: func(b *baselines.Baseline) { b.Groups = baselines.Groups{} }, want: tenant.NotApplicable},
		{name: "settings missing", snap: func(s *tenant.Snapshot) { s.Groups = nil }, want: tenant.Unknown},
	},
	"groups.group_guest_access": {
		{name: "labelled groups closed", want: tenant.Pass},
		{name: "confidential group override on", snap: func(s *tenant.Snapshot) { s.Groups.Groups[1].AllowToAddGuests = tenant.Ptr(true) }, want: tenant.Fail},
		{name: "confidential group inherits tenant setting", snap: func(s *tenant.Snapshot) { s.Groups.Groups[2].AllowToAddGuests = nil }, want: tenant.Fail},
		{name: "nothing restricted", base: func(b *baselines.Baseline) { b.Confidential.Labels = nil }, want: tenant.NotApplicable},
		{name: "settings missing", snap: func(s *tenant.Snapshot) { s.Groups = nil }, want: tenant.Unknown},
	},
	"exchange.anonymous_calendar_sharing": {
		{name: "no anonymous entry", want: tenant.Pass},
		{name: "anonymous entry", snap: func(s *tenant.Snapshot) {
			sharingPolicy(s).Domains = append(sharingPolicy(s).Domains, tenant.SharingDomain{Domain: "Anonymous", Actions: []string{tenant.CalendarFreeBusyReviewer}})
		}, want: tenant.Fail},
		{name: "disabled policy", snap: func(s *tenant.Snapshot) {
			sharingPolicy(s).Enabled = tenant.Ptr(false)
			sharingPolicy(s).Domains = append(sharingPolicy(s).Domains, tenant.SharingDomain{Domain: "Anonymous", Actions: []string{tenant.CalendarFreeBusyReviewer}})
		}, want: tenant.Pass},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Exchange.CalendarSharing.AllowAnonymous = nil }, want: tenant.NotApplicable},
		{name: "settings missing", snap: func(s *tenant.Snapshot) { s.Exchange = nil }, want: tenant.Unknown},
	},
	"exchange.calendar_all_domains": {
		{name: "free/busy only", want: tenant.Pass},
		{name: "details", snap: func(s *tenant.Snapshot) {
			sharingPolicy(s).Domains[0].Actions = []string{tenant.CalendarFreeBusyDetail}
		}, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Exchange.CalendarSharing.MaxAllDomainsDetail = nil }, want: tenant.NotApplicable},
		{name: "future action", snap: func(s *tenant.Snapshot) {
			sharingPolicy(s).Domains[0].Actions = []string{"CalendarSharingSomethingNew"}
		}, want: tenant.Unknown},
	},
	"exchange.calendar_domain_detail": {
		{name: "domain within its ceiling", snap: func(s *tenant.Snapshot) {
			sharingPolicy(s).Domains = append(sharingPolicy(s).Domains, tenant.SharingDomain{Domain: "adatum.com", Actions: []string{tenant.CalendarFreeBusyDetail}})
		}, base: func(b *baselines.Baseline) {
			d := baselines.DetailDetail
			b.Exchange.CalendarSharing.Domains = []baselines.DomainDetail{{Domain: "adatum.com", MaxDetail: &d}}
		}, want: tenant.Pass},
		{name: "domain above the all-domains ceiling", snap: func(s *tenant.Snapshot) {
			sharingPolicy(s).Domains = append(sharingPolicy(s).Domains, tenant.SharingDomain{Domain: "adatum.com", Actions: []string{tenant.CalendarFreeBusyDetail}})
		}, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Exchange.CalendarSharing = nil }, want: tenant.NotApplicable},
		{name: "future action", snap: func(s *tenant.Snapshot) {
			sharingPolicy(s).Domains = append(sharingPolicy(s).Domains, tenant.SharingDomain{Domain: "adatum.com", Actions: []string{"CalendarSharingSomethingNew"}})
		}, want: tenant.Unknown},
	},
	"exchange.contacts_all_domains": {
		{name: "no contacts", want: tenant.Pass},
		{name: "contacts with all", snap: func(s *tenant.Snapshot) {
			sharingPolicy(s).Domains[0].Actions = append(sharingPolicy(s).Domains[0].Actions, tenant.ContactsSharing)
		}, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Exchange.CalendarSharing.AllowContactsWithAllDomains = nil }, want: tenant.NotApplicable},
		{name: "settings missing", snap: func(s *tenant.Snapshot) { s.Exchange = nil }, want: tenant.Unknown},
	},
	"entra.cross_tenant_default_direct_connect": {
		{name: "blocked both ways", want: tenant.Pass},
		{name: "open to every tenant", fixture: "fabrikam", want: tenant.Fail},
		{name: "outbound only open", snap: func(s *tenant.Snapshot) { s.Entra.CrossTenantDefault.B2BDirectConnectOutbound = tenant.AccessAllowed }, want: tenant.Fail},
		{name: "value not recognised", snap: func(s *tenant.Snapshot) { s.Entra.CrossTenantDefault.B2BDirectConnectInbound = "allowedForSome" }, want: tenant.Fail},
		{name: "baseline allows it", base: func(b *baselines.Baseline) { b.Entra.CrossTenant.AllowDefaultDirectConnect = tenant.Ptr(true) }, want: tenant.NotApplicable},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Entra.CrossTenant = nil }, want: tenant.NotApplicable},
		{name: "access type missing", snap: func(s *tenant.Snapshot) { s.Entra.CrossTenantDefault.B2BDirectConnectInbound = "" }, want: tenant.Unknown},
		{name: "default not collected", snap: func(s *tenant.Snapshot) { s.Entra.CrossTenantDefault = nil }, want: tenant.Unknown},
	},
	"entra.cross_tenant_partner_wider": {
		{name: "partner narrower than the default", want: tenant.Pass},
		{name: "no partners", snap: func(s *tenant.Snapshot) { s.Entra.CrossTenantPartners = []tenant.CrossTenantPartner{} }, want: tenant.Pass},
		{name: "partner trusts MFA beyond the default", fixture: "fabrikam", want: tenant.Fail},
		{name: "partner opens direct connect", snap: func(s *tenant.Snapshot) {
			s.Entra.CrossTenantPartners[0].B2BDirectConnectInbound = tenant.AccessAllowed
		}, want: tenant.Fail},
		{name: "wider partner approved", snap: func(s *tenant.Snapshot) {
			s.Entra.CrossTenantPartners[0].B2BDirectConnectInbound = tenant.AccessAllowed
		},
			base: func(b *baselines.Baseline) {
				b.Entra.CrossTenant.ApprovedPartners = &[]string{"2C4E6A8B-1D3F-4B5A-9C7E-0F2A4C6E8B93"}
			}, want: tenant.Pass},
		{name: "partner value not recognised", snap: func(s *tenant.Snapshot) { s.Entra.CrossTenantPartners[0].B2BCollaborationOutbound = "allowedSometimes" }, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Entra.CrossTenant.ApprovedPartners = nil }, want: tenant.NotApplicable},
		{name: "partners not collected", snap: func(s *tenant.Snapshot) { s.Entra.CrossTenantPartners = nil }, want: tenant.Unknown},
		{name: "default missing to compare with", snap: func(s *tenant.Snapshot) {
			s.Entra.CrossTenantPartners[0].B2BDirectConnectInbound = tenant.AccessAllowed
			s.Entra.CrossTenantDefault.B2BDirectConnectInbound = ""
		}, want: tenant.Unknown},
	},
	"exchange.auto_forwarding": {
		{name: "disabled everywhere", want: tenant.Pass},
		{name: "default and a free-mail domain forward", fixture: "fabrikam", want: tenant.Fail},
		{name: "allowed domain forwards", snap: func(s *tenant.Snapshot) {
			s.Exchange.RemoteDomains = append(s.Exchange.RemoteDomains, tenant.RemoteDomain{Name: "NW", DomainName: "northwindtraders.com", AutoForwardEnabled: tenant.Ptr(true)})
		}, base: func(b *baselines.Baseline) { b.Exchange.AutoForwarding.AllowedDomains = []string{"*.com"} }, want: tenant.Pass},
		{name: "an allowed glob never covers the Default", snap: func(s *tenant.Snapshot) { s.Exchange.RemoteDomains[0].AutoForwardEnabled = tenant.Ptr(true) },
			base: func(b *baselines.Baseline) { b.Exchange.AutoForwarding.AllowedDomains = []string{"*"} }, want: tenant.Fail},
		{name: "baseline allows forwarding", base: func(b *baselines.Baseline) { b.Exchange.AutoForwarding.Allowed = tenant.Ptr(true) }, want: tenant.NotApplicable},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Exchange.AutoForwarding = nil }, want: tenant.NotApplicable},
		{name: "value missing", snap: func(s *tenant.Snapshot) { s.Exchange.RemoteDomains[0].AutoForwardEnabled = nil }, want: tenant.Unknown},
		{name: "not collected", snap: func(s *tenant.Snapshot) { s.Exchange.RemoteDomains = nil }, want: tenant.Unknown},
		{name: "not even the Default reported", snap: func(s *tenant.Snapshot) { s.Exchange.RemoteDomains = []tenant.RemoteDomain{} }, want: tenant.Unknown},
	},
	"teams.external_access_all_domains": {
		{name: "named domains only", want: tenant.Pass},
		{name: "every domain", fixture: "fabrikam", want: tenant.Fail},
		{name: "external access off", snap: func(s *tenant.Snapshot) {
			s.Teams.AllowFederatedUsers = tenant.Ptr(false)
			s.Teams.AllowedDomains = []string{}
		}, want: tenant.Pass},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Teams.AllowAllExternalDomains = nil }, want: tenant.NotApplicable},
		{name: "Teams not licensed", snap: func(s *tenant.Snapshot) { s.Teams = &tenant.TeamsSettings{NotApplicable: "Teams is not licensed"} }, want: tenant.NotApplicable},
		{name: "allowed list not reported", snap: func(s *tenant.Snapshot) { s.Teams.AllowedDomains = nil }, want: tenant.Unknown},
		{name: "switch not reported", snap: func(s *tenant.Snapshot) { s.Teams.AllowFederatedUsers = nil }, want: tenant.Unknown},
		{name: "settings missing", snap: func(s *tenant.Snapshot) { s.Teams = nil }, want: tenant.Unknown},
	},
	"teams.unmanaged_inbound": {
		{name: "unmanaged accounts off", want: tenant.Pass},
		{name: "inbound on", fixture: "fabrikam", want: tenant.Fail},
		{name: "outbound only", snap: func(s *tenant.Snapshot) { s.Teams.AllowTeamsConsumer = tenant.Ptr(true) }, want: tenant.Pass},
		{name: "inbound on but outbound off", snap: func(s *tenant.Snapshot) { s.Teams.AllowTeamsConsumerInbound = tenant.Ptr(true) }, want: tenant.Pass},
		{name: "baseline allows", base: func(b *baselines.Baseline) { b.Teams.AllowUnmanagedInbound = tenant.Ptr(true) }, want: tenant.NotApplicable},
		{name: "inbound not reported", snap: func(s *tenant.Snapshot) {
			s.Teams.AllowTeamsConsumer = tenant.Ptr(true)
			s.Teams.AllowTeamsConsumerInbound = nil
		}, want: tenant.Unknown},
	},
	"teams.unmanaged_outbound": {
		{name: "off", want: tenant.Pass},
		{name: "on", fixture: "fabrikam", want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Teams.AllowUnmanagedOutbound = nil }, want: tenant.NotApplicable},
		{name: "not reported", snap: func(s *tenant.Snapshot) { s.Teams.AllowTeamsConsumer = nil }, want: tenant.Unknown},
	},
	"teams.skype_consumer": {
		{name: "off", want: tenant.Pass},
		{name: "on", fixture: "fabrikam", want: tenant.Fail},
		{name: "baseline allows", base: func(b *baselines.Baseline) { b.Teams.AllowSkypeConsumer = tenant.Ptr(true) }, want: tenant.NotApplicable},
		{name: "not reported", snap: func(s *tenant.Snapshot) { s.Teams.AllowPublicUsers = nil }, want: tenant.Unknown},
	},
	"teams.guest_access": {
		{name: "off", want: tenant.Pass},
		{name: "on", fixture: "fabrikam", want: tenant.Fail},
		{name: "baseline allows", base: func(b *baselines.Baseline) { b.Teams.AllowGuestAccess = tenant.Ptr(true) }, want: tenant.NotApplicable},
		{name: "not reported", snap: func(s *tenant.Snapshot) { s.Teams.AllowGuestUser = nil }, want: tenant.Unknown},
	},
	"teams.anonymous_meeting_join": {
		{name: "off", want: tenant.Pass},
		{name: "on", fixture: "fabrikam", want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.Teams.AllowAnonymousMeetingJoin = nil }, want: tenant.NotApplicable},
		{name: "Teams not licensed", snap: func(s *tenant.Snapshot) { s.Teams = &tenant.TeamsSettings{NotApplicable: "Teams is not licensed"} }, want: tenant.NotApplicable},
		{name: "not reported", snap: func(s *tenant.Snapshot) { s.Teams.AllowAnonymousUsersToJoinMeeting = nil }, want: tenant.Unknown},
	},
	"powerbi.publish_to_web": {
		{name: "disabled", want: tenant.Pass},
		{name: "everyone", fixture: "fabrikam", want: tenant.Fail},
		{name: "security groups above a disabled ceiling", snap: func(s *tenant.Snapshot) {
			s.PowerBI.PublishToWeb.Enabled = tenant.Ptr(true)
			s.PowerBI.PublishToWeb.SecurityGroups = []string{"6c1f8e2a-4b3d-4e5f-9a7b-1c2d3e4f5a6b"}
		}, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.PowerBI.MaxPublishToWeb = nil }, want: tenant.NotApplicable},
		{name: "Power BI not licensed", snap: func(s *tenant.Snapshot) {
			s.PowerBI = &tenant.PowerBISettings{NotApplicable: "Power BI is not licensed"}
		}, want: tenant.NotApplicable},
		{name: "setting not reported", snap: func(s *tenant.Snapshot) { s.PowerBI.PublishToWeb = nil }, want: tenant.Unknown},
		{name: "enabled not reported", snap: func(s *tenant.Snapshot) { s.PowerBI.PublishToWeb.Enabled = nil }, want: tenant.Unknown},
	},
	"powerbi.guest_access": {
		{name: "security groups", want: tenant.Pass},
		{name: "everyone", fixture: "fabrikam", want: tenant.Fail},
		{name: "groups above a disabled ceiling", base: func(b *baselines.Baseline) { b.PowerBI.MaxGuestAccess = tenant.Ptr(baselines.ReachDisabled) }, want: tenant.Fail},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.PowerBI.MaxGuestAccess = nil }, want: tenant.NotApplicable},
		{name: "setting not reported", snap: func(s *tenant.Snapshot) { s.PowerBI.GuestAccess = nil }, want: tenant.Unknown},
	},
	"powerbi.external_sharing": {
		{name: "disabled", want: tenant.Pass},
		{name: "everyone", fixture: "fabrikam", want: tenant.Fail},
		{name: "baseline allows everyone", fixture: "fabrikam", base: func(b *baselines.Baseline) { b.PowerBI.MaxExternalSharing = tenant.Ptr(baselines.ReachEveryone) }, want: tenant.Pass},
		{name: "baseline silent", base: func(b *baselines.Baseline) { b.PowerBI.MaxExternalSharing = nil }, want: tenant.NotApplicable},
		{name: "settings missing", snap: func(s *tenant.Snapshot) { s.PowerBI = nil }, want: tenant.Unknown},
	},
	"exchange.org_relationship_allowed": {
		{name: "listed relationship", snap: addOrgRel("LimitedDetails"), base: allowOrgRel("*.fabrikam.com"), want: tenant.Pass},
		{name: "unlisted relationship", snap: addOrgRel("AvailabilityOnly"), want: tenant.Fail},
		{name: "baseline silent", snap: addOrgRel("AvailabilityOnly"), base: func(b *baselines.Baseline) { b.Exchange.OrganizationRelationships.Allowed = nil }, want: tenant.NotApplicable},
		{name: "settings missing", snap: func(s *tenant.Snapshot) { s.Exchange = nil }, want: tenant.Unknown},
	},
	"exchange.org_relationship_free_busy": {
		{name: "availability only", snap: addOrgRel("AvailabilityOnly"), want: tenant.Pass},
		{name: "limited details", snap: addOrgRel("LimitedDetails"), want: tenant.Fail},
		{name: "entry allows details", snap: addOrgRel("LimitedDetails"), base: func(b *baselines.Baseline) {
			fb := baselines.FreeBusyLimitedDetails
			b.Exchange.OrganizationRelationships.Allowed = &[]baselines.AllowedOrgRelationship{{Domain: "*.fabrikam.com", MaxFreeBusy: &fb}}
		}, want: tenant.Pass},
		{name: "baseline silent", snap: addOrgRel("LimitedDetails"), base: func(b *baselines.Baseline) { b.Exchange.OrganizationRelationships = nil }, want: tenant.NotApplicable},
		{name: "level missing", snap: func(s *tenant.Snapshot) {
			addOrgRel("")(s)
			s.Exchange.OrganizationRelationships[0].FreeBusyAccessEnabled = nil
		}, want: tenant.Unknown},
	},
}

func addOrgRel(level string) snapFn {
	return func(s *tenant.Snapshot) {
		s.Exchange.OrganizationRelationships = append(s.Exchange.OrganizationRelationships, tenant.OrgRelationship{
			Name: "Fabrikam Partnership", DomainNames: []string{"eu.fabrikam.com", "us.fabrikam.com"}, Enabled: tenant.Ptr(true),
			FreeBusyAccessEnabled: tenant.Ptr(true), FreeBusyAccessLevel: level,
		})
	}
}

func allowOrgRel(glob string) baseFn {
	return func(b *baselines.Baseline) {
		b.Exchange.OrganizationRelationships.Allowed = &[]baselines.AllowedOrgRelationship{{Domain: glob}}
	}
}

// check reports whether results satisfy want: pass means at least one pass
// and no fail or unknown; fail means at least one fail; not_applicable means
// every result is not_applicable; unknown means at least one unknown and no
// pass on the objects it could not judge (checked by the section tests).
func check(results []tenant.Result, want tenant.Outcome) bool {
	n := map[tenant.Outcome]int{}
	for _, r := range results {
		n[r.Outcome]++
	}
	switch want {
	case tenant.Pass:
		return n[tenant.Pass] > 0 && n[tenant.Fail] == 0 && n[tenant.Unknown] == 0
	case tenant.NotApplicable:
		return len(results) > 0 && n[tenant.NotApplicable] == len(results)
	default:
		return n[want] > 0
	}
}

func TestRuleCases(t *testing.T) {
	for _, r := range rules.Builtin() {
		id := r.Meta().ID
		t.Run(id, func(t *testing.T) {
			cs, ok := cases[id]
			if !ok {
				t.Fatalf("no table cases for %s", id)
			}
			covered := map[tenant.Outcome]bool{}
			for _, c := range cs {
				covered[c.want] = true
				t.Run(c.name, func(t *testing.T) {
					s := fixture(t, c.fixture)
					b := loadBaseline(t, "recommended")
					if c.snap != nil {
						c.snap(s)
					}
					if c.base != nil {
						c.base(b)
					}
					var got []tenant.Result
					r.Evaluate(s, b, func(res tenant.Result) { got = append(got, res) })
					if !check(got, c.want) {
						t.Errorf("want %s, got:", c.want)
						for _, g := range got {
							t.Logf("  %s %s expected=%q actual=%q %s", g.Outcome, g.ObjectKey, g.Expected, g.Actual, g.Message)
						}
					}
					for _, g := range got {
						if g.RuleID != id || g.Severity != r.Meta().Severity || g.Section != r.Meta().Section || g.ObjectKey == "" {
							t.Errorf("result not labelled with its rule: %+v", g)
						}
					}
				})
			}
			for _, o := range []tenant.Outcome{tenant.Pass, tenant.Fail, tenant.NotApplicable, tenant.Unknown} {
				if !covered[o] {
					t.Errorf("no case with outcome %s", o)
				}
			}
		})
	}
}

// customReader is a custom rule that reads two sections and, carelessly,
// passes every link without looking at whether the sites were read: the
// runner must not let it.
type customReader struct{}

func (customReader) Meta() rules.Meta {
	return rules.Meta{ID: "custom.labels", Section: tenant.SectionLinks, Severity: tenant.SeverityHigh,
		Reads: []tenant.Section{tenant.SectionLinks, tenant.SectionSites}}
}

func (customReader) Evaluate(s *tenant.Snapshot, _ *baselines.Baseline, emit func(tenant.Result)) {
	_ = s.EachLink(func(l *tenant.Link) error {
		emit(tenant.Result{Outcome: tenant.Pass, ObjectKey: l.Key()})
		return nil
	})
	emit(tenant.Result{Outcome: tenant.Pass, ObjectKey: "links:tenant"})
}

// TestIncompleteSectionNeverPasses marks each section every rule reads
// partial, failed, then absent, in both fixtures: nothing may pass or
// fail, and the runner answers with one rule-wide unknown, for built-in
// and custom rules alike, run alone or by the runner.
func TestIncompleteSectionNeverPasses(t *testing.T) {
	all := append(rules.Builtin(), customReader{})
	for _, r := range all {
		m := r.Meta()
		for _, sec := range m.ReadSections() {
			for _, fx := range []string{"contoso", "fabrikam"} {
				for _, mode := range []string{"partial", "failed", "missing"} {
					t.Run(m.ID+"/"+string(sec)+"/"+fx+"/"+mode, func(t *testing.T) {
						s := fixture(t, fx)
						switch mode {
						case "missing":
							delete(s.Status, sec)
						case "failed":
							s.Status[sec] = tenant.SectionStatus{State: tenant.StateFailed, Error: "503"}
						default:
							s.Status[sec] = tenant.SectionStatus{State: tenant.StatePartial, Error: "throttled"}
						}
						b := loadBaseline(t, "recommended")
						runs := map[string][]tenant.Result{"runner": rules.EvaluateRules([]rules.Rule{r}, s, b)}
						if _, custom := r.(customReader); !custom {
							var alone []tenant.Result
							r.Evaluate(s, b, func(res tenant.Result) { alone = append(alone, res) })
							runs["alone"] = alone
						}
						for how, got := range runs {
							if len(got) != 1 || got[0].Outcome != tenant.Unknown || !got[0].RuleWide || !got[0].Blocks() {
								t.Errorf("%s: want one rule-wide unknown, got %+v", how, got)
							}
							for _, g := range got {
								if g.Outcome == tenant.Pass || g.Outcome == tenant.Fail {
									t.Errorf("%s: %s over an incomplete section: %+v", how, g.Outcome, g)
								}
								if !strings.Contains(g.Message, string(sec)) {
									t.Errorf("%s: message does not name section %s: %q", how, sec, g.Message)
								}
							}
						}
					})
				}
			}
		}
	}
}

// TestSilentBaselineIncompleteNotApplicable: a rule the baseline says
// nothing about stays not applicable however incomplete the snapshot is.
func TestSilentBaselineIncompleteNotApplicable(t *testing.T) {
	for _, r := range rules.Builtin() {
		t.Run(r.Meta().ID, func(t *testing.T) {
			s := fixture(t, "fabrikam")
			for _, sec := range tenant.AllSections {
				s.Status[sec] = tenant.SectionStatus{State: tenant.StatePartial, Error: "throttled"}
			}
			got := rules.EvaluateRules([]rules.Rule{r}, s, &baselines.Baseline{})
			if len(got) != 1 || got[0].Outcome != tenant.NotApplicable || got[0].RuleWide {
				t.Errorf("want one not_applicable, got %+v", got)
			}
		})
	}
}

// TestReadsDeclared: every built-in rule names what it reads, its own
// section first, and the rules that combine sections say so.
func TestReadsDeclared(t *testing.T) {
	want := map[string][]tenant.Section{
		"links.anyone_on_confidential":          {tenant.SectionLinks, tenant.SectionSites},
		"links.people_external_on_confidential": {tenant.SectionLinks, tenant.SectionSites},
		"links.people_blocked_domain":           {tenant.SectionLinks, tenant.SectionSharePoint, tenant.SectionEntra},
		"guests.blocked_domain":                 {tenant.SectionGuests, tenant.SectionEntra, tenant.SectionSharePoint},
	}
	for _, r := range rules.Builtin() {
		m := r.Meta()
		if len(m.Reads) == 0 || m.Reads[0] != m.Section {
			t.Errorf("%s: Reads %v does not start with its section %s", m.ID, m.Reads, m.Section)
		}
		if w, ok := want[m.ID]; ok && !slices.Equal(m.Reads, w) {
			t.Errorf("%s: Reads %v, want %v", m.ID, m.Reads, w)
		}
	}
}

// TestSilentBaselineNotApplicable runs every rule under an empty baseline.
func TestSilentBaselineNotApplicable(t *testing.T) {
	for _, r := range rules.Builtin() {
		t.Run(r.Meta().ID, func(t *testing.T) {
			var got []tenant.Result
			r.Evaluate(fixture(t, "fabrikam"), &baselines.Baseline{}, func(res tenant.Result) { got = append(got, res) })
			if !check(got, tenant.NotApplicable) {
				t.Errorf("want only not_applicable, got %+v", got)
			}
		})
	}
}

func TestMetaComplete(t *testing.T) {
	seen := map[string]bool{}
	var ids []string
	for _, r := range rules.Builtin() {
		m := r.Meta()
		ids = append(ids, m.ID)
		t.Run(m.ID, func(t *testing.T) {
			if seen[m.ID] {
				t.Errorf("duplicate ID")
			}
			seen[m.ID] = true
			if !strings.HasPrefix(m.ID, string(m.Section)+".") {
				t.Errorf("ID does not start with its section %q", m.Section)
			}
			if m.Title == "" || m.Rationale == "" || m.Remediation == "" {
				t.Errorf("missing title, rationale or remediation")
			}
			if _, ok := m.Severity.Rank(); !ok {
				t.Errorf("bad severity %q", m.Severity)
			}
			if len(m.References.Docs) == 0 {
				t.Errorf("no documentation reference")
			}
			for _, d := range m.References.Docs {
				if !strings.HasPrefix(d, "https://learn.microsoft.com/") {
					t.Errorf("doc reference %q is not on learn.microsoft.com", d)
				}
			}
			got, ok := rules.Lookup(m.ID)
			if !ok || got.Meta().ID != m.ID {
				t.Errorf("Lookup(%q) = %v, %v", m.ID, got, ok)
			}
		})
	}
	if !slices.IsSorted(ids) {
		t.Errorf("Builtin() not in ID order: %v", ids)
	}
	if _, ok := rules.Lookup("no.such_rule"); ok {
		t.Errorf("Lookup found a rule that does not exist")
	}
}

func TestEvaluateDeterministic(t *testing.T) {
	s := fixture(t, "fabrikam")
	// Shuffle object order: results must not depend on it.
	slices.Reverse(s.Guests)
	slices.Reverse(s.Links)
	slices.Reverse(s.Sites)
	b := loadBaseline(t, "recommended")
	a := rules.Evaluate(s, b)
	c := rules.Evaluate(fixture(t, "fabrikam"), b)
	if !reflect.DeepEqual(a, c) {
		t.Fatalf("results depend on input order")
	}
	for i := 1; i < len(a); i++ {
		if a[i-1].RuleID > a[i].RuleID || (a[i-1].RuleID == a[i].RuleID && a[i-1].ObjectKey > a[i].ObjectKey) {
			t.Fatalf("results not ordered at %d: %s %s then %s %s", i, a[i-1].RuleID, a[i-1].ObjectKey, a[i].RuleID, a[i].ObjectKey)
		}
	}
}

// Stream gives the same results as Evaluate (exceptions applied), and
// the first error of emit stops it.
func TestStream(t *testing.T) {
	s := fixture(t, "fabrikam")
	b := loadBaseline(t, "recommended")
	b.Exceptions = []baselines.Exception{{ID: "EX-1", Rule: "sites.sharing_level", Object: "site:6a0b1c2d-4e2f-4a3b-8c4d-5e6f7a8b9c04",
		Accepted: "anyone", Reason: "press kit", Owner: "it@fabrikam.com", ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}}
	want := rules.Evaluate(s, b)
	var got []tenant.Result
	if err := rules.Stream(s, b, func(r *tenant.Result) error { got = append(got, *r); return nil }); err != nil {
		t.Fatal(err)
	}
	excepted := 0
	for _, r := range got {
		if r.Exception == "EX-1" {
			excepted++
		}
	}
	if excepted != 1 {
		t.Errorf("%d streamed results carry the exception, want 1", excepted)
	}
	slices.SortStableFunc(got, func(a, b tenant.Result) int {
		return strings.Compare(a.RuleID+"\x00"+a.ObjectKey+"\x00"+a.Expected, b.RuleID+"\x00"+b.ObjectKey+"\x00"+b.Expected)
	})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Stream gave %d results unlike Evaluate's %d", len(got), len(want))
	}
	stop := errors.New("stop")
	n := 0
	err := rules.Stream(s, b, func(*tenant.Result) error {
		if n++; n == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 5 {
		t.Errorf("Stream returned %v after %d results, want stop after 5", err, n)
	}
}

func TestExceptions(t *testing.T) {
	const rule = "sites.sharing_level"
	const key = "site:6a0b1c2d-4e2f-4a3b-8c4d-5e6f7a8b9c04" // fabrikam Marketing, shared with anyone
	tests := []struct {
		name      string
		ex        baselines.Exception
		want      tenant.Outcome
		exception string
		msg       string
	}{
		{name: "accepted value matches", ex: baselines.Exception{Object: key, Accepted: "anyone", Expires: "2026-12-31"}, want: tenant.Pass, exception: "EX-1", msg: "accepted by exception EX-1"},
		{name: "matched by display name", ex: baselines.Exception{Object: "https://fabrikam.sharepoint.com/sites/Market*", Accepted: "anyone", Expires: "2026-12-31"}, want: tenant.Pass, exception: "EX-1"},
		{name: "actual differs from accepted", ex: baselines.Exception{Object: key, Accepted: "new_and_existing_guests", Expires: "2026-12-31"}, want: tenant.Fail, msg: `accepts "new_and_existing_guests" but the actual value is "anyone"`},
		{name: "lapsed before collection", ex: baselines.Exception{Object: key, Accepted: "anyone", Expires: "2026-03-01"}, want: tenant.Fail, msg: "lapsed"},
		{name: "still valid on its last day", ex: baselines.Exception{Object: key, Accepted: "anyone", Expires: "2026-03-02"}, want: tenant.Pass, exception: "EX-1"},
		{name: "other object", ex: baselines.Exception{Object: "site:other", Accepted: "anyone", Expires: "2026-12-31"}, want: tenant.Fail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := "extends: recommended\nexceptions:\n  - id: EX-1\n    rule: " + rule + "\n    object: \"" + tc.ex.Object + "\"\n    accepted: " + tc.ex.Accepted +
				"\n    reason: Public press kit\n    owner: marketing-it@fabrikam.com\n    expires: \"" + tc.ex.Expires + "\"\n"
			b, err := baselines.Parse([]byte(doc), "exceptions.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if err := rules.CheckBaseline(b); err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, r := range rules.Evaluate(fixture(t, "fabrikam"), b) {
				if r.RuleID != rule || r.ObjectKey != key {
					continue
				}
				found = true
				if r.Outcome != tc.want || r.Exception != tc.exception || !strings.Contains(r.Message, tc.msg) {
					t.Errorf("got outcome %s exception %q message %q", r.Outcome, r.Exception, r.Message)
				}
			}
			if !found {
				t.Fatalf("no result for %s", key)
			}
		})
	}
}

func TestCheckBaselineUnknownRule(t *testing.T) {
	doc := "exceptions:\n  - {id: EX-9, rule: sites.sharing_levle, object: '*', accepted: anyone, reason: r, owner: o, expires: 2026-01-01}\n"
	b, err := baselines.Parse([]byte(doc), "typo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	err = rules.CheckBaseline(b)
	if err == nil || !strings.Contains(err.Error(), "exceptions[0].rule") || !strings.Contains(err.Error(), "sites.sharing_levle") {
		t.Fatalf("got %v", err)
	}
}

// customRule checks that EvaluateRules fills in identity fields, sorts,
// and counts plain passes into one aggregate result: it fails the sites at
// even positions and passes the others, in reverse order.
type customRule struct{}

func (customRule) Meta() rules.Meta {
	return rules.Meta{ID: "custom.zz", Section: tenant.SectionSites, Severity: tenant.SeverityLow}
}

func (customRule) Evaluate(s *tenant.Snapshot, _ *baselines.Baseline, emit func(tenant.Result)) {
	for i := len(s.Sites) - 1; i >= 0; i-- {
		o := tenant.Pass
		if i%2 == 0 {
			o = tenant.Fail
		}
		emit(tenant.Result{Outcome: o, ObjectKey: s.Sites[i].Key(), Expected: "x"})
	}
}

func TestEvaluateRulesCustom(t *testing.T) {
	s := fixture(t, "contoso")
	if len(s.Sites) < 3 {
		t.Fatalf("fixture has %d sites, the test needs 3", len(s.Sites))
	}
	got := rules.EvaluateRules([]rules.Rule{customRule{}}, s, &baselines.Baseline{})
	fails, passes := (len(s.Sites)+1)/2, len(s.Sites)/2
	if len(got) != fails+1 {
		t.Fatalf("got %d results, want %d failures and one aggregate pass: %+v", len(got), fails, got)
	}
	var c tenant.Counts
	for i, r := range got {
		c.AddResult(&r)
		if r.RuleID != "custom.zz" || r.Severity != tenant.SeverityLow || r.Section != tenant.SectionSites {
			t.Errorf("identity not filled: %+v", r)
		}
		if i > 0 && got[i-1].ObjectKey > r.ObjectKey {
			t.Errorf("not sorted")
		}
		if r.Outcome == tenant.Pass && (r.ObjectKey != "sites:tenant" || r.Count != passes || r.Expected != "x") {
			t.Errorf("aggregate pass: %+v", r)
		}
	}
	if c.Pass != passes || c.Fail != fails {
		t.Errorf("counts %+v, want %d passes and %d failures", c, passes, fails)
	}
}

// TestInvitationsNotInCloud: where the cloud offers no invitation domain
// policy, every rule over it is unknown and says why.
func TestInvitationsNotInCloud(t *testing.T) {
	s := fixture(t, "")
	s.Entra.Invitations, s.Entra.NotInCloud = nil, []string{"invitations"}
	b := loadBaseline(t, "recommended")
	n := 0
	for _, r := range rules.Builtin() {
		r.Evaluate(s, b, func(res tenant.Result) {
			if res.ObjectKey != tenant.KeyEntraInvitations {
				return
			}
			n++
			if res.Outcome != tenant.Unknown || !strings.Contains(res.Message, "not supported in this cloud") {
				t.Errorf("%s: %s %q", res.RuleID, res.Outcome, res.Message)
			}
		})
	}
	if n < 3 {
		t.Errorf("%d results over the invitation list", n)
	}
}

// TestScopedSitesJudgeOnlyTheirLinks: when the sites section was read for
// some sites only (a change notification scan), every rule that judges
// links by their site gives the links of those sites the verdict a whole
// read gives, and the links of any other site (or naming no site) unknown,
// never pass or fail: their site's label and sharing were not read.
func TestScopedSitesJudgeOnlyTheirLinks(t *testing.T) {
	b := loadBaseline(t, "recommended")
	judged := 0
	for _, r := range rules.Builtin() {
		m := r.Meta()
		if m.Section == tenant.SectionSites || !slices.Contains(m.ReadSections(), tenant.SectionSites) {
			continue
		}
		t.Run(m.ID, func(t *testing.T) {
			s := fixture(t, "fabrikam")
			siteOf := map[string]string{}
			if err := s.EachLink(func(l *tenant.Link) error { siteOf[l.Key()] = l.SiteID; return nil }); err != nil {
				t.Fatal(err)
			}
			// The rule alone: the runner would count passes into one result.
			eval := func() []tenant.Result {
				var out []tenant.Result
				r.Evaluate(s, b, func(res tenant.Result) { out = append(out, res) })
				return out
			}
			whole := map[string]tenant.Outcome{}
			for _, res := range eval() {
				whole[res.ObjectKey] = res.Outcome
			}
			// Scope the sites to the site of the first link judged alone.
			var kept tenant.Site
			for key := range whole {
				for i := range s.Sites {
					if id := siteOf[key]; id != "" && s.Sites[i].ID == id && (kept.ID == "" || id < kept.ID) {
						kept = s.Sites[i]
					}
				}
			}
			if kept.ID == "" {
				t.Skip("no link of a known site judged alone")
			}
			prefix, ok := tenant.SiteKeyPrefix(kept.ID)
			if !ok {
				t.Fatalf("fixture site id %q has no key prefix", kept.ID)
			}
			s.Sites = []tenant.Site{kept}
			s.SetScope(tenant.SectionSites, []string{prefix})
			inside, outside := 0, 0
			for _, res := range eval() {
				if !strings.HasPrefix(res.ObjectKey, "link:") {
					continue
				}
				if siteOf[res.ObjectKey] == kept.ID {
					inside++
					if res.Outcome != whole[res.ObjectKey] {
						t.Errorf("%s of the site read: %s, %s when every site is read", res.ObjectKey, res.Outcome, whole[res.ObjectKey])
					}
					continue
				}
				outside++
				if res.Outcome != tenant.Unknown {
					t.Errorf("%s of a site not read: %s (%s), want unknown", res.ObjectKey, res.Outcome, res.Message)
				}
			}
			if inside == 0 || outside == 0 {
				t.Fatalf("links judged: %d of the site read, %d of others; the test needs both", inside, outside)
			}
			judged++
		})
	}
	if judged == 0 {
		t.Fatal("no rule judges links by their site")
	}
}
