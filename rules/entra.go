package rules

import (
	"fmt"
	"slices"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/tenant"
)

const (
	docExternalCollab = "https://learn.microsoft.com/en-us/entra/external-id/external-collaboration-settings-configure"
	docGuestAccess    = "https://learn.microsoft.com/en-us/entra/identity/users/users-restrict-guest-permissions"
)

func entraSettings(r *builtin, e *env, emit func(tenant.Result), key, expected string) *tenant.EntraSettings {
	if why := e.incomplete(tenant.SectionEntra); why != "" {
		emit(r.result(tenant.Unknown, key, "Entra external collaboration", expected, "", why))
		return nil
	}
	if e.s.Entra == nil {
		emit(r.result(tenant.Unknown, key, "Entra external collaboration", expected, "", "Entra settings missing from the snapshot"))
		return nil
	}
	return e.s.Entra
}

func evalInviteFrom(r *builtin, e *env, emit func(tenant.Result)) {
	max := e.b.Entra.MaxInviteFrom
	key := tenant.KeyEntraAuthorization
	if max == nil {
		emit(notApplicable(r, key, "Guest invite settings", silent))
		return
	}
	en := entraSettings(r, e, emit, key, atMost(*max))
	if en == nil {
		return
	}
	name := "Guest invite settings"
	emit = expectingAll(emit, ceiling(tenant.ScaleInviteFrom, max.Tenant(), en.AllowInvitesFrom))
	if en.AllowInvitesFrom == "" {
		emit(r.result(tenant.Unknown, key, name, atMost(*max), "", "allowInvitesFrom missing"))
		return
	}
	// The ceiling names the values it accepts; one Microsoft adds later is
	// not among them until the vocabulary places it.
	rank, ok := en.AllowInvitesFrom.Rank()
	if !ok {
		emit(r.result(tenant.Fail, key, name, atMost(*max), string(en.AllowInvitesFrom), "allowInvitesFrom value not recognised: "+string(en.AllowInvitesFrom)))
		return
	}
	limit, _ := max.Rank()
	actual := inviteName(en.AllowInvitesFrom)
	if rank > limit {
		emit(r.result(tenant.Fail, key, name, atMost(*max), actual, fmt.Sprintf("%s may invite guests, more than %s", actual, *max)))
		return
	}
	emit(r.result(tenant.Pass, key, name, atMost(*max), actual, ""))
}

func evalGuestAccess(r *builtin, e *env, emit func(tenant.Result)) {
	max := e.b.Entra.MaxGuestAccess
	key := tenant.KeyEntraAuthorization
	if max == nil {
		emit(notApplicable(r, key, "Guest user access", silent))
		return
	}
	en := entraSettings(r, e, emit, key, atMost(*max))
	if en == nil {
		return
	}
	name := "Guest user access"
	emit = expectingAll(emit, ceiling(tenant.ScaleGuestRole, tenant.GuestRoleID(max.Tenant()), en.GuestUserRoleID))
	if en.GuestUserRoleID == "" {
		emit(r.result(tenant.Unknown, key, name, atMost(*max), "", "guest user role missing"))
		return
	}
	level := en.GuestAccess()
	rank, ok := level.Rank()
	if !ok {
		emit(r.result(tenant.Fail, key, name, atMost(*max), en.GuestUserRoleID, "guest user role not recognised: "+en.GuestUserRoleID))
		return
	}
	limit, _ := max.Rank()
	if rank > limit {
		emit(r.result(tenant.Fail, key, name, atMost(*max), accessName(level), fmt.Sprintf("guests have %s directory access, more than %s", accessName(level), *max)))
		return
	}
	emit(r.result(tenant.Pass, key, name, atMost(*max), accessName(level), ""))
}

// invitations returns the Entra invitation domain list or emits unknown.
func invitations(r *builtin, e *env, emit func(tenant.Result), expected string) *tenant.DomainList {
	en := entraSettings(r, e, emit, tenant.KeyEntraInvitations, expected)
	if en == nil {
		return nil
	}
	if en.Invitations == nil {
		msg := "invitation domain policy not collected"
		if slices.Contains(en.NotInCloud, "invitations") {
			msg = "invitation domain policy: not supported in this cloud"
		}
		emit(r.result(tenant.Unknown, tenant.KeyEntraInvitations, "Guest invitation domains", expected, "", msg))
		return nil
	}
	return en.Invitations
}

func invitationRestriction(b *baselines.Baseline) *baselines.DomainRestriction {
	if b.Entra.InvitationDomains == nil {
		return &baselines.DomainRestriction{}
	}
	return b.Entra.InvitationDomains
}

func evalInviteMode(r *builtin, e *env, emit func(tenant.Result)) {
	dr := invitationRestriction(e.b)
	if dr.Mode == nil {
		emit(notApplicable(r, tenant.KeyEntraInvitations, "Guest invitation domains", silent))
		return
	}
	if inv := invitations(r, e, emit, string(*dr.Mode)); inv != nil {
		modeRule(r, emit, tenant.KeyEntraInvitations, "Guest invitation domains", dr, inv.Mode, inv.Allowed)
	}
}

func evalInviteBlocked(r *builtin, e *env, emit func(tenant.Result)) {
	dr := invitationRestriction(e.b)
	if len(dr.MustBlock) == 0 {
		emit(notApplicable(r, tenant.KeyEntraInvitations, "Guest invitation domains", silent))
		return
	}
	if inv := invitations(r, e, emit, "blocked"); inv != nil {
		blockedRule(r, emit, tenant.KeyEntraInvitations, dr, inv.Mode, inv.Allowed, inv.Blocked)
	}
}

func evalInviteAllowed(r *builtin, e *env, emit func(tenant.Result)) {
	dr := invitationRestriction(e.b)
	if dr.Allowed == nil {
		emit(notApplicable(r, tenant.KeyEntraInvitations, "Guest invitation domains", silent))
		return
	}
	if inv := invitations(r, e, emit, "subset of approved domains"); inv != nil {
		allowedRule(r, emit, tenant.KeyEntraInvitations, *dr.Allowed, inv.Allowed)
	}
}
