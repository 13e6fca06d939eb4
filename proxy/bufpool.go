package proxy

import (
	"bufio"
	"io"
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
