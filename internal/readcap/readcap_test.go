package readcap

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	exact := filepath.Join(dir, "exact")
	if err := os.WriteFile(exact, bytes.Repeat([]byte("a"), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "sparse")
	if err := os.WriteFile(sparse, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 2<<30); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		limit      int64
		wantLen    int
		wantErr    error
	}{
		{"at the limit", exact, 100, 100, nil},
		{"one byte over", exact, 99, 0, ErrTooLarge},
		{"device without a size", "/dev/zero", 4 << 20, 0, ErrTooLarge},
		{"2 GiB sparse file", sparse, 4 << 20, 0, ErrTooLarge},
		{"missing", filepath.Join(dir, "missing"), 10, 0, os.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			b, err := ReadFile(tc.path, tc.limit)
			if !errors.Is(err, tc.wantErr) || len(b) != tc.wantLen {
				t.Fatalf("ReadFile = %d bytes, %v; want %d bytes, %v", len(b), err, tc.wantLen, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name %s", err, tc.path)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	var tl *TooLargeError
	if _, err := ReadFile("/dev/zero", 64<<10); !errors.As(err, &tl) || err.Error() != "/dev/zero: larger than the 64 KiB size limit" {
		t.Errorf("error = %v", err)
	}
}

func TestNewReader(t *testing.T) {
	for _, tc := range []struct {
		in      string
		limit   int64
		wantErr bool
	}{
		{"", 0, false},
		{"abc", 3, false},
		{"abcd", 3, true},
		{strings.Repeat("x", 10000), 9999, true},
	} {
		got, err := io.ReadAll(NewReader(strings.NewReader(tc.in), "in", tc.limit))
		if tc.wantErr {
			if !errors.Is(err, ErrTooLarge) || int64(len(got)) > tc.limit {
				t.Errorf("%d bytes, limit %d: read %d, err %v; want ErrTooLarge within the limit", len(tc.in), tc.limit, len(got), err)
			}
			continue
		}
		if err != nil || string(got) != tc.in {
			t.Errorf("%d bytes, limit %d: read %d, err %v", len(tc.in), tc.limit, len(got), err)
		}
	}
	// One byte at a time, as a slow pipe delivers it.
	got, err := io.ReadAll(NewReader(io.MultiReader(strings.NewReader("ab"), strings.NewReader("cd")), "in", 3))
	if !errors.Is(err, ErrTooLarge) || string(got) != "abc" {
		t.Errorf("read %q, %v", got, err)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{4 << 20: "4 MiB", 64 << 10: "64 KiB", 4 << 30: "4 GiB", 1000: "1000 bytes", 1536: "1536 bytes"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestOpen(t *testing.T) {
	sparse := filepath.Join(t.TempDir(), "sparse")
	if err := os.WriteFile(sparse, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 2<<30); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(sparse, 1<<20); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), sparse) {
		t.Errorf("Open(sparse) = %v, want ErrTooLarge naming the file", err)
	}
	f, err := Open("/dev/zero", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n, err := io.Copy(io.Discard, f); !errors.Is(err, ErrTooLarge) || n != 1<<20 {
		t.Errorf("reading /dev/zero: %d bytes, %v; want 1 MiB then ErrTooLarge", n, err)
	}
}
