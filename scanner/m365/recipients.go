package m365

import (
	"encoding/base64"
	"strings"
)

// How SharePoint names the people a link or a grant was given to, in the
// loginName of a permission's user or siteUser identity and of a site
// user (SP.User.LoginName).
//
// Unconfirmed: the login name forms below. Members of the directory carry
// the claims login "i:0#.f|membership|<upn>" (seen in the recorded
// permissions of reference/recorded); B2B guests carry the same with a UPN
// holding "#ext#" (Entra's guest UPN form, e.g.
// "jane_gmail.com#ext#@contoso.onmicrosoft.com"); people SharePoint shared
// with by e-mail without a directory account carry "urn:spo:guest#<email>"
// or, in older tenants, "i:0#.f|guest|<email>". The claims of the tenant's
// special principals are not in Microsoft's reference documentation but
// are used widely by admin scripts (e.g.
// https://learn.microsoft.com/en-us/answers/questions/2085339/):
// "Everyone except external users" is
// "c:0-.f|rolemanager|spo-grid-all-users/<tenantId>" (members only);
// "Everyone" is "c:0(.s|true" (guests included); a Microsoft 365 group is
// "c:0o.c|federateddirectoryclaimprovider|<groupId>" (its owners with
// "_o" after the id) and a security group "c:0t.c|tenant|<groupId>".
// SharePoint's own accounts are not people: the system account
// "SHAREPOINT\system" and app principals, whose logins start "i:0i.t|"
// (e.g. "i:0i.t|00000003-0000-0ff1-ce00-000000000000|app@sharepoint"). The
// id of a permission granted by invitation is the base64 (URL alphabet,
// unpadded) of its grantee's claims login (the recorded invitations of
// reference/recorded/graph-permission-invite show it); it is read only
// when no identity of the grant carries a login name. Correct them here.
const (
	loginMember        = "i:0#.f|membership|"
	loginGuestTag      = "#ext#"
	loginSPOGuest      = "urn:spo:guest"
	loginExtSuffix     = "#ext#@"
	loginEveryoneInOrg = "c:0-.f|rolemanager|spo-grid-all-users/"
	loginEveryone      = "c:0(.s|true"
	loginM365Group     = "c:0o.c|federateddirectoryclaimprovider|"
	loginSecurityGroup = "c:0t.c|tenant|"
	loginSystem        = "sharepoint\\system"
	loginAppPrincipal  = "i:0i.t|"
)

// principal is what a login name says about who holds it.
type principal uint8

const (
	// principalOutside: a guest, a person without a directory account, or
	// a login of no known form (never taken for a member).
	principalOutside principal = iota
	principalMember
	// principalEveryone holds every signed-in user, guests included.
	principalEveryone
	// principalEveryoneInOrg holds the tenant's members only.
	principalEveryoneInOrg
	// principalGroup is a Microsoft 365 or security group: not a person,
	// and its members are not known here (it may hold guests).
	principalGroup
	// principalSystem is SharePoint's system account or an app principal.
	principalSystem
)

// classifyLogin places a login name (see the forms above).
func classifyLogin(login string) principal {
	l := strings.ToLower(login)
	switch {
	case strings.HasPrefix(l, loginMember):
		if strings.Contains(l, loginGuestTag) {
			return principalOutside
		}
		return principalMember
	case l == loginEveryone:
		return principalEveryone
	case strings.HasPrefix(l, loginEveryoneInOrg) && len(l) > len(loginEveryoneInOrg):
		return principalEveryoneInOrg
	case strings.HasPrefix(l, loginM365Group) && len(l) > len(loginM365Group),
		strings.HasPrefix(l, loginSecurityGroup) && len(l) > len(loginSecurityGroup):
		return principalGroup
	case l == loginSystem, strings.HasPrefix(l, loginAppPrincipal) && len(l) > len(loginAppPrincipal):
		return principalSystem
	}
	return principalOutside
}

// recipientOutside reports whether the holder of this login name may be
// outside the tenant. A login name of no known form (or none), Everyone,
// a group whose members are not known and an account that is no person
// count as outside: a recipient that cannot be placed is never taken for
// a member.
func recipientOutside(login string) bool {
	switch classifyLogin(login) {
	case principalMember, principalEveryoneInOrg:
		return false
	}
	return true
}

// notPerson reports whether a login names a group or one of SharePoint's
// own accounts: a grant to it is not sharing with people (directGrant),
// and a site user of this kind does not make a site be read item by item.
func notPerson(login string) bool {
	switch classifyLogin(login) {
	case principalGroup, principalSystem:
		return true
	}
	return false
}

// loginFromPermissionID decodes an invitation's permission id into the
// claims login it encodes (see above), or "" when it encodes none.
func loginFromPermissionID(id string) string {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(id, "="))
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(id, "=")); err != nil {
			return ""
		}
	}
	s := string(b)
	if strings.HasPrefix(s, "i:0") || strings.HasPrefix(s, "c:0") || strings.HasPrefix(strings.ToLower(s), loginSPOGuest) {
		return s
	}
	return ""
}

// recipientDomain is the domain of a person's e-mail address, else the
// one a guest's login name encodes ("jane_gmail.com#ext#@…" gives
// gmail.com), else that of the login name's address. The tenant's
// special principals and groups have none.
func recipientDomain(email, login string) string {
	if _, d, ok := strings.Cut(email, "@"); ok && d != "" {
		return strings.ToLower(d)
	}
	l := strings.ToLower(login)
	if strings.HasPrefix(l, "c:0") {
		return ""
	}
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
