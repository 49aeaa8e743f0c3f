package m365

import (
	"encoding/json"
	"testing"

	"github.com/sharedrift/sharedrift/tenant"
)

// TestRecipients places the people a link was given to: members inside,
// guests, e-mail-only recipients and login names of no known form outside.
func TestRecipients(t *testing.T) {
	for _, tt := range []struct {
		email, login, domain string
		outside              bool
	}{
		{"annal@bertonline.onmicrosoft.com", "i:0#.f|membership|annal@bertonline.onmicrosoft.com", "bertonline.onmicrosoft.com", false},
		{"", "i:0#.f|membership|priya.patel_adatum.com#ext#@contoso.onmicrosoft.com", "adatum.com", true},
		{"Priya.Patel@Adatum.com", "i:0#.f|membership|priya.patel_adatum.com#EXT#@contoso.onmicrosoft.com", "adatum.com", true},
		{"", "urn:spo:guest#chris.d@outlook.com", "outlook.com", true},
		{"", "i:0#.f|guest|chris.d@outlook.com", "outlook.com", true},
		{"x@example.com", "", "example.com", true}, // no login: never taken for a member
		{"", "", "", true},
		// The tenant's special principals and groups carry no domain.
		{"", "c:0-.f|rolemanager|spo-grid-all-users/6a0b1c2d-0000-4a3b-8c4d-5e6f7a8b9c00", "", false},
		{"", "c:0(.s|true", "", true},
		{"", "c:0o.c|federateddirectoryclaimprovider|d2b3c4d5-0002-4b6c-9d0e-1f2a3b4c5d62", "", true},
		{"", "c:0t.c|tenant|d2b3c4d5-0009-4b6c-9d0e-1f2a3b4c5d69", "", true},
	} {
		if got := recipientDomain(tt.email, tt.login); got != tt.domain {
			t.Errorf("recipientDomain(%q, %q) = %q, want %q", tt.email, tt.login, got, tt.domain)
		}
		if got := recipientOutside(tt.login); got != tt.outside {
			t.Errorf("recipientOutside(%q) = %v", tt.login, got)
		}
	}
}

// TestClassifyLogin is the table of claim forms recipients.go knows; a
// form that only looks like one stays outside.
func TestClassifyLogin(t *testing.T) {
	for login, want := range map[string]principal{
		"i:0#.f|membership|megan@contoso.com":                                           principalMember,
		"I:0#.F|MEMBERSHIP|Megan@Contoso.com":                                           principalMember,
		"i:0#.f|membership|ann_gmail.com#ext#@contoso.onmicrosoft.com":                  principalOutside,
		"urn:spo:guest#ann@gmail.com":                                                   principalOutside,
		"i:0#.f|guest|ann@gmail.com":                                                    principalOutside,
		"c:0-.f|rolemanager|spo-grid-all-users/6a0b1c2d-0000-4a3b-8c4d-5e6f7a8b9c00":    principalEveryoneInOrg,
		"c:0-.f|rolemanager|spo-grid-all-users/":                                        principalOutside, // no tenant id
		"c:0(.s|true":                                                                   principalEveryone,
		"c:0(.s|false":                                                                  principalOutside,
		"c:0o.c|federateddirectoryclaimprovider|d2b3c4d5-0002-4b6c-9d0e-1f2a3b4c5d62":   principalGroup,
		"c:0o.c|federateddirectoryclaimprovider|d2b3c4d5-0002-4b6c-9d0e-1f2a3b4c5d62_o": principalGroup,
		"c:0t.c|tenant|d2b3c4d5-0009-4b6c-9d0e-1f2a3b4c5d69":                            principalGroup,
		"c:0t.c|tenant|":                                                                principalOutside,
		"SHAREPOINT\\system":                                                            principalSystem,
		"i:0i.t|00000003-0000-0ff1-ce00-000000000000|app@sharepoint":                    principalSystem,
		"i:0i.t|": principalOutside,
		"":        principalOutside,
	} {
		if got := classifyLogin(login); got != want {
			t.Errorf("classifyLogin(%q) = %d, want %d", login, got, want)
		}
	}
}

