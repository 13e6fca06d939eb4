// Package textdiff makes unified diffs of small texts, for showing how two
// answers differ (devcluster probe). It compares by longest common
// subsequence of lines: quadratic, so meant for pages and API answers, and it
// refuses (with a line saying so) texts over about 2000 lines each.
package textdiff

import (
	"fmt"
	"strings"
)

// diffContext is the number of unchanged lines shown around a change.
const diffContext = 3

// maxDiffCells bounds the LCS table: bodies longer than ~2000 lines each are
// reported as different without a diff.
const maxDiffCells = 4_000_000

// Unified returns the lines of a unified diff of b against a, as `diff -u`
// prints them (3 lines of context), headed "--- nameA" and "+++ nameB"; no
// hunk when a and b are equal.
func Unified(nameA, nameB, a, b string) []string {
	la, lb := splitLines(a), splitLines(b)
	out := []string{"--- " + nameA, "+++ " + nameB}
	if (len(la)+1)*(len(lb)+1) > maxDiffCells {
		return append(out, fmt.Sprintf("(texts differ; too long to diff: %d and %d lines)", len(la), len(lb)))
	}
	return append(out, hunks(edits(la, lb))...)
}

// op is one line of the edit script: ' ' kept, '-' removed, '+' added, with
// its positions in a and b.
type op struct {
	kind byte
	text string
	i, j int
}

// edits is the shortest edit script from la to lb, by LCS.
func edits(la, lb []string) []op {
	n, m := len(la), len(lb)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if la[i] == lb[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && la[i] == lb[j]:
			ops = append(ops, op{' ', la[i], i, j})
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', la[i], i, j}) // removals first, as diff -u
			i++
		default:
			ops = append(ops, op{'+', lb[j], i, j})
			j++
		}
	}
	return ops
}

// hunks groups the changes of ops with their context into "@@" hunks.
func hunks(ops []op) []string {
	var out []string
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start := max(0, k-diffContext)
		end := k
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run-end > 2*diffContext || run == len(ops) {
				end = min(end+diffContext, len(ops))
				break
			}
			end = run
		}
		var ca, cb int
		for _, o := range ops[start:end] {
			if o.kind != '+' {
				ca++
			}
			if o.kind != '-' {
				cb++
			}
		}
		// As diff -u: an empty side is numbered by the line before it.
		fromA, fromB := ops[start].i+1, ops[start].j+1
		if ca == 0 {
			fromA--
		}
		if cb == 0 {
			fromB--
		}
		out = append(out, fmt.Sprintf("@@ -%d,%d +%d,%d @@", fromA, ca, fromB, cb))
		for _, o := range ops[start:end] {
			out = append(out, string(o.kind)+o.text)
		}
		k = end
	}
	return out
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
