package report

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// Inventory names one CSV inventory.
type Inventory string

// The CSV inventories; each is written to <name>.csv.
const (
	InventoryFindings    Inventory = "findings"
	InventoryAnyoneLinks Inventory = "anyone-links"
	InventoryPeopleLinks Inventory = "people-links"
	InventoryGuests      Inventory = "guests"
	InventoryCalendar    Inventory = "calendar-exposure"
)

// Inventories lists the CSV inventories in the order they are written.
var Inventories = []Inventory{InventoryFindings, InventoryAnyoneLinks, InventoryPeopleLinks, InventoryGuests, InventoryCalendar}

// ErrUnknownInventory is returned for an inventory name that does not exist.
var ErrUnknownInventory = errors.New("unknown inventory")

// ParseInventory checks an inventory name.
func ParseInventory(s string) (Inventory, error) {
	for _, i := range Inventories {
		if string(i) == s {
			return i, nil
		}
	}
	return "", fmt.Errorf("%w %q, expected one of %v", ErrUnknownInventory, s, Inventories)
}

// CSV writes one inventory as CSV with a header row, streaming every row:
// nothing is capped and memory does not grow with the inventory.
func CSV(w io.Writer, inv Inventory, in *Input) error {
	if in == nil {
		return fmt.Errorf("report: nil input")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	var err error
	switch inv {
	case InventoryFindings:
		err = csvFindings(cw, in)
	case InventoryAnyoneLinks:
		err = csvLinks(cw, in)
	case InventoryPeopleLinks:
		err = csvPeopleLinks(cw, in)
	case InventoryGuests:
		err = csvGuests(cw, in)
	case InventoryCalendar:
		err = csvCalendar(cw, in)
	default:
		return fmt.Errorf("%w %q, expected one of %v", ErrUnknownInventory, inv, Inventories)
	}
	if err != nil {
		return fmt.Errorf("write %s csv: %w", inv, err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write %s csv: %w", inv, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s csv: %w", inv, err)
	}
	return nil
}

// WriteCSVDir writes every inventory to dir/<inventory>.csv, creating dir.
// Each file is written to a temporary name and renamed, so a failure leaves
// no half-written inventory behind.
func WriteCSVDir(dir string, in *Input) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create csv directory: %w", err)
	}
	for _, inv := range Inventories {
		path := filepath.Join(dir, string(inv)+".csv")
		if err := writeFileAtomic(path, func(w io.Writer) error { return CSV(w, inv, in) }); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile renders to path through a temporary file in the same directory,
// renamed into place only when rendering succeeded.
func WriteFile(path string, render func(io.Writer) error) error {
	return writeFileAtomic(path, render)
}

func writeFileAtomic(path string, render func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	if err := render(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// cell neutralises spreadsheet formulas: a text cell starting with = + - @
// or a control character is prefixed with a quote, so opening the CSV in a
// spreadsheet never runs tenant-controlled text (file names, display names).
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func csvTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func csvBool(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}

func csvCount(n int) string {
	if n < 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func csvFindings(cw *csv.Writer, in *Input) error {
	meta := map[string]*RuleInfo{}
	for i := range in.Rules {
		meta[in.Rules[i].ID] = &in.Rules[i]
	}
	if err := cw.Write([]string{"rule_id", "rule_title", "section", "severity", "outcome", "object_key", "object_name", "object_url",
		"expected", "actual", "message", "exception", "fingerprint", "cis", "scuba", "remediation"}); err != nil {
		return err
	}
	for i := range in.Results {
		r := &in.Results[i]
		if r.Outcome != tenant.Fail && r.Outcome != tenant.Unknown {
			continue
		}
		var title, cis, scuba, fix string
		if m := meta[r.RuleID]; m != nil {
			title, cis, scuba, fix = m.Title, strings.Join(m.CIS, ";"), strings.Join(m.SCuBA, ";"), m.Remediation
		}
		if err := cw.Write([]string{r.RuleID, cell(title), string(r.Section), string(r.Severity), string(r.Outcome),
			cell(r.ObjectKey), cell(r.ObjectName), cell(r.ObjectURL), cell(r.Expected), cell(r.Actual), cell(r.Message), cell(r.Exception),
			r.Fingerprint(), cis, scuba, cell(fix)}); err != nil {
			return err
		}
	}
	return nil
}

func csvLinks(cw *csv.Writer, in *Input) error {
	now := in.asOf()
	idx := newSiteIndex(in.Snapshot)
	if err := cw.Write([]string{"key", "site_url", "site_title", "label", "library", "item_path", "folder", "permission",
		"expires", "expiry", "password", "prevents_download", "web_url"}); err != nil {
		return err
	}
	for l, err := range in.links() {
		if err != nil {
			return fmt.Errorf("read links: %w", err)
		}
		r, ok := idx.linkRow(l, now)
		if !ok {
			continue
		}
		if err := cw.Write([]string{cell(r.Key), cell(r.SiteURL), cell(r.SiteTitle), cell(r.Label), cell(r.Library), cell(r.ItemPath),
			strconv.FormatBool(r.Folder), r.Permission, csvTime(r.Expires), r.Expiry, csvBool(r.Password), csvBool(r.PreventsDownload), cell(r.WebURL)}); err != nil {
			return err
		}
	}
	return nil
}

// csvPeopleLinks lists the links for specific people ("users" scope) and
// the direct grants (invitations) with their recipients, the recipients'
// domains and those outside the organization; via says which.
func csvPeopleLinks(cw *csv.Writer, in *Input) error {
	idx := newSiteIndex(in.Snapshot)
	if err := cw.Write([]string{"key", "site_url", "site_title", "label", "library", "item_path", "folder", "permission",
		"expires", "recipients", "recipient_domains", "external_recipients", "web_url", "via"}); err != nil {
		return err
	}
	for l, err := range in.links() {
		if err != nil {
			return fmt.Errorf("read links: %w", err)
		}
		if l.Scope != tenant.LinkScopeUsers {
			continue
		}
		title, label := "", ""
		if s := idx.lookup(l.SiteID, l.SiteURL); s != nil {
			title, label = s.Title, s.SensitivityLabel
		}
		join := func(l []string) string {
			out := make([]string, len(l))
			for i, v := range l {
				out[i] = cell(v)
			}
			return strings.Join(out, ";")
		}
		if err := cw.Write([]string{cell(l.Key()), cell(l.SiteURL), cell(title), cell(label), cell(l.Library), cell(l.ItemPath),
			strconv.FormatBool(l.Folder), cell(string(l.Type)), csvTime(l.Expires), join(l.GrantedTo), join(l.RecipientDomains),
			join(l.ExternalRecipients), cell(l.WebURL), via(l)}); err != nil {
			return err
		}
	}
	return nil
}

// via is how people were given an item: "link" or "direct grant".
func via(l *tenant.Link) string {
	if l.Direct {
		return "direct grant"
	}
	return "link"
}

func csvGuests(cw *csv.Writer, in *Input) error {
	opt := in.Options.withDefaults()
	now := in.asOf()
	pol := newDomainPolicy(in.Snapshot, opt.BlockedDomains)
	stale := time.Duration(opt.StaleDays) * 24 * time.Hour
	if err := cw.Write([]string{"id", "display_name", "user_principal_name", "mail", "domain", "state", "created_at",
		"last_sign_in", "sign_in_collected", "sponsors", "groups", "account_enabled", "flags"}); err != nil {
		return err
	}
	for g, err := range in.guests() {
		if err != nil {
			return fmt.Errorf("read guests: %w", err)
		}
		r := guestRow(g, pol, stale, now)
		if err := cw.Write([]string{cell(r.ID), cell(r.DisplayName), cell(r.UPN), cell(r.Mail), cell(r.Domain), r.State,
			csvTime(r.Created), csvTime(r.LastSignIn), strconv.FormatBool(r.SignInKnown), csvCount(r.Sponsors), csvCount(r.Groups),
			csvBool(r.Enabled), strings.Join(r.Flags, ";")}); err != nil {
			return err
		}
	}
	return nil
}

func csvCalendar(cw *csv.Writer, in *Input) error {
	if err := cw.Write([]string{"kind", "name", "domain", "level", "exposure", "enabled", "default", "scope", "actions"}); err != nil {
		return err
	}
	for _, r := range calendarRows(in.Snapshot) {
		if err := cw.Write([]string{r.Kind, cell(r.Name), cell(r.Domain), r.Level, r.Exposure, csvBool(r.Enabled),
			strconv.FormatBool(r.Default), r.Scope, r.Actions}); err != nil {
			return err
		}
	}
	return nil
}
