package proxy

import (
	"bufio"
	"io"
	"strconv"
	"sync"
)

// Buffers are pooled so that a large body streams through a fixed 32 KiB buffer
// and each connection's bufio buffers are reused.
const (
	copyBufSize  = 32 << 10
	bufioBufSize = 4 << 10
)

type bufPools struct {
	readers sync.Pool
	writers sync.Pool
	copies  sync.Pool
}

func (p *Proxy) getReader(r io.Reader) *bufio.Reader {
	if br, ok := p.bufs.readers.Get().(*bufio.Reader); ok {
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, bufioBufSize)
}

func (p *Proxy) putReader(br *bufio.Reader) {
	if br != nil {
		br.Reset(nil)
		p.bufs.readers.Put(br)
	}
}

func (p *Proxy) getWriter(w io.Writer) *bufio.Writer {
	if bw, ok := p.bufs.writers.Get().(*bufio.Writer); ok {
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, bufioBufSize)
}

func (p *Proxy) putWriter(bw *bufio.Writer) {
	if bw != nil {
		bw.Reset(nil)
		p.bufs.writers.Put(bw)
	}
}

func (p *Proxy) getCopyBuf() *[]byte {
	if b, ok := p.bufs.copies.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, copyBufSize)
	return &b
}

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

// tunnel relays an upgraded connection (WebSocket) both ways until either side
// closes, then closes both. The request counts as in flight until then.
func (c *clientConn) tunnel(b *backend, bc *backendConn, fr *fwdReq, resp *respHead) {
	c.uncache(bc)
	w := c.bw
	w.WriteString("HTTP/1.1 ")
	w.Write(resp.status)
	w.WriteString("\r\n")
	for i := range resp.fields {
		if f := &resp.fields[i]; !f.dropped() {
			writeField(w, f)
		}
	}
	writeHeader(w, "X-Devcluster-Instance", b.id)
	w.WriteString("Connection: Upgrade\r\nUpgrade: ")
	w.Write(resp.upgrade)
	w.WriteString("\r\n\r\n")
	if err := w.Flush(); err != nil {
		c.p.closeBackendConn(bc)
		return
	}
	c.state.Store(connTunnel)
	if c.ctx.Err() != nil {
		c.p.closeBackendConn(bc)
		return
	}
	closeBoth := sync.OnceFunc(func() {
		c.conn.Close()
		bc.conn.Close()
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, _ := bc.br.WriteTo(c.conn)
		b.bytesOut.Add(uint64(n))
		closeBoth()
	}()
	n, _ := c.br.WriteTo(bc.conn)
	b.bytesIn.Add(uint64(n))
	closeBoth()
	<-done
	c.p.closeBackendConn(bc)
}
