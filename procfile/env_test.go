package procfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		want  []EnvVar
	}{
		{"plain", "A=1\nB=two words\n", []EnvVar{{Key: "A", Value: "1", Line: 1}, {Key: "B", Value: "two words", Line: 2}}},
		{"export", "export A=1\nexport\tB=2\nexport=3\n", []EnvVar{{Key: "A", Value: "1", Line: 1}, {Key: "B", Value: "2", Line: 2}, {Key: "export", Value: "3", Line: 3}}},
		{"comments and blanks", "# c\n\n  # c2\nA=1\n", []EnvVar{{Key: "A", Value: "1", Line: 4}}},
		{"trailing comment stripped", "A=1 # one\nB=x\t# tab\nC=a#b\nD= # only comment\n", []EnvVar{
			{Key: "A", Value: "1", Line: 1}, {Key: "B", Value: "x", Line: 2}, {Key: "C", Value: "a#b", Line: 3}, {Key: "D", Value: "", Line: 4}}},
		{"empty value", "A=\nB=''\nC=\"\"\n", []EnvVar{{Key: "A", Line: 1}, {Key: "B", Line: 2}, {Key: "C", Line: 3}}},
		{"spaces around =", "A = 1\n", []EnvVar{{Key: "A", Value: "1", Line: 1}}},
		{"single quotes literal", `A='a\nb $X # not a comment'`, []EnvVar{{Key: "A", Value: `a\nb $X # not a comment`, Line: 1}}},
		{"double quote escapes", `A="l1\nl2\tt \"q\" back\\slash \$HOME \x"`, []EnvVar{{Key: "A", Value: "l1\nl2\tt \"q\" back\\slash $HOME \\x", Line: 1}}},
		{"quoted then comment", `A="x y" # c` + "\n" + `B='z'  # c`, []EnvVar{{Key: "A", Value: "x y", Line: 1}, {Key: "B", Value: "z", Line: 2}}},
		{"value with equals", "URL=postgres://u:p@h/db?a=b\n", []EnvVar{{Key: "URL", Value: "postgres://u:p@h/db?a=b", Line: 1}}},
		{"CRLF", "A=1\r\nB=\"2\"\r\n", []EnvVar{{Key: "A", Value: "1", Line: 1}, {Key: "B", Value: "2", Line: 2}}},
		{"repeated key kept in order", "A=1\nA=2\n", []EnvVar{{Key: "A", Value: "1", Line: 1}, {Key: "A", Value: "2", Line: 2}}},
		{"empty file", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseEnv(".env", strings.NewReader(tt.input))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			for i := range tt.want {
				tt.want[i].File = ".env"
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseEnvErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"missing =", "A=1\nDEBUG\n", []string{`.env:2: missing "=" after DEBUG; write DEBUG=VALUE (or DEBUG= for an empty value)`}},
		{"garbage", "hello world\n", []string{`.env:1: expected KEY=VALUE, got "hello world"`}},
		{"bad key", "1A=x\nA-B=y\n", []string{
			`.env:1: invalid variable name "1A": use letters, digits and "_", not starting with a digit`,
			`.env:2: invalid variable name "A-B": use letters, digits and "_", not starting with a digit`,
		}},
		{"unterminated single", "A='abc\n", []string{`.env:1: A: unterminated single quote; close it on the same line (values spanning lines are not supported)`}},
		{"unterminated double", "A=\"abc\\\"\n", []string{`.env:1: A: unterminated double quote; close it on the same line (values spanning lines are not supported; write \n for a newline)`}},
		{"text after quote", "A=\"a\"b\n", []string{`.env:1: A: unexpected text "b" after the closing quote; quote the whole value`}},
		{"all at once", "OK=1\nX\n=3\nY='\n", []string{
			`.env:2: missing "=" after X; write X=VALUE (or X= for an empty value)`,
			`.env:3: missing variable name before "="; write NAME=VALUE`,
			`.env:4: Y: unterminated single quote; close it on the same line (values spanning lines are not supported)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars, err := ParseEnv(".env", strings.NewReader(tt.input))
			if vars != nil {
				t.Errorf("got vars %v, want nil", vars)
			}
			if got := errLines(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLoadEnvFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a := write("a.env", "A=1\nB=1\n")
	b := write("b.env", "B=2\n")
	bad1 := write("bad1.env", "X\n")
	bad2 := write("bad2.env", "ok=1\n9=2\n")
	missing := filepath.Join(dir, "missing.env")

	t.Run("in order", func(t *testing.T) {
		got, err := LoadEnvFiles([]string{a, b}, false)
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		want := []EnvVar{{"A", "1", 1, a}, {"B", "1", 2, a}, {"B", "2", 1, b}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("optional missing skipped", func(t *testing.T) {
		got, err := LoadEnvFiles([]string{missing, b}, true)
		if err != nil || len(got) != 1 || got[0].Value != "2" {
			t.Errorf("got %+v, %v, want B=2 and no error", got, err)
		}
	})
	t.Run("explicit missing is an error", func(t *testing.T) {
		_, err := LoadEnvFiles([]string{a, missing}, false)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.env") {
			t.Errorf("got %v, want a not-exist error naming missing.env", err)
		}
	})
	t.Run("errors of all files", func(t *testing.T) {
		_, err := LoadEnvFiles([]string{bad1, a, bad2}, false)
		got := errLines(t, err)
		want := []string{
			bad1 + `:1: missing "=" after X; write X=VALUE (or X= for an empty value)`,
			bad2 + `:2: invalid variable name "9": use letters, digits and "_", not starting with a digit`,
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}
