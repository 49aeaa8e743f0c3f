// Package tenant holds the pure data model of a Microsoft 365 tenant's
// external-sharing state: a Snapshot with seven sections, each carrying its
// collection status, plus the rule Result type that the rest of the pipeline
// passes around. It talks to no service; its only I/O is spooling: a large
// tenant's links (Snapshot) and rule results (ResultSpool) are kept in
// sorted runs in unlinked temporary files, so memory stays bounded.
//
// Enumerations are string types. Values Microsoft may add later are kept
// verbatim rather than coerced, and the empty string always means "not
// collected" so that a missing property is never mistaken for "disabled".
package tenant
