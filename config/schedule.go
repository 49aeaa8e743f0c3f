package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ParseSchedule parses a five-field cron expression or a descriptor
// (@hourly, @every 10m). Unlike cron's own @every, whose ticks count from
// whenever the process started, @every here is aligned to the Unix epoch:
// every replica computes the same slots, which is what lets them agree on
// who runs which scan.
func ParseSchedule(expr string) (cron.Schedule, error) {
	expr = strings.TrimSpace(expr)
	if rest, ok := strings.CutPrefix(expr, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("bad schedule %q: %w", expr, err)
		}
		if d < time.Second {
			return nil, fmt.Errorf("bad schedule %q: interval must be at least 1s", expr)
		}
		return Every(d), nil
	}
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("bad cron expression %q: %w", expr, err)
	}
	return s, nil
}

// EverySchedule fires at every multiple of Interval since the Unix epoch.
type EverySchedule struct{ Interval time.Duration }

// Every returns an epoch-aligned interval schedule.
func Every(d time.Duration) EverySchedule { return EverySchedule{Interval: d} }

// Next returns the first aligned instant strictly after t.
func (e EverySchedule) Next(t time.Time) time.Time {
	n := t.UnixNano()
	iv := int64(e.Interval)
	slot := n - n%iv
	if n < 0 && n%iv != 0 {
		slot -= iv
	}
	return time.Unix(0, slot+iv).In(t.Location())
}
