package remediate

import (
	"encoding/json"
	"testing"
)

func TestChangeApplyAndSatisfied(t *testing.T) {
	tests := []struct {
		name      string
		change    Change
		expected  string
		want      string
		satisfied string // a value that already meets the goal
		unmet     string
	}{
		{"set", Change{Set: raw(false)}, `true`, `false`, `false`, `true`},
		{"list add", Change{Add: []string{"evil.example"}}, `["a.example"]`, `["a.example","evil.example"]`, `["EVIL.example"]`, `[]`},
		{"list remove", Change{Remove: []string{"gmail.com"}}, `["gmail.com","b.example"]`, `["b.example"]`, `[]`, `["Gmail.com"]`},
		{"list from null", Change{Add: []string{"x.example"}}, `null`, `["x.example"]`, `["x.example","y.example"]`, `null`},
		{"cap lowers", Change{AtMost: &Cap{scaleSharing, "externalUserSharingOnly"}}, `"externalUserAndGuestSharing"`, `"externalUserSharingOnly"`, `"disabled"`, `"externalUserAndGuestSharing"`},
		{"cap keeps lower", Change{AtMost: &Cap{scaleSharing, "externalUserSharingOnly"}}, `"disabled"`, `"disabled"`, `"existingExternalUserSharingOnly"`, `"bogus"`},
		{"guest role cap", Change{AtMost: &Cap{scaleGuestRole, "10dae51f-b6af-4016-8d66-8c2a99b929b3"}}, `"a0b1b346-4d3e-4e8b-98f8-753987be4970"`, `"10dae51f-b6af-4016-8d66-8c2a99b929b3"`, `"2af84b1e-32c8-42b7-82bc-daa82404023b"`, `"a0b1b346-4d3e-4e8b-98f8-753987be4970"`},
		{"drop anonymous entry", Change{Entry: &EntryEdit{Domain: "Anonymous", Drop: true}}, `["*:CalendarSharingFreeBusySimple","Anonymous:CalendarSharingFreeBusyReviewer"]`, `["*:CalendarSharingFreeBusySimple"]`, `["*:CalendarSharingFreeBusyDetail"]`, `["Anonymous:CalendarSharingFreeBusySimple"]`},
		{"cap calendar keep contacts", Change{Entry: &EntryEdit{Domain: "*", CalendarCap: "CalendarSharingFreeBusySimple"}}, `["*:CalendarSharingFreeBusyDetail,ContactsSharing"]`, `["*:CalendarSharingFreeBusySimple,ContactsSharing"]`, `["*:ContactsSharing"]`, `["*:CalendarSharingFreeBusyReviewer"]`},
		{"remove contacts", Change{Entry: &EntryEdit{Domain: "*", RemoveActions: []string{"ContactsSharing"}}}, `["*:CalendarSharingFreeBusyDetail,ContactsSharing"]`, `["*:CalendarSharingFreeBusyDetail"]`, `["adatum.com:ContactsSharing"]`, `["*:ContactsSharing"]`},
		{"calendar none drops entry", Change{Entry: &EntryEdit{Domain: "adatum.com", CalendarCap: "none"}}, `["adatum.com:CalendarSharingFreeBusyReviewer"]`, `[]`, `[]`, `["adatum.com:CalendarSharingFreeBusySimple"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.change.Apply(json.RawMessage(tc.expected))
			if err != nil {
				t.Fatal(err)
			}
			if !equalValues(got, json.RawMessage(tc.want)) {
				t.Errorf("Apply(%s) = %s, want %s", tc.expected, got, tc.want)
			}
			if !tc.change.Satisfied(json.RawMessage(tc.satisfied)) {
				t.Errorf("Satisfied(%s) = false", tc.satisfied)
			}
			if tc.change.Satisfied(json.RawMessage(tc.unmet)) {
				t.Errorf("Satisfied(%s) = true", tc.unmet)
			}
		})
	}
}

func TestEqualValues(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{`["B.example","a.example"]`, `["a.example","b.example"]`, true},
		{`null`, ``, true},
		{`{"x":1,"y":2}`, `{"y":2,"x":1}`, true},
		{`true`, `false`, false},
		{`["a"]`, `["a","b"]`, false},
	}
	for _, tc := range tests {
		t.Run(tc.a+"="+tc.b, func(t *testing.T) {
			if got := equalValues(json.RawMessage(tc.a), json.RawMessage(tc.b)); got != tc.want {
				t.Errorf("got %t", got)
			}
		})
	}
}

func TestExcluded(t *testing.T) {
	p := Policy{}
	p.Exclude.Sites = []string{"https://*.sharepoint.com/sites/board*"}
	p.Exclude.Users = []string{"*@partner.example"}
	p.Exclude.Domains = []string{"northwind*"}
	p.Exclude.Labels = []string{"Highly Confidential"}
	tests := []struct {
		name string
		sc   Scope
		want bool
	}{
		{"site", Scope{Sites: []string{"https://fabrikam.sharepoint.com/sites/BoardOfDirectors"}}, true},
		{"other site", Scope{Sites: []string{"https://fabrikam.sharepoint.com/sites/Sales"}}, false},
		{"user", Scope{Users: []string{"id-1", "ann@partner.example"}}, true},
		{"domain", Scope{Domains: []string{"northwindtraders.com"}}, true},
		{"label", Scope{Labels: []string{"highly confidential"}}, true},
		{"nothing", Scope{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Excluded(tc.sc) != ""; got != tc.want {
				t.Errorf("Excluded(%+v) = %q", tc.sc, p.Excluded(tc.sc))
			}
		})
	}
}
