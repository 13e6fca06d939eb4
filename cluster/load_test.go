package cluster

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/devcluster/devcluster/internal/tstest"
)

// TestLoadsRunAndEnd: a load started from the page runs against the proxy's
// URL, refuses a second one meanwhile, and ends by itself at its duration
// with its totals kept.
func TestLoadsRunAndEnd(t *testing.T) {
	t.Parallel()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Devcluster-Instance", "web.1")
		io.WriteString(w, r.URL.Path)
	}))
	t.Cleanup(s.Close)
	l := NewLoads(s.URL, nil)
	if l.State() != nil {
		t.Fatal("a state before any load")
	}
	if err := l.Start(LoadSpec{Path: "/cart", Users: 2, Duration: time.Second}); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(LoadSpec{Path: "/", Users: 1, Duration: time.Second}); !errors.Is(err, ErrLoadRunning) {
		t.Errorf("a second load: got %v, want ErrLoadRunning", err)
	}
	tstest.WaitFor(t, 30*time.Second, "the load's end", func() bool { return !l.State().Running })
	st := l.State()
	if st.Path != "/cart" || st.Users != 2 || st.Requests == 0 || st.Failed != 0 || st.Instances["web.1"] != st.Requests {
		t.Errorf("got %+v, want /cart by 2 users, every request answered by web.1", st)
	}
	if st.ElapsedMS < 1000 {
		t.Errorf("ended after %.0f ms, want its 1 s duration", st.ElapsedMS)
	}
	l.Close()
}

// TestLoadsStop: stop ends a long load at once (no new request is sent).
func TestLoadsStop(t *testing.T) {
	t.Parallel()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(s.Close)
	l := NewLoads(s.URL, nil)
	if err := l.Start(LoadSpec{Path: "/", Users: 1, Duration: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	tstest.WaitFor(t, 30*time.Second, "a first request", func() bool { return l.State().Requests > 0 || !l.State().Running })
	l.Stop()
	tstest.WaitFor(t, 30*time.Second, "the stopped load's end", func() bool { return !l.State().Running })
	if st := l.State(); st.ElapsedMS >= 10*60*1000 {
		t.Errorf("ran %.0f ms, want it stopped early", st.ElapsedMS)
	}
	if err := l.Start(LoadSpec{Path: "/", Users: 1, Duration: time.Second}); err != nil {
		t.Errorf("a new load after the stop: %v", err)
	}
	l.Close()
}
