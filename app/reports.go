package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/console"
	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/notify/destinations"
	"github.com/sharedrift/sharedrift/report"
	"github.com/sharedrift/sharedrift/store"
)

// DefaultReportPeriod is the period a report covers when report.since is unset.
const DefaultReportPeriod = 30 * 24 * time.Hour

// FileSender delivers a file to a destination: Slack uploads it to the
// channel, email attaches it.
type FileSender interface {
	SendFile(ctx context.Context, name, contentType, title, text string, data []byte) error
}

// reportStore is what reports read, and the lease that makes one replica
// deliver a scheduled report.
type reportStore interface {
	report.History
	TryLease(ctx context.Context, name, owner string, ttl time.Duration) (l store.Lease, ok bool, err error)
}

// Reports renders security review reports from the store: on request at
// GET /reports/{tenant} and on each tenant's report schedule to its
// destinations.
type Reports struct {
	cfg     *config.Config
	store   reportStore
	clock   func(tenantName string) time.Time
	senders map[string]FileSender
	owner   string
	version string
	log     *slog.Logger
}

func newReports(cfg *config.Config, st reportStore, clock func(string) time.Time, o ServiceOptions) (*Reports, error) {
	r := &Reports{cfg: cfg, store: st, clock: clock, senders: map[string]FileSender{}, owner: o.Owner, version: o.Version, log: o.Logger}
	var errs []error
	for _, name := range cfg.TenantNames() {
		for _, d := range cfg.Tenants[name].Report.Destinations {
			if _, done := r.senders[d]; done {
				continue
			}
			dc, ok := cfg.Notify.Lookup(d)
			if !ok {
				errs = append(errs, fmt.Errorf("tenants.%s.report.destinations: unknown destination %q", name, d))
				continue
			}
			n, err := destinations.One(dc, destinations.Options{Logger: o.Logger})
			if err != nil {
				errs = append(errs, fmt.Errorf("tenants.%s.report.destinations: %w", name, err))
				continue
			}
			fs, ok := n.(FileSender)
			if !ok {
				errs = append(errs, fmt.Errorf("tenants.%s.report.destinations: destination %q (%s) cannot deliver files", name, d, dc.Type))
				continue
			}
			r.senders[d] = fs
		}
	}
	return r, errors.Join(errs...)
}

