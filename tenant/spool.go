package tenant

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
)

// spool collects values of T without holding a large tenant's worth of
// them in memory: it keeps up to a run, and writes each full run, sorted
// by key, to an unlinked temporary file. Reading merges the runs, so values
// come back in key order however they were added; values with equal keys
// keep the order they were added in. Add is for one writer; once read, the
// spool is sealed and can be read again, also concurrently.
//
// A record on file is uvarint(len(key)) key uvarint(len(body)) body.
type spool[T any] struct {
	what    string // names the spool in errors
	dir     string
	runSize int
	key     func(*T) string
	enc     func([]byte, *T) ([]byte, error)
	dec     func([]byte, *T) error

	mem  []spooled[T] // not written yet; sorted once sealed
	f    *os.File
	w    *bufio.Writer
	off  int64
	runs []spoolRun
	n    int
	buf  []byte

	sealed bool
	err    error
	stop   runtime.Cleanup
}

type spooled[T any] struct {
	key string
	v   T
}

type spoolRun struct{ off, size int64 }

func (sp *spool[T]) add(v *T) error {
	if sp.err != nil {
		return sp.err
	}
	if sp.sealed {
		return ErrSpoolSealed
	}
	sp.mem = append(sp.mem, spooled[T]{key: sp.key(v), v: *v})
	sp.n++
	if len(sp.mem) >= sp.runSize {
		sp.err = sp.flush()
	}
	return sp.err
}

func (sp *spool[T]) sortMem() {
	slices.SortStableFunc(sp.mem, func(a, b spooled[T]) int { return strings.Compare(a.key, b.key) })
}

// flush writes the values in memory as one sorted run.
func (sp *spool[T]) flush() error {
	if len(sp.mem) == 0 {
		return nil
	}
	if sp.f == nil {
		f, err := os.CreateTemp(sp.dir, "sharedrift-spool-*")
		if err != nil {
			return fmt.Errorf("%s: %w", sp.what, err)
		}
		// Unlinked at once: the space is freed when the file is closed,
		// even if the process dies without closing it.
		if os.Remove(f.Name()) != nil {
			// Some systems cannot remove an open file; Close removes it.
			sp.dir = f.Name()
		} else {
			sp.dir = ""
		}
		sp.f, sp.w = f, bufio.NewWriterSize(f, 256<<10)
		sp.stop = runtime.AddCleanup(sp, func(f *os.File) { f.Close() }, f)
	}
	sp.sortMem()
	start := sp.off
	for i := range sp.mem {
		e := &sp.mem[i]
		body, err := sp.enc(sp.buf[:0], &e.v)
		if err != nil {
			return fmt.Errorf("%s: write %s: %w", sp.what, e.key, err)
		}
		sp.buf = body
		var hdr [2 * binary.MaxVarintLen64]byte
		h := binary.AppendUvarint(hdr[:0], uint64(len(e.key)))
		if err := sp.write(h, []byte(e.key)); err != nil {
			return err
		}
		h = binary.AppendUvarint(hdr[:0], uint64(len(body)))
		if err := sp.write(h, body); err != nil {
			return err
		}
	}
	sp.runs = append(sp.runs, spoolRun{off: start, size: sp.off - start})
	clear(sp.mem)
	sp.mem = sp.mem[:0]
	return nil
}

func (sp *spool[T]) write(parts ...[]byte) error {
	for _, p := range parts {
		n, err := sp.w.Write(p)
		sp.off += int64(n)
		if err != nil {
			return fmt.Errorf("%s: %w", sp.what, err)
		}
	}
	return nil
}

// seal ends writing: the rest goes to the file when there is one.
func (sp *spool[T]) seal() {
	if sp.sealed {
		return
	}
	sp.sealed = true
	if sp.err != nil {
		return
	}
	if sp.f == nil {
		sp.sortMem()
		return
	}
	if sp.err = sp.flush(); sp.err != nil {
		return
	}
	sp.mem = nil
	if err := sp.w.Flush(); err != nil {
		sp.err = fmt.Errorf("%s: %w", sp.what, err)
	}
}

// each calls fn for every value in key order and stops at the first error
// fn returns. The *T is valid only during the call.
func (sp *spool[T]) each(fn func(key string, v *T) error) error {
	sp.seal()
	if sp.err != nil {
		return sp.err
	}
	if sp.f == nil {
		for i := range sp.mem {
			if err := fn(sp.mem[i].key, &sp.mem[i].v); err != nil {
				return err
			}
		}
		return nil
	}
	return sp.merge(fn)
}

// inMemory returns the values when the spool never wrote to its file.
func (sp *spool[T]) inMemory() ([]T, bool) {
	sp.seal()
	if sp.f != nil || sp.err != nil {
		return nil, false
	}
	out := make([]T, len(sp.mem))
	for i := range sp.mem {
		out[i] = sp.mem[i].v
	}
	return out, true
}

func (sp *spool[T]) close() error {
	sp.mem, sp.runs, sp.n, sp.sealed = nil, nil, 0, true
	if sp.f == nil {
		return nil
	}
	sp.stop.Stop()
	err := sp.f.Close()
	if sp.dir != "" {
		os.Remove(sp.dir)
	}
	sp.f = nil
	return err
}

// runReader reads one sorted run.
type runReader[T any] struct {
	sp   *spool[T]
	r    *bufio.Reader
	cur  T
	key  string
	seq  int
	body []byte
}

func (rr *runReader[T]) next() (bool, error) {
	k, err := rr.field()
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	rr.key = string(k)
	b, err := rr.field()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return false, err
	}
	var zero T
	rr.cur = zero
	if err := rr.sp.dec(b, &rr.cur); err != nil {
		return false, fmt.Errorf("%s: decode %s: %w", rr.sp.what, rr.key, err)
	}
	return true, nil
}

// field reads one length-prefixed field into rr.body; io.EOF only before
// its first byte.
func (rr *runReader[T]) field() ([]byte, error) {
	n, err := binary.ReadUvarint(rr.r)
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", rr.sp.what, err)
	}
	if n > 1<<30 {
		return nil, fmt.Errorf("%s: read: record of %d bytes", rr.sp.what, n)
	}
	rr.body = slices.Grow(rr.body[:0], int(n))[:n]
	if _, err := io.ReadFull(rr.r, rr.body); err != nil {
		return nil, fmt.Errorf("%s: read: %w", rr.sp.what, err)
	}
	return rr.body, nil
}

type runHeap[T any] []*runReader[T]

func (h runHeap[T]) Len() int { return len(h) }
func (h runHeap[T]) Less(i, j int) bool {
	if h[i].key != h[j].key {
		return h[i].key < h[j].key
	}
	return h[i].seq < h[j].seq // equal keys keep the order they were added in
}
func (h runHeap[T]) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap[T]) Push(x any)   { *h = append(*h, x.(*runReader[T])) }
func (h *runHeap[T]) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// merge reads the runs in key order.
func (sp *spool[T]) merge(fn func(string, *T) error) error {
	h := make(runHeap[T], 0, len(sp.runs))
	for i, r := range sp.runs {
		rr := &runReader[T]{sp: sp, r: bufio.NewReaderSize(io.NewSectionReader(sp.f, r.off, r.size), 8<<10), seq: i}
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if ok {
			h = append(h, rr)
		}
	}
	heap.Init(&h)
	for len(h) > 0 {
		rr := h[0]
		if err := fn(rr.key, &rr.cur); err != nil {
			return err
		}
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	return nil
}
