package rules

import (
	"fmt"
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

const docPeopleLinks = "https://learn.microsoft.com/en-us/sharepoint/turn-external-sharing-on-or-off"

// eachPeopleLink calls fn for every link for specific people ("users"
// scope) and every direct grant (an invitation, recorded with that scope);
// see eachLinkOfScope.
func eachPeopleLink(r *builtin, e *env, emit func(tenant.Result), expected string, fn func(l *tenant.Link, key, name string)) {
	eachLinkOfScope(r, e, emit, expected, tenant.LinkScopeUsers, "no links for specific people", fn)
}

func evalPeopleExternalConfidential(r *builtin, e *env, emit func(tenant.Result)) {
	pl := e.b.SharePoint.PeopleLinks
	if pl == nil || pl.AllowExternalOnConfidential == nil || *pl.AllowExternalOnConfidential || !e.b.Confidential.Configured() {
		emit(notApplicable(r, keyLinks, "sharing links", silent))
		return
	}
	const expected = "no people outside the organization on confidential content"
	eachPeopleLink(r, e, emit, expected, func(l *tenant.Link, key, name string) {
		if why := e.linkSiteUnread(l); why != "" {
			emit(r.result(tenant.Unknown, key, name, expected, "", why))
			return
		}
		msg := e.linkConfidential(l)
		switch {
		case msg == "":
			emit(r.result(tenant.Pass, key, name, expected, "not confidential", ""))
		case len(l.ExternalRecipients) > 0:
			where := strings.TrimPrefix(msg, "Anyone link on ")
			emit(r.result(tenant.Fail, key, name, expected, givenTo(l)+strings.Join(l.ExternalRecipients, ", "),
				fmt.Sprintf("%s on %s given to people outside the organization (%s)", what(l), where, strings.Join(l.RecipientDomains, ", "))))
		case len(l.GrantedTo) == 0:
			// Whom it was given to was not reported: it may be anyone.
			emit(r.result(tenant.Unknown, key, name, expected, "", "recipients of the "+what(l)+" not reported"))
		default:
			emit(r.result(tenant.Pass, key, name, expected, "recipients inside the organization", ""))
		}
	})
}

func evalPeopleBlockedDomain(r *builtin, e *env, emit func(tenant.Result)) {
	pl := e.b.SharePoint.PeopleLinks
	if pl == nil || pl.AllowBlockedDomains == nil || *pl.AllowBlockedDomains {
		emit(notApplicable(r, keyLinks, "sharing links", silent))
		return
	}
	const expected = "no recipients in blocked domains"
	srcs := e.blockSources()
	eachPeopleLink(r, e, emit, expected, func(l *tenant.Link, key, name string) {
		if len(l.ExternalRecipients) == 0 {
			if len(l.GrantedTo) == 0 {
				emit(r.result(tenant.Unknown, key, name, expected, "", "recipients of the "+what(l)+" not reported"))
				return
			}
			emit(r.result(tenant.Pass, key, name, expected, "recipients inside the organization", ""))
			return
		}
		if len(l.RecipientDomains) == 0 {
			emit(r.result(tenant.Unknown, key, name, expected, "", "domains of the "+what(l)+"'s recipients not reported"))
			return
		}
		unsure := false
		for _, d := range l.RecipientDomains {
			by, u := blockedBy(srcs, d)
			if by != "" {
				emit(r.result(tenant.Fail, key, name, expected, givenTo(l)+d, fmt.Sprintf("%s given to a recipient in %s, a blocked domain (%s)", what(l), d, by)))
				return
			}
			unsure = unsure || u
		}
		if unsure {
			emit(r.result(tenant.Unknown, key, name, expected, strings.Join(l.RecipientDomains, ", "), "a domain list was not collected completely"))
			return
		}
		emit(r.result(tenant.Pass, key, name, expected, strings.Join(l.RecipientDomains, ", "), ""))
	})
}

// what names a people entry in messages: a link, or a direct grant.
func what(l *tenant.Link) string {
	if l.Direct {
		return "direct grant"
	}
	return "link"
}

// givenTo starts an actual value naming recipients.
func givenTo(l *tenant.Link) string {
	if l.Direct {
		return "granted to "
	}
	return "given to "
}
