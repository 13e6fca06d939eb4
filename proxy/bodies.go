package proxy

import (
	"bufio"
	"errors"
	"io"
	"net/http/httputil"
	"time"
)

// The readers of message bodies and heads: each bounds or counts what it reads
// from a connection's bufio.Reader.

// connReader limits how much the request header may take (→ 431), as net/http does.
type connReader struct {
	conn   io.Reader
	remain int64
	hit    bool
}

func (r *connReader) Read(p []byte) (int, error) {
	if r.remain <= 0 {
		r.hit = true
		return 0, io.EOF
	}
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	n, err := r.conn.Read(p)
	r.remain -= int64(n)
	return n, err
}

// countingReader counts what was read of a request body, to know whether a
// retry is still possible and whether the client connection can be reused.
// Each read must bring data within timeout (Config.BodyTimeout, when dl is set):
// a client that sends part of a body and then nothing does not pin an instance
// connection for ever.
type countingReader struct {
	r       io.Reader
	n       int64
	eof     bool
	readErr error
	dl      *lazyDeadline // the client connection's read deadline; nil: none
	timeout time.Duration
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.dl != nil {
		c.dl.set(time.Now(), c.timeout)
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err == io.EOF {
		c.eof = true
	} else if err != nil {
		c.readErr = err
	}
	return n, err
}

// lengthReader reads a body of known length from the connection's reader.
type lengthReader struct {
	r *bufio.Reader
	n int64
}

func (l *lengthReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if err == io.EOF && l.n > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// chunkedReader decodes a chunked body and consumes its trailer section, which is
// not passed on.
type chunkedReader struct {
	br   *bufio.Reader
	cr   io.Reader
	done bool
}

func newChunkedReader(br *bufio.Reader) *chunkedReader {
	return &chunkedReader{br: br, cr: httputil.NewChunkedReader(br)}
}

// maxTrailerBytes bounds the trailer section of a chunked body.
const maxTrailerBytes = 64 << 10

var errTrailerTooLarge = errors.New("chunked trailer too large")

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	n, err := c.cr.Read(p)
	if err == io.EOF {
		read, midLine := 0, false
		for {
			line, lerr := c.br.ReadSlice('\n')
			read += len(line)
			if lerr == nil && !midLine && (len(line) == 1 || len(line) == 2 && line[0] == '\r') {
				break
			}
			if read > maxTrailerBytes {
				return n, errTrailerTooLarge
			}
			if lerr != nil && lerr != bufio.ErrBufferFull {
				return n, unexpected(lerr)
			}
			midLine = lerr == bufio.ErrBufferFull
		}
		c.done = true
	}
	return n, err
}
