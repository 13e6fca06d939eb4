package localca

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Stores says where `devcluster trust` installs the CA, and is the only code in
// devcluster that changes a trust store: nothing else installs anything.
//
// On Linux that is the system store (Debian's /usr/local/share/ca-certificates
// and update-ca-certificates, which curl, Python's requests through certifi's
// fallback, and Go read) and NSS databases (Chromium's ~/.pki/nssdb, Firefox's
// profiles) through certutil from libnss3-tools. On macOS the commands are
// printed for the user to run: the login keychain asks for a password in a
// dialog devcluster should not trigger behind the user's back.
type Stores struct {
	// GOOS is the system: "darwin" prints the security commands; anything else
	// is treated as Linux.
	GOOS string
	// System says whether the system store is changed at all (trust --no-system).
	System bool
	// SystemRoot is the root the system store lives under, "" or "/" for the
	// real one. Another root is a private copy of its tree (tests, images being
	// built): the certificate goes to ROOT/usr/local/share/ca-certificates and
	// update-ca-certificates is pointed at ROOT's directories.
	SystemRoot string
	// Sudo runs the system store's commands through sudo (a user who is not
	// root, on the real system root), as mkcert does, instead of asking the user
	// to run all of devcluster as root (which would give it root's HOME and so
	// root's browser databases).
	Sudo bool
	// NSSDBs are the NSS database directories to install into (certutil -d
	// sql:DIR); the first is created when missing (a browser that has never run),
	// the others only used when they exist. See DefaultNSSDBs.
	NSSDBs []string
	// Run runs a command and returns its combined output; nil → os/exec.
	Run func(ctx context.Context, name string, args ...string) ([]byte, error)
	// Out receives one line per store changed or command to run.
	Out io.Writer
}

// DefaultNSSDBs are the NSS databases of the user whose HOME getenv gives:
// ~/.pki/nssdb (Chromium, and Firefox built to use the shared database), then
// each Firefox profile that has a database.
func DefaultNSSDBs(getenv func(string) string) []string {
	home := getenv("HOME")
	if home == "" {
		return nil
	}
	dbs := []string{filepath.Join(home, ".pki", "nssdb")}
	for _, pattern := range []string{
		filepath.Join(home, ".mozilla", "firefox", "*", "cert9.db"),
		filepath.Join(home, "snap", "firefox", "common", ".mozilla", "firefox", "*", "cert9.db"),
	} {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			dbs = append(dbs, filepath.Dir(m))
		}
	}
	return dbs
}

// SystemCertFile is where the CA goes in the system store under root: a .crt
// file (update-ca-certificates reads only those) named for this CA.
func (s Stores) SystemCertFile(ca *CA) string {
	return filepath.Join(s.root(), "usr", "local", "share", "ca-certificates",
		"devcluster-local-ca-"+ca.Certificate().SerialNumber.Text(16)+".crt")
}

func (s Stores) root() string {
	if s.SystemRoot == "" {
		return "/"
	}
	return s.SystemRoot
}

// Install installs ca in every store, going on past a store that fails so
// that one missing tool does not leave the others undone; the error names
// each store that failed.
func (s Stores) Install(ctx context.Context, ca *CA) error {
	if s.GOOS == "darwin" {
		fmt.Fprintf(s.Out, "to trust the local CA on macOS, run:\n  sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain %s\n",
			shellQuote(ca.CertPath()))
		fmt.Fprintf(s.Out, "(Firefox keeps its own store: Settings → Privacy & Security → Certificates → Import %s)\n", ca.CertPath())
		return nil
	}
	var errs []error
	if s.System {
		errs = append(errs, s.installSystem(ctx, ca))
	}
	errs = append(errs, s.eachNSS(ctx, ca, true))
	return errors.Join(errs...)
}

// Uninstall removes ca from every store it is in.
func (s Stores) Uninstall(ctx context.Context, ca *CA) error {
	if s.GOOS == "darwin" {
		fmt.Fprintf(s.Out, "to remove the local CA on macOS, run:\n  sudo security remove-trusted-cert -d %s\n  sudo security delete-certificate -c %s /Library/Keychains/System.keychain\n",
			shellQuote(ca.CertPath()), shellQuote(ca.Certificate().Subject.CommonName))
		return nil
	}
	var errs []error
	if s.System {
		errs = append(errs, s.uninstallSystem(ctx, ca))
	}
	errs = append(errs, s.eachNSS(ctx, ca, false))
	return errors.Join(errs...)
}

func (s Stores) installSystem(ctx context.Context, ca *CA) error {
	dst := s.SystemCertFile(ca)
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, ca.CertPEM()) {
		fmt.Fprintf(s.Out, "the system store already has the local CA (%s)\n", dst)
		return nil
	}
	if s.Sudo {
		if _, err := s.run(ctx, "sudo", "install", "-D", "-m", "0644", ca.CertPath(), dst); err != nil {
			return fmt.Errorf("system store: %w", err)
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("system store: %w", err)
		}
		if err := writeFileAtomic(dst, ca.CertPEM(), 0o644); err != nil {
			return fmt.Errorf("system store: %w", err)
		}
	}
	if err := s.updateSystem(ctx, false); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "installed the local CA in the system store (%s, update-ca-certificates)\n", dst)
	return nil
}

