package notifystore

import "testing"

// SetReminderPage sets how many open findings reminder planning reads at a
// time, until the test ends.
func SetReminderPage(t testing.TB, n int) {
	old := reminderPage
	reminderPage = n
	t.Cleanup(func() { reminderPage = old })
}
