package remediate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/tenant"
)

// Target reads and writes the fields operations change. Read returns the
// field's current value in snapshot terms (for "exists": whether the
// object is there); Write sets it.
type Target interface {
	Read(ctx context.Context, op *Op, field string) (json.RawMessage, error)
	Write(ctx context.Context, op *Op, value json.RawMessage) error
}

// M365Target is the Target of a Microsoft 365 tenant.
type M365Target struct {
	C *m365.Client
}

var _ Target = M365Target{}

// Read implements Target.
func (t M365Target) Read(ctx context.Context, op *Op, field string) (json.RawMessage, error) {
	switch op.Action {
	case ActionSetSharePoint:
		s, err := t.C.ReadSharePointSettings(ctx)
		if err != nil {
			return nil, err
		}
		return fieldValue(s, field), nil
	case ActionSetSiteSharing:
		s, err := t.C.ReadSite(ctx, op.Ref.SiteURL)
		if err != nil {
			return nil, err
		}
		return fieldValue(s, field), nil
	case ActionDeleteLink:
		l, err := t.C.ReadLink(ctx, op.Ref.DriveID, op.Ref.ItemID, op.Ref.PermissionID)
		if err != nil {
			return nil, err
		}
		return raw(l != nil), nil
	case ActionSetLinkExpiry:
		l, err := t.C.ReadLink(ctx, op.Ref.DriveID, op.Ref.ItemID, op.Ref.PermissionID)
		if err != nil {
			return nil, err
		}
		if l == nil {
			// Gone is not "never expires": the operation cannot go on.
			return nil, fmt.Errorf("read link %s: %w", op.ObjectKey, m365.ErrNoObject)
		}
		if l.Expires == nil {
			return raw(nil), nil
		}
		return raw(l.Expires.UTC()), nil
	case ActionBlockGuest, ActionDeleteGuest:
		g, err := t.C.ReadUser(ctx, op.Ref.UserID)
		if err != nil {
			return nil, err
		}
		if field == fieldExists {
			return raw(g != nil), nil
		}
		if g == nil {
			return raw(nil), nil
		}
		return boolRaw(g.AccountEnabled), nil
	case ActionSetAuthorization:
		e, err := t.C.ReadAuthorizationPolicy(ctx)
		if err != nil {
			return nil, err
		}
		return fieldValue(e, field), nil
	case ActionSetInvitations:
		l, err := t.C.ReadInvitationDomains(ctx)
		if err != nil {
			return nil, err
		}
		l.Allowed, l.Blocked = nonNil(l.Allowed), nonNil(l.Blocked)
		return fieldValue(l, field), nil
	case ActionSetGroupsSetting:
		gs, err := t.C.ReadGroupsSettings(ctx)
		if err != nil {
			return nil, err
		}
		return fieldValue(gs, field), nil
	case ActionSetGroupGuests:
		v, err := t.C.ReadGroupGuestSetting(ctx, op.Ref.GroupID)
		if err != nil {
			return nil, err
		}
		return boolRaw(v), nil
	case ActionSetSharingPolicy:
		ex, err := t.C.ReadExchange(ctx)
		if err != nil {
			return nil, err
		}
		for i := range ex.SharingPolicies {
			if p := &ex.SharingPolicies[i]; p.Name == op.Ref.Name {
				return raw(PolicyDomains(p)), nil
			}
		}
		return raw(nil), nil
	case ActionSetOrgRelationship, ActionRemoveOrgRelationship:
		ex, err := t.C.ReadExchange(ctx)
		if err != nil {
			return nil, err
		}
		var o *tenant.OrgRelationship
		for i := range ex.OrganizationRelationships {
			if ex.OrganizationRelationships[i].Name == op.Ref.Name {
				o = &ex.OrganizationRelationships[i]
			}
		}
		if field == fieldExists {
			return raw(o != nil), nil
		}
		if o == nil {
			return raw(nil), nil
		}
		return fieldValue(o, field), nil
	}
	return nil, fmt.Errorf("read %s: unknown action", op.Action)
}

func decode[T any](v json.RawMessage) (T, error) {
	var out T
	if err := json.Unmarshal(v, &out); err != nil {
		return out, fmt.Errorf("value %s: %w", v, err)
	}
	return out, nil
}

// Write implements Target.
func (t M365Target) Write(ctx context.Context, op *Op, value json.RawMessage) error {
	switch op.Action {
	case ActionSetSharePoint:
		return t.C.SetSharePointSetting(ctx, op.Field, value)
	case ActionSetLinkExpiry:
		exp, err := decodeMoment(value)
		if err != nil {
			return err
		}
		return t.C.SetLinkExpiry(ctx, op.Ref.DriveID, op.Ref.ItemID, op.Ref.PermissionID, exp)
	case ActionSetSiteSharing:
		l, err := decode[tenant.SharingLevel](value)
		if err != nil {
			return err
		}
		return t.C.SetSiteSharing(ctx, op.Ref.SiteURL, l)
	case ActionDeleteLink, ActionDeleteGuest, ActionRemoveOrgRelationship:
		exists, err := decode[bool](value)
		if err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("%s cannot be undone: the deleted object cannot be recreated", op.Action)
		}
		switch op.Action {
		case ActionDeleteLink:
			return t.C.DeleteLink(ctx, op.Ref.DriveID, op.Ref.ItemID, op.Ref.PermissionID)
		case ActionDeleteGuest:
			return t.C.DeleteUser(ctx, op.Ref.UserID)
		default:
			return t.C.RemoveOrgRelationship(ctx, op.Ref.Name)
		}
	case ActionBlockGuest:
		b, err := decode[bool](value)
		if err != nil {
			return err
		}
		return t.C.SetAccountEnabled(ctx, op.Ref.UserID, b)
	case ActionSetAuthorization:
		s, err := decode[string](value)
		if err != nil {
			return err
		}
		return t.C.SetAuthorizationPolicy(ctx, op.Field, s)
	case ActionSetInvitations:
		l, err := t.C.ReadInvitationDomains(ctx)
		if err != nil {
			return err
		}
		switch op.Field {
		case invitationsModeField:
			m, err := decode[tenant.DomainMode](value)
			if err != nil {
				return err
			}
			l.Mode = m
		case "allowed":
			if l.Allowed, err = decode[[]string](value); err != nil {
				return err
			}
		case "blocked":
			if l.Blocked, err = decode[[]string](value); err != nil {
				return err
			}
		default:
			return fmt.Errorf("invitations: unknown field %q", op.Field)
		}
		return t.C.SetInvitationDomains(ctx, l)
	case ActionSetGroupsSetting:
		b, err := decode[*bool](value)
		if err != nil {
			return err
		}
		return t.C.SetGroupsSetting(ctx, settingName(op.Field), b)
	case ActionSetGroupGuests:
		b, err := decode[*bool](value)
		if err != nil {
			return err
		}
		return t.C.SetGroupGuestSetting(ctx, op.Ref.GroupID, b)
	case ActionSetSharingPolicy:
		l, err := decode[[]string](value)
		if err != nil {
			return err
		}
		return t.C.SetSharingPolicyDomains(ctx, op.Ref.Name, l)
	case ActionSetOrgRelationship:
		var v any
		if err := json.Unmarshal(value, &v); err != nil {
			return fmt.Errorf("value %s: %w", value, err)
		}
		return t.C.SetOrgRelationship(ctx, op.Ref.Name, map[string]any{strings.ToUpper(op.Field[:1]) + op.Field[1:]: v})
	}
	return fmt.Errorf("write %s: unknown action", op.Action)
}
