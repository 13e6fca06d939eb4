package textdiff

import (
	"strings"
	"testing"
)

func TestUnified(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, a, b, want string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"one line changed", "a\nb\nc\n", "a\nB\nc\n", "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c"},
		{"added at the end", "a\n", "a\nb\n", "@@ -1,1 +1,2 @@\n a\n+b"},
		{"from nothing", "", "x\n", "@@ -0,0 +1,1 @@\n+x"},
		{"two hunks far apart", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "1\nX\n3\n4\n5\n6\n7\n8\n9\n10\nY\n12\n",
			"@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n@@ -8,5 +8,5 @@\n 8\n 9\n 10\n-11\n+Y\n 12"},
		{"to nothing", "x\n", "", "@@ -1,1 +0,0 @@\n-x"},
		{"close changes share a hunk", "1\n2\n3\n4\n5\n", "X\n2\n3\n4\nY\n", "@@ -1,5 +1,5 @@\n-1\n+X\n 2\n 3\n 4\n-5\n+Y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Unified("a", "b", tt.a, tt.b)
			if got[0] != "--- a" || got[1] != "+++ b" {
				t.Fatalf("header: got %q", got[:2])
			}
			if s := strings.Join(got[2:], "\n"); s != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", s, tt.want)
			}
		})
	}
}

func TestUnifiedRefusesHugeTexts(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x\n", 3000)
	got := Unified("a", "b", big, big+"y\n")
	if len(got) != 3 || !strings.Contains(got[2], "too long to diff: 3000 and 3001 lines") {
		t.Errorf("got %q", got)
	}
}
