package tenant_test

import (
	"testing"

	"github.com/sharedrift/sharedrift/tenant"
)

func TestScaleWider(t *testing.T) {
	for _, tc := range []struct {
		scale         tenant.Scale
		before, after string
		wider         bool
	}{
		// Restriction modes: an allow list is the narrowest.
		{tenant.ScaleDomainMode, "allowList", "blockList", true},
		{tenant.ScaleDomainMode, "allowList", "none", true},
		{tenant.ScaleDomainMode, "blockList", "none", true},
		{tenant.ScaleDomainMode, "none", "blockList", false},
		{tenant.ScaleDomainMode, "blockList", "allowList", false},
		{tenant.ScaleDomainMode, "allowList", "allowList", false},
		{tenant.ScaleSharing, "existingExternalUserSharingOnly", "externalUserSharingOnly", true},
		{tenant.ScaleSharing, "externalUserAndGuestSharing", "disabled", false},
		// Days: fewer is narrower, 0 is never.
		{tenant.ScaleDays, "7", "30", true},
		{tenant.ScaleDays, "0", "30", false},
		{tenant.ScaleDays, "30", "0", true},
		{tenant.ScaleSwitch, "false", "true", true},
		{tenant.ScaleSwitch, "true", "false", false},
		{tenant.ScaleGuestRole, tenant.GuestRoleLimited, tenant.GuestRoleMember, true},
		{tenant.ScaleCalendar, "none", tenant.CalendarFreeBusySimple, true},
		// A value nobody can place is wider than any known one, never
		// narrower: fail closed.
		{tenant.ScaleSharing, "disabled", "somethingNew", true},
		{tenant.ScaleSharing, "somethingNew", "disabled", false},
		{tenant.ScaleDomainMode, "allowList", "", true},
		{tenant.ScaleLinkType, "", "", false},
	} {
		if got := tc.scale.Wider(tc.before, tc.after); got != tc.wider {
			t.Errorf("%s: %q -> %q wider = %t, want %t", tc.scale, tc.before, tc.after, got, tc.wider)
		}
	}
	if _, ok := tenant.Scale("nope").Rank("x"); ok {
		t.Error("an unknown scale ranks a value")
	}
}
