package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/url"
	"strconv"
)

// A lean HTTP/1.x head parser for the forwarding path. net/http's ReadRequest and
// ReadResponse build a header map and canonicalise every key for each message;
// here a head is copied into a buffer the connection reuses and cut into byte
// slices, and only what the proxy acts on is interpreted. It rejects what
// net/http rejects (a bad start line, a header line without a colon or with an
// invalid name or value, conflicting Content-Length, a transfer coding other
// than chunked) and, stricter than net/http, obs-fold continuation lines and
// requests with both Content-Length and Transfer-Encoding (RFC 9112 6.1, 5.2).

// headError is a malformed or oversized message head. A request's is answered
// with status (400 when 0). The bytes at fault are kept apart from the cause:
// Error shows both (for logs and tests), the proxy's error bodies only msg, so
// that no raw bytes of a client's or an instance's head reach a browser.
type headError struct {
	msg    string
	raw    string // the offending bytes, quoted; "" none
	status int
}

func (e *headError) Error() string {
	if e.raw == "" {
		return e.msg
	}
	return e.msg + ": " + e.raw
}

func malformed(what string, b []byte) error {
	const max = 80
	if len(b) > max {
		b = b[:max]
	}
	return &headError{msg: what, raw: strconv.Quote(string(b))}
}

// headLimits bound a request head, as nginx and HAProxy do; zero: no limit.
type headLimits struct {
	startLine int // bytes of the request line → 414
	head      int // bytes of the whole head → 431
	fields    int // header fields → 431
}

// Header kinds the proxy acts on; every other header is hOther.
const (
	hOther uint8 = iota
	hHost
	hContentLength
	hTransferEncoding
	hConnection
	hHopByHop // Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE, Trailer
	hUpgrade
	hExpect
	hCookie
	hXForwardedFor
	hForwardedOwn // Forwarded, X-Forwarded-* but -For, X-Real-IP: dropped or replaced by the proxy
	hCacheControl
	hRequestID // X-Request-Id: kept when valid, else replaced (requestid.go)
	hFault     // X-Devcluster-Fault: read when Config.FaultHeaders, never passed on
	hInstance  // X-Devcluster-Instance: the proxy's to set on responses; dropped both ways
)

type headerField struct {
	name, value []byte
	kind        uint8
	listed      bool // named by a Connection header: hop-by-hop
}

// msgHead is what requests and responses share.
type msgHead struct {
	lim    headLimits
	buf    []byte // the raw head; every slice below points into it
	fields []headerField
	major  int
	minor  int

	contentLength int64 // -1: no Content-Length
	chunked       bool
	teSeen        bool // a Transfer-Encoding header, honoured or not
	connClose     bool
	connKeepAlive bool
	connUpgrade   bool
	upgrade       []byte // the (last) Upgrade header
	cacheControl  bool
}

func (h *msgHead) atLeast11() bool { return h.major > 1 || h.major == 1 && h.minor >= 1 }

// reqHead is a parsed request head.
type reqHead struct {
	msgHead
	method []byte
	uri    []byte // as sent to the instance (origin form)
	host   []byte
	path   string // decoded path, for routing
	expect [][]byte
	close  bool // the client asked to close after this request

	hostHeaders int // Host header lines (host may also come from an absolute URI)
}

// respHead is a parsed response head.
type respHead struct {
	msgHead
	status []byte // "200 OK"
	code   int
	close  bool // the instance closes the connection after this response
	noBody bool
}

// readLine appends one line, including its "\n", from br to buf. A line longer
// than br's buffer is read in pieces, until buf would pass max bytes (0: no
// limit): then errTooLong.
func readLine(br *bufio.Reader, buf []byte, max int) ([]byte, error) {
	for {
		line, err := br.ReadSlice('\n')
		if max > 0 && len(buf)+len(line) > max {
			return buf, errTooLong
		}
		buf = append(buf, line...)
		if err != bufio.ErrBufferFull {
			return buf, err
		}
	}
}

var errTooLong = errors.New("line too long")

