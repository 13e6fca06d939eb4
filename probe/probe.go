// Package probe is devcluster probe's comparison: the same GET sent straight
// to every ready instance, and where their answers differ (status, each JSON
// field, or the body). Per-process sessions, caches, counters, feature flags
// and rate limiters all show up here; cmd prints the result.
package probe

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

	"github.com/devcluster/devcluster/control"
)

// bodyLimit bounds what probe reads of each answer: it compares pages
// and API answers, not downloads.
const bodyLimit = 1 << 20

// Answer is one instance's answer to the probe.
type Answer struct {
	ID       string          `json:"id"`
	Port     int             `json:"port"`
	Status   int             `json:"status"`
	Duration time.Duration   `json:"-"`
	MS       float64         `json:"duration_ms"`
	Body     string          `json:"body,omitempty"`
	JSON     json.RawMessage `json:"json,omitempty"`
	Error    string          `json:"error,omitempty"`
	// Fields are a JSON body's leaves ("a.b.0" → compact JSON); nil for a
	// body that is not JSON.
	Fields map[string]string `json:"-"`
}

// Result is the comparison of the answers (what probe --json prints).
type Result struct {
	Path      string   `json:"path"`
	Agree     bool     `json:"agree"`
	Differ    []string `json:"differ"` // fields (JSON), or "status", "body", "error"
	Ignored   []string `json:"ignored"`
	Instances []Answer `json:"instances"`
}

// ErrNoTarget is Run's error when no instance can be probed.
var ErrNoTarget = errors.New("no ready instance with a port to probe")

// Run sends GET path with hdr straight to every ready instance of st (not
// through the balancer), in parallel, each within timeout, and compares the
// answers; differences in the ignored JSON fields (and below them) do not count.
func Run(ctx context.Context, st control.Status, path string, hdr http.Header, ignore []string, timeout time.Duration) (Result, error) {
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
		if len(notReady) > 0 {
			return Result{}, fmt.Errorf("%w (%s)", ErrNoTarget, strings.Join(notReady, ", "))
		}
		return Result{}, ErrNoTarget
	}
	client := &http.Client{
		Timeout: timeout,
		// Straight to the instance: no proxy from the environment, no
		// redirects followed (a redirect is an answer to compare).
		Transport:     &http.Transport{Proxy: nil, DisableCompression: true, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	answers := make([]Answer, len(targets))
	var wg sync.WaitGroup
	for i, in := range targets {
		wg.Go(func() { answers[i] = probeOne(ctx, client, in, path, hdr) })
	}
	wg.Wait()
	res := Result{Path: path, Ignored: ignore, Instances: answers}
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

func probeOne(ctx context.Context, client *http.Client, in control.Instance, path string, hdr http.Header) Answer {
	a := Answer{ID: in.ID, Port: in.Port}
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
		b, err = io.ReadAll(io.LimitReader(resp.Body, bodyLimit))
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
		a.Fields = map[string]string{}
		flatten("", v, a.Fields)
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
func compareAnswers(as []Answer, ignore []string) []string {
	var differ []string
	allJSON := true
	for _, a := range as {
		if a.Error != "" {
			return []string{"error"} // an instance that does not answer never agrees
		}
		if a.Status != as[0].Status && !slices.Contains(differ, "status") {
			differ = append(differ, "status")
		}
		allJSON = allJSON && a.Fields != nil
	}
	if !allJSON {
		for _, a := range as[1:] {
			if a.Body != as[0].Body {
				return append(differ, "body")
			}
		}
		return differ
	}
	for _, k := range JSONFields(as, ignore) {
		v := as[0].Value(k)
		for _, a := range as[1:] {
			if a.Value(k) != v {
				differ = append(differ, k)
				break
			}
		}
	}
	return differ
}

// JSONFields is the sorted union of the answers' fields, without the ignored.
func JSONFields(as []Answer, ignore []string) []string {
	set := map[string]bool{}
	for _, a := range as {
		for k := range a.Fields {
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

// Value is field k of a JSON answer, "(absent)" when it has none.
func (a Answer) Value(k string) string {
	if v, ok := a.Fields[k]; ok {
		return v
	}
	return "(absent)"
}
