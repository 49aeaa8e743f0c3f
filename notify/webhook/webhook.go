// Package webhook delivers notifications as signed JSON to an HTTP endpoint.
//
// Every request carries:
//
//	X-Sharedrift-Timestamp: <unix seconds>
//	X-Sharedrift-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//	X-Sharedrift-Delivery:  <idempotency key, the same on every retry>
//
// Receivers check the signature with Verify (or its equivalent in their
// language), refuse timestamps outside a few minutes, and drop repeated
// delivery keys, since delivery is at-least-once. The key to remember is
// the body's id, which the signature covers; the delivery header repeats
// it, and Verify refuses a request whose header differs.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/notify"
)

// Header names.
const (
	HeaderTimestamp = "X-Sharedrift-Timestamp"
	HeaderSignature = "X-Sharedrift-Signature"
	HeaderDelivery  = "X-Sharedrift-Delivery"
)

// SchemaV1 tags the body format.
const SchemaV1 = "sharedrift.notification/v1"

// Body is the JSON document posted.
type Body struct {
	Schema  string          `json:"schema"`
	ID      string          `json:"id"`
	Kind    notify.Kind     `json:"kind"`
	Tenant  string          `json:"tenant"`
	ScanID  string          `json:"scanId,omitempty"`
	At      time.Time       `json:"at"`
	Finding *notify.Finding `json:"finding,omitempty"`
	Digest  *notify.Digest  `json:"digest,omitempty"`
}

// Notifier posts to one webhook destination.
type Notifier struct {
	name   string
	url    string
	secret []byte
	http   *http.Client
	now    func() time.Time
}

// New builds the notifier for the destination named name. client may be nil.
func New(name string, cfg *notify.WebhookConfig, client *http.Client) (*Notifier, error) {
	dc := notify.DestinationConfig{Name: name, Type: notify.TypeWebhook, Webhook: cfg}
	if err := dc.Validate(); err != nil {
		return nil, err
	}
	secret, _ := cfg.Secret.Resolve()
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	return &Notifier{name: name, url: cfg.URL, secret: []byte(secret), http: client, now: time.Now}, nil
}

// Sign computes the signature header value for body sent at ts.
func Sign(secret []byte, ts int64, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verification errors.
var (
	ErrMissingHeaders = errors.New("missing signature or timestamp header")
	ErrStale          = errors.New("timestamp outside the tolerance")
	ErrBadSignature   = errors.New("signature mismatch")
)

// Verify checks a received request: header holds the request headers, body
// the raw body, tolerance the accepted clock difference (5 minutes is a
// good value). The MAC is compared as bytes, whatever the case of its hex;
// the timestamp must be written as Sign writes it, since that text is what
// was signed; and a delivery header must repeat the signed body's id, so
// that a receiver may drop repeats by either.
func Verify(secret []byte, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	tsText, sig := header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if tsText == "" || sig == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || strconv.FormatInt(ts, 10) != tsText {
		return fmt.Errorf("%w: malformed timestamp", ErrMissingHeaders)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	hexMAC, ok := strings.CutPrefix(sig, "v1=")
	got, err := hex.DecodeString(hexMAC)
	if !ok || err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: want v1= and 64 hex digits", ErrBadSignature)
	}
	if !hmac.Equal(mac(secret, ts, body), got) {
		return ErrBadSignature
	}
	if d := header.Get(HeaderDelivery); d != "" {
		var b struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(body, &b) != nil || b.ID != d {
			return fmt.Errorf("%w: %s does not match the signed body's id", ErrBadSignature, HeaderDelivery)
		}
	}
	return nil
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, note *notify.Notification) (bool, error) {
	body, err := json.Marshal(Body{Schema: SchemaV1, ID: note.Key, Kind: note.Kind, Tenant: note.Tenant, ScanID: note.ScanID,
		At: note.At, Finding: note.Finding, Digest: note.Digest})
	if err != nil {
		return false, fmt.Errorf("%w: encode: %w", notify.ErrRejected, err)
	}
	ts := n.now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("%w: build request: %w", notify.ErrRejected, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sharedrift")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(n.secret, ts, body))
	req.Header.Set(HeaderDelivery, note.Key)
	resp, err := n.http.Do(req)
	if err != nil {
		return true, fmt.Errorf("webhook post: %w", err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return classify(resp, strings.TrimSpace(string(reply)))
}

// classify: 2xx delivered; 408, 429 and 5xx retried (honouring
// Retry-After); any other status is the receiver refusing the payload.
func classify(resp *http.Response, reply string) (bool, error) {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	err := fmt.Errorf("webhook answered HTTP %d", resp.StatusCode)
	if reply != "" {
		err = fmt.Errorf("webhook answered HTTP %d: %s", resp.StatusCode, reply)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			return true, &notify.RetryAfterError{After: time.Duration(s) * time.Second, Err: err}
		}
		return true, err
	}
	return false, fmt.Errorf("%w: %w", notify.ErrRejected, err)
}

// Classify exposes the status policy to the other HTTP notifiers.
func Classify(resp *http.Response, reply string) (bool, error) { return classify(resp, reply) }
