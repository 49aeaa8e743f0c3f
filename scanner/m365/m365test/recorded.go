package m365test

import "time"

// RecordedAt is the moment the fixture was recorded (Meta.Now), nil when
// it has none; with ClientOptions and Close it makes a Server a fixture
// tenant for the daemon's pipeline.
func (s *Server) RecordedAt() *time.Time { return s.Meta().Now }
