package dashboard

import (
	"encoding/json"
	"testing"
)

// FuzzActionJSON feeds arbitrary bodies to the action decoder: nothing
// panics, and whatever Validate accepts is within the documented limits.
func FuzzActionJSON(f *testing.F) {
	for _, s := range []string{
		`{"kind":"delay","target":"web.3","duration_ms":300,"jitter_ms":50,"percent":25}`,
		`{"kind":"fail","target":"web.1","percent":50,"status":503,"for_ms":2000}`,
		`{"kind":"scale","target":"web","n":5}`,
		`{"kind":"reset","target":"web.2","percent":25}`,
		`{"kind":"timeout","target":"web.2","percent":0}`,
		`{"kind":"clear","target":""}`,
		`{"kind":"delay","target":"web.1","duration_ms":1e300}`,
		`{"kind":"weight","target":"web.1","weight":-1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var j actionJSON
		if json.Unmarshal(body, &j) != nil {
			return
		}
		a := j.action()
		if a.Validate() != nil {
			return
		}
		if !kinds[a.Kind] {
			t.Fatalf("accepted unknown kind %q", a.Kind)
		}
		if a.Target == "" && a.Kind != ActClearFaults {
			t.Fatalf("accepted %s without a target", a.Kind)
		}
		if a.Kind == ActDelay && (a.Duration <= 0 || a.Duration > MaxDelay || a.Jitter < 0 || a.Jitter > a.Duration) {
			t.Fatalf("accepted delay %v ± %v", a.Duration, a.Jitter)
		}
		if (a.Kind == ActDelay || a.Kind == ActFail || a.Kind == ActReset || a.Kind == ActTimeout) && !(a.Percent > 0 && a.Percent <= 100) {
			t.Fatalf("accepted percent %v", a.Percent)
		}
		if a.Kind == ActWeight && (a.Weight < 0 || a.Weight > MaxWeight) ||
			a.Kind == ActScale && (a.N < 0 || a.N > MaxScale) || a.For < 0 || a.For > MaxFaultTime {
			t.Fatalf("accepted out-of-range %+v", a)
		}
	})
}
