package main

import (
	"strings"
	"testing"
)

func TestReadReloadKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		input string
		want  int
	}{
		{"", 0},
		{"r\n", 1},
		{"r\nr\n", 2},
		{"  r  \n", 1},
		{"x\nrr\nreload\n", 0},
		{"r", 1},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.input, "\n", `\n`), func(t *testing.T) {
			t.Parallel()
			got := 0
			readReloadKeys(strings.NewReader(tt.input), func() { got++ })
			if got != tt.want {
				t.Errorf("got %d reloads, want %d", got, tt.want)
			}
		})
	}
}

func TestLogWriterPrefixesWholeLines(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	w := &logWriter{out: &b}
	w.Write([]byte("first line\nsecond "))
	w.Write([]byte("half\ndevcluster | already prefixed\n"))
	got := b.String()
	want := "devcluster | first line\ndevcluster | second half\ndevcluster | already prefixed\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestIsLoopbackListen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"[::1]:8080", true},
		{"localhost:8080", true},
		{"0.0.0.0:8080", false},
		{":8080", false},
		{"192.168.1.2:80", false},
		{"nonsense", false},
	}
	for _, tt := range tests {
		if got := isLoopbackListen(tt.addr); got != tt.want {
			t.Errorf("isLoopbackListen(%q): got %v, want %v", tt.addr, got, tt.want)
		}
	}
}
