package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// LinkExpiryAPI names the call that sets the expiry of an existing Anyone
// link, or says why no call can (see shapes.go for what is assumed).
func LinkExpiryAPI(l *tenant.Link) (api, whyNot string) {
	if l.Scope != tenant.LinkScopeAnonymous {
		return "", fmt.Sprintf("the link's scope is %q, not anonymous", l.Scope)
	}
	if _, ok := linkShareID(l.PermissionID); !ok {
		return "", fmt.Sprintf("permission id %q is not a SharePoint sharing link id", l.PermissionID)
	}
	if _, ok := shareLinkKind(l.Type); !ok {
		return "", fmt.Sprintf("link type %q has no SharePoint link kind", l.Type)
	}
	return "POST {site}/_api/web/lists(guid'{list}')/items({item})/ShareLink settings.shareId settings.expiration", ""
}

// sharePointIDs are the SharePoint ids of a drive item.
type sharePointIDs struct {
	ListID     string `json:"listId"`
	ListItemID string `json:"listItemId"`
	SiteURL    string `json:"siteUrl"`
}

// itemSharePointIDs reads where a drive item lives in SharePoint terms.
func (c *Client) itemSharePointIDs(ctx context.Context, driveID, itemID string) (*sharePointIDs, error) {
	var body struct {
		IDs *sharePointIDs `json:"sharepointIds"`
	}
	path := "/drives/" + escapePath(driveID) + "/items/" + escapePath(itemID) + selectQuery([]string{"sharepointIds"})
	if err := c.GraphGet(ctx, V1, path, &body); err != nil {
		return nil, err
	}
	ids := body.IDs
	switch {
	case ids == nil:
		return nil, fmt.Errorf("GET /v1.0%s: no sharepointIds", path)
	case !guidRE.MatchString(ids.ListID):
		return nil, fmt.Errorf("GET /v1.0%s: sharepointIds.listId: expected a GUID, got %q", path, ids.ListID)
	case ids.ListItemID == "" || strings.Trim(ids.ListItemID, "0123456789") != "":
		return nil, fmt.Errorf("GET /v1.0%s: sharepointIds.listItemId: expected an integer, got %q", path, ids.ListItemID)
	}
	return ids, nil
}

// siteBase maps a site URL of the tenant to the endpoint requests for it
// go to. A site on any other host is refused: a token of this tenant is
// never sent elsewhere.
func (c *Client) siteBase(siteURL string) (string, error) {
	u, err := url.Parse(siteURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("site URL %q is not an https URL", siteURL)
	}
	admin, err := url.Parse(c.o.Endpoints.SharePointAudience)
	if err != nil || !strings.Contains(admin.Host, "-admin.") {
		return "", fmt.Errorf("SharePoint admin audience %q does not name the tenant", c.o.Endpoints.SharePointAudience)
	}
	name, suffix, _ := strings.Cut(admin.Host, "-admin.")
	var base string
	switch strings.ToLower(u.Host) {
	case strings.ToLower(name + "." + suffix):
		base = c.o.Endpoints.SharePoint
	case strings.ToLower(name + "-my." + suffix):
		base = c.o.Endpoints.OneDrive
	default:
		return "", fmt.Errorf("site URL %q is not on this tenant's SharePoint hosts", siteURL)
	}
	if base == "" {
		return "", fmt.Errorf("no endpoint configured for %s", u.Host)
	}
	return strings.TrimRight(base, "/") + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// SetLinkExpiry sets (or with nil removes) the expiry of an existing
// Anyone link through SharePoint's ShareLink method; read the link back
// through ReadLink to verify.
func (c *Client) SetLinkExpiry(ctx context.Context, driveID, itemID, permID string, expires *time.Time) error {
	what := fmt.Sprintf("set expiry of link %s/%s/%s", driveID, itemID, permID)
	l, err := c.ReadLink(ctx, driveID, itemID, permID)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if l == nil {
		return fmt.Errorf("%s: %w", what, ErrNoObject)
	}
	if _, why := LinkExpiryAPI(l); why != "" {
		return fmt.Errorf("%s: %s", what, why)
	}
	shareID, _ := linkShareID(permID)
	kind, _ := shareLinkKind(l.Type)
	ids, err := c.itemSharePointIDs(ctx, driveID, itemID)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	base, err := c.siteBase(ids.SiteURL)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	u := base + "/_api/web/lists(guid'" + strings.ToLower(ids.ListID) + "')/items(" + ids.ListItemID + ")/ShareLink"
	body, err := json.Marshal(map[string]any{"request": map[string]any{
		"createLink": true,
		"settings":   map[string]any{"shareId": shareID, "linkKind": kind, "expiration": shareLinkExpiration(expires)},
	}})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	h := http.Header{"Accept": {"application/json;odata=nometadata"}, "Content-Type": {"application/json;odata=nometadata"}}
	resp, err := c.send(ctx, request{aud: AudienceSharePoint, method: http.MethodPost, url: u, body: body, header: h})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var answer map[string]json.RawMessage
	if len(bytes.TrimSpace(resp.body)) > 0 {
		if err := decodeJSON(endpointName(http.MethodPost, u), resp.body, &answer); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}
