package store

import (
	"context"
	"errors"
	"time"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/tenant"
)

// Sentinel errors callers branch on.
var (
	// ErrNotFound is returned when a tenant, scan, finding, message or
	// remediation does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAmbiguous is returned when a fingerprint prefix matches several findings.
	ErrAmbiguous = errors.New("ambiguous fingerprint prefix")
	// ErrSchemaTooNew is returned by Open when the database was migrated by
	// a newer sharedrift than this binary.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
	// ErrSchemaOutdated is returned by Open with Options.NoMigrate when
	// migrations are pending.
	ErrSchemaOutdated = errors.New("database schema is older than this binary")
	// ErrLeaseLost is returned when a lease is not (or no longer) held by
	// the caller: renewing it, or recording a scan fenced by it.
	ErrLeaseLost = errors.New("lease not held")
	// ErrConflict is returned when a row is not in the state an update
	// expected (e.g. approving a remediation that was already rejected).
	ErrConflict = errors.New("state conflict")
	// ErrInvalid is returned for input the store refuses (no tenant name,
	// nil snapshot, empty idempotency key).
	ErrInvalid = errors.New("invalid input")
)

// Store is everything sharedrift keeps. It is implemented for PostgreSQL
// and SQLite; both pass the same conformance suite (package storetest).
// Consumers should depend on the narrower role interfaces below.
type Store interface {
	Scans
	Findings
	Outbox
	RemediationAudit
	DeltaTokens
	Leases
	ChangeFeeds
	Admin
}

// Admin covers the store's own life cycle.
type Admin interface {
	// Driver is "postgres" or "sqlite".
	Driver() string
	// Target describes the database without secrets (host and database
	// name, or file path), for logs and errors.
	Target() string
	Ping(ctx context.Context) error
	// SchemaVersion returns the applied and the supported schema versions;
	// they are equal when the store is ready.
	SchemaVersion(ctx context.Context) (current, supported int, err error)
	// Migrate applies pending migrations; safe when several processes call
	// it at once. It returns how many were applied.
	Migrate(ctx context.Context) (int, error)
	// Prune deletes what is older than o.Before (see PruneStats), of one
	// tenant or all; with o.DryRun it counts what it would delete and
	// deletes nothing (the same statements, rolled back).
	Prune(ctx context.Context, o PruneOptions) (PruneStats, error)
	Close() error
}

// Scans records scans and reads their history.
type Scans interface {
	// RecordScan stores one scan in a single transaction: the scan row,
	// changed object versions, changes against the previous complete state
	// of each complete section, non-pass rule results, the findings
	// lifecycle and delta tokens. Either all of it is visible afterwards or
	// none of it is.
	RecordScan(ctx context.Context, in ScanInput) (Scan, error)
	Tenants(ctx context.Context) ([]Tenant, error)
	Scans(ctx context.Context, f ScanFilter) ([]Scan, error)
	Scan(ctx context.Context, id int64) (Scan, error)
	Changes(ctx context.Context, f ChangeFilter) ([]Change, error)
	// Results returns the stored (non-pass or excepted) results of a scan.
	Results(ctx context.Context, scanID int64) ([]tenant.Result, error)
	// RuleSummary counts every outcome per rule of a scan, passes included.
	RuleSummary(ctx context.Context, scanID int64) ([]RuleCount, error)
	// ExceptionsInUse lists the results accepted by a baseline exception in
	// the tenant's latest scan.
	ExceptionsInUse(ctx context.Context, tenantName string) ([]tenant.Result, error)
	// CurrentObjects streams the latest known document of every object of
	// a section (as of the last complete collection of that section).
	CurrentObjects(ctx context.Context, tenantName string, sec tenant.Section, fn func(drift.Object) error) error
	// CurrentObjectsIn is CurrentObjects for the objects whose keys start
	// with one of prefixes (a scoped read: the links of some drives).
	CurrentObjectsIn(ctx context.Context, tenantName string, sec tenant.Section, prefixes []string, fn func(drift.Object) error) error
}

