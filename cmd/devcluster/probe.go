package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/internal/textdiff"
	"github.com/devcluster/devcluster/probe"
)

func newProbeCmd(e *env) *cobra.Command {
	var f clientFlags
	var headers, ignore []string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "probe PATH",
		Short: "Send the same GET to every ready instance and show where their answers differ",
		Long: `probe sends the same GET straight to every ready instance (not through the
balancer) and shows the answers side by side: status, time and body. JSON bodies
are compared field by field (nested fields as a.b, array items as a.0); other
bodies as a diff against the first instance. It exits with status 1 when the
instances disagree, so it can be a CI check: per-process sessions, caches,
counters, feature flags and rate limiters all show up here.`,
		Example: `  devcluster probe /counter
  devcluster probe /api/me -H 'Cookie: session=abc'
  devcluster probe /status --ignore pid,instance,build.host`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if !strings.HasPrefix(path, "/") {
				return withHint(fmt.Errorf("probe path %q must start with /", path), "devcluster probe /"+path)
			}
			hdr, err := parseProbeHeaders(headers)
			if err != nil {
				return err
			}
			c, err := dial(e, &f)
			if err != nil {
				return err
			}
			defer c.Close()
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			res, err := probe.Run(cmd.Context(), st, path, hdr, splitIgnore(ignore), timeout)
			if errors.Is(err, probe.ErrNoTarget) {
				return withHint(err, "devcluster ps")
			}
			if err != nil {
				return err
			}
			if f.json {
				if err := writeJSON(e.stdout, res); err != nil {
					return err
				}
			} else {
				writeProbe(e.stdout, res, res.Instances, useColor(e.stdout, e.getenv))
			}
			if !res.Agree {
				err := fmt.Errorf("the instances disagree on GET %s (%s)", path, strings.Join(res.Differ, ", "))
				if !slices.Contains(res.Differ, "body") && !slices.Contains(res.Differ, "error") {
					err = withHint(err, "mask expected differences with --ignore FIELD,...")
				}
				// The text output ends with "the instances disagree: …"
				// already; the JSON one says it only in its fields.
				return &exitError{code: 1, err: err, quiet: !f.json}
			}
			return nil
		},
	}
	addClientFlags(cmd, &f)
	cmd.Flags().StringArrayVarP(&headers, "header", "H", nil, "add a request header, 'Name: value' (repeatable)")
	cmd.Flags().StringSliceVar(&ignore, "ignore", nil, "JSON fields whose differences are expected, e.g. pid,instance,meta.host")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long to wait for each instance")
	return cmd
}

func parseProbeHeaders(hs []string) (http.Header, error) {
	h := http.Header{}
	for _, s := range hs {
		name, value, ok := strings.Cut(s, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, withHint(fmt.Errorf("header %q: want 'Name: value'", s), "devcluster probe /path -H 'Cookie: session=abc'")
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

func splitIgnore(list []string) []string {
	var out []string
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// ANSI styles; colour is never the only mark: differing rows start with "*".
const (
	ansiDiff  = "\x1b[1;31m"
	ansiAdd   = "\x1b[32m"
	ansiDel   = "\x1b[31m"
	ansiReset = "\x1b[0m"
)

// writeProbe prints the answers side by side, then the JSON field table or
// the text diffs.
func writeProbe(w io.Writer, res probe.Result, as []probe.Answer, color bool) {
	paint := func(style, s string) string {
		if !color || s == "" {
			return s
		}
		return style + s + ansiReset
	}
	fmt.Fprintf(w, "GET %s on %d ready instance(s), straight to each (not through the balancer)\n", res.Path, len(as))
	rows := [][]string{{"", "instance", "port", "status", "time"}}
	for _, a := range as {
		status := strconv.Itoa(a.Status)
		if a.Error != "" {
			status = "error: " + a.Error
		}
		mark := " "
		if a.Error != "" || a.Status != as[0].Status {
			mark = "*"
		}
		rows = append(rows, []string{mark, a.ID, strconv.Itoa(a.Port), status, fmt.Sprintf("%.1fms", a.MS)})
	}
	writeColumns(w, rows, markedRows(rows, paint))
	if len(res.Ignored) > 0 {
		fmt.Fprintf(w, "ignored: %s\n", strings.Join(res.Ignored, ", "))
	}
	fmt.Fprintln(w)
	allJSON := true
	for _, a := range as {
		allJSON = allJSON && a.Fields != nil
	}
	if allJSON {
		writeFieldTable(w, res, as, paint)
	} else {
		writeBodyDiffs(w, as, paint)
	}
	if res.Agree {
		fmt.Fprintln(w, "the instances agree")
	} else {
		fmt.Fprintf(w, "the instances disagree: %s%s\n", strings.Join(res.Differ, ", "), map[bool]string{true: " (marked *)"}[allJSON])
	}
}

// markedRows styles the rows marked "*" as differing.
func markedRows(rows [][]string, paint func(style, s string) string) func(int, string) string {
	return func(r int, s string) string {
		if rows[r][0] == "*" {
			return paint(ansiDiff, s)
		}
		return s
	}
}

// writeFieldTable prints one row per JSON field, one column per instance.
func writeFieldTable(w io.Writer, res probe.Result, as []probe.Answer, paint func(style, s string) string) {
	header := []string{"", "field"}
	for _, a := range as {
		header = append(header, a.ID)
	}
	rows := [][]string{header}
	for _, k := range probe.JSONFields(as, res.Ignored) {
		mark := " "
		if slices.Contains(res.Differ, k) {
			mark = "*"
		}
		row := []string{mark, k}
		for _, a := range as {
			row = append(row, a.Value(k))
		}
		rows = append(rows, row)
	}
	writeColumns(w, rows, markedRows(rows, paint))
}

// writeBodyDiffs prints each body's diff against the first instance's.
func writeBodyDiffs(w io.Writer, as []probe.Answer, paint func(style, s string) string) {
	for _, a := range as[1:] {
		if a.Error != "" || as[0].Error != "" {
			continue
		}
		if a.Body == as[0].Body {
			fmt.Fprintf(w, "%s: same body as %s (%d bytes)\n", a.ID, as[0].ID, len(a.Body))
			continue
		}
		for _, l := range textdiff.Unified(as[0].ID, a.ID, as[0].Body, a.Body) {
			switch {
			case strings.HasPrefix(l, "+") && !strings.HasPrefix(l, "+++"):
				l = paint(ansiAdd, l)
			case strings.HasPrefix(l, "-") && !strings.HasPrefix(l, "---"):
				l = paint(ansiDel, l)
			}
			fmt.Fprintln(w, l)
		}
	}
}

// writeColumns pads cells to their column's width (measured without colour)
// and lets style colour each padded cell of row r.
func writeColumns(w io.Writer, rows [][]string, style func(r int, s string) string) {
	var width []int
	for _, row := range rows {
		for i, c := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for r, row := range rows {
		var b strings.Builder
		for i, c := range row {
			cell := c
			if i < len(row)-1 {
				gap := 2
				if i == 0 {
					gap = 1 // the "*" mark sits close to what it marks
				}
				cell += strings.Repeat(" ", width[i]-len([]rune(c))+gap)
			}
			if i > 0 {
				cell = style(r, cell)
			}
			b.WriteString(cell)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
