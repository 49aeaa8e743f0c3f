package m365test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sharedrift/sharedrift/scanner/m365"
)

// NotifyOptions shape how the fake delivers change notifications.
type NotifyOptions struct {
	// Client sends validation requests and notifications (default: a
	// client with a 10 second timeout). Give a TLS test server's client
	// for an https receiver.
	Client *http.Client
	// MeanDelay is the mean of the exponential delivery delay, in
	// simulated time, capped at m365.DriveItemLatencyMax (default half of
	// m365.DriveItemLatencyAverage, keeping the mean under a minute).
	MeanDelay time.Duration
	// DropRate is the share of notifications never delivered.
	DropRate float64
	// Seed makes delays and drops reproducible.
	Seed uint64
	// AllowHTTP accepts plain http notification URLs; Graph requires
	// https. Only for tests that cannot serve TLS.
	AllowHTTP bool
}

// Delivery is one notification the fake sent, or dropped.
type Delivery struct {
	DriveID        string
	SubscriptionID string
	// Changed is when the change happened, Due when the delivery delay
	// ended (simulated time).
	Changed time.Time
	Due     time.Time
	Dropped bool
	// Status is the receiver's answer (0 when dropped or unreachable).
	Status int
	Err    string
}

type fakeSubscription struct {
	m365.Subscription
	clientState string
	tenantID    string
	security    bool
}

type subscriptions struct {
	mu         sync.Mutex
	o          NotifyOptions
	rng        *mrand.Rand
	byID       map[string]*fakeSubscription
	deliveries []Delivery
	wg         sync.WaitGroup
}

