package main

import (
	"testing"

	"github.com/devcluster/devcluster/proxy"
)

func TestParseBackend(t *testing.T) {
	tests := []struct {
		in          string
		wantID      string
		wantAddr    string
		wantProcess string
		wantErr     bool
	}{
		{in: "web.1=127.0.0.1:18001", wantID: "web.1", wantAddr: "127.0.0.1:18001", wantProcess: "web"},
		{in: "api.v2.3=[::1]:9000", wantID: "api.v2.3", wantAddr: "[::1]:9000", wantProcess: "api.v2"},
		{in: "web.1", wantErr: true},
		{in: "=127.0.0.1:1", wantErr: true},
		{in: "web.1=", wantErr: true},
		{in: "web=127.0.0.1:1", wantErr: true},
		{in: "web.=127.0.0.1:1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseBackend(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseBackend(%q) error: got %v, want error %v", tt.in, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if got.id != tt.wantID || got.addr != tt.wantAddr || got.process() != tt.wantProcess {
				t.Errorf("parseBackend(%q): got id %q addr %q process %q, want %q %q %q",
					tt.in, got.id, got.addr, got.process(), tt.wantID, tt.wantAddr, tt.wantProcess)
			}
		})
	}
}

func TestRequestCounterCountsByInstance(t *testing.T) {
	rc := newRequestCounter([]string{"web.1", "web.2"})
	rc.record(proxy.RequestInfo{Instance: "web.1", Status: 200})
	rc.record(proxy.RequestInfo{Instance: "web.1", Status: 503})
	rc.record(proxy.RequestInfo{Status: 503}) // no instance answered
	if got := rc.insts["web.1"].classes; got[2] != 1 || got[5] != 1 {
		t.Errorf("web.1 classes: got %v, want one 2xx and one 5xx", got)
	}
	if got := rc.total(); got != 3 {
		t.Errorf("total: got %d, want 3", got)
	}
}
