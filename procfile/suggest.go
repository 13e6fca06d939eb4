package procfile

import (
	"fmt"
	"strings"
)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "command"?)` for a near miss among known,
// or the list of known keys when nothing is close.
func suggest(s string, known []string) string {
	if near := closest(s, known); near != "" {
		return fmt.Sprintf(" (did you mean %q?)", near)
	}
	return " (known: " + strings.Join(known, ", ") + ")"
}

// closest returns the entry of known nearest to s when it is a plausible
// typo of it (two edits, or a third of a long word), or "".
func closest(s string, known []string) string {
	best, bestDist := "", 1<<30
	for _, k := range known {
		d := editDistance(strings.ToLower(s), k)
		if d < bestDist && d <= max(2, len(k)/3) && d < len(k) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, capped in
// effort for long inputs (anything past 64 bytes is far from every key).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