// Findings reads and annotates the findings lifecycle.
type Findings interface {
	FindingsList(ctx context.Context, f FindingFilter) ([]Finding, error)
	// FindingsPage is FindingsList for one page (Limit set, no Offset)
	// that also says where a search bounded by SearchBudget stopped.
	FindingsPage(ctx context.Context, f FindingFilter) (FindingPage, error)
	// Finding returns one finding by fingerprint or unique fingerprint prefix.
	Finding(ctx context.Context, tenantName, fingerprint string) (Finding, error)
	AckFinding(ctx context.Context, tenantName, fingerprint string, m Mark) (Finding, error)
	// SnoozeFinding hides a finding from reminders until the given time;
	// a zero time clears the snooze.
	SnoozeFinding(ctx context.Context, tenantName, fingerprint string, until time.Time, m Mark) (Finding, error)
	// AcceptRisk accepts an active finding's current value until a.Until
	// (ErrInvalid without a reason, an owner or a future expiry; ErrConflict
	// when the finding is resolved) and acknowledges it. Scans apply it
	// like a baseline exception (see AcceptedRisks).
	AcceptRisk(ctx context.Context, tenantName, fingerprint string, a Acceptance) (Finding, error)
	// AcceptedRisks lists a tenant's findings with a risk accepted until
	// after at.
	AcceptedRisks(ctx context.Context, tenantName string, at time.Time) ([]Finding, error)
	// Transitions returns what a scan did to findings: new, reopened,
	// resolved, escalated (severity went up). This drives notifications.
	Transitions(ctx context.Context, scanID int64) ([]Transition, error)
	// EachTransition streams the same, in the same order (most severe
	// first, then rule and object), to fn; an error from fn stops it. fn
	// must not use the store: the rows hold a connection meanwhile.
	EachTransition(ctx context.Context, scanID int64, fn func(*Transition) error) error
	// FindingEvents lists the scans that opened, reopened, resolved or
	// changed the severity of one finding, oldest first. Only the latest
	// reopening, resolution and severity change are stored (with the
	// count of reopenings), so earlier ones are not listed.
	FindingEvents(ctx context.Context, tenantName, fingerprint string) ([]FindingEvent, error)
	// FindingCounts counts findings by tenant, state and severity (for
	// metrics); an empty tenantName counts all tenants.
	FindingCounts(ctx context.Context, tenantName string) ([]FindingCount, error)
}

// Outbox is the notification outbox: at-least-once delivery with
// idempotency keys and leased claims.
type Outbox interface {
	// Enqueue inserts messages; a message whose IdempotencyKey already
	// exists is skipped silently. It returns how many were inserted.
	Enqueue(ctx context.Context, msgs ...OutboxMessage) (int, error)
	// ClaimDue leases up to limit pending messages whose NextAttemptAt has
	// come and that nobody holds, for the visibility timeout lease. A
	// message whose claim expired (the worker died) becomes claimable again.
	ClaimDue(ctx context.Context, owner string, limit int, lease time.Duration) ([]OutboxMessage, error)
	// MarkSent records delivery; externalRef is what the destination
	// returned to address the message later (e.g. a Slack channel and ts).
	MarkSent(ctx context.Context, id int64, externalRef string) error
	// MarkFailed counts an attempt, stores the error and releases the claim
	// until retryAt. ErrLeaseLost when owner no longer holds the claim.
	MarkFailed(ctx context.Context, id int64, owner, errMsg string, retryAt time.Time) error
	// MarkDead gives up on a message (the destination rejected it for good).
	MarkDead(ctx context.Context, id int64, reason string) error
	// DeadLetterExpired moves pending messages created before cutoff to
	// the dead state and returns how many.
	DeadLetterExpired(ctx context.Context, cutoff time.Time) (int, error)
	OutboxMessages(ctx context.Context, f OutboxFilter) ([]OutboxMessage, error)
	// OutboxStats counts messages per destination and state.
	// OutboxStats counts messages per destination and state, of one
	// tenant's findings or ("" ) of all.
	OutboxStats(ctx context.Context, tenantName string) ([]OutboxCount, error)
	// ThreadRef returns the ExternalRef of the latest message sent to
	// destination that announced a finding (its own message or a digest
	// listing it in Members), for replies in the same thread. Messages sent
	// with an empty ExternalRef (replies) are not announcements. "Latest"
	// is in enqueue order, which is the order of the finding's lifecycle:
	// after a reopen, the reopening's announcement.
	ThreadRef(ctx context.Context, destination, fingerprint string) (string, bool, error)
	// ThreadRefBefore is ThreadRef among messages enqueued before the
	// message with ID before, so a resolution never threads under an
	// announcement of a later reopening.
	ThreadRefBefore(ctx context.Context, destination, fingerprint string, before int64) (string, bool, error)
	// PendingBefore reports whether a message enqueued before the one with
	// ID before, to destination and about the finding (as Fingerprint or
	// one of Members), is still pending.
	PendingBefore(ctx context.Context, destination, fingerprint string, before int64) (bool, error)
}

