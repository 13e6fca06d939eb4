package proxy

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// FuzzParseResponseHead checks the lean response parser against net/http's
// ReadResponse, as FuzzParseRequestHead does for requests: whatever it accepts,
// net/http accepts with the same status, version, framing and close decision (it
// may reject more). head: the request was a HEAD. Seeds in
// testdata/fuzz/FuzzParseResponseHead.
func FuzzParseResponseHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 204\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		h := &respHead{}
		err := h.read(bufio.NewReaderSize(strings.NewReader(string(data)), 16), head)
		whole := &respHead{}
		br := bufio.NewReaderSize(strings.NewReader(string(data)), len(data)+16)
		br.Peek(1)
		if werr := whole.read(br, head); (err == nil) != (werr == nil) {
			t.Fatalf("small buffer: %v; all buffered: %v", err, werr)
		}
		if err != nil {
			return
		}
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		req := &http.Request{Method: method}
		resp, rerr := http.ReadResponse(bufio.NewReader(strings.NewReader(string(data))), req)
		if rerr != nil {
			t.Fatalf("lean parser accepted what net/http rejects (%v): %q", rerr, data)
		}
		if h.code != resp.StatusCode || h.major != resp.ProtoMajor || h.minor != resp.ProtoMinor {
			t.Errorf("got %d HTTP/%d.%d, net/http %d HTTP/%d.%d", h.code, h.major, h.minor, resp.StatusCode, resp.ProtoMajor, resp.ProtoMinor)
		}
		if h.noBody || h.code < 200 {
			return
		}
		if h.close != resp.Close {
			t.Errorf("got close %v, net/http %v", h.close, resp.Close)
		}
		wantCL := resp.ContentLength
		if h.chunked != (wantCL == -1 && len(resp.TransferEncoding) > 0) || !h.chunked && h.contentLength != wantCL {
			t.Errorf("got Content-Length %d chunked %v, net/http %d %v", h.contentLength, h.chunked, wantCL, resp.TransferEncoding)
		}
	})
}
