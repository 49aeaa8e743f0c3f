package store

// SetMidScanHook makes RecordScan call fn inside its transaction once the
// object versions are written; the kill test parks the writer there.
func SetMidScanHook(s Store, fn func()) { s.(*sqlStore).hookMidScan = fn }