// SetNotifyOptions configures notification delivery; call it before
// subscriptions are created.
func (s *Server) SetNotifyOptions(o NotifyOptions) {
	sb := s.subs()
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if o.Client == nil {
		o.Client = &http.Client{Timeout: m365.ValidationDeadline}
	}
	if o.MeanDelay <= 0 {
		o.MeanDelay = m365.DriveItemLatencyAverage / 2
	}
	sb.o = o
	sb.rng = mrand.New(mrand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
}

func (s *Server) subs() *subscriptions {
	s.subOnce.Do(func() {
		s.subState = &subscriptions{byID: map[string]*fakeSubscription{},
			o:   NotifyOptions{Client: &http.Client{Timeout: m365.ValidationDeadline}, MeanDelay: m365.DriveItemLatencyAverage / 2},
			rng: mrand.New(mrand.NewPCG(1, 2))}
	})
	return s.subState
}

// Deliveries lists the notifications sent or dropped so far.
func (s *Server) Deliveries() []Delivery {
	sb := s.subs()
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return append([]Delivery(nil), sb.deliveries...)
}

// WaitDeliveries waits for notifications in flight.
func (s *Server) WaitDeliveries() { s.subs().wg.Wait() }

// Subscriptions lists the live subscriptions.
func (s *Server) Subscriptions() []m365.Subscription {
	sb := s.subs()
	sb.mu.Lock()
	defer sb.mu.Unlock()
	now := s.clock.Now()
	var out []m365.Subscription
	for _, f := range sb.byID {
		if f.ExpirationDateTime.After(now) {
			out = append(out, f.Subscription)
		}
	}
	return out
}

func isSubscriptionPath(path string) bool {
	return path == "/v1.0/subscriptions" || strings.HasPrefix(path, "/v1.0/subscriptions/")
}

// subscriptionRequest serves /subscriptions. The body was checked against
// the subscription type already.
func (s *Server) subscriptionRequest(method, path string, h http.Header, body []byte) *reply {
	id := strings.TrimPrefix(strings.TrimPrefix(path, "/v1.0/subscriptions"), "/")
	switch {
	case id == "" && method == http.MethodPost:
		return s.createSubscription(h, body)
	case id != "" && !strings.Contains(id, "/") && method == http.MethodPatch:
		return s.renewSubscription(id, body)
	case id != "" && !strings.Contains(id, "/") && method == http.MethodDelete:
		sb := s.subs()
		sb.mu.Lock()
		defer sb.mu.Unlock()
		if _, ok := sb.byID[id]; !ok {
			return subscriptionNotFound(id)
		}
		delete(sb.byID, id)
		return noContent()
	case id != "" && !strings.Contains(id, "/") && method == http.MethodGet:
		sb := s.subs()
		sb.mu.Lock()
		defer sb.mu.Unlock()
		f, ok := sb.byID[id]
		if !ok || !f.ExpirationDateTime.After(s.clock.Now()) {
			return subscriptionNotFound(id)
		}
		return jsonReply(http.StatusOK, subscriptionBody(f))
	}
	return graphError(http.StatusMethodNotAllowed, "BadRequest", "The HTTP method '"+method+"' is not supported for this resource.")
}

// Unconfirmed: the wording of Graph's subscription refusals below.
func subscriptionNotFound(id string) *reply {
	return graphError(http.StatusNotFound, "ResourceNotFound", "The object was not found. Subscription Id: "+id)
}

func subscriptionInvalid(msg string) *reply {
	return graphError(http.StatusBadRequest, "InvalidRequest", msg)
}

func subscriptionBody(f *fakeSubscription) map[string]any {
	b := map[string]any{
		"@odata.context":            "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
		"id":                        f.ID,
		"resource":                  f.Resource,
		"applicationId":             "00000000-0000-0000-0000-00000000a990",
		"changeType":                f.ChangeType,
		"clientState":               f.clientState,
		"notificationUrl":           f.NotificationURL,
		"lifecycleNotificationUrl":  nil,
		"expirationDateTime":        f.ExpirationDateTime.UTC().Format("2006-01-02T15:04:05Z"),
		"creatorId":                 "00000000-0000-0000-0000-00000000c0de",
		"includeResourceData":       nil,
		"latestSupportedTlsVersion": "v1_2",
		"encryptionCertificate":     nil,
		"encryptionCertificateId":   nil,
		"notificationQueryOptions":  nil,
		"notificationUrlAppId":      nil,
	}
	if f.LifecycleURL != "" {
		b["lifecycleNotificationUrl"] = f.LifecycleURL
	}
	return b
}

func (s *Server) driveKnown(id string) bool {
	if s.gen != nil {
		_, ok := s.gen.driveIndex(id)
		return ok
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.docs["graph/v1.0/drives/"+id+"/root/delta"]
	return ok
}

// expiry applies Graph's lifetime rules to a requested expiry.
func (s *Server) expiry(raw any) (time.Time, *reply) {
	str, ok := raw.(string)
	if !ok {
		return time.Time{}, subscriptionInvalid("expirationDateTime is required.")
	}
	t, err := time.Parse(time.RFC3339Nano, str)
	if err != nil {
		return time.Time{}, subscriptionInvalid("expirationDateTime '" + str + "' is not a valid date and time.")
	}
	now := s.clock.Now()
	if t.After(now.Add(m365.DriveItemMaxLifetime)) {
		return time.Time{}, subscriptionInvalid(fmt.Sprintf("Subscription expiration can only be %d minutes in the future.", int(m365.DriveItemMaxLifetime/time.Minute)))
	}
	if t.Before(now.Add(m365.SubscriptionMinLifetime)) {
		t = now.Add(m365.SubscriptionMinLifetime)
	}
	return t.UTC().Truncate(time.Second), nil
}

func (s *Server) createSubscription(h http.Header, body []byte) *reply {
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload: "+err.Error())
	}
	str := func(k string) string { v, _ := in[k].(string); return v }
	resource, nurl, lurl, cs := str("resource"), str("notificationUrl"), str("lifecycleNotificationUrl"), str("clientState")
	drive, ok := m365.DriveOfResource(resource)
	switch {
	case !ok:
		return subscriptionInvalid("Resource '" + resource + "' is not supported by this fake; only drive roots are.")
	case str("changeType") != "updated":
		// driveItem supports only updated.
		return subscriptionInvalid("ChangeType '" + str("changeType") + "' is not supported for resource '" + resource + "'.")
	case len(cs) > m365.ClientStateMaxLen:
		return subscriptionInvalid(fmt.Sprintf("clientState cannot be longer than %d characters.", m365.ClientStateMaxLen))
	case !s.driveKnown(drive):
		return graphError(http.StatusNotFound, "itemNotFound", "The resource could not be found.")
	}
	exp, rr := s.expiry(in["expirationDateTime"])
	if rr != nil {
		return rr
	}
	sb := s.subs()
	if rr := sb.checkURL(nurl); rr != nil {
		return rr
	}
	if lurl != "" {
		if rr := sb.checkURL(lurl); rr != nil {
			return rr
		}
	}
	// Graph validates each URL before it answers.
	for _, u := range []string{nurl, lurl} {
		if u == "" {
			continue
		}
		if err := sb.validate(u); err != nil {
			return subscriptionInvalid("Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request. " + err.Error())
		}
	}
	s.mu.Lock()
	id := s.newID()
	s.mu.Unlock()
	f := &fakeSubscription{Subscription: m365.Subscription{ID: id, Resource: resource, ChangeType: "updated", NotificationURL: nurl, LifecycleURL: lurl, ExpirationDateTime: exp},
		clientState: cs, tenantID: s.meta.TenantID,
		security: strings.Contains(strings.ToLower(h.Get("Prefer")), strings.ToLower(m365.SecurityWebhooksPrefer))}
	sb.mu.Lock()
	sb.byID[id] = f
	sb.mu.Unlock()
	return jsonReply(http.StatusCreated, subscriptionBody(f))
}

func (s *Server) renewSubscription(id string, body []byte) *reply {
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload: "+err.Error())
	}
	for k := range in {
		if k != "expirationDateTime" && k != "notificationUrl" {
			return subscriptionInvalid("Only expirationDateTime and notificationUrl can be updated.")
		}
	}
	exp, rr := s.expiry(in["expirationDateTime"])
	if rr != nil {
		return rr
	}
	sb := s.subs()
	sb.mu.Lock()
	defer sb.mu.Unlock()
	f, ok := sb.byID[id]
	if !ok || !f.ExpirationDateTime.After(s.clock.Now()) {
		return subscriptionNotFound(id)
	}
	f.ExpirationDateTime = exp
	return jsonReply(http.StatusOK, subscriptionBody(f))
}

