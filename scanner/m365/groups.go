package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

// Directory setting templates.
const (
	TemplateGroupUnified      = "62375ab9-6b52-47ed-826b-58e47e0e304b"
	TemplateGroupUnifiedGuest = "08d542b9-071f-4e16-94b0-74abb372e3d9"
)

var groupSelect = []string{"id", "displayName", "mail", "visibility", "assignedLabels"}

// settingValues returns the name→value map of the first setting object
// using templateID, and whether there is one.
func settingValues(endpoint string, items []json.RawMessage, templateID string) (map[string]string, bool, error) {
	for i, raw := range items {
		p, err := decodeProps(endpoint, raw)
		if err != nil {
			return nil, false, fmt.Errorf("setting %d: %w", i, err)
		}
		if !strings.EqualFold(p.s("templateId"), templateID) {
			continue
		}
		var vals []struct {
			Name  string  `json:"name"`
			Value *string `json:"value"`
		}
		if raw := p.raw("values"); raw != nil {
			if err := json.Unmarshal(raw, &vals); err != nil {
				return nil, false, fmt.Errorf("%s: setting %d values: %w", endpoint, i, err)
			}
		}
		m := map[string]string{}
		for _, v := range vals {
			if v.Value != nil {
				m[strings.ToLower(v.Name)] = *v.Value
			}
		}
		return m, true, nil
	}
	return nil, false, nil
}

// settingBool reads a setting's "true"/"false" string; anything else is
// unknown.
func settingBool(m map[string]string, name string) *bool {
	v, ok := m[strings.ToLower(name)]
	if !ok {
		return nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return nil
	}
	return &b
}

// ParseGroupSettings reads /groupSettings. No Group.Unified object means
// the tenant never changed the defaults: Configured is false and the values
// stay unknown.
func ParseGroupSettings(items []json.RawMessage) (*tenant.GroupsSettings, error) {
	m, ok, err := settingValues("GET /v1.0/groupSettings", items, TemplateGroupUnified)
	if err != nil {
		return nil, err
	}
	gs := &tenant.GroupsSettings{Configured: ok}
	if ok {
		gs.AllowToAddGuests = settingBool(m, "AllowToAddGuests")
		gs.AllowGuestsToAccessGroups = settingBool(m, "AllowGuestsToAccessGroups")
		gs.AllowGuestsToBeGroupOwner = settingBool(m, "AllowGuestsToBeGroupOwner")
	}
	return gs, nil
}

// ParseGroupGuestSetting reads /groups/{id}/settings; nil when the group
// has no Group.Unified.Guest override.
func ParseGroupGuestSetting(items []json.RawMessage) (*bool, error) {
	m, ok, err := settingValues("GET /v1.0/groups/{id}/settings", items, TemplateGroupUnifiedGuest)
	if err != nil || !ok {
		return nil, err
	}
	return settingBool(m, "AllowToAddGuests"), nil
}

// ParseGroups reads a page of /groups.
func ParseGroups(items []json.RawMessage) ([]tenant.Group, error) {
	const ep = "GET /v1.0/groups"
	out := make([]tenant.Group, 0, len(items))
	for i, raw := range items {
		p, err := decodeProps(ep, raw)
		if err != nil {
			return nil, fmt.Errorf("group %d: %w", i, err)
		}
		g := tenant.Group{ID: p.s("id"), DisplayName: p.s("displayName"), Mail: p.s("mail"), Visibility: p.s("visibility")}
		if g.ID == "" {
			return nil, fmt.Errorf("%s: group %d has no id", ep, i)
		}
		if raw := p.raw("assignedLabels"); raw != nil {
			var labels []struct {
				LabelID     string `json:"labelId"`
				DisplayName string `json:"displayName"`
			}
			if err := json.Unmarshal(raw, &labels); err != nil {
				return nil, fmt.Errorf("%s: group %d assignedLabels: %w", ep, i, err)
			}
			for _, l := range labels {
				g.Labels = append(g.Labels, tenant.Label{ID: strings.ToLower(l.LabelID), DisplayName: l.DisplayName})
			}
		}
		out = append(out, g)
	}
	return out, nil
}

type groupsSource struct{ c *Client }

func (groupsSource) Section() tenant.Section { return tenant.SectionGroups }

func (src groupsSource) Collect(ctx context.Context, snap *tenant.Snapshot) error {
	var items []json.RawMessage
	if _, err := src.c.GraphPages(ctx, V1, "/groupSettings", nil, func(p []json.RawMessage) error {
		items = append(items, p...)
		return nil
	}); err != nil {
		return fmt.Errorf("collect groups: %w", err)
	}
	gs, err := ParseGroupSettings(items)
	if err != nil {
		return fmt.Errorf("collect groups: %w", err)
	}
	var groups []tenant.Group
	if _, err := src.c.GraphPages(ctx, V1, "/groups"+selectQuery(groupSelect, unifiedGroupsFilter, "$top="+itoa(src.c.o.PageSize)), nil, func(p []json.RawMessage) error {
		g, err := ParseGroups(p)
		groups = append(groups, g...)
		return err
	}); err != nil {
		return fmt.Errorf("collect groups: %w", err)
	}
	reqs := make([]BatchRequest, 0, len(groups))
	for _, g := range groups {
		reqs = append(reqs, BatchRequest{ID: g.ID, URL: "/groups/" + escapePath(g.ID) + "/settings"})
	}
	res := src.c.BatchCollections(ctx, V1, reqs)
	var errs []error
	for i := range groups {
		r := res[groups[i].ID]
		if r.Err != nil {
			errs = append(errs, r.Err)
			continue
		}
		v, err := ParseGroupGuestSetting(r.Items)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		groups[i].AllowToAddGuests = v
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].ID < groups[j].ID })
	gs.Groups = groups
	snap.Groups = gs
	if len(errs) > 0 {
		return scanner.Partial(fmt.Errorf("collect groups: per-group settings: %d failures: %w", len(errs), errors.Join(errs...)))
	}
	return nil
}
