package m365

import (
	"context"
	"fmt"
	"net/http"
)

// epSiteUsers names the site users endpoint in errors.
const epSiteUsers = "GET {site}/_api/web/siteusers"

// siteUsersSelect are the SP.User properties read (see shapes.go). No
// $filter: B2B guests are told by their login name, which the service
// cannot filter on as recipients.go reads it, and a user of no known form
// must be seen to be counted.
const siteUsersSelect = "Id,LoginName,Email,PrincipalType,IsShareByEmailGuestUser,IsEmailAuthenticationGuestUser,UserPrincipalName"

// SharePoint principal types (SP.Utilities.PrincipalType).
const (
	principalTypeUser          = 1
	principalTypeDistribution  = 2
	principalTypeSecurityGroup = 4
	principalTypeSPGroup       = 8
)

// siteOutsiders lists the site's users who may be outside the tenant
// (their login names, at most a few as examples) and how many there are.
// A direct grant, unlike a link, leaves no sharing-link group: its
// grantee is only seen among the site's users (see shapes.go). A user is
// outside when SharePoint flags it as a guest by e-mail, or when its login
// name places it outside (recipients.go: guests, Everyone, forms of no
// known kind); groups and SharePoint's own accounts are not people. A user
// without a login name or principal type, or an answer of another shape,
// is an error: the site is then read item by item.
func (c *Client) siteOutsiders(ctx context.Context, siteURL string) (n int, examples []string, err error) {
	base, err := c.siteBase(siteURL)
	if err != nil {
		return 0, nil, err
	}
	next := base + "/_api/web/siteusers?$select=" + siteUsersSelect
	h := http.Header{"Accept": {"application/json;odata=nometadata"}}
	for page := 0; next != ""; page++ {
		if page > 10000 {
			return 0, nil, fmt.Errorf("%s: more than 10000 pages", epSiteUsers)
		}
		resp, err := c.send(ctx, request{aud: AudienceSharePoint, method: http.MethodGet, url: next, header: h})
		if err != nil {
			return 0, nil, err
		}
		var body struct {
			Value *[]struct {
				ID             *int64  `json:"Id"`
				LoginName      *string `json:"LoginName"`
				Email          *string `json:"Email"`
				PrincipalType  *int64  `json:"PrincipalType"`
				ShareByEmail   *bool   `json:"IsShareByEmailGuestUser"`
				EmailAuthGuest *bool   `json:"IsEmailAuthenticationGuestUser"`
			} `json:"value"`
			Next string `json:"odata.nextLink"`
		}
		if err := decodeJSON(epSiteUsers, resp.body, &body); err != nil {
			return 0, nil, err
		}
		if body.Value == nil {
			return 0, nil, fmt.Errorf("%s: no value array", epSiteUsers)
		}
		for i, u := range *body.Value {
			switch {
			case u.LoginName == nil:
				return 0, nil, fmt.Errorf("%s: user %d: LoginName missing", epSiteUsers, i)
			case u.PrincipalType == nil:
				return 0, nil, fmt.Errorf("%s: user %d (%s): PrincipalType missing", epSiteUsers, i, clip(*u.LoginName))
			}
			if !siteUserOutside(*u.LoginName, *u.PrincipalType, u.ShareByEmail != nil && *u.ShareByEmail, u.EmailAuthGuest != nil && *u.EmailAuthGuest) {
				continue
			}
			n++
			if len(examples) < 3 {
				examples = append(examples, clip(*u.LoginName))
			}
		}
		if body.Next != "" && !sameOrigin(base, body.Next) {
			return 0, nil, fmt.Errorf("%s: next link %q points to another host", epSiteUsers, clip(body.Next))
		}
		next = body.Next
	}
	return n, examples, nil
}

// siteUserOutside reports whether a site user may hold a direct grant to
// someone outside the tenant. A principal type of no known value counts
// as outside.
func siteUserOutside(login string, ptype int64, shareByEmail, emailAuthGuest bool) bool {
	if shareByEmail || emailAuthGuest {
		return true
	}
	switch ptype {
	case principalTypeUser, principalTypeSecurityGroup, principalTypeDistribution:
		// A group's claim says it is one; "Everyone" is a security group
		// that holds guests.
		return !notPerson(login) && recipientOutside(login)
	case principalTypeSPGroup:
		return false
	}
	return true
}