func (s Stores) uninstallSystem(ctx context.Context, ca *CA) error {
	dst := s.SystemCertFile(ca)
	if _, err := os.Stat(dst); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(s.Out, "the system store does not have the local CA (no %s)\n", dst)
		return nil
	}
	if s.Sudo {
		if _, err := s.run(ctx, "sudo", "rm", "-f", dst); err != nil {
			return fmt.Errorf("system store: %w", err)
		}
	} else if err := os.Remove(dst); err != nil {
		return fmt.Errorf("system store: %w", err)
	}
	if err := s.updateSystem(ctx, true); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "removed the local CA from the system store (%s)\n", dst)
	return nil
}

// updateSystem runs update-ca-certificates, pointed at SystemRoot's tree when
// that is not the real one. After a removal it runs with --fresh: without it
// the tool rebuilds the bundle but leaves the removed certificate's link in
// /etc/ssl/certs, where OpenSSL's hashed lookup would still find a dangling name.
func (s Stores) updateSystem(ctx context.Context, fresh bool) error {
	tool, err := exec.LookPath("update-ca-certificates")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/update-ca-certificates"); serr != nil {
			return errors.New("system store: update-ca-certificates is not installed (sudo apt-get install ca-certificates); " +
				"on a system without it, skip the system store with --no-system")
		}
		tool = "/usr/sbin/update-ca-certificates"
	}
	var args []string
	if r := s.root(); r != "/" {
		args = []string{
			"--certsconf", filepath.Join(r, "etc", "ca-certificates.conf"),
			"--certsdir", filepath.Join(r, "usr", "share", "ca-certificates"),
			"--localcertsdir", filepath.Join(r, "usr", "local", "share", "ca-certificates"),
			"--etccertsdir", filepath.Join(r, "etc", "ssl", "certs"),
			"--hooksdir", filepath.Join(r, "etc", "ca-certificates", "update.d"),
		}
	}
	if fresh {
		args = append(args, "--fresh")
	}
	name := tool
	if s.Sudo {
		name, args = "sudo", append([]string{tool}, args...)
	}
	if _, err := s.run(ctx, name, args...); err != nil {
		return fmt.Errorf("system store: %w", err)
	}
	return nil
}

// eachNSS installs (or removes) ca in each NSS database.
func (s Stores) eachNSS(ctx context.Context, ca *CA, install bool) error {
	if len(s.NSSDBs) == 0 {
		return nil
	}
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		return fmt.Errorf("NSS databases (Chromium, Firefox): certutil is not installed; install it with: sudo apt-get install libnss3-tools, then run devcluster trust again")
	}
	var errs []error
	for i, db := range s.NSSDBs {
		if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
			if !install || i > 0 {
				continue
			}
			if err := s.createNSS(ctx, certutil, db); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		sqlDB := "sql:" + db
		_, lookErr := s.run(ctx, certutil, "-d", sqlDB, "-L", "-n", ca.Name())
		has := lookErr == nil
		switch {
		case install && has:
			fmt.Fprintf(s.Out, "the NSS database %s already has the local CA\n", db)
		case install:
			if _, err := s.run(ctx, certutil, "-d", sqlDB, "-A", "-t", "C,,", "-n", ca.Name(), "-i", ca.CertPath()); err != nil {
				errs = append(errs, fmt.Errorf("NSS database %s: %w", db, err))
				continue
			}
			fmt.Fprintf(s.Out, "installed the local CA in the NSS database %s (restart the browser to use it)\n", db)
		case has:
			if _, err := s.run(ctx, certutil, "-d", sqlDB, "-D", "-n", ca.Name()); err != nil {
				errs = append(errs, fmt.Errorf("NSS database %s: %w", db, err))
				continue
			}
			fmt.Fprintf(s.Out, "removed the local CA from the NSS database %s\n", db)
		default:
			fmt.Fprintf(s.Out, "the NSS database %s does not have the local CA\n", db)
		}
	}
	return errors.Join(errs...)
}

// createNSS makes an empty NSS database with no password, as Chromium makes on
// its first start, so a CA installed before the browser ever ran is there.
func (s Stores) createNSS(ctx context.Context, certutil, db string) error {
	if err := os.MkdirAll(db, 0o700); err != nil {
		return fmt.Errorf("NSS database %s: %w", db, err)
	}
	if _, err := s.run(ctx, certutil, "-d", "sql:"+db, "-N", "--empty-password"); err != nil {
		return fmt.Errorf("NSS database %s: create it: %w", db, err)
	}
	return nil
}

func (s Stores) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	run := s.Run
	if run == nil {
		run = func(ctx context.Context, name string, args ...string) ([]byte, error) {
			return exec.CommandContext(ctx, name, args...).CombinedOutput()
		}
	}
	out, err := run(ctx, name, args...)
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./@=+:,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
