package app

import (
	"fmt"
	"testing"
	"time"
)

// TestRollingTurns: with scans every 6 hours (one of them failing now and
// then, which leaves its window open), every unit is read in full at most
// FullEvery plus one interval apart and deeply at most DeepEvery periods
// plus one interval apart, while each scan reads about a quarter of them.
func TestRollingTurns(t *testing.T) {
	const units, every, interval = 400, 24 * time.Hour, 6 * time.Hour
	t0 := time.Date(2026, 1, 1, 3, 17, 0, 0, time.UTC)
	lastFull, lastDeep := map[string]time.Time{}, map[string]time.Time{}
	for u := range units {
		lastFull[fmt.Sprint(u)], lastDeep[fmt.Sprint(u)] = t0, t0
	}
	prev := t0
	minShare, maxShare := 1.0, 0.0
	for s := 1; s <= 4*60; s++ {
		now := t0.Add(time.Duration(s) * interval)
		full := 0
		for u := range units {
			key := "links/drive/" + fmt.Sprint(u)
			tr := turn(key, prev, now, every)
			if tr.Deep && !tr.Full {
				t.Fatalf("%s: deep but not full", key)
			}
			if tr.Full {
				full++
				if gap := now.Sub(lastFull[fmt.Sprint(u)]); gap > every+interval {
					t.Fatalf("%s: full reads %v apart", key, gap)
				}
				lastFull[fmt.Sprint(u)] = now
			}
			if tr.Deep {
				if gap := now.Sub(lastDeep[fmt.Sprint(u)]); gap > DeepEvery*every+interval {
					t.Fatalf("%s: deep reads %v apart", key, gap)
				}
				lastDeep[fmt.Sprint(u)] = now
			}
		}
		if s%17 == 0 {
			continue // failed: the window stays open
		}
		if s%17 != 1 {
			share := float64(full) / units
			minShare, maxShare = min(minShare, share), max(maxShare, share)
		}
		prev = now
	}
	if minShare < 0.15 || maxShare > 0.35 {
		t.Errorf("share of units read in full per scan %.2f .. %.2f, want about 0.25", minShare, maxShare)
	}
	// After an outage of a period or more, every unit is due, and after
	// DeepEvery periods every unit is deep.
	for u := range units {
		key := "links/drive/" + fmt.Sprint(u)
		if tr := turn(key, t0, t0.Add(every), every); !tr.Full {
			t.Fatalf("%s: not due after a whole period", key)
		}
		if tr := turn(key, t0, t0.Add(DeepEvery*every), every); !tr.Deep {
			t.Fatalf("%s: not deep after %d periods", key, DeepEvery)
		}
		if tr := turn(key, t0, t0, every); tr.Full {
			t.Fatalf("%s: due in an empty window", key)
		}
	}
}
