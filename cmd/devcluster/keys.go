package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// keyReader reads `up`'s terminal for r + Enter. A goroutine blocked in read(2) on a
// terminal cannot be woken, so for a file (the terminal, a pipe) keyReader waits in
// poll(2) on the file and on a wake pipe, and reads only once input is there:
// interrupt ends it at once, and no goroutine outlives the cluster. Setting
// O_NONBLOCK on stdin instead would change the terminal's shared file description
// under the user's shell. Any other reader (tests) is read as it is, and must end.
type keyReader struct {
	r            io.Reader
	wakeR, wakeW *os.File // nil unless r is a file
	quit         chan struct{}
}

func newKeyReader(r io.Reader) *keyReader {
	k := &keyReader{r: r, quit: make(chan struct{})}
	if r == nil {
		k.r = eofReader{}
		return k
	}
	if f, ok := r.(*os.File); ok {
		if wr, ww, err := os.Pipe(); err == nil {
			k.r = &polledFile{fd: int(f.Fd()), wake: int(wr.Fd())}
			k.wakeR, k.wakeW = wr, ww
		}
	}
	return k
}

// run calls reload for every line that is just "r", until the input ends; then it
// waits for interrupt, as an actor whose end is not a reason to stop the cluster.
func (k *keyReader) run(reload func()) error {
	if k.wakeR != nil {
		defer k.wakeR.Close()
	}
	readReloadKeys(k.r, reload)
	<-k.quit
	return nil
}

// interrupt wakes run's poll and ends run.
func (k *keyReader) interrupt() {
	close(k.quit)
	if k.wakeW != nil {
		k.wakeW.Close()
	}
}

// readReloadKeys calls reload for every line of r that is just "r" (r + Enter on the
// terminal of up), until r ends.
func readReloadKeys(r io.Reader, reload func()) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "r" {
			reload()
		}
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// polledFile reads fd only when poll(2) says it has input, and ends (io.EOF) as soon
// as the wake descriptor is readable or closed.
type polledFile struct {
	fd, wake int
}

func (p *polledFile) Read(b []byte) (int, error) {
	for {
		fds := []unix.PollFd{
			{Fd: int32(p.fd), Events: unix.POLLIN},
			{Fd: int32(p.wake), Events: unix.POLLIN},
		}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return 0, err
		}
		if fds[1].Revents != 0 || fds[0].Revents&unix.POLLNVAL != 0 {
			return 0, io.EOF
		}
		if fds[0].Revents == 0 {
			continue
		}
		n, err := unix.Read(p.fd, b)
		switch {
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN):
			continue
		case err != nil:
			return 0, err
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}
