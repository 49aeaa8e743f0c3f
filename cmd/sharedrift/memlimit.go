package main

import (
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
)

// parseMemoryLimit reads a size in the syntax of GOMEMLIMIT: a number of
// bytes with an optional B, KiB, MiB, GiB or TiB suffix. "off" and "0" mean
// no limit (math.MaxInt64).
func parseMemoryLimit(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return math.MaxInt64, nil
	}
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	num, shift := s, uint(0)
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = v, u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("%q: expected bytes with an optional B, KiB, MiB, GiB or TiB suffix, or off", s)
	}
	return n << shift, nil
}

// applyMemoryLimit sets the runtime's soft memory limit from --memory-limit.
// Empty leaves the runtime's own setting (GOMEMLIMIT, else none). A limit
// makes the collector run before the heap doubles when the process nears
// it, which is what bounds a large scan's resident set: its live heap is a
// fraction of the peak otherwise reached with the default GOGC headroom.
func applyMemoryLimit(s string) error {
	if s == "" {
		return nil
	}
	n, err := parseMemoryLimit(s)
	if err != nil {
		return usagef("--memory-limit: %v", err)
	}
	debug.SetMemoryLimit(n)
	return nil
}
