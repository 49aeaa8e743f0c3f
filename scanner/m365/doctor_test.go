package m365_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

type failingTokens struct{}

func (failingTokens) Token(context.Context, string) (string, error) {
	return "", errors.New("AADSTS7000215: invalid client secret")
}

func TestDoctor(t *testing.T) {
	srv, _ := fake(t, m365test.Options{})
	full := srv.Meta().Roles
	t.Run("fixture roles read everything", func(t *testing.T) {
		rep := m365.Doctor(context.Background(), srv.Tokens(full), srv.Endpoints())
		if !rep.OK() {
			t.Errorf("report %+v", rep)
		}
		for _, s := range rep.Sections {
			if len(s.Missing) > 0 || (s.Section != tenant.SectionExchange && len(s.Warnings) > 0) {
				t.Errorf("%s: %+v", s.Section, s)
			}
		}
	})
	t.Run("missing roles are named", func(t *testing.T) {
		roles := map[m365.Audience][]string{
			m365.AudienceGraph:      {"Sites.Read.All", "User.Read.All", "Policy.Read.All"},
			m365.AudienceSharePoint: {},
			m365.AudienceExchange:   {"Exchange.ManageAsApp"},
		}
		rep := m365.Doctor(context.Background(), srv.Tokens(roles), srv.Endpoints())
		want := map[tenant.Section][]string{
			tenant.SectionSharePoint: {"SharePointTenantSettings.Read.All or SharePointTenantSettings.ReadWrite.All (Microsoft Graph, application)", "Sites.FullControl.All (SharePoint, application)"},
			tenant.SectionSites:      {"Sites.FullControl.All (SharePoint, application)"},
			tenant.SectionLinks:      nil,
			tenant.SectionGuests:     nil,
			tenant.SectionEntra:      {"Policy.Read.B2BManagementPolicy or Policy.ReadWrite.B2BManagementPolicy (Microsoft Graph, application)"},
			tenant.SectionGroups:     {"Directory.Read.All or Directory.ReadWrite.All (Microsoft Graph, application)"},
			tenant.SectionExchange:   nil,
		}
		for _, s := range rep.Sections {
			if !slices.Equal(s.Missing, want[s.Section]) || s.Readable != (want[s.Section] == nil) {
				t.Errorf("%s: readable %v missing %q, want %q", s.Section, s.Readable, s.Missing, want[s.Section])
			}
			if s.Section == tenant.SectionGuests && !strings.Contains(strings.Join(s.Warnings, ";"), "AuditLog.Read.All") {
				t.Errorf("guests warnings %q lack AuditLog.Read.All", s.Warnings)
			}
		}
		if rep.Tokens[0].Audience != m365.AudienceGraph || len(rep.Tokens[0].Roles) != 3 || rep.Tokens[0].Expires.IsZero() {
			t.Errorf("graph token check %+v", rep.Tokens[0])
		}
	})
	t.Run("no token", func(t *testing.T) {
		rep := m365.Doctor(context.Background(), failingTokens{}, srv.Endpoints())
		if rep.OK() || rep.Tokens[0].OK || !strings.Contains(rep.Sections[0].Missing[0], "AADSTS7000215") {
			t.Errorf("report %+v", rep)
		}
	})
}
