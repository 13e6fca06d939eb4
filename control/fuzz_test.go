package control

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequest sends arbitrary bodies and queries to every endpoint: the server
// must answer each with a status and, for errors, a JSON {error}.
func FuzzRequest(f *testing.F) {
	seeds := []struct{ method, target, body string }{
		{"GET", "/v1/status", ""},
		{"POST", "/v1/restart", `{"targets":["web","worker.1"]}`},
		{"POST", "/v1/stop", `{"ids":["web.2"]}`},
		{"POST", "/v1/start", `{"ids":[]}`},
		{"POST", "/v1/scale", `{"process":"web","n":-3}`},
		{"POST", "/v1/scale", `{"process":"web","n":1e100}`},
		{"GET", "/v1/logs?ids=web.1,,web.2&n=5&follow=0", ""},
		{"GET", "/v1/logs?n=-1&ids=%00", ""},
		{"POST", "/v1/down", `{}`},
		{"POST", "/v1/stop", `{"ids":"web.1"}`},
		{"POST", "/v1/fault", `{"instance":"web.3","kind":"delay","delay_seconds":0.3,"jitter_seconds":0.05,"percent":20,"for_seconds":2}`},
		{"POST", "/v1/fault", `{"instance":"web.1","kind":"fail","status":1e9,"delay_seconds":-1e300}`},
		{"GET", "/v1/faults", ""},
		{"POST", "/v1/faults/clear", `{"instance":""}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.body)
	}
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if method != "GET" && method != "POST" {
			method = "POST"
		}
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		req, err := http.NewRequest(method, "http://devcluster"+target, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		fake := newFake()
		fake.lines = testLines()
		fake.noFollow = true // a follower ends after the buffered lines
		rec := httptest.NewRecorder()
		NewServer(fake).ServeHTTP(rec, req)
		if rec.Code >= 400 {
			var eb errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error == "" {
				t.Errorf("%s %s: got %d %q, want a JSON {error}", method, target, rec.Code, rec.Body.String())
			}
		}
	})
}
