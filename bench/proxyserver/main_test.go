package main

import "testing"

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
