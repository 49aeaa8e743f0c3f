package m365

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

func TestDecodeStoredGuestRoundTrip(t *testing.T) {
	if n := reflect.TypeOf(tenant.Guest{}).NumField(); n != storedGuestFields {
		t.Fatalf("tenant.Guest has %d fields, decodeStoredGuest reads %d: read the new ones", n, storedGuestFields)
	}
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	yes := true
	full := tenant.Guest{
		ID: "g-1", UPN: "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com", Mail: "alice@fabrikam.com",
		DisplayName: "Alice \"A\" \u00c5berg", Domain: "fabrikam.com", State: tenant.GuestAccepted,
		StateChangedAt: at("2024-03-01T10:00:00.123Z"), CreatedAt: at("2023-01-02T03:04:05Z"), AccountEnabled: &yes,
		SignIn:   &tenant.SignIn{Last: at("2024-05-06T07:08:09Z"), LastSuccessful: at("2024-05-06T07:00:00Z")},
		Sponsors: []tenant.Ref{{ID: "u-1", DisplayName: "Bob", Type: "user"}},
		MemberOf: []tenant.Ref{{ID: "grp-1", DisplayName: "Finance", Type: "group"}, {ID: "grp-2", Type: "group"}},
	}
	noAccount := false
	cases := map[string]tenant.Guest{
		"every field": full,
		// null (not collected) and empty lists differ, as do a sign-in
		// never made and sign-ins not collected.
		"not collected": {ID: "g-2", Sponsors: nil, MemberOf: nil},
		"empty":         {ID: "g-3", Sponsors: []tenant.Ref{}, MemberOf: []tenant.Ref{}, SignIn: &tenant.SignIn{}, AccountEnabled: &noAccount},
	}
	for name, g := range cases {
		t.Run(name, func(t *testing.T) {
			doc, err := json.Marshal(g)
			if err != nil {
				t.Fatal(err)
			}
			var want tenant.Guest
			if err := json.Unmarshal(doc, &want); err != nil {
				t.Fatal(err)
			}
			got, err := decodeStoredGuest(doc)
			if err != nil {
				t.Fatalf("decode %s: %v", doc, err)
			}
			again, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			// The same document: the store sees no change.
			if string(again) != string(doc) {
				t.Errorf("re-encoded\n%s\nwant\n%s", again, doc)
			}
			if (got.Sponsors == nil) != (want.Sponsors == nil) || (got.MemberOf == nil) != (want.MemberOf == nil) || (got.SignIn == nil) != (want.SignIn == nil) {
				t.Errorf("null and empty confused: got %+v, want %+v", got, want)
			}
			if len(got.MemberOf) != cap(got.MemberOf) {
				t.Errorf("memberOf holds spare capacity: len %d cap %d", len(got.MemberOf), cap(got.MemberOf))
			}
		})
	}
}

func TestDecodeStoredGuestRefusesBadDocuments(t *testing.T) {
	for name, tc := range map[string]struct{ doc, field string }{
		"no id":            {`{"mail":"a@b.c"}`, "id"},
		"id not a string":  {`{"id":7}`, "id"},
		"bad time":         {`{"id":"g","createdAt":"yesterday"}`, "createdAt"},
		"memberOf object":  {`{"id":"g","memberOf":{"id":"x"}}`, "memberOf"},
		"ref without id":   {`{"id":"g","memberOf":[{"displayName":"x"}]}`, "memberOf"},
		"sign-in a string": {`{"id":"g","signIn":"never"}`, "signIn"},
		"not an object":    {`["g"]`, ""},
		"truncated":        {`{"id":"g","mail":`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeStoredGuest([]byte(tc.doc))
			if err == nil {
				t.Fatalf("%s decoded without error", tc.doc)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %q", err, tc.field)
			}
		})
	}
}
