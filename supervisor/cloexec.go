package supervisor

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// MarkInheritedCloseOnExec marks every descriptor above 2 close-on-exec. A
// descriptor the launching shell left open without the flag (`exec 7<secret;
// devcluster up`) would otherwise be open in every instance, and in everything
// they start. Go opens its own descriptors close-on-exec, and os/exec re-opens
// the ones it passes on purpose (stdio, ExtraFiles) in the child, so nothing
// devcluster means to pass is lost. Run calls it before the first fork; cmd may
// call it at start, before anything else forks.
func MarkInheritedCloseOnExec() error {
	if markAllCloseOnExec() == nil {
		return nil
	}
	return markListedCloseOnExec()
}

// markListedCloseOnExec is the fallback where close_range is missing (Linux before
// 5.11, macOS): every descriptor the fd directory lists, or, without one, every
// number up to the descriptor limit.
func markListedCloseOnExec() error {
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		f, err := os.Open(dir)
		if err != nil {
			continue
		}
		names, err := f.Readdirnames(-1)
		_ = f.Close() // its own descriptor is listed too; setting the flag on it is harmless
		if err != nil {
			continue
		}
		var errs []error
		for _, n := range names {
			if fd, err := strconv.Atoi(n); err == nil && fd > 2 {
				errs = append(errs, setCloseOnExec(fd))
			}
		}
		return errors.Join(errs...)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	limit := int(min(uint64(lim.Cur), 1<<16)) // Cur is int64 on some systems
	for fd := 3; fd < limit; fd++ {
		_ = setCloseOnExec(fd)
	}
	return nil
}

// setCloseOnExec sets FD_CLOEXEC on fd; a descriptor closed meanwhile is no error.
func setCloseOnExec(fd int) error {
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if errors.Is(err, unix.EBADF) {
		return nil
	}
	if err != nil {
		return err
	}
	if flags&unix.FD_CLOEXEC != 0 {
		return nil
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags|unix.FD_CLOEXEC)
	if errors.Is(err, unix.EBADF) {
		return nil
	}
	return err
}
