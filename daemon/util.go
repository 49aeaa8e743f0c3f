package daemon

import (
	"slices"

	"github.com/sharedrift/sharedrift/tenant"
)

func validSection(s string) bool { return slices.Contains(tenant.AllSections, tenant.Section(s)) }
