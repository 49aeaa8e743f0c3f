// Package readcap reads files and streams with a size cap, so that a wrong
// path (/dev/zero, a multi-gigabyte file) is refused with an error naming
// it instead of exhausting memory. It depends on the standard library only,
// so every package, the pure tenant package included, can use it.
package readcap

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// The caps, one per kind of input. Each is far above what a real input
// reaches; the documentation of each input repeats its cap.
const (
	// Config bounds a configuration file, the daemon's or the short
	// connection file (docs/configuration.md, docs/azure-setup.md).
	Config = 4 << 20
	// Baseline bounds one baseline file, each extends: target included
	// (docs/baselines.md).
	Baseline = 4 << 20
	// Secret bounds a secret file (file:PATH, secret_file).
	Secret = 64 << 10
	// Certificate bounds a client certificate file (PEM or PKCS#12 with
	// its chain).
	Certificate = 1 << 20
	// Snapshot bounds a snapshot file (docs/snapshot.md). The s2 benchmark
	// tenant (1M links, 100k guests) encodes to about 650 MB.
	Snapshot = 4 << 30
	// FixtureBody bounds one response body of a fixture tenant
	// (testdata/tenants). A collection holds all its items in one file,
	// so 100,000 guests with every field make about 100 MB.
	FixtureBody = 256 << 20
)

// ErrTooLarge matches every *TooLargeError with errors.Is.
var ErrTooLarge = errors.New("input larger than its size limit")

// TooLargeError is an input longer than its cap.
type TooLargeError struct {
	// Name is the file path or another label of the input.
	Name  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: larger than the %s size limit", e.Name, Size(e.Limit))
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// ReadFile reads the file at path, or fails with a *TooLargeError when it
// holds more than limit bytes. It reads at most limit+1 bytes whatever the
// file is: a device such as /dev/zero reports size 0 and a pipe has none,
// so the size from Stat only serves to refuse a large regular file early.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkSize(f, path, limit); err != nil {
		return nil, err
	}
	return Read(f, path, limit)
}

// Open opens the file at path for a decoder that streams: reads fail with
// a *TooLargeError once more than limit bytes were read, and a regular file
// already larger is refused here.
func Open(path string, limit int64) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := checkSize(f, path, limit); err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{NewReader(f, path, limit), f}, nil
}

func checkSize(f *os.File, path string, limit int64) error {
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return &TooLargeError{Name: path, Limit: limit}
	}
	return nil
}

// Read reads r to its end, or fails with a *TooLargeError naming name once
// more than limit bytes arrive.
func Read(r io.Reader, name string, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{Name: name, Limit: limit}
	}
	return b, nil
}

// NewReader returns a reader of r that fails with a *TooLargeError naming
// name once more than limit bytes were read, for decoders that stream.
func NewReader(r io.Reader, name string, limit int64) io.Reader {
	return &capped{r: io.LimitReader(r, limit+1), name: name, limit: limit}
}

type capped struct {
	r     io.Reader
	name  string
	limit int64
	n     int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.n > c.limit {
		return 0, &TooLargeError{Name: c.name, Limit: c.limit}
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.limit {
		// The byte past the limit is not handed on; the next Read fails.
		if n > 1 {
			return n - 1, nil
		}
		return 0, &TooLargeError{Name: c.name, Limit: c.limit}
	}
	return n, err
}

// Size formats a byte count the way the caps are written: 4 MiB, 64 KiB.
func Size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
