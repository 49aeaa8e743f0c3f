package m365

import "testing"

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
	} {
		if got := recipientDomain(tt.email, tt.login); got != tt.domain {
			t.Errorf("recipientDomain(%q, %q) = %q, want %q", tt.email, tt.login, got, tt.domain)
		}
		if got := recipientOutside(tt.login); got != tt.outside {
			t.Errorf("recipientOutside(%q) = %v", tt.login, got)
		}
	}
}
