package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// changeSections are what a scan started by change notifications reads:
// the links of the drives named, and the sites of those drives, whose
// labels and sharing the link rules need (m365.SourceOptions.OnlyDrives).
var changeSections = []tenant.Section{tenant.SectionSites, tenant.SectionLinks}

// coversSlot reports whether a recorded scan counts for a scheduled slot:
// a scan of the change sections only does not.
func coversSlot(sc store.Scan) bool {
	for sec := range sc.Sections {
		if sec != tenant.SectionSites && sec != tenant.SectionLinks {
			return true
		}
	}
	return false
}

// NotificationPath is where Graph posts a tenant's notifications.
const NotificationPath = "/graph/notifications/"

// validationWindow is how long after a subscription is begun a validation
// request is answered: Graph sends it while POST /subscriptions waits.
const validationWindow = 30 * time.Second

// changeStore is what change notifications keep in the store.
type changeStore interface {
	store.ChangeFeeds
	store.Leases
	DeltaToken(ctx context.Context, tenantName, key string) (string, error)
}

// ChangeFeedOptions configures a ChangeFeed.
type ChangeFeedOptions struct {
	Store    changeStore
	Pipeline *Pipeline
	Tenants  []config.Tenant
	Config   config.ChangeNotifications
	// Owner names this replica in leases.
	Owner    string
	LeaseTTL time.Duration
	// Now is the clock marks and subscriptions are stamped with (default
	// time.Now; the benchmark passes the fake tenant's).
	Now func() time.Time
	// ValidationWindow is how long after a subscription is begun its
	// validation request is answered, on the Now clock (default 30s; a
	// clock running faster than real time needs a longer one).
	ValidationWindow time.Duration
	Logger           *slog.Logger
	// Registry receives the receiver's counters when set.
	Registry prometheus.Registerer
	// Processed, when set, is called after marked drives were read and
	// recorded (and their notifications enqueued).
	Processed func(ProcessedChanges)
}

// ProcessedChanges is one processing of marked drives.
type ProcessedChanges struct {
	Tenant string
	Marks  []store.DriveChange
	ScanID int64
	// Done is when the scan was recorded and its notifications enqueued.
	Done time.Time
}

// ChangeFeed subscribes to every drive's changes, receives Graph's
// notifications on the daemon's HTTP server and reads the drives they
// name. A notification only marks its drive in the store, so any replica
// may receive it; the marks are read once, under the tenant's scan lease,
// by a scan of the links (and sites) from the stored delta links.
type ChangeFeed struct {
	o        ChangeFeedOptions
	log      *slog.Logger
	tenants  map[string]config.Tenant
	received *prometheus.CounterVec
	// renewing are subscriptions with a reauthorizationRequired event
	// not yet answered.
	mu       sync.Mutex
	renewing map[string]bool
	// backoff holds, per tenant and task, when to try again after
	// failures, so a drive that cannot be read or an endpoint Microsoft
	// cannot validate is not retried every interval.
	backoff map[string]retryState
}

type retryState struct {
	next     time.Time
	failures int
}

// maxBackoff bounds the wait after repeated failures.
const maxBackoff = 10 * time.Minute

// ready reports whether key may run now.
func (f *ChangeFeed) ready(key string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !now.Before(f.backoff[key].next)
}

// settle records a run's outcome: a failure doubles the wait.
func (f *ChangeFeed) settle(key string, now time.Time, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.backoff, key)
		return
	}
	r := f.backoff[key]
	r.failures++
	wait := f.o.Config.Interval.D() << min(r.failures, 16)
	r.next = now.Add(min(wait, maxBackoff))
	f.backoff[key] = r
}

// NewChangeFeed checks the options and registers the receiver's counters.
func NewChangeFeed(o ChangeFeedOptions) (*ChangeFeed, error) {
	if o.Store == nil || o.Pipeline == nil {
		return nil, errors.New("change notifications: a store and a pipeline are required")
	}
	if l := o.Config.Lifetime.D(); l > m365.DriveItemMaxLifetime {
		return nil, fmt.Errorf("change_notifications.lifetime: %s is longer than Graph allows for drive items (%s)", l, m365.DriveItemMaxLifetime)
	}
	if o.Config.Lifetime <= 0 {
		o.Config.Lifetime = config.Duration(config.DefaultChangeLifetime)
	}
	if o.Config.Interval <= 0 {
		o.Config.Interval = config.Duration(config.DefaultChangeInterval)
	}
	if o.ValidationWindow <= 0 {
		o.ValidationWindow = validationWindow
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = config.DefaultLeaseTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	f := &ChangeFeed{o: o, log: o.Logger, tenants: map[string]config.Tenant{}, renewing: map[string]bool{}, backoff: map[string]retryState{},
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sharedrift_change_notifications_total",
			Help: "Change notification requests received, by result (accepted, lifecycle, validated, or why they were refused).",
		}, []string{"result"})}
	for _, t := range o.Tenants {
		f.tenants[t.Name] = t
	}
	if o.Registry != nil {
		if err := o.Registry.Register(f.received); err != nil {
			return nil, fmt.Errorf("register change notification metrics: %w", err)
		}
	}
	return f, nil
}

