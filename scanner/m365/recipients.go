package m365

import "strings"

// How SharePoint names the people a link was given to, in the loginName of
// a permission's user or siteUser identity.
//
// Unconfirmed: the login name forms below. Members of the directory carry
// the claims login "i:0#.f|membership|<upn>" (seen in the recorded
// permissions of reference/recorded); B2B guests carry the same with a UPN
// holding "#ext#" (Entra's guest UPN form, e.g.
// "jane_gmail.com#ext#@contoso.onmicrosoft.com"); people SharePoint shared
// with by e-mail without a directory account carry "urn:spo:guest#<email>"
// or, in older tenants, "i:0#.f|guest|<email>". Correct them here.
const (
	loginMember    = "i:0#.f|membership|"
	loginGuestTag  = "#ext#"
	loginSPOGuest  = "urn:spo:guest"
	loginExtSuffix = "#ext#@"
)

// recipientOutside reports whether the person with this login name is
// outside the tenant. A login name of no known form (or none) counts as
// outside: a recipient that cannot be placed is never taken for a member.
func recipientOutside(login string) bool {
	l := strings.ToLower(login)
	if strings.HasPrefix(l, loginMember) {
		return strings.Contains(l, loginGuestTag)
	}
	return true
}

// recipientDomain is the domain of a person's e-mail address, else the
// one a guest's login name encodes ("jane_gmail.com#ext#@…" gives
// gmail.com), else that of the login name's address.
func recipientDomain(email, login string) string {
	if _, d, ok := strings.Cut(email, "@"); ok && d != "" {
		return strings.ToLower(d)
	}
	l := strings.ToLower(login)
	if i := strings.LastIndexByte(l, '|'); i >= 0 {
		l = l[i+1:]
	}
	l = strings.TrimPrefix(l, loginSPOGuest+"#")
	if i := strings.Index(l, loginExtSuffix); i >= 0 {
		local := l[:i]
		if j := strings.LastIndexByte(local, '_'); j >= 0 {
			return local[j+1:]
		}
		return ""
	}
	if _, d, ok := strings.Cut(l, "@"); ok {
		return d
	}
	return ""
}
