package tenant

import "testing"

func TestCounts(t *testing.T) {
	tests := []struct {
		name string
		add  []Outcome
		want Counts
	}{
		{"empty", nil, Counts{}},
		{"each once", []Outcome{Pass, Fail, NotApplicable, Unknown}, Counts{Pass: 1, Fail: 1, NotApplicable: 1, Unknown: 1}},
		{"unrecognised counts as unknown", []Outcome{"", "skipped", Fail}, Counts{Fail: 1, Unknown: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Counts
			for _, o := range tt.add {
				c.Add(o)
			}
			if c != tt.want {
				t.Fatalf("counts = %+v, want %+v", c, tt.want)
			}
			if c.Total() != len(tt.add) {
				t.Errorf("Total = %d, want %d", c.Total(), len(tt.add))
			}
			for _, o := range []Outcome{Pass, Fail, NotApplicable, Unknown} {
				var one Counts
				one.AddN(o, 1)
				if got := c.Plus(one).Of(o); got != c.Of(o)+1 {
					t.Errorf("Plus one %s: Of = %d, want %d", o, got, c.Of(o)+1)
				}
			}
			if got := c.Of("skipped"); got != 0 {
				t.Errorf("Of(unrecognised) = %d, want 0", got)
			}
		})
	}
}
