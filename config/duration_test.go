package config

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{"30s": 30 * time.Second, "1h30m": 90 * time.Minute, "7d": 7 * 24 * time.Hour, "1.5d": 36 * time.Hour, "0d": 0}
	for in, want := range good {
		if d, err := ParseDuration(in); err != nil || d.D() != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, d, err, want)
		}
	}
	// Each of these once converted to a negative duration or was taken
	// as a number of nanoseconds.
	for _, in := range []string{"", "30", "-1d", "-5m", "NaNd", "Infd", "+Infd", "1e300d", "106752d", "9223372036854775808ns"} {
		if d, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, d)
		}
	}
}
