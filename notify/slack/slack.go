// Package slack delivers notifications to Slack through slack-go: with a bot
// token (chat.postMessage, threaded resolutions, chat.update, buttons) or an
// incoming webhook. It also serves Slack's interactivity requests.
package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	goslack "github.com/slack-go/slack"

	"github.com/sharedrift/sharedrift/notify"
)

// Notifier posts to one Slack destination.
type Notifier struct {
	name       string
	api        *goslack.Client
	channel    string
	webhookURL string
	http       *http.Client
	log        *slog.Logger

	// channelID is the ID behind a "#name" channel, learnt from the first
	// post: history lookups need the ID.
	mu        sync.Mutex
	channelID string
}

// Options are optional dependencies.
type Options struct {
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// New builds the notifier for the destination named name.
func New(name string, cfg *notify.SlackConfig, o Options) (*Notifier, error) {
	dc := notify.DestinationConfig{Name: name, Type: notify.TypeSlack, Slack: cfg}
	if err := dc.Validate(); err != nil {
		return nil, err
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// Keep the response body of failed requests: Slack explains rejections
	// (invalid_blocks, channel_not_found) there, and slack-go drops it.
	hc := *o.HTTPClient
	hc.Transport = &bodyKeeper{next: transport(o.HTTPClient)}
	n := &Notifier{name: name, channel: cfg.Channel, http: &hc, log: o.Logger}
	if cfg.WebhookURL != "" {
		n.webhookURL, _ = cfg.WebhookURL.Resolve()
		return n, nil
	}
	tok, _ := cfg.Token.Resolve()
	opts := []goslack.Option{goslack.OptionHTTPClient(&hc)}
	if cfg.APIURL != "" {
		u := cfg.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		opts = append(opts, goslack.OptionAPIURL(u))
	}
	n.api = goslack.New(tok, opts...)
	return n, nil
}

func transport(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

// OpenViewContext opens a modal for an interaction's trigger; it makes the
// notifier a ViewOpener in bot token mode.
func (n *Notifier) OpenViewContext(ctx context.Context, triggerID string, view goslack.ModalViewRequest) (*goslack.ViewResponse, error) {
	if n.api == nil {
		return nil, errors.New("slack: an incoming webhook cannot open forms; use a bot token")
	}
	return n.api.OpenViewContext(ctx, triggerID, view)
}

// Interactive reports whether messages carry buttons (bot token mode).
func (n *Notifier) Interactive() bool { return n.api != nil }

// Check verifies the credentials and, for a channel ID, that the channel
// exists and is visible to the bot. Call it at start; the error names the
// destination.
func (n *Notifier) Check(ctx context.Context) error {
	if n.api == nil {
		return nil
	}
	if _, err := n.api.AuthTestContext(ctx); err != nil {
		return fmt.Errorf("destination %q: slack auth.test: %w", n.name, err)
	}
	if strings.HasPrefix(n.channel, "#") {
		return nil
	}
	if _, err := n.api.GetConversationInfoContext(ctx, &goslack.GetConversationInfoInput{ChannelID: n.channel}); err != nil {
		return fmt.Errorf("destination %q: slack channel %s: %w", n.name, n.channel, err)
	}
	return nil
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, note *notify.Notification) (bool, error) {
	if n.api == nil {
		return n.webhook(ctx, note)
	}
	text := FallbackText(note)
	switch {
	case note.Kind == notify.KindDigest:
		return n.post(ctx, note, "", false, text, DigestBlocks(note))
	case note.Finding == nil:
		return false, fmt.Errorf("%w: %s notification without a finding", notify.ErrRejected, note.Kind)
	case note.Kind == notify.KindResolved:
		return n.resolved(ctx, note, text)
	case note.Kind == notify.KindReminder:
		// Broadcast into the original thread: visible in the channel, and
		// the history stays together.
		if note.Thread != nil && !note.Thread.Digest {
			retry, err := n.post(ctx, note, note.Thread.TS, true, text, ReminderBlocks(note, true))
			note.Posted = nil
			return retry, err
		}
		retry, err := n.post(ctx, note, "", false, text, ReminderBlocks(note, true))
		note.Posted = nil
		return retry, err
	default:
		return n.post(ctx, note, "", false, text, FindingBlocks(note, true))
	}
}

// SendFile uploads a file to the destination's channel with a comment
// (files.getUploadURLExternal, the upload, files.completeUploadExternal).
// It needs a bot token with files:write and a channel ID; incoming webhooks
// cannot carry files.
func (n *Notifier) SendFile(ctx context.Context, name, _, title, text string, data []byte) error {
	if n.api == nil {
		return fmt.Errorf("destination %q: an incoming webhook cannot upload files; configure a bot token", n.name)
	}
	if len(data) == 0 {
		return fmt.Errorf("destination %q: upload %s: empty file", n.name, name)
	}
	bctx, lb := withBody(ctx)
	_, err := n.api.UploadFileContext(bctx, goslack.UploadFileParameters{
		Reader: bytes.NewReader(data), FileSize: len(data), Filename: name, Title: title,
		InitialComment: text, Channel: n.channel,
	})
	if err != nil {
		return fmt.Errorf("destination %q: upload %s: %w", n.name, name, lb.wrap(err))
	}
	return nil
}

func (n *Notifier) post(ctx context.Context, note *notify.Notification, threadTS string, broadcast bool, text string, blocks []goslack.Block) (bool, error) {
	opts := []goslack.MsgOption{
		goslack.MsgOptionText(text, false),
		goslack.MsgOptionBlocks(blocks...),
		goslack.MsgOptionDisableLinkUnfurl(),
	}
	if note.Key != "" {
		// The idempotency key travels with the message, so a retry can find
		// out whether an earlier attempt was posted.
		opts = append(opts, goslack.MsgOptionMetadata(goslack.SlackMetadata{
			EventType: MetadataEventType, EventPayload: map[string]any{MetadataKey: note.Key}}))
	}
	channel := n.channel
	if threadTS != "" {
		channel = note.Thread.Channel
		opts = append(opts, goslack.MsgOptionTS(threadTS))
		if broadcast {
			opts = append(opts, goslack.MsgOptionBroadcast())
		}
	}
	if note.MaybeDelivered && note.Key != "" {
		ch, ts, retry, err := n.posted(ctx, channel, threadTS, note.Key, note.FirstAttempt)
		if err != nil {
			if retry {
				return retry, err
			}
			// Without a way to look, posting again (at least once) beats
			// losing the message.
			n.log.Warn("slack lookup of an earlier attempt failed; posting again", "destination", n.name, "key", note.Key, "error", err)
		}
		if ts != "" {
			n.log.Info("slack message already posted by an earlier attempt", "destination", n.name, "key", note.Key, "ts", ts)
			note.Posted = &notify.ThreadRef{Channel: ch, TS: ts}
			return false, nil
		}
	}
	bctx, lb := withBody(ctx)
	ch, ts, err := n.api.PostMessageContext(bctx, channel, opts...)
	if err != nil {
		return n.classify("chat.postMessage", lb.wrap(err))
	}
	if strings.HasPrefix(n.channel, "#") {
		n.mu.Lock()
		n.channelID = ch
		n.mu.Unlock()
	}
	note.Posted = &notify.ThreadRef{Channel: ch, TS: ts}
	return false, nil
}

// Message metadata that marks sharedrift's messages with their
// idempotency key.
const (
	MetadataEventType = "sharedrift_notification"
	MetadataKey       = "idempotency_key"
)

// Bounds of the search for an earlier attempt: clocks of this host and
// Slack may disagree a little, and the search reads at most
// lookupPages*lookupPageSize messages (newest first).
const (
	lookupSkew     = 2 * time.Minute
	lookupPages    = 5
	lookupPageSize = 200
)

// posted looks for a message carrying key in the channel (threadTS empty:
// conversations.history) or in a thread (conversations.replies), posted
// since the first attempt. It returns the channel ID and ts when found; an
// empty ts when not. retry tells a transient lookup failure.
func (n *Notifier) posted(ctx context.Context, channel, threadTS, key string, since time.Time) (ch, ts string, retry bool, err error) {
	if strings.HasPrefix(channel, "#") {
		n.mu.Lock()
		channel = n.channelID
		n.mu.Unlock()
		if channel == "" {
			return "", "", false, fmt.Errorf("slack lookup: channel %s is a name; history needs its ID (configure the channel ID)", n.channel)
		}
	}
	oldest := ""
	if !since.IsZero() {
		t := since.Add(-lookupSkew)
		oldest = fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
	}
	op := "conversations.history"
	if threadTS != "" {
		op = "conversations.replies"
	}
	cursor := ""
	for range lookupPages {
		var msgs []goslack.Message
		var more bool
		bctx, lb := withBody(ctx)
		if threadTS == "" {
			var resp *goslack.GetConversationHistoryResponse
			resp, err = n.api.GetConversationHistoryContext(bctx, &goslack.GetConversationHistoryParameters{
				ChannelID: channel, Oldest: oldest, Limit: lookupPageSize, Cursor: cursor, IncludeAllMetadata: true})
			if err == nil {
				msgs, more, cursor = resp.Messages, resp.HasMore, resp.ResponseMetaData.NextCursor
			}
		} else {
			msgs, more, cursor, err = n.api.GetConversationRepliesContext(bctx, &goslack.GetConversationRepliesParameters{
				ChannelID: channel, Timestamp: threadTS, Oldest: oldest, Limit: lookupPageSize, Cursor: cursor, IncludeAllMetadata: true})
		}
		if err != nil {
			retry, err = n.classify(op, lb.wrap(err))
			return "", "", retry, err
		}
		for i := range msgs {
			md := msgs[i].Metadata
			if md.EventType == MetadataEventType && md.EventPayload[MetadataKey] == key {
				return channel, msgs[i].Timestamp, false, nil
			}
		}
		if !more || cursor == "" {
			return "", "", false, nil
		}
	}
	n.log.Warn("slack lookup of an earlier attempt stopped at its page limit", "destination", n.name, "key", key, "pages", lookupPages)
	return "", "", false, nil
}

// resolved rewrites the original message as resolved (chat.update, which is
// idempotent, so it goes first) and replies in its thread. Without a known
// original it posts a standalone notice.
func (n *Notifier) resolved(ctx context.Context, note *notify.Notification, text string) (bool, error) {
	th := note.Thread
	if th == nil {
		retry, err := n.post(ctx, note, "", false, text, ResolvedReplyBlocks(note))
		note.Posted = nil
		return retry, err
	}
	if !th.Digest {
		bctx, lb := withBody(ctx)
		_, _, _, err := n.api.UpdateMessageContext(bctx, th.Channel, th.TS,
			goslack.MsgOptionText(text, false), goslack.MsgOptionBlocks(ResolvedOriginalBlocks(note)...))
		var se goslack.SlackErrorResponse
		switch {
		case err == nil:
		case errors.As(err, &se) && (se.Err == "message_not_found" || se.Err == "cant_update_message" || se.Err == "edit_window_closed"):
			// The original is gone or frozen; the reply still tells the story.
			n.log.Warn("slack original message not updated", "destination", n.name, "reason", se.Err)
		default:
			return n.classify("chat.update", lb.wrap(err))
		}
	}
	retry, err := n.post(ctx, note, th.TS, false, text, ResolvedReplyBlocks(note))
	note.Posted = nil
	return retry, err
}

func (n *Notifier) webhook(ctx context.Context, note *notify.Notification) (bool, error) {
	var blocks []goslack.Block
	switch {
	case note.Kind == notify.KindDigest:
		blocks = DigestBlocks(note)
	case note.Finding == nil:
		return false, fmt.Errorf("%w: %s notification without a finding", notify.ErrRejected, note.Kind)
	case note.Kind == notify.KindResolved:
		blocks = ResolvedReplyBlocks(note)
	case note.Kind == notify.KindReminder:
		blocks = ReminderBlocks(note, false)
	default:
		blocks = FindingBlocks(note, false)
	}
	msg := &goslack.WebhookMessage{Text: FallbackText(note), Blocks: &goslack.Blocks{BlockSet: blocks}}
	bctx, lb := withBody(ctx)
	if err := goslack.PostWebhookCustomHTTPContext(bctx, n.webhookURL, n.http, msg); err != nil {
		return n.classify("incoming webhook", lb.wrap(err))
	}
	return false, nil
}

// retryable are Slack error codes that describe Slack's or the workspace's
// state rather than the message, so the message may go through later. Auth
// errors are here because fixing the token should let the backlog drain.
var retryable = map[string]bool{
	"internal_error": true, "fatal_error": true, "service_unavailable": true, "request_timeout": true,
	"ratelimited": true, "rate_limited": true, "team_added_to_org": true,
	"invalid_auth": true, "not_authed": true, "token_revoked": true, "token_expired": true, "account_inactive": true,
}

// classify decides whether a failed call is worth retrying and turns it into
// an error naming the destination and Slack's reason.
func (n *Notifier) classify(op string, err error) (bool, error) {
	var rl *goslack.RateLimitedError
	if errors.As(err, &rl) {
		return true, &notify.RetryAfterError{After: rl.RetryAfter, Err: fmt.Errorf("slack %s: rate limited", op)}
	}
	var se goslack.SlackErrorResponse
	if errors.As(err, &se) {
		reason := se.Err
		if msgs := se.ResponseMetadata.Messages; len(msgs) > 0 {
			reason += " (" + strings.Join(msgs, "; ") + ")"
		}
		if retryable[se.Err] {
			return true, fmt.Errorf("slack %s: %s", op, reason)
		}
		return false, fmt.Errorf("slack %s: %w: %s", op, notify.ErrRejected, reason)
	}
	var sc goslack.StatusCodeError
	if errors.As(err, &sc) {
		body := bodyOf(err)
		if sc.Retryable() {
			return true, fmt.Errorf("slack %s: HTTP %d%s", op, sc.Code, body)
		}
		return false, fmt.Errorf("slack %s: %w: HTTP %d%s", op, notify.ErrRejected, sc.Code, body)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true, fmt.Errorf("slack %s: %w", op, err)
	}
	// Unknown failures (a proxy's HTML page, a truncated body) are treated as
	// transient; the max age bounds how long they are retried.
	return true, fmt.Errorf("slack %s: %w", op, err)
}

// bodyKeeper remembers the body of the last non-2xx response so errors can
// quote Slack's reason (incoming webhooks answer "invalid_blocks" as text).
type bodyKeeper struct {
	next http.RoundTripper
}

type bodyCtxKey struct{}

type lastBody struct{ s string }

func (b *bodyKeeper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := b.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 300 {
		return resp, err
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	if lb, ok := req.Context().Value(bodyCtxKey{}).(*lastBody); ok {
		lb.s = strings.TrimSpace(string(raw))
	}
	return resp, nil
}

func withBody(ctx context.Context) (context.Context, *lastBody) {
	lb := &lastBody{}
	return context.WithValue(ctx, bodyCtxKey{}, lb), lb
}

// wrap attaches the remembered response body to err.
func (lb *lastBody) wrap(err error) error {
	if lb.s == "" {
		return err
	}
	return &bodyErr{err: err, body: lb.s}
}

// bodyOf quotes the response body attached to err, if any.
func bodyOf(err error) string {
	var be *bodyErr
	if errors.As(err, &be) && be.body != "" {
		return ": " + be.body
	}
	return ""
}

type bodyErr struct {
	err  error
	body string
}

func (e *bodyErr) Error() string { return e.err.Error() }
func (e *bodyErr) Unwrap() error { return e.err }
