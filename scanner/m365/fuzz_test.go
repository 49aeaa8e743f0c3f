package m365

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sharedrift/sharedrift/tenant"
)

func addDocSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "docs", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"value":[{"id":"1","link":{"scope":"anonymous"},"shared":{}}]}`))
	f.Add([]byte(`{"value":null}`))
}

// FuzzCollectionParsers feeds any body to every collection parser: errors
// are fine, panics and items without identity are not.
func FuzzCollectionParsers(f *testing.F) {
	addDocSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var p page
		if decodeJSON("fuzz", body, &p) != nil {
			return
		}
		items, err := p.items("fuzz")
		if err != nil {
			return
		}
		if sites, err := parseGraphSites(epGetAllSites, items); err == nil {
			for _, s := range sites {
				if s.ID == "" || s.URL == "" {
					t.Fatalf("site without identity: %+v", s)
				}
			}
		}
		_, _ = parseDrives(items)
		_, _ = ParseDeltaItems(items)
		if links, err := ParsePermissions(items, tenant.Link{}); err == nil {
			for _, l := range links {
				if l.PermissionID == "" {
					t.Fatal("link without permission id")
				}
				// A direct grant names someone, or its unidentified
				// grantee, who then counts outside: never nobody.
				if l.Direct && (l.Scope != tenant.LinkScopeUsers || len(l.GrantedTo) == 0 ||
					slices.Contains(l.GrantedTo, unidentifiedGrantee) && !slices.Contains(l.ExternalRecipients, unidentifiedGrantee)) {
					t.Fatalf("direct grant %+v", l)
				}
			}
		}
		for _, si := range []bool{true, false} {
			if gs, err := ParseGuests(items, si); err == nil {
				for _, g := range gs {
					if g.ID == "" || (si && g.SignIn == nil) || (!si && g.SignIn != nil) {
						t.Fatalf("bad guest %+v", g)
					}
				}
			}
		}
		_, _ = ParseRefs(items)
		if l, err := ParseB2BManagementPolicies(items); err == nil && (l == nil || l.Mode == "") {
			t.Fatal("B2B list without a mode")
		}
		if gs, err := ParseGroupSettings(items); err == nil && gs == nil {
			t.Fatal("nil group settings without error")
		}
		_, _ = ParseGroupGuestSetting(items)
		_, _ = ParseGroups(items)
		_, _ = ParseSensitivityLabels(items)
		_, _ = ParseSharingPolicies(items)
		_, _ = ParseOrgRelationships(items)
	})
}

// FuzzObjectParsers feeds any body to the single-object parsers.
func FuzzObjectParsers(f *testing.F) {
	addDocSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		_ = ParseSharePointSettings(body, &tenant.SharePointSettings{})
		_ = ParseAuthorizationPolicy(body, &tenant.EntraSettings{})
		if d, err := ParseCrossTenantDefault(body); err == nil && d == nil {
			t.Fatal("nil cross-tenant default without error")
		}
		_ = decodeError("fuzz", 400, body)
	})
}

// FuzzCSOMParsers feeds any body to the ProcessQuery answer parsers.
func FuzzCSOMParsers(f *testing.F) {
	addDocSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = csomErrorInfo(body)
		var arr []json.RawMessage
		if json.Unmarshal(body, &arr) != nil {
			return
		}
		_ = ParseCSOMTenant(arr, &tenant.SharePointSettings{})
		_, _, _ = parseCSOMSites(arr)
	})
}

// FuzzB2BDefinition feeds any text as a policy definition.
func FuzzB2BDefinition(f *testing.F) {
	f.Add(`{'B2BManagementPolicy':{'Version':1}}`)
	f.Add(`{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":{"BlockedDomains":["a.com"]}}}`)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := decodeB2BDefinition(s)
		if err != nil {
			return
		}
		l := invitationsFromDefinition(d)
		if l.Allowed == nil || l.Blocked == nil || l.Mode == "" {
			t.Fatalf("incomplete list %+v", l)
		}
	})
}

// FuzzReader feeds any bytes to the reader itself: it never panics, and
// it never opens as an object what encoding/json would not accept.
func FuzzReader(f *testing.F) {
	addDocSeeds(f)
	f.Add([]byte(`{"id":"p","\u006cink":{"scope":"anonymous"},"roles":["read",1],"grantedToIdentitiesV2":[{"user":{"email":7}}]}`))
	f.Add([]byte(`{"id":"p","link":{"scope":"anonymous",}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var r reader
		opened := r.item("fuzz", permissionSchema, body, 0)
		if opened && !json.Valid(body) {
			t.Fatalf("opened invalid JSON %q", body)
		}
		if !opened && r.first() == nil {
			t.Fatal("refused without an error")
		}
		_, _ = ParsePermissions([]json.RawMessage{body}, tenant.Link{})
		_, _ = parseGuests(epUsers, []json.RawMessage{body}, true, true)
		_, _ = ParseOrgRelationships([]json.RawMessage{body})
	})
}
