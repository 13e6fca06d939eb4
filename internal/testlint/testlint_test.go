package testlint

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestCheckFindsEveryFixtureViolation runs the check over testdata/mod, whose files
// mark each call it must report with "// want CALL", and nothing else.
func TestCheckFindsEveryFixtureViolation(t *testing.T) {
	t.Parallel()
	root := filepath.Join("testdata", "mod")
	got, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	var gotLines []string
	for _, f := range got {
		gotLines = append(gotLines, fmt.Sprintf("%s:%d: %s", f.Pos.Filename, f.Pos.Line, f.Call))
	}
	want := wantMarks(t, filepath.Join(root, "a", "a_test.go"), "a/a_test.go")
	if !slices.Equal(gotLines, want) {
		t.Errorf("got findings\n\t%s\nwant\n\t%s", strings.Join(gotLines, "\n\t"), strings.Join(want, "\n\t"))
	}
}

var wantRE = regexp.MustCompile(`// want (\S+)`)

func wantMarks(t *testing.T, path, rel string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if m := wantRE.FindStringSubmatch(sc.Text()); m != nil {
			want = append(want, fmt.Sprintf("%s:%d: %s", rel, line, m[1]))
		}
	}
	return want
}

// TestNoFailNowOutsideTheTestGoroutine is the suite's rule: no t.Fatal, FailNow or
// Skip, directly or through a helper, on a goroutine the test did not run on.
func TestNoFailNowOutsideTheTestGoroutine(t *testing.T) {
	t.Parallel()
	got, err := Check(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range got {
		t.Error(f)
	}
}

// TestCIIsAskedOneWay: only tstest.InCI reads the CI variable (any non-empty value),
// so no test treats CI=1 as "not CI" because it compared with "true".
func TestCIIsAskedOneWay(t *testing.T) {
	const ciName = `"` + "CI" + `"` // spelt apart, not to find itself
	t.Parallel()
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (n == "testdata" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || filepath.ToSlash(path) == "../../internal/tstest/tool.go" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "Getenv("+ciName+")") || strings.Contains(line, "LookupEnv("+ciName+")") {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s:%d: reads CI itself; use tstest.InCI (or NeedTool, MissingTool, Condition)", filepath.ToSlash(rel), i+1)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
