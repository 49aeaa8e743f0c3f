package remediate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Actions a plan can contain. Each changes one field of one object.
const (
	ActionDeleteLink             = "link.delete"
	ActionSetLinkExpiry          = "link.set_expiry"
	ActionSetSiteSharing         = "site.set_sharing"
	ActionSetSharePoint          = "sharepoint.set"
	ActionSetAuthorization       = "entra.set_authorization"
	ActionSetInvitations         = "entra.set_invitations"
	ActionSetGroupsSetting       = "groups.set"
	ActionSetGroupGuests         = "group.set_guests"
	ActionBlockGuest             = "guest.block"
	ActionDeleteGuest            = "guest.delete"
	ActionSetSharingPolicy       = "exchange.set_sharing_policy"
	ActionSetOrgRelationship     = "exchange.set_org_relationship"
	ActionRemoveOrgRelationship  = "exchange.remove_org_relationship"
	fieldExists                  = "exists"
	fieldExpires                 = "expires"
	invitationsModeField         = "mode"
	sharePointModeField          = "domainRestrictionMode"
	priorityMode, priorityNormal = 0, 1
)

// Ref locates the object an operation changes; only the fields its action
// needs are set.
type Ref struct {
	DriveID      string `json:"driveId,omitempty"`
	ItemID       string `json:"itemId,omitempty"`
	PermissionID string `json:"permissionId,omitempty"`
	SiteURL      string `json:"siteUrl,omitempty"`
	UserID       string `json:"userId,omitempty"`
	GroupID      string `json:"groupId,omitempty"`
	Name         string `json:"name,omitempty"`
}

// Scope is what exclusions are matched against.
type Scope struct {
	Sites   []string `json:"sites,omitempty"`
	Users   []string `json:"users,omitempty"`
	Domains []string `json:"domains,omitempty"`
	Labels  []string `json:"labels,omitempty"`
}

// Change is how an operation computes the value it writes from the value
// it expects to find: a plain Set, or a list edit (Add, Remove) so that
// several fixes of one list in a run compose instead of overwriting each
// other, or an Entry edit of an Exchange sharing policy's Domains.
type Change struct {
	Set    json.RawMessage `json:"set,omitempty"`
	Add    []string        `json:"add,omitempty"`
	Remove []string        `json:"remove,omitempty"`
	Entry  *EntryEdit      `json:"entry,omitempty"`
	// AtMost lowers a ranked value to the cap and leaves lower values
	// alone, so two fixes of one setting never raise it again.
	AtMost *Cap `json:"atMost,omitempty"`
	// WithinDays brings a moment (an expiry) forward to at most this many
	// days after the change is made; a missing moment (never expires)
	// gets that limit, an earlier one stays. It is relative so that the
	// plan of an unchanged object is the same in every scan.
	WithinDays *int `json:"withinDays,omitempty"`
	// notAfter is WithinDays resolved at a moment (see at).
	notAfter *time.Time
}

// at resolves a relative change for a change made at now.
func (c Change) at(now time.Time) Change {
	if c.WithinDays != nil {
		t := now.UTC().Truncate(time.Second).Add(time.Duration(*c.WithinDays) * 24 * time.Hour)
		c.notAfter = &t
	}
	return c
}

// Cap is a ceiling on an ordered scale.
type Cap struct {
	Scale string `json:"scale"`
	Value string `json:"value"`
}

// EntryEdit changes one "<domain>:<actions>" entry of a sharing policy:
// drop it, drop some actions, or cap its calendar action.
type EntryEdit struct {
	Domain        string   `json:"domain"`
	Drop          bool     `json:"drop,omitempty"`
	RemoveActions []string `json:"removeActions,omitempty"`
	// CalendarCap replaces a calendar action above it; "" leaves calendar
	// actions alone, "none" removes them.
	CalendarCap string `json:"calendarCap,omitempty"`
}