// RemediationAudit stores every remediation attempt.
type RemediationAudit interface {
	// CreateRemediation inserts a record and returns its ID.
	CreateRemediation(ctx context.Context, r Remediation) (int64, error)
	// UpdateRemediation updates State, ApprovedBy/At, Before, After, Result
	// and Error of record r.ID, but only when its state is one of from
	// (any state when from is empty); otherwise ErrConflict.
	UpdateRemediation(ctx context.Context, r Remediation, from ...RemediationState) error
	Remediation(ctx context.Context, id int64) (Remediation, error)
	Remediations(ctx context.Context, f RemediationFilter) ([]Remediation, error)
}

// DeltaTokens keeps incremental-collection tokens per tenant. Tokens that
// belong to a scan should be passed in ScanInput.DeltaTokens instead, so
// they only advance when the scan commits.
type DeltaTokens interface {
	// DeltaToken returns the token or "" when none is stored.
	DeltaToken(ctx context.Context, tenantName, key string) (string, error)
	SetDeltaToken(ctx context.Context, tenantName, key, token string) error
}

// Leases are named, expiring locks in the database for scheduling across
// replicas (one scanner per tenant, a singleton daemon on SQLite).
type Leases interface {
	// TryLease acquires name for owner for ttl when it is free, expired or
	// already held by owner (then it is extended). ok is false when another
	// owner holds it; the returned Lease then describes that holder.
	TryLease(ctx context.Context, name, owner string, ttl time.Duration) (l Lease, ok bool, err error)
	// RenewLease extends a held lease; ErrLeaseLost when owner lost it.
	RenewLease(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error)
	// ReleaseLease frees the lease if owner holds it.
	ReleaseLease(ctx context.Context, name, owner string) error
	ListLeases(ctx context.Context) ([]Lease, error)
}

// ScanStatus summarises the section states of a scan.
type ScanStatus string

// Scan statuses.
const (
	ScanComplete ScanStatus = "complete" // every collected section complete
	ScanPartial  ScanStatus = "partial"  // some sections incomplete
	ScanFailed   ScanStatus = "failed"   // no section complete
)

// ScanStats are API statistics for a whole scan. Per-section figures are
// in the snapshot's section statuses.
type ScanStats struct {
	APICalls  int64 `json:"apiCalls,omitempty"`
	Retries   int64 `json:"retries,omitempty"`
	Throttled int64 `json:"throttled,omitempty"`
	RU        int64 `json:"ru,omitempty"`
	Bytes     int64 `json:"bytes,omitempty"`
}

// ScanInput is what RecordScan persists.
type ScanInput struct {
	Snapshot *tenant.Snapshot
	Results  []tenant.Result
	// ResultSet, when set, streams the results instead of Results (which
	// is then ignored): a large tenant's failures stay spooled on disk.
	ResultSet ResultSet
	// Baseline names the baseline the results were evaluated against.
	Baseline string
	// StartedAt and FinishedAt default to Snapshot.CollectedAt and the
	// store's clock.
	StartedAt, FinishedAt time.Time
	// Stats are whole-scan API statistics; zero values are summed from the
	// section statuses.
	Stats ScanStats
	// DeltaTokens are saved in the scan's transaction.
	DeltaTokens map[string]string
	// Fence, when set, makes the commit fail with ErrLeaseLost unless this
	// lease (name, owner, generation) is still held, so a replica that lost
	// its tenant cannot overwrite the new owner's scan.
	Fence *Lease
}

