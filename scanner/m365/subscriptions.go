package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Facts about Graph change notifications for drive items, in one place.
// Sources: https://learn.microsoft.com/graph/api/resources/subscription
// (lifetimes, clientState), https://learn.microsoft.com/graph/change-notifications-overview
// (latency table), https://learn.microsoft.com/graph/change-notifications-lifecycle-events.
const (
	// DriveItemMaxLifetime is the longest a driveItem subscription may be
	// asked to live: 42,300 minutes (just under 30 days).
	DriveItemMaxLifetime = 42300 * time.Minute
	// SubscriptionMinLifetime: Graph raises an expiry under 45 minutes
	// from the request to 45 minutes.
	SubscriptionMinLifetime = 45 * time.Minute
	// ClientStateMaxLen is the longest clientState Graph accepts.
	ClientStateMaxLen = 128
	// ValidationDeadline is how long Graph waits for the validation
	// handshake's answer.
	ValidationDeadline = 10 * time.Second
	// DriveItemLatencyAverage and DriveItemLatencyMax are the delivery
	// latencies Microsoft documents for driveItem notifications: under a
	// minute on average, at most about five. The fake delivers with them.
	DriveItemLatencyAverage = time.Minute
	DriveItemLatencyMax     = 5 * time.Minute
	// SecurityWebhooksPrefer makes a drive subscription also report
	// permission changes (see reference/m365-apis.md).
	SecurityWebhooksPrefer = "includesecuritywebhooks"
)

// Lifecycle events Graph sends to lifecycleNotificationUrl. Renewing a
// subscription also reauthorizes it (lifecycle events page), so
// reauthorizationRequired is answered with RenewSubscription.
const (
	LifecycleReauthorizationRequired = "reauthorizationRequired"
	LifecycleSubscriptionRemoved     = "subscriptionRemoved"
	LifecycleMissed                  = "missed"
)

// Unconfirmed: that a drive root subscription's notifications name the
// resource as "drives/{id}/root" (the subscription's own resource string)
// rather than a normalised form; DriveOfResource accepts both spellings
// Microsoft's docs show ("drives/{id}/root", "/drives/{id}/root").
var driveResource = regexp.MustCompile(`^/?drives/([^/]+)/root$`)

// DriveResource is the subscription resource of a drive's root.
func DriveResource(driveID string) string { return "drives/" + driveID + "/root" }

// DriveOfResource returns the drive of a drive root resource.
func DriveOfResource(resource string) (string, bool) {
	m := driveResource.FindStringSubmatch(resource)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// Subscription is a Graph subscription as the service returns it.
type Subscription struct {
	ID                 string    `json:"id"`
	Resource           string    `json:"resource"`
	ChangeType         string    `json:"changeType"`
	NotificationURL    string    `json:"notificationUrl"`
	LifecycleURL       string    `json:"lifecycleNotificationUrl,omitempty"`
	ExpirationDateTime time.Time `json:"expirationDateTime"`
}

// SubscriptionRequest asks for notifications of a drive's changes.
type SubscriptionRequest struct {
	DriveID         string
	NotificationURL string
	LifecycleURL    string
	// ClientState is the secret Graph sends back with every notification.
	ClientState string
	Expires     time.Time
}

// Subscribe creates a subscription to a drive root. Graph calls the
// notification URL with a validation token before it answers, so the
// receiver must be ready first.
func (c *Client) Subscribe(ctx context.Context, r SubscriptionRequest) (Subscription, error) {
	if r.DriveID == "" || r.NotificationURL == "" || r.ClientState == "" || len(r.ClientState) > ClientStateMaxLen {
		return Subscription{}, errors.New("subscribe: a drive, a notification URL and a clientState of at most 128 characters are required")
	}
	body := map[string]any{
		"changeType":         "updated",
		"notificationUrl":    r.NotificationURL,
		"resource":           DriveResource(r.DriveID),
		"expirationDateTime": r.Expires.UTC().Format(time.RFC3339),
		"clientState":        r.ClientState,
	}
	if r.LifecycleURL != "" {
		body["lifecycleNotificationUrl"] = r.LifecycleURL
	}
	var out Subscription
	if err := c.subscriptionWrite(ctx, http.MethodPost, "/subscriptions", body, &out); err != nil {
		return Subscription{}, fmt.Errorf("subscribe to drive %s: %w", r.DriveID, err)
	}
	if out.ID == "" || out.ExpirationDateTime.IsZero() {
		return Subscription{}, fmt.Errorf("subscribe to drive %s: POST /subscriptions: answer lacks id or expirationDateTime", r.DriveID)
	}
	return out, nil
}

// RenewSubscription moves a subscription's expiry.
func (c *Client) RenewSubscription(ctx context.Context, id string, expires time.Time) (Subscription, error) {
	var out Subscription
	body := map[string]any{"expirationDateTime": expires.UTC().Format(time.RFC3339)}
	if err := c.subscriptionWrite(ctx, http.MethodPatch, "/subscriptions/"+escapePath(id), body, &out); err != nil {
		return Subscription{}, fmt.Errorf("renew subscription %s: %w", id, err)
	}
	if out.ExpirationDateTime.IsZero() {
		return Subscription{}, fmt.Errorf("renew subscription %s: answer lacks expirationDateTime", id)
	}
	return out, nil
}

// Unsubscribe deletes a subscription; one already gone is not an error.
func (c *Client) Unsubscribe(ctx context.Context, id string) error {
	err := c.subscriptionWrite(ctx, http.MethodDelete, "/subscriptions/"+escapePath(id), nil, nil)
	if err != nil && !IsStatus(err, http.StatusNotFound) {
		return fmt.Errorf("delete subscription %s: %w", id, err)
	}
	return nil
}

func (c *Client) subscriptionWrite(ctx context.Context, method, path string, in, out any) error {
	u := c.graphURL(V1, path)
	h := jsonHeader()
	h.Set("Prefer", SecurityWebhooksPrefer)
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = b
		h.Set("Content-Type", "application/json")
	}
	resp, err := c.send(ctx, request{aud: AudienceGraph, method: method, url: u, body: body, header: h})
	if err != nil {
		return err
	}
	if out != nil {
		return decodeJSON(endpointName(method, u), resp.body, out)
	}
	return nil
}

