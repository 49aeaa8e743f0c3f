package rules

import (
	"fmt"
	"strings"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/tenant"
)

const (
	docTeamsExternal  = "https://learn.microsoft.com/microsoftteams/trusted-organizations-external-meetings-chat"
	docTeamsGuest     = "https://learn.microsoft.com/microsoftteams/guest-access"
	docTeamsAnonymous = "https://learn.microsoft.com/microsoftteams/anonymous-users-in-meetings"
	docFabricExport   = "https://learn.microsoft.com/fabric/admin/service-admin-portal-export-sharing"
	docFabricSettings = "https://learn.microsoft.com/rest/api/fabric/admin/tenants/list-tenant-settings"
)

const (
	keyTeams   = "teams:tenant"
	keyPowerBI = "powerbi:tenant"
)

// evalFunc is a built-in rule's evaluation.
type evalFunc = func(r *builtin, e *env, emit func(tenant.Result))

// teamsSettings returns the Teams settings a rule may judge, or nil after
// emitting why not: not collected, or not applicable to the tenant.
func teamsSettings(r *builtin, e *env, emit func(tenant.Result), expected string) *tenant.TeamsSettings {
	const name = "Teams"
	if why := e.incomplete(tenant.SectionTeams); why != "" {
		emit(r.result(tenant.Unknown, keyTeams, name, expected, "", why))
		return nil
	}
	t := e.s.Teams
	switch {
	case t == nil:
		emit(r.result(tenant.Unknown, keyTeams, name, expected, "", "Teams settings missing from the snapshot"))
		return nil
	case t.NotApplicable != "":
		emit(r.result(tenant.NotApplicable, keyTeams, name, expected, "", t.NotApplicable))
		return nil
	}
	return t
}

// teamsSwitch is a rule that one Teams setting must be off when the
// baseline says so (allow false).
func teamsSwitch(allow func(*baselines.Teams) *bool, field string, value func(*tenant.TeamsSettings) *bool, risk string) evalFunc {
	return func(r *builtin, e *env, emit func(tenant.Result)) {
		a := allow(&e.b.Teams)
		if a == nil || *a {
			emit(notApplicable(r, keyTeams, "Teams", silent))
			return
		}
		expected := field + " off"
		t := teamsSettings(r, e, emit, expected)
		if t == nil {
			return
		}
		switch v := value(t); {
		case v == nil:
			emit(r.result(tenant.Unknown, keyTeams, "Teams", expected, "", field+" not reported"))
		case *v:
			emit(r.result(tenant.Fail, keyTeams, "Teams", expected, field+" on", risk))
		default:
			emit(r.result(tenant.Pass, keyTeams, "Teams", expected, field+" off", ""))
		}
	}
}

// evalTeamsAllDomains: external access, when on, names the domains it
// allows (MS.TEAMS.2.1v2: AllowFederatedUsers with no AllowedDomains
// reaches every domain not blocked).
func evalTeamsAllDomains(r *builtin, e *env, emit func(tenant.Result)) {
	if a := e.b.Teams.AllowAllExternalDomains; a == nil || *a {
		emit(notApplicable(r, keyTeams, "Teams", silent))
		return
	}
	const expected = "external access off or limited to named domains"
	t := teamsSettings(r, e, emit, expected)
	if t == nil {
		return
	}
	switch {
	case t.AllowFederatedUsers == nil:
		emit(r.result(tenant.Unknown, keyTeams, "Teams", expected, "", "AllowFederatedUsers not reported"))
	case !*t.AllowFederatedUsers:
		emit(r.result(tenant.Pass, keyTeams, "Teams", expected, "external access off", ""))
	case t.AllowedDomains == nil:
		emit(r.result(tenant.Unknown, keyTeams, "Teams", expected, "external access on", "AllowedDomains not reported"))
	case len(t.AllowedDomains) == 0:
		actual := "external access on for every domain"
		if len(t.BlockedDomains) > 0 {
			actual += " except " + strings.Join(t.BlockedDomains, ", ")
		}
		emit(r.result(tenant.Fail, keyTeams, "Teams", expected, actual, "users can chat and meet with any organization; only listed domains should be allowed"))
	default:
		emit(r.result(tenant.Pass, keyTeams, "Teams", expected, "external access on for "+strings.Join(t.AllowedDomains, ", "), ""))
	}
}

// evalTeamsUnmanagedInbound: unmanaged Teams accounts cannot start
// conversations (MS.TEAMS.2.2v2: both AllowTeamsConsumer and
// AllowTeamsConsumerInbound on).
func evalTeamsUnmanagedInbound(r *builtin, e *env, emit func(tenant.Result)) {
	if a := e.b.Teams.AllowUnmanagedInbound; a == nil || *a {
		emit(notApplicable(r, keyTeams, "Teams", silent))
		return
	}
	const expected = "unmanaged accounts cannot start conversations"
	t := teamsSettings(r, e, emit, expected)
	if t == nil {
		return
	}
	switch out, in := t.AllowTeamsConsumer, t.AllowTeamsConsumerInbound; {
	case out != nil && !*out:
		emit(r.result(tenant.Pass, keyTeams, "Teams", expected, "unmanaged accounts off", ""))
	case out == nil || in == nil:
		emit(r.result(tenant.Unknown, keyTeams, "Teams", expected, "", "AllowTeamsConsumer or AllowTeamsConsumerInbound not reported"))
	case *in:
		emit(r.result(tenant.Fail, keyTeams, "Teams", expected, "unmanaged accounts may start conversations", "anyone with a free Teams account can message users, a known phishing route"))
	default:
		emit(r.result(tenant.Pass, keyTeams, "Teams", expected, "outbound only", ""))
	}
}

