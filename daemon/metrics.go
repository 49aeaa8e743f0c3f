package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the daemon's Prometheus metrics, on a registry of their own
// (no global state, so tests and several daemons in one process don't clash).
type Metrics struct {
	Registry *prometheus.Registry

	Scans        *prometheus.CounterVec
	ScanDuration *prometheus.HistogramVec
	APICalls     *prometheus.CounterVec
	Throttled    *prometheus.CounterVec
	RU           *prometheus.CounterVec
	LastScan     *prometheus.GaugeVec
	Running      prometheus.Gauge
	Remediations *prometheus.CounterVec
	HTTPRequests *prometheus.CounterVec
}

// Scan outcomes as counted in sharedrift_scans_total.
const (
	OutcomeComplete  = "complete"
	OutcomePartial   = "partial"
	OutcomeFailed    = "failed"
	OutcomeAbandoned = "abandoned"
	OutcomeLeaseLost = "lease_lost"
	OutcomeSkipped   = "skipped"
	OutcomePanic     = "panic"
)

// NewMetrics creates and registers the daemon's metrics, plus the Go and
// process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sharedrift_scans_total",
			Help: "Scans by tenant and outcome (complete, partial, failed, abandoned, lease_lost, skipped, panic).",
		}, []string{"tenant", "outcome"}),
		ScanDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sharedrift_scan_duration_seconds",
			Help:    "Wall time of a tenant scan, collection through commit.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600},
		}, []string{"tenant"}),
		APICalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sharedrift_api_calls_total",
			Help: "Microsoft 365 API requests sent by scans, retries included.",
		}, []string{"tenant"}),
		Throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sharedrift_api_throttled_total",
			Help: "Microsoft 365 API responses that were throttling (429 or 503).",
		}, []string{"tenant"}),
		RU: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sharedrift_api_resource_units_total",
			Help: "SharePoint resource units spent by scans.",
		}, []string{"tenant"}),
		LastScan: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sharedrift_last_scan_timestamp_seconds",
			Help: "Unix time of the tenant's last finished scan by this process, by outcome.",
		}, []string{"tenant", "outcome"}),
		Running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sharedrift_scans_running",
			Help: "Scans running in this process.",
		}),
		Remediations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sharedrift_remediations_total",
			Help: "Remediation attempts by tenant, rule and result.",
		}, []string{"tenant", "rule", "result"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sharedrift_http_requests_total",
			Help: "API requests by route and status code.",
		}, []string{"route", "code"}),
	}
	m.Registry.MustRegister(m.Scans, m.ScanDuration, m.APICalls, m.Throttled, m.RU, m.LastScan,
		m.Running, m.Remediations, m.HTTPRequests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// FindingCount is one cell of the findings gauge.
type FindingCount struct {
	Tenant   string
	Severity string
	State    string
	Count    int
}

// OutboxCount is one cell of the outbox gauge.
type OutboxCount struct {
	Destination string
	State       string
	Count       int
}

// StateSource supplies store-derived gauges at scrape time.
type StateSource interface {
	FindingCounts(ctx context.Context) ([]FindingCount, error)
	OutboxCounts(ctx context.Context) ([]OutboxCount, error)
}

// storeCollector reads findings and outbox depth from the store on each
// scrape, so every replica reports the same shared state.
type storeCollector struct {
	src      StateSource
	logger   *slog.Logger
	findings *prometheus.Desc
	outbox   *prometheus.Desc
	up       *prometheus.Desc
}

// RegisterStateSource adds the findings and outbox gauges read from src.
func (m *Metrics) RegisterStateSource(src StateSource, logger *slog.Logger) error {
	return m.Registry.Register(&storeCollector{
		src:    src,
		logger: logger,
		findings: prometheus.NewDesc("sharedrift_findings",
			"Findings by tenant, severity and lifecycle state.", []string{"tenant", "severity", "state"}, nil),
		outbox: prometheus.NewDesc("sharedrift_outbox_messages",
			"Notification outbox messages by destination and state (pending is the depth).", []string{"destination", "state"}, nil),
		up: prometheus.NewDesc("sharedrift_store_up",
			"Whether the last scrape could read the store.", nil, nil),
	})
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.findings
	ch <- c.outbox
	ch <- c.up
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	up := 1.0
	fc, err := c.src.FindingCounts(ctx)
	if err != nil {
		up = 0
		c.logger.Warn("metrics: read finding counts", "error", err)
	}
	for _, f := range fc {
		ch <- prometheus.MustNewConstMetric(c.findings, prometheus.GaugeValue, float64(f.Count), f.Tenant, f.Severity, f.State)
	}
	oc, err := c.src.OutboxCounts(ctx)
	if err != nil {
		up = 0
		c.logger.Warn("metrics: read outbox counts", "error", err)
	}
	for _, o := range oc {
		ch <- prometheus.MustNewConstMetric(c.outbox, prometheus.GaugeValue, float64(o.Count), o.Destination, o.State)
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}
