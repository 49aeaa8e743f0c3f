// Package drift compares two snapshots of a tenant and reports which objects
// were added, removed or modified, with the paths of the fields that changed.
//
// It is pure: no I/O, no clock. A snapshot is flattened into keyed objects
// (Objects) whose canonical JSON is hashed (Hash) so that callers holding
// only hashes of the previous state, such as the store, can find changed
// objects cheaply and diff just those (ObjectChange). Sections that are not
// complete in both snapshots are never compared: partial collection must not
// look like removal.
package drift
