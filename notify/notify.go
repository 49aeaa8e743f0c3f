package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// Kind is what a notification announces.
type Kind string

// Notification kinds.
const (
	KindNew       Kind = "new"
	KindEscalated Kind = "escalated"
	KindReopened  Kind = "reopened"
	KindResolved  Kind = "resolved"
	KindReminder  Kind = "reminder"
	KindDigest    Kind = "digest"
	KindTest      Kind = "test"
	// KindRemediationCap announces a remediation run stopped at its change
	// cap and KindRemediationApplied the changes a run made; neither is a
	// stored finding, so they carry no acknowledge or snooze buttons.
	KindRemediationCap     Kind = "remediation_cap"
	KindRemediationApplied Kind = "remediation_applied"
)

// References point to the benchmarks and documentation behind a rule.
type References struct {
	CIS   []string `json:"cis,omitempty"`
	SCuBA []string `json:"scuba,omitempty"`
	Docs  []string `json:"docs,omitempty"`
}

// Finding is everything a message says about one finding. It is a copy taken
// when the notification is decided, so a message renders the same whenever it
// is finally delivered.
type Finding struct {
	Fingerprint string          `json:"fingerprint"`
	Tenant      string          `json:"tenant"`
	RuleID      string          `json:"ruleId"`
	Title       string          `json:"title,omitempty"`
	Section     tenant.Section  `json:"section,omitempty"`
	Severity    tenant.Severity `json:"severity"`
	// PreviousSeverity is set on escalations.
	PreviousSeverity tenant.Severity `json:"previousSeverity,omitempty"`
	ObjectKey        string          `json:"objectKey"`
	ObjectName       string          `json:"objectName,omitempty"`
	// ObjectURL links to the drifted object (site, file, admin page).
	ObjectURL   string     `json:"objectUrl,omitempty"`
	Expected    string     `json:"expected,omitempty"`
	Actual      string     `json:"actual,omitempty"`
	Message     string     `json:"message,omitempty"`
	Remediation string     `json:"remediation,omitempty"`
	References  References `json:"references,omitempty"`
	// Remediable findings get Approve fix / Reject buttons.
	Remediable bool       `json:"remediable,omitempty"`
	FirstSeen  time.Time  `json:"firstSeen"`
	LastSeen   time.Time  `json:"lastSeen"`
	ResolvedAt *time.Time `json:"resolvedAt,omitempty"`
}

// Digest summarises many findings brought by one scan.
type Digest struct {
	// Counts by kind (new, reopened, escalated) and by severity.
	Counts     map[Kind]int            `json:"counts"`
	BySeverity map[tenant.Severity]int `json:"bySeverity"`
	// Findings are sorted by severity (highest first), then rule and object:
	// the first DigestListed of those folded in.
	Findings []Finding `json:"findings"`
	// Total is how many findings the digest folds (0 in digests stored
	// before it was kept: see Size).
	Total int `json:"total,omitempty"`
}

// Size is how many findings the digest folds, of which Findings lists
// the first.
func (d *Digest) Size() int {
	return max(d.Total, len(d.Findings))
}

// Notification is one message for one destination. It is what the outbox
// stores (as JSON) and what a Notifier renders.
type Notification struct {
	Kind        Kind      `json:"kind"`
	Destination string    `json:"destination"`
	Tenant      string    `json:"tenant"`
	ScanID      string    `json:"scanId,omitempty"`
	At          time.Time `json:"at"`
	// Key is the idempotency key; receivers may use it to drop repeats.
	Key     string   `json:"key"`
	Finding *Finding `json:"finding,omitempty"`
	Digest  *Digest  `json:"digest,omitempty"`

	// Thread is filled by the delivery worker from earlier deliveries: the
	// message this finding was last announced in at this destination
	// before this notification was planned (its own announcement or a
	// digest that listed it).
	Thread *ThreadRef `json:"-"`
	// Posted is set by a Notifier that created a message later
	// notifications of the same finding should thread under.
	Posted *ThreadRef `json:"-"`
	// Attempt counts earlier delivery attempts (0 on the first).
	Attempt int `json:"-"`
	// MaybeDelivered is set when an earlier attempt may have reached the
	// destination without the outbox recording it: the notification failed
	// before, or a worker claimed it and died. A Notifier that can look up
	// what it posted checks before posting again.
	MaybeDelivered bool `json:"-"`
	// FirstAttempt is when delivery was first attempted: nothing of this
	// notification can have been posted earlier.
	FirstAttempt time.Time `json:"-"`
}

// Fingerprints lists the findings a notification is about.
func (n *Notification) Fingerprints() []string {
	switch {
	case n.Finding != nil:
		return []string{n.Finding.Fingerprint}
	case n.Digest != nil:
		fps := make([]string, 0, len(n.Digest.Findings))
		for _, f := range n.Digest.Findings {
			fps = append(fps, f.Fingerprint)
		}
		return fps
	}
	return nil
}

// ThreadRef locates a posted message (Slack: channel ID and ts).
type ThreadRef struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
	// Digest is true when the message is a digest: replies go in its thread
	// but the message itself is not rewritten.
	Digest bool `json:"digest,omitempty"`
}

// Notifier delivers notifications to one destination. retry reports whether
// a failure is transient (the worker tries again later) or permanent (the
// notification is dead-lettered at once with err as the reason).
type Notifier interface {
	Notify(ctx context.Context, n *Notification) (retry bool, err error)
}

// RetryAfterError is a transient failure that says when to try again (a
// rate limit's Retry-After).
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// ErrRejected marks a permanent rejection of a payload by a destination.
var ErrRejected = errors.New("rejected by destination")
