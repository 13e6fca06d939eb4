package proxy

import (
	"bufio"
	"bytes"
)

// read reads and parses one response head from br; method is the request's.
func (h *respHead) read(br *bufio.Reader, head bool) error {
	if err := h.readHead(br, checkStatusLine); err != nil {
		return err
	}
	i := bytes.IndexByte(h.buf, '\n')
	proto, status, code, err := splitStatusLine(trimEOL(h.buf[:i+1]))
	if err != nil {
		return err
	}
	h.status, h.code = status, code
	h.major, h.minor, _ = parseHTTPVersion(proto)
	if err := h.parseFields(h.buf[i+1:]); err != nil {
		return err
	}
	h.noBody = head || code/100 == 1 || code == 204 || code == 304
	if h.chunked {
		h.contentLength = -1
	}
	switch {
	case h.major < 1:
		h.close = true
	case h.major == 1 && h.minor == 0:
		h.close = h.connClose || !h.connKeepAlive
	default:
		h.close = h.connClose
	}
	if !h.noBody && !h.chunked && h.contentLength < 0 {
		h.close = true // the body ends when the connection does
	}
	return nil
}

func checkStatusLine(line []byte) error {
	_, _, _, err := splitStatusLine(line)
	return err
}

func splitStatusLine(line []byte) (proto, status []byte, code int, err error) {
	proto, status, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return nil, nil, 0, malformed("malformed HTTP response", line)
	}
	status = bytes.TrimLeft(status, " ")
	digits, _, _ := bytes.Cut(status, []byte{' '})
	if len(digits) != 3 || digits[0] < '0' || digits[0] > '9' || digits[1] < '0' || digits[1] > '9' || digits[2] < '0' || digits[2] > '9' {
		return nil, nil, 0, malformed("malformed HTTP status code", digits)
	}
	code = int(digits[0]-'0')*100 + int(digits[1]-'0')*10 + int(digits[2]-'0')
	if _, _, ok := parseHTTPVersion(proto); !ok {
		return nil, nil, 0, malformed("malformed HTTP version", proto)
	}
	return proto, status, code, nil
}
