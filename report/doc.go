// Package report renders security review reports of a tenant's external
// sharing: an executive summary (posture score, top risks with their objects,
// what changed and what was fixed, the score over the store's scans), findings
// by section, a CIS and CISA SCuBA compliance mapping with control titles and
// versions, the period's drift, inventories
// of Anyone links, guests and calendar exposure, the remediation log,
// exceptions and collection coverage.
//
// Every format is built from one Input, which the offline path (a snapshot
// evaluated against a baseline) and the store path (a tenant's history) fill
// alike. HTML is a single self-contained file (inline CSS and SVG, no
// scripts, no external requests); Markdown is for tickets; JSON follows the
// schema tagged SchemaV1 and documented in docs/reports.md; CSV is one file
// per inventory; PDF is the HTML printed by headless Chromium. Rollup is the
// overview of every tenant of a store.
//
// Inventories are read through iterators in a bounded number of passes:
// HTML and Markdown keep only the Options.MaxRows most relevant rows of each
// (with counts of the rest), while JSON and CSV stream every row, so memory
// does not grow with the number of links or guests.
package report