func (sb *subscriptions) checkURL(u string) *reply {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || (p.Scheme != "https" && !(sb.o.AllowHTTP && p.Scheme == "http")) {
		return subscriptionInvalid("The notification URL '" + u + "' must be an absolute https URL.")
	}
	return nil
}

// validate sends the validation request: POST {url}?validationToken=...
// answered within 10 seconds with 200, text/plain and the token itself.
func (sb *subscriptions) validate(u string) error {
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	token := "Validation: Testing client application reachability for subscription Request-Id: " + hex.EncodeToString(tok)
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	ctx, cancel := context.WithTimeout(context.Background(), m365.ValidationDeadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u+sep+"validationToken="+url.QueryEscape(token), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	sb.mu.Lock()
	c := sb.o.Client
	sb.mu.Unlock()
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("validation request: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("validation request answered %d", resp.StatusCode)
	case !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"):
		return fmt.Errorf("validation answer has Content-Type %q, want text/plain", resp.Header.Get("Content-Type"))
	case string(b) != token:
		return fmt.Errorf("validation answer is not the token")
	}
	return nil
}

// notifyDrive delivers a notification to every live subscription of the
// drive that asked for security webhooks, after a random delay, or drops
// it. Called when an item's sharing changed. Unconfirmed: that without
// Prefer: includesecuritywebhooks a sharing change is not notified at
// all (the fake's strictest reading of reference/m365-apis.md); no
// retries of failed deliveries are modelled.
func (s *Server) notifyDrive(driveID string) {
	sb := s.subs()
	now := s.clock.Now()
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for _, f := range sb.byID {
		d, _ := m365.DriveOfResource(f.Resource)
		if d != driveID || !f.security || !f.ExpirationDateTime.After(now) {
			continue
		}
		delay := time.Duration(sb.rng.ExpFloat64() * float64(sb.o.MeanDelay))
		delay = time.Duration(math.Min(float64(delay), float64(m365.DriveItemLatencyMax)))
		dv := Delivery{DriveID: driveID, SubscriptionID: f.ID, Changed: now, Due: now.Add(delay)}
		if sb.rng.Float64() < sb.o.DropRate {
			dv.Dropped = true
			sb.deliveries = append(sb.deliveries, dv)
			continue
		}
		n := map[string]any{"subscriptionId": f.ID, "subscriptionExpirationDateTime": f.ExpirationDateTime.Format(time.RFC3339),
			"changeType": "updated", "resource": f.Resource, "clientState": f.clientState, "tenantId": f.tenantID}
		s.send(sb, f.NotificationURL, n, dv, delay)
	}
}

// SendLifecycle sends a lifecycle event (m365.Lifecycle*) of a
// subscription now, to its lifecycle URL or else its notification URL.
func (s *Server) SendLifecycle(subscriptionID, event string) error {
	sb := s.subs()
	sb.mu.Lock()
	defer sb.mu.Unlock()
	f, ok := sb.byID[subscriptionID]
	if !ok {
		return fmt.Errorf("no subscription %s", subscriptionID)
	}
	u := f.LifecycleURL
	if u == "" {
		u = f.NotificationURL
	}
	n := map[string]any{"subscriptionId": f.ID, "subscriptionExpirationDateTime": f.ExpirationDateTime.Format(time.RFC3339),
		"lifecycleEvent": event, "resource": f.Resource, "clientState": f.clientState, "tenantId": f.tenantID}
	if event == m365.LifecycleSubscriptionRemoved {
		delete(sb.byID, subscriptionID)
	}
	d, _ := m365.DriveOfResource(f.Resource)
	now := s.clock.Now()
	s.send(sb, u, n, Delivery{DriveID: d, SubscriptionID: f.ID, Changed: now, Due: now}, 0)
	return nil
}

// send posts one notification after delay (simulated); sb.mu is held.
func (s *Server) send(sb *subscriptions, u string, n map[string]any, dv Delivery, delay time.Duration) {
	i := len(sb.deliveries)
	sb.deliveries = append(sb.deliveries, dv)
	c := sb.o.Client
	sb.wg.Add(1)
	go func() {
		defer sb.wg.Done()
		_ = s.clock.Sleep(context.Background(), delay)
		b, _ := json.Marshal(map[string]any{"value": []any{n}})
		status, errText := 0, ""
		resp, err := c.Post(u, "application/json; charset=utf-8", bytes.NewReader(b))
		if err != nil {
			errText = err.Error()
		} else {
			status = resp.StatusCode
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		sb.mu.Lock()
		sb.deliveries[i].Status, sb.deliveries[i].Err = status, errText
		sb.mu.Unlock()
	}()
}
