package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// exchangeAnchorMailbox routes app-only admin API calls; the GUID is the
// well-known organization system mailbox.
const exchangeAnchorMailbox = "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@"

// InvokeCommand runs an Exchange Online cmdlet through the admin API and
// returns its output objects, re-posting the same body to @odata.nextLink
// until the last page. sel, when not empty, becomes $select.
func (c *Client) InvokeCommand(ctx context.Context, cmdlet string, params map[string]any, sel []string) ([]json.RawMessage, error) {
	if c.o.TenantID == "" {
		return nil, fmt.Errorf("%s: tenant ID is required for the Exchange admin API", cmdlet)
	}
	if params == nil {
		params = map[string]any{}
	}
	body, err := json.Marshal(map[string]any{"CmdletInput": map[string]any{"CmdletName": cmdlet, "Parameters": params}})
	if err != nil {
		return nil, fmt.Errorf("%s: encode parameters: %w", cmdlet, err)
	}
	u := strings.TrimRight(c.o.Endpoints.Exchange, "/") + "/adminapi/beta/" + c.o.TenantID + "/InvokeCommand"
	if len(sel) > 0 {
		u += "?$select=" + strings.Join(sel, ",")
	}
	h := http.Header{
		"Accept":          {"application/json"},
		"Content-Type":    {"application/json; charset=utf-8"},
		"X-AnchorMailbox": {exchangeAnchorMailbox + c.o.TenantID},
		"Prefer":          {"odata.maxpagesize=1000"},
		"X-CmdletName":    {cmdlet},
	}
	first := u
	var out []json.RawMessage
	for {
		resp, err := c.send(ctx, request{aud: AudienceExchange, method: http.MethodPost, url: u, body: body, header: h,
			readOnly: strings.HasPrefix(cmdlet, "Get-")})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cmdlet, err)
		}
		name := cmdlet + " (" + endpointName(http.MethodPost, u) + ")"
		// Writes may answer with an empty body.
		if len(bytes.TrimSpace(resp.body)) == 0 {
			return out, nil
		}
		var p page
		if err := decodeJSON(name, resp.body, &p); err != nil {
			return nil, err
		}
		items, err := p.items(name)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if p.NextLink == "" {
			return out, nil
		}
		if !sameOrigin(first, p.NextLink) {
			return nil, fmt.Errorf("%s: nextLink points to another host", name)
		}
		u = p.NextLink
	}
}

// exchangeDetailMessage extracts error.details[].message (array or object).
func exchangeDetailMessage(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var arr []struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &arr) == nil {
		var msgs []string
		for _, d := range arr {
			if d.Message != "" {
				msgs = append(msgs, d.Message)
			}
		}
		return strings.Join(msgs, "; ")
	}
	var one struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &one) == nil {
		return one.Message
	}
	return ""
}
