package supervisor

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// inheritedFD opens /dev/null as fd the way a launching shell's `exec 7<secret`
// leaves it: without close-on-exec. fd is high so that it cannot be one of the
// runtime's own descriptors.
func inheritedFD(t *testing.T, fd int) {
	t.Helper()
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
		t.Fatalf("fd %d is already open", fd)
	}
	tmp, err := unix.Open("/dev/null", unix.O_RDONLY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(tmp)
	if err := unix.Dup3(tmp, fd, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
}

// TestInheritedFDNotInInstances is issue 10 item 11: a descriptor devcluster
// inherited without close-on-exec was open in every instance.
// Not parallel: another test's Run would mark fd too and hide a missing call.
func TestInheritedFDNotInInstances(t *testing.T) {
	const fd = 907
	inheritedFD(t, fd)
	tag := newTag(t)
	c := startCluster(t, tag, Config{Specs: []InstanceSpec{helperSpec(tag, "worker.1", 0, "fds")}})
	line := c.waitLine("worker.1", "FDS ")
	if fds := strings.Fields(strings.TrimPrefix(line, "FDS ")); slices.Contains(fds, strconv.Itoa(fd)) {
		t.Errorf("instance's descriptors: got %v, want no %d", fds, fd)
	}
}

// TestMarkListedCloseOnExec covers the fallback for kernels without close_range.
func TestMarkListedCloseOnExec(t *testing.T) {
	t.Parallel()
	const fd = 908
	inheritedFD(t, fd)
	if err := markListedCloseOnExec(); err != nil {
		t.Fatal(err)
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("fd %d flags: got %#x %v, want FD_CLOEXEC", fd, flags, err)
	}
}
