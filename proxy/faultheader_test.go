package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// rawTerminalBytes are what an 8-bit terminal or a bidi-aware viewer acts on:
// a lone 0x9b (CSI), U+009B (CSI in UTF-8), ESC, and U+202E (right-to-left
// override, which makes a line read differently from what it is).
var rawTerminalBytes = []string{"\x9b", "\u009b", "\x1b", "\u202e"}

func hasRawTerminalBytes(s string) string {
	for _, r := range rawTerminalBytes {
		if strings.Contains(s, r) {
			return r
		}
	}
	return ""
}

// TestBadFaultHeaderAnswerHidesRawBytes: the 400 for a malformed
// X-Devcluster-Fault quoted the bad part with %s, raw bytes and all.
func TestBadFaultHeaderAnswerHidesRawBytes(t *testing.T) {
	t.Parallel()
	tp := startProxy(t, Config{FaultHeaders: true})
	startWeb(t, tp, 1)
	resp, body := rawResponse(t, tp.Addr, "GET / HTTP/1.1\r\nHost: x\r\nX-Devcluster-Fault: delay=1\x9bs\u202e, fail=5\u009b03\r\n\r\n")
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("got %d %q, want 400", resp.StatusCode, body)
	}
	if r := hasRawTerminalBytes(body); r != "" {
		t.Errorf("400 body %q holds %q unescaped", body, r)
	}
	if !strings.Contains(body, "X-Devcluster-Fault") {
		t.Errorf("400 body %q does not say which header is wrong", body)
	}
}
