package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/sharedrift/sharedrift/scanner"
)

// progressOpt is the --progress flag: a line on stderr that follows a long
// collection (sections, requests, RU, rate, time left). auto shows it
// when stderr is a terminal; always forces it (one line per update when
// stderr is not a terminal); never hides it.
type progressOpt struct {
	mode  string
	every time.Duration
}

func addProgressFlag(fs *pflag.FlagSet, p *progressOpt) {
	fs.StringVar(&p.mode, "progress", "auto", "progress on stderr while collecting: auto (when stderr is a terminal), always or never")
	p.every = time.Second
}

// start follows p on w until the returned stop is called; with progress
// off it does nothing. label names what is collected.
func (o *progressOpt) start(w io.Writer, p *scanner.Progress, label string) (stop func(), err error) {
	tty := isTerminal(w)
	switch o.mode {
	case "never":
		return func() {}, nil
	case "auto", "":
		if !tty {
			return func() {}, nil
		}
	case "always":
	default:
		return nil, usagef("--progress: %q, expected auto, always or never", o.mode)
	}
	every := o.every
	if every <= 0 {
		every = time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				writeProgress(w, label, p.Totals(now), tty)
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		writeProgress(w, label, p.Totals(time.Now()), tty)
		if tty {
			fmt.Fprintln(w)
		}
	}, nil
}

// writeProgress writes one progress line; on a terminal it replaces the
// previous one.
func writeProgress(w io.Writer, label string, t scanner.ProgressTotals, tty bool) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d/%d sections, %d requests, %d RU", label, t.Done, t.Sections, t.Requests, t.RU)
	if mins := t.Elapsed.Minutes(); mins > 0 {
		fmt.Fprintf(&b, " (%.0f RU/min)", float64(t.RU)/mins)
	}
	if t.Throttled > 0 {
		fmt.Fprintf(&b, ", %d throttled", t.Throttled)
	}
	fmt.Fprintf(&b, ", %s elapsed", t.Elapsed.Round(time.Second))
	switch {
	case t.Done == t.Sections && t.Sections > 0:
		b.WriteString(", done")
	case t.Left > 0:
		fmt.Fprintf(&b, ", about %s left", t.Left.Round(time.Second))
	default:
		b.WriteString(", estimating time left")
	}
	if len(t.Running) > 0 && t.Done < t.Sections {
		fmt.Fprintf(&b, " (collecting %s)", strings.Join(sectionNames(t.Running), ", "))
	}
	if tty {
		fmt.Fprintf(w, "\r\033[K%s", b.String())
		return
	}
	fmt.Fprintln(w, b.String())
}

func sectionNames[S ~string](ss []S) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
