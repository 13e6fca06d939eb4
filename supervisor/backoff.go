package supervisor

import (
	"fmt"
	"math/rand/v2"
	"time"
)

const (
	backoffStart = 500 * time.Millisecond
	backoffCap   = 10 * time.Second
	// healthyReset is how long an instance must have been running for its next
	// crash to count as the first of a new series.
	healthyReset = 10 * time.Second
	// crashLoopAfter failures in a row make an instance crash-looping.
	crashLoopAfter = 5
)

// defaultBackoff doubles from 0.5s up to 10s; up to 20% is taken off at random so
// instances that crashed together do not restart in lockstep.
func defaultBackoff(failures int) time.Duration {
	d := backoffStart
	for i := 1; i < failures && d < backoffCap; i++ {
		d *= 2
	}
	d = min(d, backoffCap)
	return d - time.Duration(rand.Float64()*0.2*float64(d))
}

// fmtDelay prints a delay the way people say it: "0.5s", "10s".
func fmtDelay(d time.Duration) string {
	if d < 100*time.Millisecond {
		return d.Round(time.Millisecond).String()
	}
	if d < time.Second {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	if d < 10*time.Second {
		s := fmt.Sprintf("%.1fs", d.Seconds())
		if len(s) > 3 && s[len(s)-3:] == ".0s" {
			s = s[:len(s)-3] + "s"
		}
		return s
	}
	return d.Round(time.Second).String()
}
