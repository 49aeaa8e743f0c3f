package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/destinations"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/store"
)

// doctorCheck is one line of doctor's checks beyond the tenant's tokens.
type doctorCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// doctorExtra is what doctor checks of the daemon's configuration: the
// store, the notification destinations and, for a tenant whose
// remediation may change things, the write permissions.
type doctorExtra struct {
	// RemediationMode is the tenant's most active mode ("" when not
	// configured); Write is checked only for approve and auto.
	RemediationMode string            `json:"remediationMode,omitempty"`
	Write           []m365.WriteCheck `json:"write,omitempty"`
	Store           *doctorCheck      `json:"store,omitempty"`
	Notify          []doctorCheck     `json:"notify,omitempty"`
	// Skipped says why the configuration was not checked (a connection
	// file or a fixture names no store or destinations).
	Skipped string `json:"skipped,omitempty"`
}

func (x *doctorExtra) ok() bool {
	for _, w := range x.Write {
		if !w.Writable {
			return false
		}
	}
	if x.Store != nil && !x.Store.OK {
		return false
	}
	for _, n := range x.Notify {
		if !n.OK {
			return false
		}
	}
	return true
}

// doctorExtras loads the daemon configuration, if --config is one, and
// runs its checks.
func doctorExtras(ctx context.Context, o *doctorOptions, rep *m365.DoctorReport, log *slog.Logger) doctorExtra {
	var x doctorExtra
	if o.live.config == "" {
		x.Skipped = "no daemon configuration given"
		return x
	}
	cfg, err := config.Load(config.Options{File: o.live.config, Env: os.Environ()})
	if err != nil {
		x.Skipped = "--config is a connection file, not the daemon's configuration"
		return x
	}
	if t, ok := cfg.Tenants[o.live.tenant]; ok {
		x.RemediationMode = activeMode(t.Remediation)
		if x.RemediationMode == config.ModeApprove || x.RemediationMode == config.ModeAuto {
			x.Write = rep.CheckWrite()
		}
	}
	x.Store = checkStore(ctx, cfg, log)
	x.Notify = checkDestinations(ctx, cfg, o.sendTest)
	return x
}

// activeMode is the most active remediation mode any rule runs in.
func activeMode(r config.Remediation) string {
	rank := func(m string) int {
		for i, x := range config.RemediationModes {
			if x == m {
				return i
			}
		}
		return -1
	}
	best := r.Mode
	for _, m := range r.Rules {
		if rank(m) > rank(best) {
			best = m
		}
	}
	return best
}

// checkStore opens the configured store without creating it and reads
// its schema version.
func checkStore(ctx context.Context, cfg *config.Config, log *slog.Logger) *doctorCheck {
	c := &doctorCheck{Name: "store"}
	dsn := cfg.Store.DSN.Value().Reveal()
	where := "PostgreSQL (store.dsn)"
	if dsn == "" {
		path := filepath.Join(cfg.Store.StateDir, store.DefaultDBFile)
		where = "SQLite " + path
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			// Not an error: the daemon creates it, if it may write there.
			if err := writableDir(cfg.Store.StateDir); err != nil {
				c.Detail = where + ": not created yet, and " + err.Error()
				return c
			}
			c.OK, c.Detail = true, where+": not created yet; the daemon creates it at start"
			return c
		}
		dsn = "sqlite:" + path
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := store.Open(ctx, dsn, store.Options{Logger: log})
	if err != nil {
		c.Detail = where + ": " + oneLine(err.Error())
		return c
	}
	defer st.Close()
	cur, sup, err := st.SchemaVersion(ctx)
	switch {
	case err != nil:
		c.Detail = where + ": " + oneLine(err.Error())
	case cur > sup:
		c.Detail = fmt.Sprintf("%s: schema %d is newer than this binary's %d; upgrade sharedrift", where, cur, sup)
	case cur < sup:
		c.OK, c.Detail = true, fmt.Sprintf("%s: schema %d, the daemon migrates it to %d at start", where, cur, sup)
	default:
		c.OK, c.Detail = true, fmt.Sprintf("%s: schema %d, up to date", where, cur)
	}
	return c
}

// writableDir reports whether a file can be created in dir (or in the
// nearest existing parent, which the daemon would create dir under).
func writableDir(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			f, err := os.CreateTemp(d, ".sharedrift-doctor-*")
			if err != nil {
				return fmt.Errorf("%s is not writable", d)
			}
			name := f.Name()
			f.Close()
			return os.Remove(name)
		}
		if filepath.Dir(d) == d {
			return fmt.Errorf("%s does not exist", dir)
		}
	}
}

// checkDestinations builds every destination, runs its start-up check
// and, with send, sends it the sample message `notify test` sends.
func checkDestinations(ctx context.Context, cfg *config.Config, send bool) []doctorCheck {
	var out []doctorCheck
	dests := slices.Clone(cfg.Notify.Destinations)
	sort.Slice(dests, func(i, j int) bool { return dests[i].Name < dests[j].Name })
	for i := range dests {
		d := &dests[i]
		c := doctorCheck{Name: d.Name}
		n, err := destinations.One(d, destinations.Options{})
		if err != nil {
			c.Detail = oneLine(err.Error())
			out = append(out, c)
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		if err := destinations.Check(cctx, map[string]notify.Notifier{d.Name: n}); err != nil {
			c.Detail = string(d.Type) + ": " + oneLine(err.Error())
		} else if send {
			if _, err := n.Notify(cctx, destinations.Sample(d.Name, time.Now())); err != nil {
				c.Detail = string(d.Type) + ": test message not sent: " + oneLine(err.Error())
			} else {
				c.OK, c.Detail = true, string(d.Type)+": test message sent"
			}
		} else {
			c.OK, c.Detail = true, string(d.Type)+": configured (--send-test sends a sample message)"
		}
		cancel()
		out = append(out, c)
	}
	return out
}

// printExtras writes the configuration's checks, one line each.
func printExtras(w io.Writer, x *doctorExtra) {
	if x.Skipped != "" {
		fmt.Fprintln(w, "Store and notifications")
		line(w, "-", "", "not checked: "+x.Skipped)
		return
	}
	if x.Write != nil {
		fmt.Fprintf(w, "Sections (write, remediation mode %s)\n", x.RemediationMode)
		for _, s := range x.Write {
			status := "ok"
			if !s.Writable {
				status = "FAIL"
			}
			line(w, status, string(s.Section), "")
			for _, m := range s.Missing {
				line(w, "", "", "needs "+m)
			}
		}
	}
	fmt.Fprintln(w, "Store")
	line(w, okText(x.Store.OK), "store", x.Store.Detail)
	fmt.Fprintln(w, "Notifications")
	if len(x.Notify) == 0 {
		line(w, "-", "", "no destinations configured")
	}
	for _, n := range x.Notify {
		line(w, okText(n.OK), n.Name, n.Detail)
	}
}

func okText(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}
