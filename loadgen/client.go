package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"
)

// conn is one virtual user's HTTP/1.1 connection: a request written from a
// prepared head, the response head read and scanned for the few fields load
// needs, the body read and discarded. It is not net/http's client because that
// one allocates a Request, a Response, a Header map and a body reader per
// request, which costs a third of the rate wrk reaches on the same connections;
// load is compared with wrk (bench/load.sh).
type conn struct {
	g      *Generator
	nc     net.Conn
	br     *bufio.Reader
	wbuf   []byte
	jar    cookieJar
	reused bool   // the connection served a request before this one
	inst   string // the last instance name read, interned
}

// answer is what one request brought back.
type answer struct {
	status   int
	instance string // the instance header's value, "" if none
	bytes    int64  // body bytes read
}

// Failure causes, as the receipt and --json name them.
const (
	CauseConnect  = "connect"      // the connection could not be made
	CauseTimeout  = "timeout"      // no complete answer within Config.Timeout
	CauseReset    = "reset"        // the connection was reset or closed before the answer ended
	CauseBad      = "bad response" // bytes that are not an HTTP/1.1 answer
	CauseStatus5x = "HTTP 5xx"     // prefix: "HTTP 502", "HTTP 503"
)

// do sends one request and reads its answer. A request on a reused
// connection that fails before any answer byte is sent again once on a new
// connection, as browsers and net/http do: the server closed an idle
// keep-alive connection, which is no failure of the cluster.
func (c *conn) do(ctx context.Context, deadline time.Time) (answer, error) {
	a, err, sent := c.try(ctx, deadline)
	if err != nil && c.reused && !sent {
		c.close()
		a, err, _ = c.try(ctx, deadline)
	}
	if err != nil || !c.g.cfg.KeepAlive {
		c.close()
	}
	return a, err
}

// try is one attempt; sent reports whether any answer byte came.
func (c *conn) try(ctx context.Context, deadline time.Time) (a answer, err error, sent bool) {
	if c.nc == nil {
		if err := c.dial(ctx, deadline); err != nil {
			return a, err, false
		}
	} else {
		c.reused = true
	}
	if err := c.nc.SetDeadline(deadline); err != nil {
		return a, &failure{CauseReset, err}, false
	}
	c.wbuf = c.g.appendRequest(c.wbuf[:0], &c.jar)
	if _, err := c.nc.Write(c.wbuf); err != nil {
		return a, classify(err), false
	}
	a, err, sent = c.readAnswer()
	return a, err, sent
}

func (c *conn) dial(ctx context.Context, deadline time.Time) error {
	d := net.Dialer{Deadline: deadline}
	nc, err := d.DialContext(ctx, "tcp", c.g.addr)
	if err != nil {
		if isTimeout(err) {
			return &failure{CauseTimeout, err}
		}
		return &failure{CauseConnect, err}
	}
	if tcp, ok := nc.(*net.TCPConn); ok {
		tcp.SetNoDelay(true)
	}
	if c.g.tls != nil {
		tc := tls.Client(nc, c.g.tls)
		tc.SetDeadline(deadline)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return &failure{CauseConnect, fmt.Errorf("TLS handshake: %w", err)}
		}
		nc = tc
	}
	c.nc = nc
	c.reused = false
	if c.br == nil {
		c.br = bufio.NewReaderSize(nc, 16<<10)
	} else {
		c.br.Reset(nc)
	}
	return nil
}

func (c *conn) close() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}

// readAnswer reads a response head and its body. Interim 1xx answers are
// skipped.
func (c *conn) readAnswer() (a answer, err error, sent bool) {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return a, classify(err), len(line) > 0
		}
		sent = true
		status, ok := parseStatusLine(line)
		if !ok {
			return a, &failure{CauseBad, fmt.Errorf("status line %q", bytes.TrimSpace(line))}, true
		}
		a.status = status
		h, err := c.readHeaders(&a)
		if err != nil {
			return a, err, true
		}
		if status >= 100 && status < 200 {
			continue
		}
		n, err := c.readBody(h, status)
		a.bytes = n
		if err != nil {
			return a, err, true
		}
		if h.close {
			c.close()
		}
		return a, nil, true
	}
}

