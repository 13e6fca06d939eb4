package proxy

import (
	"bufio"
	"io"
	"strconv"
)

// copyBody streams a request body to the instance, chunked when its length is
// unknown. It flushes whenever the client has nothing more buffered, so the
// instance sees the first bytes of a large upload while the rest is in flight.
func (c *clientConn) copyBody(dst *bufio.Writer, src io.Reader, chunked bool, from *bufio.Reader) (int64, error) {
	n, rerr, werr := c.copyFlushing(dst, src, chunked, from)
	if werr != nil {
		return n, werr
	}
	return n, rerr
}

// copyResponseBody streams a response body to the client. It flushes whenever
// the instance has nothing more buffered: an SSE event or a chunk reaches the
// client as soon as it arrived, while a small response goes out in one write.
func (c *clientConn) copyResponseBody(src io.Reader, chunked bool, from *bufio.Reader) (n int64, rerr, werr error) {
	return c.copyFlushing(c.bw, src, chunked, from)
}

func (c *clientConn) copyFlushing(dst *bufio.Writer, src io.Reader, chunked bool, from *bufio.Reader) (n int64, rerr, werr error) {
	bp := c.p.getCopyBuf()
	defer c.p.bufs.copies.Put(bp)
	buf := *bp
	for {
		nr, er := src.Read(buf)
		if nr > 0 {
			if dst == c.bw {
				c.armWrite() // ClientWriteTimeout counts per write: a stream may be long
			}
			if chunked {
				c.scratch = strconv.AppendInt(c.scratch[:0], int64(nr), 16)
				c.scratch = append(c.scratch, '\r', '\n')
				dst.Write(c.scratch)
			}
			_, werr = dst.Write(buf[:nr])
			if chunked && werr == nil {
				_, werr = dst.WriteString("\r\n")
			}
			n += int64(nr)
			if werr == nil && from.Buffered() == 0 {
				werr = dst.Flush()
			}
			if werr != nil {
				return n, nil, werr
			}
		}
		if er == io.EOF {
			break
		}
		if er != nil {
			return n, er, nil
		}
	}
	if chunked {
		_, werr = dst.WriteString("0\r\n\r\n")
	}
	return n, nil, werr
}
