package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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

// The fields read of a directory setting and a group.
var (
	settingValueSchema = newSchema("")
	svName             = settingValueSchema.str("name")
	svValue            = settingValueSchema.str("value")
	settingSchema      = newSchema("setting")
	_                  = settingSchema.identity("id") // checked, not read
	stTemplateID       = settingSchema.str("templateId")
	stValues           = settingSchema.objects("values", settingValueSchema)

	assignedLabelSchema = newSchema("")
	alLabelID           = assignedLabelSchema.str("labelId")
	alDisplayName       = assignedLabelSchema.str("displayName")
	groupSchema         = newSchema("group")
	grID                = groupSchema.identity("id")
	grDisplayName       = groupSchema.str("displayName")
	grMail              = groupSchema.str("mail")
	grVisibility        = groupSchema.str("visibility")
	grLabels            = groupSchema.objects("assignedLabels", assignedLabelSchema)
)

const (
	epGroupSettings = "GET /v1.0/groupSettings"
	epGroupSetting  = "GET /v1.0/groups/{id}/settings"
	epGroups        = "GET /v1.0/groups"
)

// settingBools reads the named boolean values ("true"/"false" strings) of
// the first setting object using templateID; found says whether there is
// one. A value other than "true" or "false" is an error, not unknown, and
// so is any setting that cannot be read: it may be the one using
// templateID.
func settingBools(ep string, items []json.RawMessage, templateID string, names ...string) (vals []*bool, found bool, err error) {
	var bad FieldErrors
	var r, v reader
	for i, raw := range items {
		if !r.item(ep, settingSchema, raw, i) {
			bad.add(r.first())
			continue
		}
		match := !found && strings.EqualFold(r.str(stTemplateID), templateID)
		var got []*bool
		if match {
			got = make([]*bool, len(names))
		}
		for l := r.list(stValues); l.next(&r, &v); {
			name := v.str(svName)
			value, ok := v.strOK(svValue)
			n := slices.IndexFunc(names, func(s string) bool { return strings.EqualFold(s, name) })
			if n < 0 || !ok {
				continue
			}
			b, err := strconv.ParseBool(strings.TrimSpace(value))
			if err != nil {
				v.fail("value", -1, `"true" or "false"`, strconv.Quote(value))
				continue
			}
			if match {
				got[n] = &b
			}
		}
		if r.failed() {
			bad.add(r.first())
			continue
		}
		if match {
			vals, found = got, true
		}
	}
	if err := bad.err(); err != nil {
		return nil, false, err
	}
	return vals, found, nil
}

// ParseGroupSettings reads /groupSettings. No Group.Unified object means
// the tenant never changed the defaults: Configured is false and the values
// stay unknown.
func ParseGroupSettings(items []json.RawMessage) (*tenant.GroupsSettings, error) {
	v, ok, err := settingBools(epGroupSettings, items, TemplateGroupUnified, "AllowToAddGuests", "AllowGuestsToAccessGroups", "AllowGuestsToBeGroupOwner")
	if err != nil {
		return nil, err
	}
	gs := &tenant.GroupsSettings{Configured: ok}
	if ok {
		gs.AllowToAddGuests, gs.AllowGuestsToAccessGroups, gs.AllowGuestsToBeGroupOwner = v[0], v[1], v[2]
	}
	return gs, nil
}

// ParseGroupGuestSetting reads /groups/{id}/settings; nil when the group
// has no Group.Unified.Guest override.
func ParseGroupGuestSetting(items []json.RawMessage) (*bool, error) {
	v, ok, err := settingBools(epGroupSetting, items, TemplateGroupUnifiedGuest, "AllowToAddGuests")
	if err != nil || !ok {
		return nil, err
	}
	return v[0], nil
}

// ParseGroups reads a page of /groups. Groups that cannot be read are left
// out and reported as FieldErrors.
func ParseGroups(items []json.RawMessage) ([]tenant.Group, error) {
	out := make([]tenant.Group, 0, len(items))
	var bad FieldErrors
	var r, l reader
	for i, raw := range items {
		if !r.item(epGroups, groupSchema, raw, i) {
			bad.add(r.first())
			continue
		}
		g := tenant.Group{ID: r.str(grID), DisplayName: r.str(grDisplayName), Mail: r.str(grMail), Visibility: r.str(grVisibility)}
		for it := r.list(grLabels); it.next(&r, &l); {
			g.Labels = append(g.Labels, tenant.Label{ID: strings.ToLower(l.str(alLabelID)), DisplayName: l.str(alDisplayName)})
		}
		if r.failed() {
			bad.add(r.first())
			continue
		}
		out = append(out, g)
	}
	return out, bad.err()
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
	// A tenant setting that cannot be read leaves the tenant's values
	// unknown; the groups are still read and the section is partial.
	var errs []error
	gs, err := ParseGroupSettings(items)
	if isFieldErrors(err) {
		errs = append(errs, err)
		gs = &tenant.GroupsSettings{Configured: true}
	} else if err != nil {
		return fmt.Errorf("collect groups: %w", err)
	}
	var bad FieldErrors
	var groups []tenant.Group
	if _, err := src.c.GraphPages(ctx, V1, "/groups"+selectQuery(groupSelect(), unifiedGroupsFilter, "$top="+itoa(src.c.o.PageSize)), nil, func(p []json.RawMessage) error {
		g, err := ParseGroups(p)
		groups = append(groups, g...)
		return noteItems(&bad, err)
	}); err != nil {
		return fmt.Errorf("collect groups: %w", err)
	}
	if err := bad.err(); err != nil {
		errs = append(errs, err)
	}
	reqs := make([]BatchRequest, 0, len(groups))
	for _, g := range groups {
		reqs = append(reqs, BatchRequest{ID: g.ID, URL: "/groups/" + escapePath(g.ID) + "/settings"})
	}
	res := src.c.BatchCollections(ctx, V1, reqs)
	var settingErrs []error
	for i := range groups {
		r := res[groups[i].ID]
		if r.Err != nil {
			settingErrs = append(settingErrs, r.Err)
			continue
		}
		v, err := ParseGroupGuestSetting(r.Items)
		if err != nil {
			settingErrs = append(settingErrs, err)
			continue
		}
		groups[i].AllowToAddGuests = v
	}
	if len(settingErrs) > 0 {
		errs = append(errs, fmt.Errorf("per-group settings: %d failures: %w", len(settingErrs), errors.Join(settingErrs...)))
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].ID < groups[j].ID })
	gs.Groups = groups
	snap.Groups = gs
	if len(errs) > 0 {
		return scanner.Partial(fmt.Errorf("collect groups: %w", errors.Join(errs...)))
	}
	return nil
}

// groupSelect lists the fields asked for.
func groupSelect() []string { return groupSchema.names() }