// Notification is one change or lifecycle notification.
type Notification struct {
	SubscriptionID string
	ClientState    string
	Resource       string
	ChangeType     string
	// LifecycleEvent is set for lifecycle notifications.
	LifecycleEvent string
	TenantID       string
	Expires        time.Time
}

// ErrMalformedNotification is returned for a body that is not a
// changeNotificationCollection.
var ErrMalformedNotification = errors.New("malformed change notification")

// MaxNotificationBody bounds what a receiver reads of one POST.
const MaxNotificationBody = 1 << 20

// ParseNotifications reads a changeNotificationCollection. Every
// notification must name its subscription, resource and either a change
// type or a lifecycle event; anything else refuses the whole body.
func ParseNotifications(body []byte) ([]Notification, error) {
	var in struct {
		Value *[]json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedNotification, err)
	}
	if in.Value == nil || len(*in.Value) == 0 {
		return nil, fmt.Errorf("%w: no value array", ErrMalformedNotification)
	}
	out := make([]Notification, 0, len(*in.Value))
	for i, raw := range *in.Value {
		var n struct {
			SubscriptionID *string `json:"subscriptionId"`
			ClientState    *string `json:"clientState"`
			Resource       *string `json:"resource"`
			ChangeType     *string `json:"changeType"`
			LifecycleEvent *string `json:"lifecycleEvent"`
			TenantID       *string `json:"tenantId"`
			Expires        *string `json:"subscriptionExpirationDateTime"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		if err := dec.Decode(&n); err != nil {
			return nil, fmt.Errorf("%w: value[%d]: %w", ErrMalformedNotification, i, err)
		}
		get := func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		}
		v := Notification{SubscriptionID: get(n.SubscriptionID), ClientState: get(n.ClientState), Resource: get(n.Resource),
			ChangeType: get(n.ChangeType), LifecycleEvent: get(n.LifecycleEvent), TenantID: get(n.TenantID)}
		switch {
		case v.SubscriptionID == "":
			return nil, fmt.Errorf("%w: value[%d]: no subscriptionId", ErrMalformedNotification, i)
		case v.ChangeType == "" && v.LifecycleEvent == "":
			return nil, fmt.Errorf("%w: value[%d]: neither changeType nor lifecycleEvent", ErrMalformedNotification, i)
		case v.LifecycleEvent != "" && !knownLifecycle(v.LifecycleEvent):
			return nil, fmt.Errorf("%w: value[%d]: unknown lifecycleEvent %q", ErrMalformedNotification, i, v.LifecycleEvent)
		case v.LifecycleEvent == "" && v.Resource == "":
			return nil, fmt.Errorf("%w: value[%d]: no resource", ErrMalformedNotification, i)
		}
		if s := get(n.Expires); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, fmt.Errorf("%w: value[%d]: subscriptionExpirationDateTime %q", ErrMalformedNotification, i, s)
			}
			v.Expires = t
		}
		out = append(out, v)
	}
	return out, nil
}

func knownLifecycle(e string) bool {
	switch e {
	case LifecycleReauthorizationRequired, LifecycleSubscriptionRemoved, LifecycleMissed:
		return true
	}
	return false
}

// TrimValidationToken bounds a validation token before it is echoed.
func TrimValidationToken(tok string) (string, bool) {
	if tok == "" || len(tok) > 1024 || strings.ContainsAny(tok, "\r\n") {
		return "", false
	}
	return tok, true
}
