package dashboard

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// actionRequest builds a POST of a kill of web.2 as the page sends it, then
// lets edit change one thing.
func (s *served) actionRequest(t *testing.T, edit func(r *http.Request)) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, s.base+"api/action", strings.NewReader(`{"kind":"kill","target":"web.2"}`))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(s.base)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Origin", "http://"+u.Host)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set(TokenHeader, s.d.Token())
	if edit != nil {
		edit(r)
	}
	return r
}

func TestMutationDoors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(r *http.Request)
		want int
	}{
		{"from the page", nil, http.StatusOK},
		{"localhost Host", func(r *http.Request) {
			port := r.URL.Port()
			r.Host = "localhost:" + port
			r.Header.Set("Origin", "http://localhost:"+port)
		}, http.StatusOK},
		{"Origin only (no Sec-Fetch-Site)", func(r *http.Request) { r.Header.Del("Sec-Fetch-Site") }, http.StatusOK},
		{"foreign Origin", func(r *http.Request) {
			r.Header.Set("Origin", "http://evil.example")
			r.Header.Del("Sec-Fetch-Site")
		}, http.StatusForbidden},
		{"foreign Origin, same-origin Sec-Fetch-Site", func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") }, http.StatusForbidden},
		{"cross-site Sec-Fetch-Site", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, http.StatusForbidden},
		{"null Origin", func(r *http.Request) { r.Header.Set("Origin", "null"); r.Header.Del("Sec-Fetch-Site") }, http.StatusForbidden},
		{"neither Origin nor Sec-Fetch-Site", func(r *http.Request) {
			r.Header.Del("Origin")
			r.Header.Del("Sec-Fetch-Site")
		}, http.StatusForbidden},
		{"foreign Host (DNS rebinding)", func(r *http.Request) {
			r.Host = "evil.example:" + r.URL.Port()
			r.Header.Set("Origin", "http://"+r.Host)
		}, http.StatusForbidden},
		{"localhost on another port", func(r *http.Request) {
			r.Host = "localhost:1"
			r.Header.Set("Origin", "http://localhost:1")
		}, http.StatusForbidden},
		{"no token", func(r *http.Request) { r.Header.Del(TokenHeader) }, http.StatusForbidden},
		{"wrong token", func(r *http.Request) { r.Header.Set(TokenHeader, strings.Repeat("0", 32)) }, http.StatusForbidden},
		{"short token", func(r *http.Request) { r.Header.Set(TokenHeader, "x") }, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := serve(t, 3)
			resp, err := http.DefaultClient.Do(s.actionRequest(t, tt.edit))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("got %s (%s), want %d", resp.Status, body, tt.want)
			}
			acted := s.c.acted()
			if tt.want == http.StatusOK && len(acted) != 1 {
				t.Errorf("Act called %d times, want once", len(acted))
			}
			if tt.want != http.StatusOK && len(acted) != 0 {
				t.Errorf("refused, but Act was called with %+v", acted)
			}
		})
	}
}

func TestReadsFollowTheHostRule(t *testing.T) {
	t.Parallel()
	s := serve(t, 3)
	u, _ := url.Parse(s.base)
	for _, path := range []string{"", "api/state", "metrics", "assets/app.js", "events"} {
		for _, host := range []string{"evil.example", "rebind.example:" + u.Port(), "127.0.0.2:" + u.Port()} {
			r, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
			r.Host = host
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s with Host %s: got %s, want 403", path, host, resp.Status)
			}
		}
	}
}

func TestTokenIs128Bits(t *testing.T) {
	t.Parallel()
	s := serve(t, 1)
	if len(s.d.Token()) != 32 {
		t.Errorf("token %q: got %d hex digits, want 32 (128 bits)", s.d.Token(), len(s.d.Token()))
	}
}

func TestPageCannotBeFramed(t *testing.T) {
	t.Parallel()
	s := serve(t, 1)
	resp, err := http.Get(s.base)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy: got %q, want frame-ancestors 'none'", got)
	}
	if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options: got %q, want DENY", got)
	}
}

func TestNewTokensDiffer(t *testing.T) {
	t.Parallel()
	a, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewToken()
	if a == b {
		t.Errorf("two tokens are both %q", a)
	}
}
