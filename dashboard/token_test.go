package dashboard

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devcluster/devcluster/dashboard/browsertest"
	"github.com/devcluster/devcluster/internal/tstest"
)

// TestTokenNeverSetInACookie: the token went into a cookie
// devcluster_token_PORT, and browsers send cookies to every port of a host:
// any other server on 127.0.0.1 got the token. The URL printed now carries it
// in its fragment, which browsers never send; an old ?token= URL is sent on to
// that form, with no cookie.
func TestTokenNeverSetInACookie(t *testing.T) {
	t.Parallel()
	s := serve(t, 1)
	if u := s.d.URL(); !strings.HasSuffix(u, DefaultPrefix+"#token="+s.d.Token()) {
		t.Errorf("URL: got %q, want the token in the fragment, …%s#token=%s", u, DefaultPrefix, s.d.Token())
	}
	resp, err := noRedirect.Get(s.base + "?token=" + s.d.Token())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := DefaultPrefix + "#token=" + s.d.Token(); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Errorf("?token=: got %s to %q, want 303 to %s", resp.Status, resp.Header.Get("Location"), want)
	}
	if cs := resp.Cookies(); len(cs) != 0 {
		t.Errorf("?token=: got cookies %v, want none", cs)
	}
	resp, err = noRedirect.Get(s.base + "?token=" + strings.Repeat("a", 32))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("wrong token in the URL: got %s, want 403", resp.Status)
	}
}

// TestCookieNoLongerGrantsActions: a cookie with the token, which any page on
// another port of 127.0.0.1 could have been handed, is not the token.
func TestCookieNoLongerGrantsActions(t *testing.T) {
	t.Parallel()
	s := serve(t, 3)
	port := s.srv.Listener.Addr().String()[strings.LastIndexByte(s.srv.Listener.Addr().String(), ':')+1:]
	resp, err := http.DefaultClient.Do(s.actionRequest(t, func(r *http.Request) {
		r.Header.Del(TokenHeader)
		r.AddCookie(&http.Cookie{Name: "devcluster_token_" + port, Value: s.d.Token()})
	}))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("the token in a cookie: got %s, want 403", resp.Status)
	}
}

// TestStateSaysWhetherTheTokenIsRight: the page checks the token it holds
// with GET api/state and the header; that is how it knows it may act.
func TestStateSaysWhetherTheTokenIsRight(t *testing.T) {
	t.Parallel()
	s := serve(t, 1)
	for _, tt := range []struct {
		token string
		want  string
	}{{s.d.Token(), `"can_act":true`}, {strings.Repeat("0", 32), `"can_act":false`}, {"", `"can_act":false`}} {
		r, _ := http.NewRequest(http.MethodGet, s.base+"api/state", nil)
		if tt.token != "" {
			r.Header.Set(TokenHeader, tt.token)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		sc.Scan()
		resp.Body.Close()
		if !strings.Contains(sc.Text(), tt.want) {
			t.Errorf("token %q: got %.200s…, want %s", tt.token, sc.Text(), tt.want)
		}
	}
}

// TestBrowserKeepsTokenFromOtherPorts: in real Chromium, open the dashboard
// with its URL, then a page of another server on 127.0.0.1: that server must
// not get the token (it got the cookie devcluster_token_PORT for any path
// under /_devcluster/, which any server can serve). The page also
// takes the token out of the address bar.
func TestBrowserKeepsTokenFromOtherPorts(t *testing.T) {
	browsertest.Chromium(t)
	s := serve(t, 2)
	var mu sync.Mutex
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.String()+" Cookie: "+r.Header.Get("Cookie"))
		mu.Unlock()
		w.Write([]byte("<p>another server</p>"))
	}))
	defer other.Close()
	p := browsertest.Open(t, s.d.URL())
	p.WaitCell("web.1", "state", "web.1 shown", 30*time.Second, func(s string) bool { return s == "ready" })
	p.WaitText("#readonly", "the page to know it holds the token", 30*time.Second, func(string) bool {
		var hidden bool
		p.Eval(`document.getElementById("readonly").hidden && !document.querySelector("button[data-action]").disabled`, &hidden)
		return hidden
	})
	var href string
	if err := p.Eval(`location.href`, &href); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(href, s.d.Token()) {
		t.Errorf("address bar: got %q, want the token gone", href)
	}
	var ignored bool
	p.Eval(`location.href = "`+other.URL+DefaultPrefix+`probe"; true`, &ignored)
	tstest.WaitFor(t, 30*time.Second, "the other server to be visited", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	for _, r := range seen {
		if strings.Contains(r, s.d.Token()) {
			t.Errorf("another server on 127.0.0.1 got the dashboard token: %s", r)
		}
	}
}
