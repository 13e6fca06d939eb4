package localca

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemStoreThroughSudo: a user who is not root gets the system store's
// commands through sudo (the certificate copied by sudo install, the update
// run by sudo), never devcluster itself as root. The commands are recorded,
// not run.
func TestSystemStoreThroughSudo(t *testing.T) {
	t.Parallel()
	ca, err := Open(Config{Dir: filepath.Join(t.TempDir(), "devcluster")})
	if err != nil {
		t.Fatal(err)
	}
	var ran []string
	var out bytes.Buffer
	s := Stores{GOOS: "linux", System: true, Sudo: true, Out: &out,
		Run: func(_ context.Context, name string, args ...string) ([]byte, error) {
			ran = append(ran, name+" "+strings.Join(args, " "))
			return nil, nil
		}}
	if err := s.Install(context.Background(), ca); err != nil {
		t.Fatal(err)
	}
	dst := "/usr/local/share/ca-certificates/devcluster-local-ca-" + ca.Certificate().SerialNumber.Text(16) + ".crt"
	if len(ran) != 2 || ran[0] != "sudo install -D -m 0644 "+ca.CertPath()+" "+dst ||
		!strings.HasPrefix(ran[1], "sudo ") || !strings.HasSuffix(ran[1], "update-ca-certificates") {
		t.Errorf("ran %q, want sudo install of the CA to %s, then sudo update-ca-certificates", ran, dst)
	}
}