// trimEOL drops the line ending ("\r\n" or "\n"), as bufio.Reader.ReadLine does.
func trimEOL(line []byte) []byte {
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// readHead reads a start line and header lines up to the empty line into
// h.buf. checkStart validates the start line before the rest is read, so that a
// bad one is answered at once. It returns io.EOF when nothing at all was read.
func (h *msgHead) readHead(br *bufio.Reader, checkStart func([]byte) error) error {
	buf, err := readLine(br, h.buf[:0], h.lim.startLine)
	h.buf = buf
	if err == errTooLong {
		return &headError{status: 414, msg: "request line longer than " + strconv.Itoa(h.lim.startLine) + " bytes"}
	}
	if err != nil {
		if len(buf) == 0 {
			return err
		}
		return unexpected(err)
	}
	if err := checkStart(trimEOL(buf)); err != nil {
		return err
	}
	for {
		start := len(buf)
		buf, err = readLine(br, buf, h.lim.head)
		h.buf = buf
		if err == errTooLong {
			return &headError{status: 431, msg: "request header is larger than " + strconv.Itoa(h.lim.head) + " bytes"}
		}
		if err != nil {
			return unexpected(err)
		}
		if n := len(buf) - start; n == 1 || n == 2 && buf[start] == '\r' {
			return nil
		}
	}
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseFields cuts the header lines of h.buf (after the start line) into
// h.fields and interprets the framing headers.
func (h *msgHead) parseFields(rest []byte) error {
	h.fields = h.fields[:0]
	h.contentLength = -1
	h.chunked, h.teSeen = false, false
	h.connClose, h.connKeepAlive, h.connUpgrade = false, false, false
	h.upgrade = nil
	h.cacheControl = false
	var fs fieldScan
	for first := true; len(rest) > 0; first = false {
		i := bytes.IndexByte(rest, '\n')
		line := trimEOL(rest[:i+1])
		rest = rest[i+1:]
		if len(line) == 0 {
			break
		}
		if h.lim.fields > 0 && len(h.fields) == h.lim.fields {
			return &headError{status: 431, msg: "more than " + strconv.Itoa(h.lim.fields) + " header fields"}
		}
		if err := h.parseField(line, first, &fs); err != nil {
			return err
		}
	}
	return h.applyFraming(&fs)
}

// fieldScan is what parseFields gathers from the lines for applyFraming.
type fieldScan struct {
	cl        []byte // the Content-Length value; nil: none
	te        []byte // the last Transfer-Encoding value
	nTE       int
	connOther bool // a Connection token other than close, keep-alive, upgrade
}

// parseField checks one header line and appends it to h.fields.
func (h *msgHead) parseField(line []byte, first bool, fs *fieldScan) error {
	if line[0] == ' ' || line[0] == '\t' {
		if first {
			return malformed("malformed MIME header initial line", line)
		}
		return malformed("obsolete line folding in header", line)
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return malformed("malformed MIME header: missing colon", line)
	}
	name, value := line[:colon], line[colon+1:]
	if len(name) == 0 || !isToken(name) {
		return malformed("malformed MIME header line", line)
	}
	for _, c := range value {
		if !validValueByte(c) {
			return malformed("malformed MIME header line", line)
		}
	}
	value = trimSpace(value)
	kind := classify(name)
	switch kind {
	case hContentLength:
		if fs.cl == nil {
			fs.cl = value
		} else if !bytes.Equal(fs.cl, value) {
			return malformed("message cannot contain multiple Content-Length headers", line)
		}
	case hTransferEncoding:
		fs.te = value
		fs.nTE++
	case hConnection:
		h.connectionTokens(value, fs)
	case hUpgrade:
		if h.upgrade == nil {
			h.upgrade = value
		}
	case hCacheControl:
		h.cacheControl = true
	}
	h.fields = append(h.fields, headerField{name: name, value: value, kind: kind})
	return nil
}

func (h *msgHead) connectionTokens(value []byte, fs *fieldScan) {
	forEachToken(value, func(tok []byte) {
		switch {
		case asciiEqualFold(tok, "close"):
			h.connClose = true
		case asciiEqualFold(tok, "keep-alive"):
			h.connKeepAlive = true
		case asciiEqualFold(tok, "upgrade"):
			h.connUpgrade = true
		default:
			fs.connOther = true
		}
	})
}

// applyFraming interprets Content-Length and Transfer-Encoding once every line
// is in, and marks the fields that Connection names.
func (h *msgHead) applyFraming(fs *fieldScan) error {
	if fs.cl != nil {
		n, ok := parseContentLength(fs.cl)
		if !ok {
			if len(fs.cl) == 0 {
				return malformed("invalid empty Content-Length", fs.cl)
			}
			return malformed("bad Content-Length", fs.cl)
		}
		h.contentLength = n
	}
	if fs.nTE > 0 {
		h.teSeen = true
		// Ignored in HTTP/1.0; HTTP/0.0 counts as 1.1 (both as net/http does).
		if h.atLeast11() || h.major == 0 && h.minor == 0 {
			if fs.nTE != 1 || !asciiEqualFold(fs.te, "chunked") {
				return malformed("unsupported transfer encoding", fs.te)
			}
			h.chunked = true
		}
	}
	if fs.connOther {
		h.markListed()
	}
	return nil
}

// markListed marks the headers that a Connection header names.
func (h *msgHead) markListed() {
	for i := range h.fields {
		if h.fields[i].kind != hConnection {
			continue
		}
		forEachToken(h.fields[i].value, func(tok []byte) {
			for j := range h.fields {
				if asciiEqualFoldBytes(h.fields[j].name, tok) {
					h.fields[j].listed = true
				}
			}
		})
	}
}

// dropped reports whether f is not passed on: hop-by-hop, or listed in Connection.
func (f *headerField) dropped() bool {
	switch f.kind {
	case hConnection, hHopByHop, hTransferEncoding, hUpgrade:
		return true
	}
	return f.listed
}

// read reads and parses one request head from br.
func (h *reqHead) read(br *bufio.Reader) error {
	if err := h.readHead(br, checkRequestLine); err != nil {
		return err
	}
	return h.parse()
}

func checkRequestLine(line []byte) error {
	_, _, _, err := splitRequestLine(line)
	return err
}

func splitRequestLine(line []byte) (method, uri, proto []byte, err error) {
	method, rest, ok1 := bytes.Cut(line, []byte{' '})
	uri, proto, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 {
		return nil, nil, nil, malformed("malformed HTTP request", line)
	}
	if !isToken(method) {
		return nil, nil, nil, malformed("invalid method", method)
	}
	if _, _, ok := parseHTTPVersion(proto); !ok {
		return nil, nil, nil, malformed("malformed HTTP version", proto)
	}
	return method, uri, proto, nil
}

// parse interprets h.buf.
func (h *reqHead) parse() error {
	i := bytes.IndexByte(h.buf, '\n')
	method, uri, proto, err := splitRequestLine(trimEOL(h.buf[:i+1]))
	if err != nil {
		return err
	}
	h.method, h.uri = method, uri
	h.major, h.minor, _ = parseHTTPVersion(proto)
	if err := h.parseFields(h.buf[i+1:]); err != nil {
		return err
	}
	h.host = nil
	h.expect = h.expect[:0]
	nHost := 0
	for _, f := range h.fields {
		switch f.kind {
		case hHost:
			h.host = f.value
			nHost++
		case hExpect:
			h.expect = append(h.expect, f.value)
		}
	}
	h.hostHeaders = nHost
	if nHost > 1 {
		return &headError{msg: "too many Host headers"}
	}
	if h.chunked && h.contentLength >= 0 {
		return &headError{msg: "both Content-Length and Transfer-Encoding"}
	}
	if h.chunked {
		h.contentLength = -1
	}
	if !simpleURI(h.uri) {
		if err := h.parseURI(); err != nil {
			return err
		}
	} else if q := bytes.IndexByte(h.uri, '?'); q >= 0 {
		h.setPath(h.uri[:q])
	} else {
		h.setPath(h.uri)
	}
	if h.major < 1 {
		h.close = true
	} else if h.major == 1 && h.minor == 0 {
		h.close = h.connClose || !h.connKeepAlive
	} else {
		h.close = h.connClose
	}
	return nil
}

// setPath keeps the previous request's path string when it is the same, so that
// a keep-alive connection asking for the same paths allocates nothing.
func (h *reqHead) setPath(p []byte) {
	if string(p) != h.path {
		h.path = string(p)
	}
}

// parseURI handles what simpleURI does not: escapes, absolute form, CONNECT,
// "*". It accepts and rejects what net/http's ReadRequest does.
func (h *reqHead) parseURI() error {
	raw := string(h.uri)
	justAuthority := string(h.method) == "CONNECT" && (len(raw) == 0 || raw[0] != '/')
	if justAuthority {
		raw = "http://" + raw
	}
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		return &headError{msg: err.Error()}
	}
	h.path = u.Path
	if justAuthority {
		return nil
	}
	if u.IsAbs() {
		h.uri = []byte(u.RequestURI())
	}
	if u.Host != "" {
		h.host = []byte(u.Host)
	}
	return nil
}

// simpleURI reports whether uri is an origin-form path (and query) that needs no
// decoding: then the path is the part before "?".
func simpleURI(uri []byte) bool {
	if len(uri) == 0 || uri[0] != '/' {
		return false
	}
	for _, c := range uri {
		if c <= ' ' || c >= 0x7f || c == '%' || c == '#' {
			return false
		}
	}
	return true
}
