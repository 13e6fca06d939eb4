package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/devcluster/devcluster/control"
	"github.com/devcluster/devcluster/internal/textdiff"
)

// probeBodyLimit bounds what probe reads of each answer: it compares pages
// and API answers, not downloads.
const probeBodyLimit = 1 << 20

// probeAnswer is one instance's answer to the probe.
type probeAnswer struct {
	ID       string          `json:"id"`
	Port     int             `json:"port"`
	Status   int             `json:"status"`
	Duration time.Duration   `json:"-"`
	MS       float64         `json:"duration_ms"`
	Body     string          `json:"body,omitempty"`
	JSON     json.RawMessage `json:"json,omitempty"`
	Error    string          `json:"error,omitempty"`
	fields   map[string]string
}

// probeResult is what --json prints.
type probeResult struct {
	Path      string        `json:"path"`
	Agree     bool          `json:"agree"`
	Differ    []string      `json:"differ"` // fields (JSON), or "status", "body", "error"
	Ignored   []string      `json:"ignored"`
	Instances []probeAnswer `json:"instances"`
}

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
			res, err := probe(cmd.Context(), st, path, hdr, splitIgnore(ignore), timeout)
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
				if !contains(res.Differ, "body") && !contains(res.Differ, "error") {
					err = withHint(err, "mask expected differences with --ignore FIELD,...")
				}
				return &exitError{code: 1, err: err}
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

// probe asks every ready instance of st in parallel and compares the answers.
func probe(ctx context.Context, st control.Status, path string, hdr http.Header, ignore []string, timeout time.Duration) (probeResult, error) {
	var targets []control.Instance
	var notReady []string
	// Only the instances the proxy balances serve the app's paths: a redis-server or
	// a worker of the same manifest has a port too, but is not an instance to compare
	// (it may not even speak HTTP).
	balanced := slices.ContainsFunc(st.Instances, func(in control.Instance) bool { return in.Balancer != nil })
	for _, in := range st.Instances {
		switch {
		case in.Port == 0, balanced && in.Balancer == nil:
		case in.State == control.StateReady:
			targets = append(targets, in)
		default:
			notReady = append(notReady, in.ID+" "+in.State)
		}
	}
	if len(targets) == 0 {
		msg := "no ready instance with a port to probe"
		if len(notReady) > 0 {
			msg += " (" + strings.Join(notReady, ", ") + ")"
		}
		return probeResult{}, withHint(errors.New(msg), "devcluster ps")
	}
	client := &http.Client{
		Timeout: timeout,
		// Straight to the instance: no proxy from the environment, no
		// redirects followed (a redirect is an answer to compare).
		Transport:     &http.Transport{Proxy: nil, DisableCompression: true, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	answers := make([]probeAnswer, len(targets))
	var wg sync.WaitGroup
	for i, in := range targets {
		wg.Go(func() { answers[i] = probeOne(ctx, client, in, path, hdr) })
	}
	wg.Wait()
	res := probeResult{Path: path, Ignored: ignore, Instances: answers}
	if res.Ignored == nil {
		res.Ignored = []string{}
	}
	res.Differ = compareAnswers(answers, ignore)
	res.Agree = len(res.Differ) == 0
	if res.Differ == nil {
		res.Differ = []string{}
	}
	return res, nil
}

func probeOne(ctx context.Context, client *http.Client, in control.Instance, path string, hdr http.Header) probeAnswer {
	a := probeAnswer{ID: in.ID, Port: in.Port}
	url := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(in.Port)) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	req.Header = hdr.Clone()
	if h := hdr.Get("Host"); h != "" {
		req.Host = h
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err == nil {
		var b []byte
		b, err = io.ReadAll(io.LimitReader(resp.Body, probeBodyLimit))
		resp.Body.Close()
		a.Status, a.Body = resp.StatusCode, string(b)
	}
	a.Duration = time.Since(start)
	a.MS = float64(a.Duration.Microseconds()) / 1000
	if err != nil {
		a.Error = err.Error()
		return a
	}
	var v any
	if d := json.NewDecoder(strings.NewReader(a.Body)); d.Decode(&v) == nil && !d.More() {
		a.JSON = json.RawMessage(a.Body)
		a.fields = map[string]string{}
		flatten("", v, a.fields)
	}
	return a
}

// flatten writes every leaf of v as "a.b.0" → its compact JSON.
func flatten(prefix string, v any, out map[string]string) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	leaf := prefix
	if leaf == "" {
		leaf = "(body)" // the whole body is one value
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			out[leaf] = "{}"
		}
		for k, e := range x {
			flatten(join(k), e, out)
		}
	case []any:
		if len(x) == 0 {
			out[leaf] = "[]"
		}
		for i, e := range x {
			flatten(join(strconv.Itoa(i)), e, out)
		}
	default:
		b, _ := json.Marshal(x)
		out[leaf] = string(b)
	}
}

// ignored reports whether field is masked by --ignore: the field itself or
// anything under it.
func ignored(field string, ignore []string) bool {
	for _, ig := range ignore {
		if field == ig || strings.HasPrefix(field, ig+".") {
			return true
		}
	}
	return false
}

// compareAnswers lists what differs between the answers: "error" when one
// did not answer; else "status", then, when every body is JSON, each
// differing field, else "body".
func compareAnswers(as []probeAnswer, ignore []string) []string {
	var differ []string
	allJSON := true
	for _, a := range as {
		if a.Error != "" {
			return []string{"error"} // an instance that does not answer never agrees
		}
		if a.Status != as[0].Status && !contains(differ, "status") {
			differ = append(differ, "status")
		}
		allJSON = allJSON && a.fields != nil
	}
	if !allJSON {
		for _, a := range as[1:] {
			if a.Body != as[0].Body {
				return append(differ, "body")
			}
		}
		return differ
	}
	for _, k := range jsonFields(as, ignore) {
		v := fieldValue(as[0], k)
		for _, a := range as[1:] {
			if fieldValue(a, k) != v {
				differ = append(differ, k)
				break
			}
		}
	}
	return differ
}

func contains(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}

// jsonFields is the sorted union of the answers' fields, without the ignored.
func jsonFields(as []probeAnswer, ignore []string) []string {
	set := map[string]bool{}
	for _, a := range as {
		for k := range a.fields {
			if !ignored(k, ignore) {
				set[k] = true
			}
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func fieldValue(a probeAnswer, k string) string {
	if v, ok := a.fields[k]; ok {
		return v
	}
	return "(absent)"
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
func writeProbe(w io.Writer, res probeResult, as []probeAnswer, color bool) {
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
		allJSON = allJSON && a.fields != nil
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
func writeFieldTable(w io.Writer, res probeResult, as []probeAnswer, paint func(style, s string) string) {
	header := []string{"", "field"}
	for _, a := range as {
		header = append(header, a.ID)
	}
	rows := [][]string{header}
	for _, k := range jsonFields(as, res.Ignored) {
		mark := " "
		if contains(res.Differ, k) {
			mark = "*"
		}
		row := []string{mark, k}
		for _, a := range as {
			row = append(row, fieldValue(a, k))
		}
		rows = append(rows, row)
	}
	writeColumns(w, rows, markedRows(rows, paint))
}

// writeBodyDiffs prints each body's diff against the first instance's.
func writeBodyDiffs(w io.Writer, as []probeAnswer, paint func(style, s string) string) {
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