// Route is GET /reports/{tenant}?format=html|markdown|json, read scope.
func (r *Reports) Route() daemon.Route {
	return daemon.Route{Pattern: "GET /reports/{tenant}", Handler: http.HandlerFunc(r.serve), Scope: config.ScopeRead}
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (r *Reports) serve(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("tenant")
	t, ok := r.cfg.Tenants[name]
	if !ok {
		jsonError(w, http.StatusNotFound, "unknown tenant")
		return
	}
	q, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		jsonError(w, http.StatusBadRequest, "malformed query string")
		return
	}
	for k, vs := range q {
		if k != "format" || len(vs) != 1 {
			jsonError(w, http.StatusBadRequest, "only one query parameter is accepted: format=html|markdown|json")
			return
		}
	}
	format := report.FormatHTML
	if t.Report.Format != "" && t.Report.Format != string(report.FormatCSV) {
		format = report.Format(t.Report.Format)
	}
	if v := q.Get("format"); v != "" {
		f, err := report.ParseFormat(v)
		if err != nil || f == report.FormatCSV {
			jsonError(w, http.StatusBadRequest, fmt.Sprintf("format: %q, expected html, markdown or json", v))
			return
		}
		format = f
	}
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Minute)
	defer cancel()
	data, err := r.render(ctx, name, format)
	switch {
	case errors.Is(err, store.ErrNotFound):
		jsonError(w, http.StatusNotFound, "no scan of this tenant yet")
		return
	case err != nil:
		r.log.Error("render report", "tenant", name, "error", err)
		jsonError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if format == report.FormatHTML {
		// The report is self-contained: it needs nothing from anywhere.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	}
	_, _ = w.Write(data)
}

// input reads the tenant's latest report input over its period. Periods
// are measured on the tenant's clock (a fixture tenant's recorded time).
func (r *Reports) input(ctx context.Context, name string) (*report.Input, error) {
	period := r.cfg.Tenants[name].Report.Since.D()
	if period <= 0 {
		period = DefaultReportPeriod
	}
	now := r.clock(name).UTC()
	in, err := report.FromStore(ctx, r.store, name, now.Add(-period), now, r.log)
	if err != nil {
		return nil, err
	}
	in.Version = r.version
	return in, nil
}

// Render renders the latest report of a tenant in a single-file format
// (the console's report download).
func (r *Reports) Render(ctx context.Context, name string, f report.Format) ([]byte, error) {
	return r.render(ctx, name, f)
}

// render renders the latest report of a tenant in a single-file format.
func (r *Reports) render(ctx context.Context, name string, f report.Format) ([]byte, error) {
	in, err := r.input(ctx, name)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := report.Render(&buf, f, in); err != nil {
		return nil, fmt.Errorf("render %s report of %s: %w", f, name, err)
	}
	return buf.Bytes(), nil
}

type reportFile struct {
	name, contentType string
	data              []byte
}

// files renders what a delivery sends: one file, or one CSV per inventory.
func (r *Reports) files(ctx context.Context, name string, f report.Format, day string) ([]reportFile, error) {
	base := "sharedrift-" + name + "-" + day
	if f != report.FormatCSV {
		data, err := r.render(ctx, name, f)
		if err != nil {
			return nil, err
		}
		ext := map[report.Format]string{report.FormatHTML: "html", report.FormatMarkdown: "md", report.FormatJSON: "json"}[f]
		return []reportFile{{name: base + "." + ext, contentType: f.ContentType(), data: data}}, nil
	}
	in, err := r.input(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []reportFile
	for _, inv := range report.Inventories {
		var buf bytes.Buffer
		if err := report.CSV(&buf, inv, in); err != nil {
			return nil, fmt.Errorf("render %s of %s: %w", inv, name, err)
		}
		out = append(out, reportFile{name: base + "-" + string(inv) + ".csv", contentType: f.ContentType(), data: buf.Bytes()})
	}
	return out, nil
}

// Deliver renders a tenant's report and sends it to every destination of
// its report schedule. A failing destination does not keep the others
// from theirs.
func (r *Reports) Deliver(ctx context.Context, name string) error {
	t, ok := r.cfg.Tenants[name]
	if !ok {
		return fmt.Errorf("report: unknown tenant %q", name)
	}
	f := report.Format(t.Report.Format)
	if f == "" {
		f = report.FormatHTML
	}
	now := r.clock(name).UTC()
	files, err := r.files(ctx, name, f, now.Format("2006-01-02"))
	if err != nil {
		return err
	}
	title := fmt.Sprintf("sharedrift security review: %s, %s", name, now.Format("2 January 2006"))
	text := fmt.Sprintf("%s (%s). The report covers the last %s of scans of %s.", title, f, periodText(t.Report.Since.D()), name)
	var errs []error
	for _, d := range t.Report.Destinations {
		for _, file := range files {
			if err := r.senders[d].SendFile(ctx, file.name, file.contentType, title, text, file.data); err != nil {
				errs = append(errs, err)
				continue
			}
			r.log.InfoContext(ctx, "report delivered", "tenant", name, "destination", d, "file", file.name, "bytes", len(file.data))
		}
	}
	return errors.Join(errs...)
}

func periodText(d time.Duration) string {
	if d <= 0 {
		d = DefaultReportPeriod
	}
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	return d.String()
}

// schedules are the tenants' report schedules, by tenant.
func (r *Reports) schedules() (map[string]cron.Schedule, error) {
	out := map[string]cron.Schedule{}
	for _, name := range r.cfg.TenantNames() {
		t := r.cfg.Tenants[name]
		if t.Report.Schedule == "" || len(t.Report.Destinations) == 0 {
			continue
		}
		s, err := config.ParseSchedule(t.Report.Schedule)
		if err != nil {
			return nil, fmt.Errorf("tenants.%s.report.schedule: %w", name, err)
		}
		out[name] = s
	}
	return out, nil
}

// Run delivers every scheduled report when due until ctx is done. With
// several replicas one store lease per tenant makes one of them deliver
// each slot.
func (r *Reports) Run(ctx context.Context) {
	scheds, err := r.schedules()
	if err != nil {
		r.log.Error("report schedules", "error", err)
		return
	}
	if len(scheds) == 0 {
		return
	}
	names := make([]string, 0, len(scheds))
	for n := range scheds {
		names = append(names, n)
	}
	sort.Strings(names)
	next := map[string]time.Time{}
	now := time.Now()
	for _, n := range names {
		next[n] = scheds[n].Next(now)
	}
	for {
		soonest := names[0]
		for _, n := range names {
			if next[n].Before(next[soonest]) {
				soonest = n
			}
		}
		timer := time.NewTimer(time.Until(next[soonest]))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		slot := next[soonest]
		next[soonest] = scheds[soonest].Next(slot)
		r.deliverSlot(ctx, soonest, slot, next[soonest].Sub(slot))
	}
}

// deliverSlot delivers one due report unless another replica took it.
func (r *Reports) deliverSlot(ctx context.Context, name string, slot time.Time, interval time.Duration) {
	// Held, never released, for half the interval: replicas firing for the
	// same slot find it taken; the next slot finds it expired.
	ttl := interval / 2
	if ttl > time.Hour {
		ttl = time.Hour
	}
	if ttl < 10*time.Second {
		ttl = 10 * time.Second
	}
	_, got, err := r.store.TryLease(ctx, "report:"+name, r.owner, ttl)
	if err != nil {
		r.log.Warn("report lease", "tenant", name, "error", err)
		return
	}
	if !got {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := r.Deliver(dctx, name); err != nil && ctx.Err() == nil {
		r.log.Error("report delivery failed", "tenant", name, "slot", slot, "error", err)
	}
}

// PDFPrinter prints reports with headless Chromium for the console.
type PDFPrinter struct {
	Reports  *Reports
	Chromium string // the browser binary (report.FindChromium)
}

// RenderPDF implements console.PDFReports: the HTML report printed by the
// browser. Reading the report's data fails as Render does; the print
// itself fails with console.ErrPrint.
func (p PDFPrinter) RenderPDF(ctx context.Context, name string) ([]byte, error) {
	in, err := p.Reports.input(ctx, name)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := report.PDF(ctx, &buf, in, p.Chromium); err != nil {
		return nil, fmt.Errorf("%w: %w", console.ErrPrint, err)
	}
	return buf.Bytes(), nil
}
