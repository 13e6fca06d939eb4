package proxy

import (
	"bytes"
	"net/http"
	"net/textproto"
	"strconv"
)

// respWriter reads the HTTP/1.1 response that the forwarding path writes for
// an HTTP/2 stream (streamConn.Write) into the stream's http.ResponseWriter:
// the head becomes its status and header fields, hop-by-hop ones dropped; the
// body is passed on, out of the chunked coding when it came in it. The path's
// own writer made that response, so it is well-formed; a malformed one is
// refused all the same (errBadChunk).
type respWriter struct {
	w      http.ResponseWriter
	isHead bool

	head    []byte // the head so far
	line    []byte // a chunk-size or trailer line so far
	inBody  bool
	chunked bool
	remain  int64 // body bytes to come; -1: until the end (or chunked)
	chunk   int   // chunked state
	size    int64 // bytes left of the current chunk
	done    bool  // the body is complete
	err     error
}

// States of the chunked decoding.
const (
	chunkSize = iota
	chunkData
	chunkDataEnd
	chunkTrailer
)

var errBadChunk = &headError{msg: "malformed chunked body written for an HTTP/2 stream"}

var crlf2 = []byte("\r\n\r\n")

// takeHead adds p to the head and, once it is complete, sends it; it returns
// what of p follows the head.
func (rw *respWriter) takeHead(p []byte) []byte {
	start := max(len(rw.head)-3, 0)
	rw.head = append(rw.head, p...)
	i := bytes.Index(rw.head[start:], crlf2)
	if i < 0 {
		return nil
	}
	end := start + i + len(crlf2)
	rest := p[len(p)-(len(rw.head)-end):]
	rw.sendHead(rw.head[:end])
	rw.head = rw.head[:0]
	return rest
}

// sendHead parses one response head and writes it to w. An interim head (103)
// is sent as such, and the final one is awaited.
func (rw *respWriter) sendHead(head []byte) {
	lines := bytes.Split(head[:len(head)-len(crlf2)], []byte("\r\n"))
	status := lines[0]
	if len(status) < 12 {
		rw.err = errBadChunk
		return
	}
	code, err := strconv.Atoi(string(status[9:12]))
	if err != nil {
		rw.err = errBadChunk
		return
	}
	hdr := rw.w.Header()
	ct := false
	for _, line := range lines[1:] {
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			continue
		}
		name, value := line[:i], string(bytes.TrimSpace(line[i+1:]))
		switch {
		case asciiEqualFold(name, "transfer-encoding"):
			rw.chunked = true // the path writes no other coding
			continue
		case asciiEqualFold(name, "connection"), asciiEqualFold(name, "keep-alive"), asciiEqualFold(name, "proxy-connection"),
			asciiEqualFold(name, "upgrade"), asciiEqualFold(name, "te"), asciiEqualFold(name, "trailer"):
			continue
		case asciiEqualFold(name, "content-length"):
			if n, ok := parseContentLength([]byte(value)); ok {
				rw.remain = n
			}
		case asciiEqualFold(name, "content-type"):
			ct = true
		}
		k := textproto.CanonicalMIMEHeaderKey(string(name))
		hdr[k] = append(hdr[k], value)
	}
	if code < 200 {
		if code != http.StatusContinue { // Go's server sends its own 100 Continue
			rw.w.WriteHeader(code)
		}
		clear(hdr)
		rw.chunked, rw.remain = false, -1
		return
	}
	if !ct {
		hdr["Content-Type"] = nil // no sniffing: the client gets what the instance sent
	}
	if rw.isHead || code == http.StatusNoContent || code == http.StatusNotModified {
		rw.chunked, rw.remain = false, 0
	}
	rw.w.WriteHeader(code)
	rw.inBody = true
	rw.done = !rw.chunked && rw.remain == 0
}

// body passes on body bytes of p and returns what follows the body.
func (rw *respWriter) body(p []byte) []byte {
	if rw.chunked {
		return rw.dechunk(p)
	}
	if rw.remain >= 0 && int64(len(p)) >= rw.remain {
		rw.write(p[:rw.remain])
		p, rw.remain, rw.done = p[rw.remain:], 0, true
		return p
	}
	rw.write(p)
	if rw.remain > 0 {
		rw.remain -= int64(len(p))
	}
	return nil
}

func (rw *respWriter) dechunk(p []byte) []byte {
	for len(p) > 0 && rw.err == nil && !rw.done {
		if rw.chunk == chunkData {
			n := min(int64(len(p)), rw.size)
			rw.write(p[:n])
			p, rw.size = p[n:], rw.size-n
			if rw.size == 0 {
				rw.chunk = chunkDataEnd
			}
			continue
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			rw.line = append(rw.line, p...)
			return nil
		}
		line := trimCR(append(rw.line, p[:i]...))
		p = p[i+1:]
		rw.line = line[:0]
		switch rw.chunk {
		case chunkDataEnd:
			rw.chunk = chunkSize
		case chunkSize:
			if j := bytes.IndexByte(line, ';'); j >= 0 {
				line = line[:j]
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
			switch {
			case err != nil || n < 0:
				rw.err = errBadChunk
			case n == 0:
				rw.chunk = chunkTrailer
			default:
				rw.chunk, rw.size = chunkData, n
			}
		case chunkTrailer:
			rw.done = len(line) == 0 // trailer fields are not passed on
		}
	}
	return p
}

func (rw *respWriter) write(b []byte) {
	if len(b) == 0 {
		return
	}
	if _, err := rw.w.Write(b); err != nil {
		rw.err = err
	}
}

// flush sends what was written to the client.
func (rw *respWriter) flush() {
	if f, ok := rw.w.(http.Flusher); ok {
		f.Flush()
	}
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}