// powerBIReach is who a Power BI setting is on for.
func powerBIReach(s *tenant.PowerBISetting) (baselines.PowerBIReach, bool) {
	switch {
	case s == nil || s.Enabled == nil:
		return "", false
	case !*s.Enabled:
		return baselines.ReachDisabled, true
	case len(s.SecurityGroups) > 0:
		return baselines.ReachSecurityGroups, true
	}
	return baselines.ReachEveryone, true
}

// powerBICeiling is a rule that a Power BI setting reaches no further than
// the baseline's ceiling.
func powerBICeiling(ceiling func(*baselines.PowerBI) *baselines.PowerBIReach, setting string, value func(*tenant.PowerBISettings) *tenant.PowerBISetting) evalFunc {
	return func(r *builtin, e *env, emit func(tenant.Result)) {
		const name = "Power BI"
		c := ceiling(&e.b.PowerBI)
		if c == nil {
			emit(notApplicable(r, keyPowerBI, name, silent))
			return
		}
		expected := setting + " at most " + string(*c)
		if why := e.incomplete(tenant.SectionPowerBI); why != "" {
			emit(r.result(tenant.Unknown, keyPowerBI, name, expected, "", why))
			return
		}
		p := e.s.PowerBI
		switch {
		case p == nil:
			emit(r.result(tenant.Unknown, keyPowerBI, name, expected, "", "Power BI settings missing from the snapshot"))
			return
		case p.NotApplicable != "":
			emit(r.result(tenant.NotApplicable, keyPowerBI, name, expected, "", p.NotApplicable))
			return
		}
		got, ok := powerBIReach(value(p))
		if !ok {
			emit(r.result(tenant.Unknown, keyPowerBI, name, expected, "", setting+" not reported"))
			return
		}
		want, _ := c.Rank()
		have, _ := got.Rank()
		actual := setting + " " + string(got)
		if got == baselines.ReachSecurityGroups {
			actual += fmt.Sprintf(" (%d)", len(value(p).SecurityGroups))
		}
		if have > want {
			emit(r.result(tenant.Fail, keyPowerBI, name, expected, actual, ""))
			return
		}
		emit(r.result(tenant.Pass, keyPowerBI, name, expected, actual, ""))
	}
}

var (
	evalTeamsUnmanagedOutbound = teamsSwitch(func(b *baselines.Teams) *bool { return b.AllowUnmanagedOutbound }, "communication with unmanaged Teams accounts",
		func(t *tenant.TeamsSettings) *bool { return t.AllowTeamsConsumer }, "users can chat and meet with Teams accounts no organization manages")
	evalTeamsSkypeConsumer = teamsSwitch(func(b *baselines.Teams) *bool { return b.AllowSkypeConsumer }, "communication with Skype users",
		func(t *tenant.TeamsSettings) *bool { return t.AllowPublicUsers }, "users can chat with consumer Skype accounts")
	evalTeamsGuestAccess = teamsSwitch(func(b *baselines.Teams) *bool { return b.AllowGuestAccess }, "guest access",
		func(t *tenant.TeamsSettings) *bool { return t.AllowGuestUser }, "guests can be added to teams and reach their channels and files")
	evalTeamsAnonymousJoin = teamsSwitch(func(b *baselines.Teams) *bool { return b.AllowAnonymousMeetingJoin }, "anonymous meeting join",
		func(t *tenant.TeamsSettings) *bool { return t.AllowAnonymousUsersToJoinMeeting }, "anyone with a meeting link can join without signing in (Global meeting policy)")

	evalPowerBIPublishToWeb = powerBICeiling(func(b *baselines.PowerBI) *baselines.PowerBIReach { return b.MaxPublishToWeb }, "publish to web",
		func(p *tenant.PowerBISettings) *tenant.PowerBISetting { return p.PublishToWeb })
	evalPowerBIGuestAccess = powerBICeiling(func(b *baselines.PowerBI) *baselines.PowerBIReach { return b.MaxGuestAccess }, "guest access",
		func(p *tenant.PowerBISettings) *tenant.PowerBISetting { return p.GuestAccess })
	evalPowerBIExternalSharing = powerBICeiling(func(b *baselines.PowerBI) *baselines.PowerBIReach { return b.MaxExternalSharing }, "external invitations",
		func(p *tenant.PowerBISettings) *tenant.PowerBISetting { return p.ExternalSharing })
)