// ResultSet is a scan's results read in fingerprint order, results with
// equal fingerprints in the order they were made (tenant.ResultSpool). The
// store reads it a few times and matches it against stored findings read
// in the same order, so it never holds the results.
type ResultSet interface {
	Each(fn func(fp string, r *tenant.Result) error) error
}

// Scan is one recorded scan.
type Scan struct {
	ID          int64                                   `json:"id"`
	Tenant      string                                  `json:"tenant"`
	StartedAt   time.Time                               `json:"startedAt"`
	FinishedAt  time.Time                               `json:"finishedAt"`
	CollectedAt time.Time                               `json:"collectedAt"`
	Status      ScanStatus                              `json:"status"`
	Baseline    string                                  `json:"baseline,omitempty"`
	Sections    map[tenant.Section]tenant.SectionStatus `json:"sections"`
	Stats       ScanStats                               `json:"stats"`
	// ObjectsSeen counts objects in complete sections; ObjectsWritten the
	// versions written (new, changed, removed): 0 for an unchanged tenant.
	ObjectsSeen      int64 `json:"objectsSeen"`
	ObjectsWritten   int64 `json:"objectsWritten"`
	Changes          int64 `json:"changes"`
	ResultsWritten   int64 `json:"resultsWritten"`
	FindingsNew      int64 `json:"findingsNew"`
	FindingsReopened int64 `json:"findingsReopened"`
	FindingsResolved int64 `json:"findingsResolved"`
	FindingsOpen     int64 `json:"findingsOpen"`
}

