package notify

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the delivery counters. Register them with the daemon's
// registry; the outbox depth per state comes from the store (see
// `sharedrift notify status`).
type Metrics struct {
	Sent        *prometheus.CounterVec
	Failures    *prometheus.CounterVec
	DeadLetters *prometheus.CounterVec
}

// NewMetrics creates unregistered collectors.
func NewMetrics() *Metrics {
	return &Metrics{
		Sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sharedrift", Subsystem: "notify", Name: "sent_total",
			Help: "Notifications delivered, by destination and kind.",
		}, []string{"destination", "kind"}),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sharedrift", Subsystem: "notify", Name: "failures_total",
			Help: "Transient delivery failures that will be retried, by destination.",
		}, []string{"destination"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sharedrift", Subsystem: "notify", Name: "dead_letters_total",
			Help: "Notifications given up on (rejected or too old), by destination.",
		}, []string{"destination"}),
	}
}

// Register adds the collectors to r.
func (m *Metrics) Register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.Sent, m.Failures, m.DeadLetters} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *Metrics) sent(dest string, k Kind) { m.Sent.WithLabelValues(dest, string(k)).Inc() }
func (m *Metrics) failed(dest string)       { m.Failures.WithLabelValues(dest).Inc() }
func (m *Metrics) dead(dest string)         { m.DeadLetters.WithLabelValues(dest).Inc() }
