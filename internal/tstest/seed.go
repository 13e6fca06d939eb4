package tstest

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// SeedEnv names the variable that replays a randomised test: its value is the seed the
// failed run printed.
const SeedEnv = "DEVCLUSTER_TEST_SEED"

// Seed returns the seed for a randomised test (the chaos soak's choices): the value of
// DEVCLUSTER_TEST_SEED when set, else one from the clock; either way it logs the seed
// and the line that replays it, as tailscale's TS_TEST_SEED does. A value that is no
// number fails the test rather than running with another seed.
func Seed(t testing.TB) uint64 {
	t.Helper()
	seed, err := seedFrom(os.Getenv(SeedEnv), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d (replay with %s=%d)", seed, SeedEnv, seed)
	return seed
}

func seedFrom(v string, now func() time.Time) (uint64, error) {
	if v == "" {
		s := uint64(now().UnixNano())
		if s == 0 {
			s = 1 // 0 means "pick one" to the code the seed is given to
		}
		return s, nil
	}
	s, err := strconv.ParseUint(v, 10, 64)
	if err != nil || s == 0 {
		return 0, fmt.Errorf("%s=%q: want a positive decimal seed, as a failed run prints it", SeedEnv, v)
	}
	return s, nil
}
