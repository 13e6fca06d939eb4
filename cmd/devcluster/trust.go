package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/localca"
)

// trustFlags are trust's flags; each store location also has an environment
// variable, so that a test (or an image build) can point every devcluster it
// runs at a private store.
type trustFlags struct {
	uninstall  bool
	path       bool
	noSystem   bool
	systemRoot string   // DEVCLUSTER_SYSTEM_ROOT
	nssdbs     []string // DEVCLUSTER_NSSDB, a list separated by ":"
}

func newTrustCmd(e *env) *cobra.Command {
	var f trustFlags
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Install the local CA behind up --https where browsers and tools look for it (--uninstall removes it)",
		Long: `devcluster trust installs devcluster's local CA, made once per user in
$XDG_DATA_HOME/devcluster (else ~/.local/share/devcluster), into this system's
trust stores: on Debian the system store (/usr/local/share/ca-certificates and
update-ca-certificates, through sudo when you are not root) and the NSS database
Chromium and Firefox read (~/.pki/nssdb, through certutil from libnss3-tools),
and each Firefox profile; on macOS it prints the security command to run.
Nothing is installed by any other command. --uninstall removes it again.
--path prints the CA certificate's file (making the CA if there is none yet),
for tools that take one: curl --cacert "$(devcluster trust --path)".

The stores can be redirected (tests, image builds): --system-root DIR
(DEVCLUSTER_SYSTEM_ROOT) for a private copy of the system tree, --nssdb DIR
(DEVCLUSTER_NSSDB, a ":" list) for the NSS databases.`,
		Example: `  devcluster trust
  devcluster trust --uninstall
  curl --cacert "$(devcluster trust --path)" https://localhost:8443/`,
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.path && f.uninstall {
				return usage(errors.New("--path and --uninstall do not go together"), "devcluster trust --path")
			}
			dir, err := localca.DefaultDir(e.getenv)
			if err != nil {
				return err
			}
			ca, err := localca.Open(localca.Config{Dir: dir, Logf: func(format string, a ...any) {
				fmt.Fprintf(e.stderr, format+"\n", a...)
			}})
			if err != nil {
				return err
			}
			if f.path {
				fmt.Fprintln(e.stdout, ca.CertPath())
				return nil
			}
			stores := trustStores(e, &f)
			if f.uninstall {
				return stores.Uninstall(cmd.Context(), ca)
			}
			if err := stores.Install(cmd.Context(), ca); err != nil {
				return withHint(err, "devcluster trust --no-system   (only the browsers' NSS databases), or fix the store named above")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&f.uninstall, "uninstall", false, "remove the local CA from the stores trust installed it in")
	cmd.Flags().BoolVar(&f.path, "path", false, "print the CA certificate's path and install nothing")
	cmd.Flags().BoolVar(&f.noSystem, "no-system", false, "leave the system store alone; only the NSS databases (browsers)")
	cmd.Flags().StringVar(&f.systemRoot, "system-root", "", "root of the system store's tree (default / ; also DEVCLUSTER_SYSTEM_ROOT)")
	cmd.Flags().StringArrayVar(&f.nssdbs, "nssdb", nil, "NSS database directory (repeatable; default ~/.pki/nssdb and Firefox's profiles; also DEVCLUSTER_NSSDB)")
	return cmd
}

// trustStores resolves the flags, then the environment, then the defaults.
func trustStores(e *env, f *trustFlags) localca.Stores {
	root := cmpOr(f.systemRoot, e.getenv("DEVCLUSTER_SYSTEM_ROOT"))
	dbs := f.nssdbs
	if len(dbs) == 0 {
		if v := e.getenv("DEVCLUSTER_NSSDB"); v != "" {
			dbs = filepath.SplitList(v)
		} else {
			dbs = localca.DefaultNSSDBs(e.getenv)
		}
	}
	for i, db := range dbs {
		if !filepath.IsAbs(db) {
			dbs[i] = filepath.Join(e.cwd, db)
		}
	}
	return localca.Stores{
		GOOS:       runtime.GOOS,
		System:     !f.noSystem,
		SystemRoot: root,
		Sudo:       os.Geteuid() != 0 && (root == "" || root == "/"),
		NSSDBs:     dbs,
		Out:        e.stdout,
	}
}
