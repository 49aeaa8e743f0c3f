package main

import (
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

func TestParseMemoryLimit(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "256MiB", want: 256 << 20},
		{in: "1GiB", want: 1 << 30},
		{in: "4096", want: 4096},
		{in: "512KiB", want: 512 << 10},
		{in: "100B", want: 100},
		{in: "2TiB", want: 2 << 40},
		{in: "off", want: math.MaxInt64},
		{in: "0", want: math.MaxInt64},
		{in: "256MB", wantErr: true},
		{in: "-1MiB", wantErr: true},
		{in: "MiB", wantErr: true},
		{in: "9999999TiB", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseMemoryLimit(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseMemoryLimit(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("parseMemoryLimit(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestMemoryLimitFlag(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })

	if _, stderr, code := cli(t, "--memory-limit", "300MiB", "version"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := debug.SetMemoryLimit(-1); got != 300<<20 {
		t.Errorf("memory limit = %d, want %d", got, 300<<20)
	}
	if _, stderr, code := cli(t, "--memory-limit", "lots", "version"); code != 1 || !strings.Contains(stderr, "--memory-limit") {
		t.Errorf("bad --memory-limit: exit %d, stderr %q; want 1 naming the flag", code, stderr)
	}
}