// Cond is a precondition: Field of the object must read Value.
type Cond struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

// Op is one API operation of a plan.
type Op struct {
	Action    string `json:"action"`
	ObjectKey string `json:"objectKey"`
	Ref       Ref    `json:"ref"`
	// Field is the snapshot field the operation changes ("exists" for
	// deletions); Before is its value in the scanned snapshot.
	Field  string          `json:"field"`
	Before json.RawMessage `json:"before"`
	Change Change          `json:"change"`
	// After is what the field reads once the operation is done, computed
	// from Before at plan time (for display; execution recomputes it).
	After json.RawMessage `json:"after"`
	// API names the call, e.g. "DELETE /v1.0/drives/{drive}/items/{item}/permissions/{perm}".
	API         string `json:"api"`
	Destructive bool   `json:"destructive,omitempty"`
	// NeedsApproval operations run only after a person approved them,
	// whatever the mode and allow_destructive say.
	NeedsApproval bool `json:"needsApproval,omitempty"`
	Reversible    bool `json:"reversible,omitempty"`
	// Deferred operations run only after the grace period that follows the
	// plan's other operations (a guest is blocked first, deleted later).
	Deferred bool   `json:"deferred,omitempty"`
	Require  []Cond `json:"require,omitempty"`
	Scope    Scope  `json:"scope,omitempty"`
	// Priority orders a run: restriction modes change before the lists they
	// govern.
	Priority int `json:"priority,omitempty"`
}

// stateKey identifies the field an operation changes.
func (o *Op) stateKey() string { return o.ObjectKey + "#" + o.Field }

// raw encodes v; the values used here always encode.
func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("remediate: encode %T: %v", v, err))
	}
	return b
}

// Apply computes the value Change writes over expected.
func (c *Change) Apply(expected json.RawMessage) (json.RawMessage, error) {
	switch {
	case c.Set != nil:
		return c.Set, nil
	case c.AtMost != nil:
		var cur string
		if len(bytes.TrimSpace(expected)) > 0 && string(bytes.TrimSpace(expected)) != "null" {
			if err := json.Unmarshal(expected, &cur); err != nil {
				return nil, fmt.Errorf("expected a string, got %s", expected)
			}
		}
		capRank, ok := rank(c.AtMost.Scale, c.AtMost.Value)
		if !ok {
			return nil, fmt.Errorf("cap %q is not on the %s scale", c.AtMost.Value, c.AtMost.Scale)
		}
		if r, ok := rank(c.AtMost.Scale, cur); ok && r <= capRank {
			return raw(cur), nil
		}
		return raw(c.AtMost.Value), nil
	case c.WithinDays != nil:
		if c.notAfter == nil {
			return nil, fmt.Errorf("a change within %d days needs the moment it is made", *c.WithinDays)
		}
		cur, err := decodeMoment(expected)
		if err != nil {
			return nil, err
		}
		if cur != nil && !cur.After(*c.notAfter) {
			return raw(cur.UTC()), nil
		}
		return raw(c.notAfter.UTC()), nil
	case c.Entry != nil:
		var entries []string
		if err := decodeList(expected, &entries); err != nil {
			return nil, err
		}
		return raw(c.Entry.apply(entries)), nil
	case c.Add != nil || c.Remove != nil:
		var list []string
		if err := decodeList(expected, &list); err != nil {
			return nil, err
		}
		out := make([]string, 0, len(list)+len(c.Add))
		for _, v := range list {
			if !containsFold(c.Remove, v) {
				out = append(out, v)
			}
		}
		for _, v := range c.Add {
			if !containsFold(out, v) {
				out = append(out, v)
			}
		}
		return raw(out), nil
	}
	return nil, fmt.Errorf("change has nothing to apply")
}