// Counted returns how many requests got a result (tests, benchmark).
func (f *ChangeFeed) Counted(result string) float64 {
	var m dto.Metric
	if err := f.received.WithLabelValues(result).Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// Route is the receiver, mounted on the daemon's HTTP server without an
// API token: Graph authenticates itself with each subscription's
// clientState, and validation is answered only while one is created.
func (f *ChangeFeed) Route() daemon.Route {
	return daemon.Route{Pattern: "POST " + NotificationPath + "{tenant}", Handler: http.HandlerFunc(f.receive)}
}

// refuse answers and counts a request that is not acted on.
func (f *ChangeFeed) refuse(w http.ResponseWriter, status int, result, msg string, attrs ...any) {
	f.received.WithLabelValues(result).Inc()
	f.log.Warn("change notification refused", append([]any{"reason", result}, attrs...)...)
	http.Error(w, msg, status)
}

func (f *ChangeFeed) receive(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("tenant")
	t, ok := f.tenants[name]
	if !ok {
		f.refuse(w, http.StatusNotFound, "unknown_tenant", "unknown tenant", "tenant", name)
		return
	}
	if tok, has := r.URL.Query()["validationToken"]; has {
		f.validate(w, r, t, tok)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, m365.MaxNotificationBody+1))
	if err != nil || len(body) > m365.MaxNotificationBody {
		f.refuse(w, http.StatusBadRequest, "malformed", "unreadable or too large body", "tenant", name)
		return
	}
	ns, err := m365.ParseNotifications(body)
	if err != nil {
		f.refuse(w, http.StatusBadRequest, "malformed", "malformed notification", "tenant", name, "error", err)
		return
	}
	// Every notification of the body is checked before any is acted on:
	// one forged entry refuses them all.
	type accepted struct {
		n     m365.Notification
		drive string
	}
	var ok2 []accepted
	for _, n := range ns {
		sub, err := f.o.Store.SubscriptionByID(ctx, n.SubscriptionID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			f.refuse(w, http.StatusNotFound, "unknown_subscription", "unknown subscription", "tenant", name, "subscription_id", n.SubscriptionID)
			return
		case err != nil:
			f.log.Error("read subscription", "error", err)
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		case sub.Tenant != name:
			f.refuse(w, http.StatusNotFound, "unknown_subscription", "unknown subscription", "tenant", name, "subscription_id", n.SubscriptionID)
			return
		}
		got := sha256.Sum256([]byte(n.ClientState))
		want, _ := hex.DecodeString(sub.ClientStateHash)
		if subtle.ConstantTimeCompare(got[:], want) != 1 {
			f.refuse(w, http.StatusForbidden, "bad_client_state", "clientState does not match", "tenant", name, "subscription_id", n.SubscriptionID)
			return
		}
		if t.TenantID != "" && n.TenantID != "" && !strings.EqualFold(n.TenantID, t.TenantID) {
			f.refuse(w, http.StatusForbidden, "wrong_tenant", "notification of another tenant", "tenant", name, "subscription_id", n.SubscriptionID)
			return
		}
		if n.LifecycleEvent == "" {
			if d, ok := m365.DriveOfResource(n.Resource); !ok || d != sub.DriveID {
				f.refuse(w, http.StatusBadRequest, "malformed", "resource does not match the subscription", "tenant", name, "subscription_id", n.SubscriptionID)
				return
			}
		}
		ok2 = append(ok2, accepted{n: n, drive: sub.DriveID})
	}
	now := f.o.Now()
	for _, a := range ok2 {
		reason, result := "updated", "accepted"
		if a.n.LifecycleEvent != "" {
			reason, result = a.n.LifecycleEvent, "lifecycle"
			switch a.n.LifecycleEvent {
			case m365.LifecycleReauthorizationRequired:
				f.mu.Lock()
				f.renewing[a.n.SubscriptionID] = true
				f.mu.Unlock()
			case m365.LifecycleSubscriptionRemoved:
				// The owner subscribes the drive again on its next round.
				if err := f.o.Store.DropSubscription(ctx, name, a.drive); err != nil {
					f.log.Error("drop removed subscription", "error", err)
					http.Error(w, "store unavailable", http.StatusServiceUnavailable)
					return
				}
			}
		}
		// Every kind of notification means "read the drive's delta": a
		// change, one that may have been missed, or a gap in the feed.
		if err := f.o.Store.MarkDriveChanged(ctx, name, a.drive, reason, now); err != nil {
			f.log.Error("mark drive changed", "error", err)
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		f.received.WithLabelValues(result).Inc()
	}
	w.WriteHeader(http.StatusAccepted)
}

// validate answers Graph's validation request, only while a subscription
// of the tenant is being created.
func (f *ChangeFeed) validate(w http.ResponseWriter, r *http.Request, t config.Tenant, toks []string) {
	tok, ok := "", len(toks) == 1
	if ok {
		tok, ok = m365.TrimValidationToken(toks[0])
	}
	if !ok {
		f.refuse(w, http.StatusBadRequest, "malformed", "bad validationToken", "tenant", t.Name)
		return
	}
	creating, err := f.o.Store.SubscriptionCreating(r.Context(), t.Name, f.o.Now().Add(-f.o.ValidationWindow))
	if err != nil {
		f.log.Error("read subscriptions", "error", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	if !creating {
		f.refuse(w, http.StatusForbidden, "unexpected_validation", "no subscription is being created", "tenant", t.Name)
		return
	}
	f.received.WithLabelValues("validated").Inc()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, tok)
}

// Run maintains subscriptions and processes marked drives until ctx ends.
func (f *ChangeFeed) Run(ctx context.Context) {
	t := time.NewTicker(f.o.Config.Interval.D())
	defer t.Stop()
	for {
		for _, name := range sortedTenantNames(f.tenants) {
			if now := time.Now(); f.ready("maintain:"+name, now) {
				err := f.Maintain(ctx, name)
				f.settle("maintain:"+name, now, err)
				if err != nil && ctx.Err() == nil {
					f.log.Warn("maintain subscriptions", "tenant", name, "error", err)
				}
			}
			if now := time.Now(); f.ready("process:"+name, now) {
				_, err := f.Process(ctx, name)
				f.settle("process:"+name, now, err)
				if err != nil && ctx.Err() == nil {
					f.log.Warn("process change notifications", "tenant", name, "error", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func sortedTenantNames(m map[string]config.Tenant) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Maintain makes the tenant's subscriptions match its stored drives:
// subscribes new drives, renews those past half their lifetime (or asked
// to reauthorize), deletes those of drives gone. One replica at a time
// does this per tenant, under the lease "subscriptions:<tenant>".
func (f *ChangeFeed) Maintain(ctx context.Context, name string) error {
	lease, ok, err := f.o.Store.TryLease(ctx, "subscriptions:"+name, f.o.Owner, f.o.LeaseTTL)
	if err != nil || !ok {
		return err
	}
	defer func() { _ = f.o.Store.ReleaseLease(context.WithoutCancel(ctx), lease.Name, lease.Owner) }()
	c := f.o.Pipeline.Client(name)
	if c == nil {
		return fmt.Errorf("tenant %q: no client", name)
	}
	raw, err := f.o.Store.DeltaToken(ctx, name, m365.DriveInventoryKey)
	if err != nil {
		return err
	}
	if raw == "" {
		return nil // no scan has listed the drives yet
	}
	drives, err := m365.StoredDrives(raw)
	if err != nil {
		return err
	}
	subs, err := f.o.Store.Subscriptions(ctx, name)
	if err != nil {
		return err
	}
	byDrive := map[string]store.ChangeSubscription{}
	for _, s := range subs {
		byDrive[s.DriveID] = s
	}
	now := f.o.Now()
	lifetime := f.o.Config.Lifetime.D()
	var errs []error
	want := map[string]bool{}
	for _, d := range drives {
		want[d] = true
		s, has := byDrive[d]
		switch {
		case !has || (s.Creating && now.Sub(s.UpdatedAt) > f.o.ValidationWindow) || (!s.Creating && !s.Expires.After(now)):
			if err := f.subscribe(ctx, c, name, d, now.Add(lifetime)); err != nil {
				errs = append(errs, err)
			}
		case s.Creating:
			// Another owner's creation in flight.
		case s.Expires.Sub(now) < lifetime/2 || f.takeRenewal(s.ID):
			if err := f.renew(ctx, c, name, s, now.Add(lifetime)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, s := range subs {
		if want[s.DriveID] {
			continue
		}
		if s.ID != "" {
			if err := c.Unsubscribe(ctx, s.ID); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := f.o.Store.DropSubscription(ctx, name, s.DriveID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (f *ChangeFeed) takeRenewal(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.renewing[id] {
		delete(f.renewing, id)
		return true
	}
	return false
}

func (f *ChangeFeed) subscribe(ctx context.Context, c *m365.Client, name, drive string, expires time.Time) error {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	cs := hex.EncodeToString(secret)
	sum := sha256.Sum256([]byte(cs))
	if err := f.o.Store.BeginSubscription(ctx, name, drive, hex.EncodeToString(sum[:])); err != nil {
		return err
	}
	url := strings.TrimRight(f.o.Config.URL, "/") + NotificationPath + name
	sub, err := c.Subscribe(ctx, m365.SubscriptionRequest{DriveID: drive, NotificationURL: url, LifecycleURL: url, ClientState: cs, Expires: expires})
	if err != nil {
		// The row stays "creating" and goes stale: validation is refused
		// after the window and the next round tries again.
		return err
	}
	if err := f.o.Store.ActivateSubscription(ctx, name, drive, sub.ID, sub.ExpirationDateTime); err != nil {
		_ = c.Unsubscribe(context.WithoutCancel(ctx), sub.ID)
		return err
	}
	// Changes between the last scan and now reach no notification: read
	// the drive's delta once.
	return f.o.Store.MarkDriveChanged(ctx, name, drive, "subscribed", f.o.Now())
}

func (f *ChangeFeed) renew(ctx context.Context, c *m365.Client, name string, s store.ChangeSubscription, expires time.Time) error {
	got, err := c.RenewSubscription(ctx, s.ID, expires)
	if m365.IsStatus(err, http.StatusNotFound) {
		// Gone at the service: subscribe again next round, and catch up
		// with the drive's delta for what was missed meanwhile.
		if err := f.o.Store.DropSubscription(ctx, name, s.DriveID); err != nil {
			return err
		}
		return f.o.Store.MarkDriveChanged(ctx, name, s.DriveID, m365.LifecycleMissed, f.o.Now())
	}
	if err != nil {
		return err
	}
	return f.o.Store.RenewedSubscription(ctx, s.ID, got.ExpirationDateTime)
}

// Process reads the tenant's drives marked at least Debounce ago, once,
// under the tenant's scan lease, and clears the marks it covered. A scan
// whose links or sites section is not complete clears nothing, so the
// marks are read again; it resolves nothing either (the store never
// resolves from an incomplete section). It returns whether a scan ran.
func (f *ChangeFeed) Process(ctx context.Context, name string) (bool, error) {
	if due, err := f.due(ctx, name); err != nil || len(due) == 0 {
		return false, err
	}
	// A distinct owner: the scheduler of this replica cannot take the
	// tenant while its changes are read, nor the other way round.
	owner := f.o.Owner + "/changes"
	l, ok, err := f.o.Store.TryLease(ctx, daemon.LeaseName(name), owner, f.o.LeaseTTL)
	if err != nil || !ok {
		return false, err // a scan is running; the marks wait
	}
	defer func() { _ = f.o.Store.ReleaseLease(context.WithoutCancel(ctx), l.Name, l.Owner) }()
	// Read again under the lease: another replica may have processed
	// them between the look above and the lease.
	due, err := f.due(ctx, name)
	if err != nil || len(due) == 0 {
		return false, err
	}
	drives := make([]string, len(due))
	for i, m := range due {
		drives[i] = m.DriveID
	}
	res, err := f.o.Pipeline.scan(ctx, daemon.ScanRequest{Tenant: f.tenants[name], Lease: daemon.Lease{Name: l.Name, Owner: l.Owner, Generation: l.Generation}},
		changeSections, drives)
	if err != nil {
		return false, err
	}
	// The drives' links were judged only if their sites were read too: a
	// site that could not be read leaves its links unknown, and the marks
	// are read again (after the feed's back-off) rather than left to the
	// next scheduled scan.
	for _, sec := range changeSections {
		if st := res.sections[sec]; st.State != tenant.StateComplete {
			return true, fmt.Errorf("%s of %s not complete (%s): marks kept", sec, name, st.Error)
		}
	}
	if err := f.o.Store.ClearDriveChanges(ctx, due); err != nil {
		return true, err
	}
	if f.o.Processed != nil {
		f.o.Processed(ProcessedChanges{Tenant: name, Marks: due, ScanID: res.ScanID, Done: f.o.Now()})
	}
	return true, nil
}

// due returns the tenant's marks older than the debounce.
func (f *ChangeFeed) due(ctx context.Context, name string) ([]store.DriveChange, error) {
	marks, err := f.o.Store.DriveChanges(ctx, name)
	if err != nil {
		return nil, err
	}
	cutoff := f.o.Now().Add(-f.o.Config.Debounce.D())
	var due []store.DriveChange
	for _, m := range marks {
		if !m.FirstAt.After(cutoff) {
			due = append(due, m)
		}
	}
	return due, nil
}
