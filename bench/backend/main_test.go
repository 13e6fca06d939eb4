package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBackendAnswers(t *testing.T) {
	tests := []struct {
		name      string
		closeConn bool
	}{
		{"keep-alive", false},
		{"close", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- serve(ctx, ln, tt.closeConn) }()
			t.Cleanup(func() {
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("serve returned %v, want nil", err)
					}
				case <-time.After(5 * time.Second):
					t.Error("serve did not return within 5s of cancel")
				}
			})

			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			resp, err := client.Get("http://" + addr + "/anything")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(body), "hello from "+addr+"\n"; got != want {
				t.Errorf("body: got %q, want %q", got, want)
			}
			if got := resp.Header.Get("X-Backend"); got != addr {
				t.Errorf("X-Backend: got %q, want %q", got, addr)
			}
			if got := resp.Close; got != tt.closeConn {
				t.Errorf("response Close: got %v, want %v", got, tt.closeConn)
			}
		})
	}
}

func TestBackendListsRequestHeaders(t *testing.T) {
	h := newHandler("127.0.0.1:1", false)
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/headers", nil)
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.Set("X-Real-Ip", "127.0.0.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"X-Forwarded-Proto\n", "X-Real-Ip\n", "User-Agent\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("body %q lacks %q", b, want)
		}
	}
}