// TestDirectGrants reads permissions without a link: people, Everyone,
// groups and grantees of no known kind become direct grants (the unknown
// ones outside, never dropped); inherited grants and grants to the site's
// own groups are not recorded.
func TestDirectGrants(t *testing.T) {
	perm := func(body string) tenant.Link {
		t.Helper()
		ls, err := ParsePermissions([]json.RawMessage{json.RawMessage(body)}, tenant.Link{DriveID: "d", ItemID: "i"})
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if len(ls) != 1 {
			t.Fatalf("%s: %d entries, want 1", body, len(ls))
		}
		return ls[0]
	}
	none := func(body string) {
		t.Helper()
		ls, err := ParsePermissions([]json.RawMessage{json.RawMessage(body)}, tenant.Link{DriveID: "d", ItemID: "i"})
		if err != nil || len(ls) != 0 {
			t.Errorf("%s: %+v, %v; want nothing", body, ls, err)
		}
	}
	guest := perm(`{"id":"aTowIy5mfG1lbWJlcnNoaXB8YW5u","roles":["write"],"grantedToV2":{"user":{"id":"u1","displayName":"Ann","email":"Ann@Gmail.com"},
		"siteUser":{"id":"14","displayName":"Ann","email":"ann@gmail.com","loginName":"i:0#.f|membership|ann_gmail.com#ext#@fabrikam.onmicrosoft.com"}}}`)
	if !guest.Direct || guest.Scope != tenant.LinkScopeUsers || guest.Type != tenant.LinkTypeEdit ||
		len(guest.ExternalRecipients) != 1 || guest.ExternalRecipients[0] != "ann@gmail.com" || len(guest.RecipientDomains) != 1 || guest.RecipientDomains[0] != "gmail.com" {
		t.Errorf("guest grant: %+v", guest)
	}
	member := perm(`{"id":"m","roles":["read"],"grantedToV2":{"siteUser":{"id":"9","displayName":"Megan","email":"megan@contoso.com","loginName":"i:0#.f|membership|megan@contoso.com"}}}`)
	if !member.Direct || member.Type != tenant.LinkTypeView || len(member.ExternalRecipients) != 0 || len(member.GrantedTo) != 1 {
		t.Errorf("member grant: %+v", member)
	}
	inOrg := perm(`{"id":"e","roles":["read"],"grantedToV2":{"siteUser":{"id":"3","displayName":"Everyone except external users","loginName":"c:0-.f|rolemanager|spo-grid-all-users/6a0b1c2d-0000-4a3b-8c4d-5e6f7a8b9c00"}}}`)
	if len(inOrg.ExternalRecipients) != 0 || len(inOrg.GrantedTo) != 1 {
		t.Errorf("everyone-except-external grant: %+v", inOrg)
	}
	everyone := perm(`{"id":"x","roles":["read"],"grantedToV2":{"siteUser":{"id":"4","displayName":"Everyone","loginName":"c:0(.s|true"}}}`)
	if len(everyone.ExternalRecipients) != 1 || len(everyone.RecipientDomains) != 0 {
		t.Errorf("Everyone grant: %+v", everyone)
	}
	for _, body := range []string{
		`{"id":"u","roles":["read"]}`,
		`{"id":"u","roles":["read"],"grantedToV2":{}}`,
		`{"id":"u","roles":["read"],"grantedToV2":{"application":{"id":"a1","displayName":"Some app"}}}`,
		`{"id":"u","roles":["read"],"grantedToV2":{"user":{"id":"u9"}}}`,
	} {
		l := perm(body)
		if len(l.ExternalRecipients) != 1 || !l.Direct {
			t.Errorf("%s: a grantee that cannot be placed must count outside: %+v", body, l)
		}
	}
	// Groups are not people: the guests section reports guests' groups.
	none(`{"id":"g","roles":["read"],"grantedToV2":{"group":{"id":"d2b3c4d5-0009-4b6c-9d0e-1f2a3b4c5d69","displayName":"Finance team"}}}`)
	none(`{"id":"g","roles":["read"],"grantedToV2":{"siteUser":{"id":"12","displayName":"Finance team","loginName":"c:0t.c|tenant|d2b3c4d5-0009-4b6c-9d0e-1f2a3b4c5d69"}}}`)
	none(`{"id":"s","roles":["owner"],"grantedToV2":{"siteGroup":{"id":"3","displayName":"Finance Owners","loginName":"Finance Owners"}}}`)
	none(`{"id":"h","roles":["read"],"inheritedFrom":{"driveId":"d","id":"01PARENT"},"grantedToV2":{"user":{"email":"ann@gmail.com"}}}`)
	// A grantee of the wrong type fails the permission, never drops it.
	_, err := ParsePermissions([]json.RawMessage{json.RawMessage(`{"id":"w","roles":["read"],"grantedToV2":{"siteUser":{"loginName":7}}}`)}, tenant.Link{})
	if err == nil {
		t.Error("a login name of the wrong type was accepted")
	}
}
