package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

const docGroupsGuests = "https://learn.microsoft.com/en-us/microsoft-365/solutions/microsoft-365-groups-guest-settings"

// Microsoft's Group.Unified template defaults, which apply while the tenant
// has no settings object or leaves a value unset.
const (
	defaultAllowToAddGuests          = true
	defaultAllowGuestsToAccessGroups = true
	defaultAllowGuestsToBeGroupOwner = false
)

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func groupsSettings(r *builtin, e *env, emit func(tenant.Result), expected string) *tenant.GroupsSettings {
	key := (*tenant.GroupsSettings)(nil).Key()
	if why := e.incomplete(tenant.SectionGroups); why != "" {
		emit(r.result(tenant.Unknown, key, "Microsoft 365 Groups guest settings", expected, "", why))
		return nil
	}
	if e.s.Groups == nil {
		emit(r.result(tenant.Unknown, key, "Microsoft 365 Groups guest settings", expected, "", "groups settings missing from the snapshot"))
		return nil
	}
	return e.s.Groups
}

func evalGroupSettings(r *builtin, e *env, emit func(tenant.Result)) {
	bg := e.b.Groups
	type check struct {
		name    string
		allowed *bool
		actual  *bool
		def     bool
	}
	var gs *tenant.GroupsSettings
	var exp []string
	for _, c := range []struct {
		name    string
		allowed *bool
	}{{"allowToAddGuests", bg.AllowOwnersToAddGuests}, {"allowGuestsToAccessGroups", bg.AllowGuestAccess}, {"allowGuestsToBeGroupOwner", bg.AllowGuestsAsOwners}} {
		if c.allowed != nil && !*c.allowed {
			exp = append(exp, c.name+"=false")
		}
	}
	key := (*tenant.GroupsSettings)(nil).Key()
	if len(exp) == 0 {
		emit(notApplicable(r, key, "Microsoft 365 Groups guest settings", silent))
		return
	}
	expected := strings.Join(exp, ", ")
	if gs = groupsSettings(r, e, emit, expected); gs == nil {
		return
	}
	checks := []check{
		{"allowToAddGuests", bg.AllowOwnersToAddGuests, gs.AllowToAddGuests, defaultAllowToAddGuests},
		{"allowGuestsToAccessGroups", bg.AllowGuestAccess, gs.AllowGuestsToAccessGroups, defaultAllowGuestsToAccessGroups},
		{"allowGuestsToBeGroupOwner", bg.AllowGuestsAsOwners, gs.AllowGuestsToBeGroupOwner, defaultAllowGuestsToBeGroupOwner},
	}
	var act, bad []string
	for _, c := range checks {
		if c.allowed == nil || *c.allowed {
			continue
		}
		v := boolOr(c.actual, c.def)
		act = append(act, fmt.Sprintf("%s=%t", c.name, v))
		if v {
			bad = append(bad, c.name)
		}
	}
	actual := strings.Join(act, ", ")
	x := tenant.Expectation{Scale: tenant.ScaleSwitch, AtMost: "false", Found: "false", Fields: bad}
	if len(bad) > 0 {
		x.Found = "true"
	}
	emit = expectingAll(emit, x)
	if len(bad) > 0 {
		emit(r.result(tenant.Fail, gs.Key(), "Microsoft 365 Groups guest settings", expected, actual, "enabled against the baseline: "+strings.Join(bad, ", ")))
		return
	}
	emit(r.result(tenant.Pass, gs.Key(), "Microsoft 365 Groups guest settings", expected, actual, ""))
}

// evalGroupGuests judges each group's effective "owners may add guests":
// its own override, else the tenant setting. Groups labelled confidential
// must not allow guests; others follow groups.allow_owners_to_add_guests.
func evalGroupGuests(r *builtin, e *env, emit func(tenant.Result)) {
	tenantCap := e.b.Groups.AllowOwnersToAddGuests
	conf := e.b.Confidential.Labels
	key := (*tenant.GroupsSettings)(nil).Key()
	if (tenantCap == nil || *tenantCap) && len(conf) == 0 {
		emit(notApplicable(r, key, "Microsoft 365 groups", silent))
		return
	}
	gs := groupsSettings(r, e, emit, "no guests added to restricted groups")
	if gs == nil {
		return
	}
	tenantAllows := boolOr(gs.AllowToAddGuests, defaultAllowToAddGuests)
	n := 0
	for i := range gs.Groups {
		g := &gs.Groups[i]
		why := ""
		if l := groupLabelMatch(conf, g); l != "" {
			why = "label " + l
		} else if tenantCap != nil && !*tenantCap {
			why = "groups.allow_owners_to_add_guests"
		} else {
			continue
		}
		n++
		name := g.DisplayName
		if name == "" {
			name = g.Mail
		}
		allows := boolOr(g.AllowToAddGuests, tenantAllows)
		src := "tenant setting"
		if g.AllowToAddGuests != nil {
			src = "group override"
		}
		actual := fmt.Sprintf("owners may add guests: %t (%s)", allows, src)
		emit := expectingAll(emit, tenant.Expectation{Scale: tenant.ScaleSwitch, AtMost: "false", Found: strconv.FormatBool(allows), Fields: []string{"allowToAddGuests"}})
		if allows {
			emit(r.result(tenant.Fail, g.Key(), name, "owners may add guests: false", actual, "group owners can add guests although "+why+" forbids it"))
			continue
		}
		emit(r.result(tenant.Pass, g.Key(), name, "owners may add guests: false", actual, ""))
	}
	if n == 0 {
		emit(r.result(tenant.Pass, key, "Microsoft 365 groups", "", "", "no group is restricted by the baseline"))
	}
}