// Satisfied reports whether value already meets the change's goal: the
// set value, the list members added and removed, the cap respected, the
// entry edited. A run leaves a satisfied field alone whatever else changed.
func (c *Change) Satisfied(value json.RawMessage) bool {
	switch {
	case c.Add != nil || c.Remove != nil:
		var list []string
		if decodeList(value, &list) != nil {
			return false
		}
		for _, v := range c.Add {
			if !containsFold(list, v) {
				return false
			}
		}
		for _, v := range c.Remove {
			if containsFold(list, v) {
				return false
			}
		}
		return true
	case c.WithinDays != nil:
		cur, err := decodeMoment(value)
		return err == nil && c.notAfter != nil && cur != nil && !cur.After(*c.notAfter)
	case c.AtMost != nil:
		var cur string
		if json.Unmarshal(value, &cur) != nil {
			return false
		}
		r, ok := rank(c.AtMost.Scale, cur)
		capRank, capOK := rank(c.AtMost.Scale, c.AtMost.Value)
		return ok && capOK && r <= capRank
	}
	want, err := c.Apply(value)
	return err == nil && equalValues(want, value)
}

// decodeMoment reads a time value; null (never) is nil.
func decodeMoment(v json.RawMessage) (*time.Time, error) {
	if len(bytes.TrimSpace(v)) == 0 || string(bytes.TrimSpace(v)) == "null" {
		return nil, nil
	}
	var t time.Time
	if err := json.Unmarshal(v, &t); err != nil {
		return nil, fmt.Errorf("expected a time or null, got %s", v)
	}
	return &t, nil
}

func decodeList(v json.RawMessage, out *[]string) error {
	if len(bytes.TrimSpace(v)) == 0 || string(bytes.TrimSpace(v)) == "null" {
		*out = []string{}
		return nil
	}
	if err := json.Unmarshal(v, out); err != nil {
		return fmt.Errorf("expected a list of strings, got %s", v)
	}
	return nil
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

var calendarActions = []string{"CalendarSharingFreeBusySimple", "CalendarSharingFreeBusyDetail", "CalendarSharingFreeBusyReviewer"}

func calendarRank(a string) int { return slices.Index(calendarActions, a) + 1 }

func (e *EntryEdit) apply(entries []string) []string {
	out := make([]string, 0, len(entries))
	for _, s := range entries {
		dom, acts, _ := strings.Cut(s, ":")
		if !strings.EqualFold(strings.TrimSpace(dom), e.Domain) {
			out = append(out, s)
			continue
		}
		if e.Drop {
			continue
		}
		var keep []string
		for _, a := range strings.Split(acts, ",") {
			a = strings.TrimSpace(a)
			switch {
			case a == "" || containsFold(e.RemoveActions, a):
				continue
			case e.CalendarCap != "" && calendarRank(a) > 0:
				if e.CalendarCap == "none" {
					continue
				}
				if calendarRank(a) > calendarRank(e.CalendarCap) {
					a = e.CalendarCap
				}
			}
			if !slices.Contains(keep, a) {
				keep = append(keep, a)
			}
		}
		if len(keep) == 0 {
			continue // an entry without actions is no entry
		}
		out = append(out, strings.TrimSpace(dom)+":"+strings.Join(keep, ","))
	}
	return out
}

// equalValues compares two field values; lists of strings compare as sets
// (case-insensitively), everything else by canonical JSON.
func equalValues(a, b json.RawMessage) bool {
	na, nb := normalize(a), normalize(b)
	return bytes.Equal(na, nb)
}

func normalize(v json.RawMessage) []byte {
	t := bytes.TrimSpace(v)
	if len(t) == 0 {
		return []byte("null")
	}
	var list []string
	if t[0] == '[' && json.Unmarshal(t, &list) == nil {
		low := make([]string, len(list))
		for i, s := range list {
			low[i] = strings.ToLower(strings.TrimSpace(s))
		}
		slices.Sort(low)
		return raw(slices.Compact(low))
	}
	var x any
	if json.Unmarshal(t, &x) != nil {
		return t
	}
	return raw(x)
}