// Tenant is a tenant the store has seen.
type Tenant struct {
	Name      string    `json:"name"`
	TenantID  string    `json:"tenantId,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// LastScanID is the tenant's latest scan that is not scoped (see
	// Scan.Scoped): its latest whole picture.
	LastScanID int64 `json:"lastScanId,omitempty"`
}

// ScanFilter selects scans, newest first.
type ScanFilter struct {
	Tenant string
	Since  time.Time
	// BeforeID pages by keyset: only scans with a smaller ID (the ID of the
	// last scan of the previous page).
	BeforeID int64
	Limit    int
	// Whole leaves out scoped scans (Scan.Scoped): those that read part
	// of a section, so that the first scan listed is the tenant's latest
	// whole picture.
	Whole bool
}

// Change is a stored drift.Change.
type Change struct {
	ID         int64     `json:"id"`
	Tenant     string    `json:"tenant"`
	ScanID     int64     `json:"scanId"`
	PrevScanID int64     `json:"prevScanId"`
	DetectedAt time.Time `json:"detectedAt"`
	drift.Change
}

// ChangeFilter selects changes, oldest first.
type ChangeFilter struct {
	Tenant  string
	Since   time.Time
	ScanID  int64
	Section tenant.Section
	Kind    drift.Kind
	// ObjectKey selects the changes of one object.
	ObjectKey string
	// AfterID pages by keyset: only changes with a larger ID (the ID of the
	// last change of the previous page).
	AfterID int64
	Limit   int
}

// RuleCount is how many results of one outcome a rule produced in a scan.
type RuleCount struct {
	RuleID  string         `json:"ruleId"`
	Section tenant.Section `json:"section"`
	Outcome tenant.Outcome `json:"outcome"`
	Count   int64          `json:"count"`
}

// FindingState is where a finding is in its lifecycle. Open and reopened
// findings are active.
type FindingState string

// Finding states.
const (
	FindingOpen     FindingState = "open"
	FindingReopened FindingState = "reopened"
	FindingResolved FindingState = "resolved"
)

// Finding is one drift, identified by tenant.Result.Fingerprint, tracked
// across scans.
type Finding struct {
	Tenant      string         `json:"tenant"`
	Fingerprint string         `json:"fingerprint"`
	RuleID      string         `json:"ruleId"`
	Section     tenant.Section `json:"section"`
	ObjectKey   string         `json:"objectKey"`
	ObjectName  string         `json:"objectName,omitempty"`
	ObjectURL   string         `json:"objectUrl,omitempty"`
	// ObjectLabel is the object's sensitivity label (see
	// tenant.Result.ObjectLabel).
	ObjectLabel  string          `json:"objectLabel,omitempty"`
	Severity     tenant.Severity `json:"severity"`
	PrevSeverity tenant.Severity `json:"previousSeverity,omitempty"`
	Expected     string          `json:"expected,omitempty"`
	Actual       string          `json:"actual,omitempty"`
	Message      string          `json:"message,omitempty"`
	State        FindingState    `json:"state"`
	FirstSeen    time.Time       `json:"firstSeen"`
	LastSeen     time.Time       `json:"lastSeen"`
	ResolvedAt   *time.Time      `json:"resolvedAt,omitempty"`
	ReopenedAt   *time.Time      `json:"reopenedAt,omitempty"`
	ReopenCount  int             `json:"reopenCount"`
	FirstScanID  int64           `json:"firstScanId"`
	LastScanID   int64           `json:"lastScanId"`
	// ResolvedScanID is 0 unless the finding is resolved.
	ResolvedScanID int64      `json:"resolvedScanId,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledgedAt,omitempty"`
	AcknowledgedBy string     `json:"acknowledgedBy,omitempty"`
	SnoozedUntil   *time.Time `json:"snoozedUntil,omitempty"`
	SnoozedBy      string     `json:"snoozedBy,omitempty"`
	AckReason      string     `json:"ackReason,omitempty"`
	SnoozeReason   string     `json:"snoozeReason,omitempty"`
	// Accepted is the risk accepted on the finding, if any (also once it
	// has lapsed, until it is replaced).
	Accepted *Acceptance `json:"accepted,omitempty"`
}

// Mark is who acknowledges or snoozes a finding, and why.
type Mark struct {
	By     string
	Reason string
}

// Acceptance is a risk accepted on a finding: its value at the time
// (Value) is accepted until Until, for Reason, with Owner answerable.
type Acceptance struct {
	Value  string    `json:"value"`
	Reason string    `json:"reason"`
	Owner  string    `json:"owner"`
	Until  time.Time `json:"until"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// ExceptionID names the baseline exception an acceptance becomes.
func (f *Finding) ExceptionID() string {
	return "accepted-" + f.Fingerprint[:min(8, len(f.Fingerprint))]
}

// Active reports whether the finding is open or reopened.
func (f *Finding) Active() bool { return f.State != FindingResolved }

// Snoozed reports whether the finding is snoozed at now.
func (f *Finding) Snoozed(now time.Time) bool {
	return f.SnoozedUntil != nil && now.Before(*f.SnoozedUntil)
}

// FindingFilter selects findings, most severe first. Zero values match all.
type FindingFilter struct {
	Tenant      string
	States      []FindingState
	MinSeverity tenant.Severity
	Section     tenant.Section
	RuleID      string
	// ScanID selects findings last seen in that scan.
	ScanID int64
	// Label selects findings whose object carries this sensitivity label
	// (its display name, or its ID when it has none), ignoring case.
	Label string
	// Search matches findings whose object name, object key or rule ID
	// contains it, ignoring case.
	Search string
	// SearchBudget bounds a search's work: at most this many findings, in
	// list order from After, are examined for one page (see FindingsPage).
	// 0 examines all. Only FindingsPage accepts it.
	SearchBudget int
	// After pages by keyset: only findings after this one in list order.
	// It cannot be combined with Offset.
	After  *FindingKey
	Limit  int
	Offset int
}

// FindingPage is one page of findings.
type FindingPage struct {
	Items []Finding
	// Resume is set when a search used up its budget before it filled the
	// page or reached the end of the list: the next page goes on after it
	// (as FindingFilter.After). It is a place in list order, not
	// necessarily a matching finding.
	Resume *FindingKey
}

// FindingKey is a finding's place in list order: tenant, severity (most
// severe first), rule, object key, fingerprint.
type FindingKey struct {
	Tenant      string          `json:"t"`
	Severity    tenant.Severity `json:"s"`
	RuleID      string          `json:"r"`
	ObjectKey   string          `json:"o"`
	Fingerprint string          `json:"f"`
}

// Key returns the finding's place in list order.
func (f *Finding) Key() FindingKey {
	return FindingKey{Tenant: f.Tenant, Severity: f.Severity, RuleID: f.RuleID, ObjectKey: f.ObjectKey, Fingerprint: f.Fingerprint}
}

// TransitionKind is what a scan did to a finding.
type TransitionKind string

// Transition kinds.
const (
	TransitionNew       TransitionKind = "new"
	TransitionReopened  TransitionKind = "reopened"
	TransitionResolved  TransitionKind = "resolved"
	TransitionEscalated TransitionKind = "escalated"
	// TransitionDeescalated (severity went down) appears only among a
	// finding's events: Transitions leaves it out, nobody is notified.
	TransitionDeescalated TransitionKind = "deescalated"
)

// FindingEvent is one thing a scan did to a finding.
type FindingEvent struct {
	ScanID int64          `json:"scanId"`
	Kind   TransitionKind `json:"kind"`
	// At is when the scan recorded it (the finding's first seen, reopened
	// or resolved time; for a severity change, the scan's start).
	At time.Time `json:"at"`
	// ScanStarted is when the scan started; zero when it was pruned.
	ScanStarted time.Time `json:"scanStarted,omitzero"`
	// Severity is the severity the event left (new, escalated,
	// deescalated), with PrevSeverity the one before a change.
	Severity     tenant.Severity `json:"severity,omitempty"`
	PrevSeverity tenant.Severity `json:"previousSeverity,omitempty"`
	// Count is, for a reopening, how many times the finding reopened.
	Count int `json:"count,omitempty"`
}

// Transition is one finding that changed state (or severity) in a scan.
type Transition struct {
	Kind    TransitionKind `json:"kind"`
	Finding Finding        `json:"finding"`
}

// FindingCount is a count of findings by tenant, state and severity.
type FindingCount struct {
	Tenant   string          `json:"tenant"`
	State    FindingState    `json:"state"`
	Severity tenant.Severity `json:"severity"`
	Count    int64           `json:"count"`
}

// OutboxState is where a notification is in delivery.
type OutboxState string

// Outbox states.
const (
	OutboxPending OutboxState = "pending"
	OutboxSent    OutboxState = "sent"
	OutboxDead    OutboxState = "dead"
)

// OutboxMessage is one notification to deliver to one destination.
type OutboxMessage struct {
	ID int64 `json:"id"`
	// IdempotencyKey is unique across the outbox: enqueueing the same key
	// twice delivers once. Build it from what makes the message unique,
	// e.g. destination + fingerprint + transition + scan.
	IdempotencyKey string `json:"idempotencyKey"`
	Tenant         string `json:"tenant,omitempty"`
	Destination    string `json:"destination"`
	// Kind is the notifier's own label (new, resolved, reminder, digest…).
	Kind        string `json:"kind,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// Members are the findings a message about several findings (a
	// digest) covers. Enqueue stores them for ThreadRef and PendingBefore;
	// reads do not return them.
	Members []string `json:"members,omitempty"`
	// Payload is opaque to the store and kept byte for byte.
	Payload       []byte      `json:"payload"`
	State         OutboxState `json:"state"`
	Attempts      int         `json:"attempts"`
	CreatedAt     time.Time   `json:"createdAt"`
	NextAttemptAt time.Time   `json:"nextAttemptAt"`
	LastError     string      `json:"lastError,omitempty"`
	ClaimedBy     string      `json:"claimedBy,omitempty"`
	ClaimedUntil  *time.Time  `json:"claimedUntil,omitempty"`
	SentAt        *time.Time  `json:"sentAt,omitempty"`
	ExternalRef   string      `json:"externalRef,omitempty"`
	// Claims counts the leases ClaimDue handed out, this one included. A
	// message claimed before whose claim was never settled by MarkSent,
	// MarkFailed or MarkDead may have reached the destination already.
	Claims int `json:"claims,omitempty"`
	// FirstClaimedAt is when the message was first claimed: the earliest
	// it can have been delivered.
	FirstClaimedAt *time.Time `json:"firstClaimedAt,omitempty"`
}

// OutboxFilter selects outbox messages, oldest first.
type OutboxFilter struct {
	State       OutboxState
	Destination string
	Tenant      string
	// Fingerprint selects the messages about a finding: its own and the
	// digests that listed it.
	Fingerprint string
	Limit       int
}

// OutboxCount counts messages of one destination and state.
type OutboxCount struct {
	Destination string      `json:"destination"`
	State       OutboxState `json:"state"`
	Count       int64       `json:"count"`
	// Oldest is the creation time of the oldest message in this group.
	Oldest time.Time `json:"oldest"`
}

// RemediationState is where a remediation attempt stands.
type RemediationState string

// Remediation states.
const (
	RemediationPlanned    RemediationState = "planned"
	RemediationApproved   RemediationState = "approved"
	RemediationRejected   RemediationState = "rejected"
	RemediationApplied    RemediationState = "applied"
	RemediationFailed     RemediationState = "failed"
	RemediationSkipped    RemediationState = "skipped"
	RemediationRolledBack RemediationState = "rolled_back"
	// RemediationBlocked is a plan that must never run: applied to the
	// snapshot it was made from it would make the tenant less safe. Its
	// result says why.
	RemediationBlocked RemediationState = "blocked"
)

// Remediation is one audited remediation attempt.
type Remediation struct {
	ID          int64  `json:"id"`
	Tenant      string `json:"tenant"`
	Fingerprint string `json:"fingerprint,omitempty"`
	RuleID      string `json:"ruleId,omitempty"`
	ObjectKey   string `json:"objectKey,omitempty"`
	// RunID groups the attempts of one remediation run; Seq orders them.
	RunID  string           `json:"runId,omitempty"`
	Seq    int              `json:"seq"`
	Action string           `json:"action"`
	Mode   string           `json:"mode,omitempty"`
	State  RemediationState `json:"state"`
	// Plan, Before and After are JSON documents kept byte for byte.
	Plan       []byte     `json:"plan,omitempty"`
	ApprovedBy string     `json:"approvedBy,omitempty"`
	ApprovedAt *time.Time `json:"approvedAt,omitempty"`
	Before     []byte     `json:"before,omitempty"`
	After      []byte     `json:"after,omitempty"`
	Result     string     `json:"result,omitempty"`
	Error      string     `json:"error,omitempty"`
	// VerifiedAt is when the change was read back and found as written;
	// nil when nothing was changed or the read-back did not confirm it.
	VerifiedAt *time.Time `json:"verifiedAt,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
}

// RemediationFilter selects remediation records, oldest first.
type RemediationFilter struct {
	Tenant      string
	Fingerprint string
	RunID       string
	State       RemediationState
	Limit       int
}

// Lease is a named lock held by an owner until ExpiresAt. Generation grows
// by one each time the lease changes hands; use it as a fencing token.
type Lease struct {
	Name       string    `json:"name"`
	Owner      string    `json:"owner"`
	AcquiredAt time.Time `json:"acquiredAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	Generation int64     `json:"generation"`
}

// PruneOptions select what Prune deletes.
type PruneOptions struct {
	// Before is the cutoff: scans started, findings resolved and
	// notifications created before it go.
	Before time.Time
	// Tenant limits pruning to one tenant's scans, findings and
	// notifications; empty prunes every tenant.
	Tenant string
	// DryRun counts and deletes nothing.
	DryRun bool
}

// PruneStats counts what Prune deleted. Prune keeps each tenant's latest
// scan and its latest whole (not scoped) scan, the object versions that are current or were current at the
// cutoff, active findings, and the remediation audit (never pruned).
type PruneStats struct {
	Scans          int64 `json:"scans"`
	ObjectVersions int64 `json:"objectVersions"`
	Changes        int64 `json:"changes"`
	Results        int64 `json:"results"`
	Findings       int64 `json:"findings"`
	Outbox         int64 `json:"outbox"`
}
