package proxy

import (
	"testing"
)

// TestConnectFailuresCounted: a request whose connect to the instance fails
// counts one ConnectFailures on that instance, whether the request then fails
// (its only instance is dead) or is retried on another. The dashboard's
// "connect" errors column reads it; it stayed 0 while only Failures (checks
// included) and Retries (only the retried) were counted.
func TestConnectFailuresCounted(t *testing.T) {
	t.Parallel()
	t.Run("alone", func(t *testing.T) {
		tp := startProxy(t, Config{})
		tp.Enable("web.1", deadAddr(t))
		if code, _, _ := get(t, newClient(t), tp.URL+"/"); code != 502 && code != 503 {
			t.Fatalf("got %d, want 502 or 503 from a dead instance", code)
		}
		if s := statsOf(tp.Proxy, "web.1"); s.ConnectFailures != 1 {
			t.Errorf("web.1: ConnectFailures %d, want 1 (state %q, last error %q)", s.ConnectFailures, s.State, s.LastError)
		}
	})
	t.Run("retried", func(t *testing.T) {
		tp := startProxy(t, Config{})
		startWeb(t, tp, 1)
		tp.Enable("web.2", deadAddr(t))
		got := countInstances(t, newClient(t), tp.URL+"/", 4)
		if got["web.1"] != 4 {
			t.Fatalf("got %v, want all 4 answered by web.1", got)
		}
		s := statsOf(tp.Proxy, "web.2")
		if s.ConnectFailures == 0 || s.ConnectFailures != s.Retries {
			t.Errorf("web.2: ConnectFailures %d, Retries %d; want equal and above 0 (each retried request failed to connect once)", s.ConnectFailures, s.Retries)
		}
		if s := statsOf(tp.Proxy, "web.1"); s.ConnectFailures != 0 {
			t.Errorf("web.1: ConnectFailures %d, want 0", s.ConnectFailures)
		}
	})
}