// head is what readHeaders found.
type head struct {
	length  int64 // -1: not given
	chunked bool
	close   bool
}

var (
	hContentLength    = []byte("content-length")
	hTransferEncoding = []byte("transfer-encoding")
	hConnection       = []byte("connection")
	hSetCookie        = []byte("set-cookie")
)

func (c *conn) readHeaders(a *answer) (head, error) {
	h := head{length: -1}
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return h, &failure{CauseBad, errors.New("a header line over 16 KiB")}
			}
			return h, classify(err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return h, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return h, &failure{CauseBad, fmt.Errorf("header line %q", line)}
		}
		value = bytes.TrimSpace(value)
		switch {
		case len(name) == len(c.g.instLower) && asciiEqualFold(name, c.g.instLower):
			if string(value) != c.inst { // no allocation: the compiler compares in place
				c.inst = c.g.intern(value)
			}
			a.instance = c.inst
		case asciiEqualFold(name, hContentLength):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return h, &failure{CauseBad, fmt.Errorf("Content-Length %q", value)}
			}
			h.length = n
		case asciiEqualFold(name, hTransferEncoding):
			h.chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
		case asciiEqualFold(name, hConnection):
			h.close = bytes.Contains(bytes.ToLower(value), []byte("close"))
		case c.g.cfg.Cookies && asciiEqualFold(name, hSetCookie):
			c.jar.set(string(value), c.g.now())
		}
	}
}

// readBody discards the body and returns its length.
func (c *conn) readBody(h head, status int) (int64, error) {
	if c.g.cfg.Method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified {
		return 0, nil
	}
	switch {
	case h.chunked:
		return c.readChunked()
	case h.length >= 0:
		n, err := c.br.Discard(int(h.length))
		if err != nil {
			return int64(n), classify(err)
		}
		return int64(n), nil
	default: // to the end of the connection
		n, err := io.Copy(io.Discard, c.br)
		c.close()
		if err != nil {
			return n, classify(err)
		}
		return n, nil
	}
}

func (c *conn) readChunked() (int64, error) {
	var total int64
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return total, classify(err)
		}
		size := bytes.TrimSpace(line)
		if i := bytes.IndexByte(size, ';'); i >= 0 {
			size = size[:i]
		}
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil || n < 0 {
			return total, &failure{CauseBad, fmt.Errorf("chunk size %q", size)}
		}
		if n == 0 {
			for { // trailers, then the empty line
				line, err := c.br.ReadSlice('\n')
				if err != nil {
					return total, classify(err)
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return total, nil
				}
			}
		}
		d, err := c.br.Discard(int(n) + 2) // the chunk and its CRLF
		total += int64(max(d-2, 0))
		if err != nil {
			return total, classify(err)
		}
	}
}

// parseStatusLine reads "HTTP/1.1 200 OK".
func parseStatusLine(line []byte) (int, bool) {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false
	}
	n := 0
	for _, b := range line[9:12] {
		if b < '0' || b > '9' {
			return 0, false
		}
		n = n*10 + int(b-'0')
	}
	return n, true
}

func asciiEqualFold(a, lower []byte) bool {
	if len(a) != len(lower) {
		return false
	}
	for i, b := range a {
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if b != lower[i] {
			return false
		}
	}
	return true
}

// failure is a request that got no complete answer, with its cause.
type failure struct {
	cause string
	err   error
}

func (f *failure) Error() string { return f.cause + ": " + f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// classify names the cause of a read or write error.
func classify(err error) error {
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	switch {
	case isTimeout(err):
		return &failure{CauseTimeout, err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return &failure{CauseReset, err}
	}
	return &failure{CauseReset, err}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
