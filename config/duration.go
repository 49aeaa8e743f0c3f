package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as a string: Go syntax ("90s",
// "1h30m") plus a day suffix ("7d"). Bare numbers are rejected so that
// "30" is never silently read as 30 nanoseconds.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// ParseDuration parses Go duration syntax with an extra "d" (24h) unit.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		// NaN, infinities and day counts past time.Duration's range would
		// convert to a negative duration.
		if err != nil || !(n >= 0) || n*float64(24*time.Hour) >= math.MaxInt64 {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 30s, 15m, 6h, 7d)", s)
		}
		return Duration(time.Duration(n * float64(24*time.Hour))), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 30s, 15m, 6h, 7d)", s)
	}
	return Duration(d), nil
}
