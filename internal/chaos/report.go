package chaos

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// killGrace is how long after a SIGKILL a new request may still be written to the dying
// instance: the kernel closes its sockets only once the process is torn down, and a
// connection it accepted before that is reset with the request on it, which the proxy
// must not replay (it may have reached the app). Under two loaded cores the last such
// request was seen 30 ms after the SIGKILL; a 502 for a request sent later means the
// proxy sent a new request to an instance it could have known was dead.
const killGrace = 250 * time.Millisecond

// pauseGrace is how long after the SIGCONT a 5xx may still come from the pause (the
// proxy's answer for a request the stopped instance held).
const pauseGrace = time.Second

// Report is the outcome of one soak: the counts, the actions, the stop.
type Report struct {
	Seed     uint64
	Clients  int
	Elapsed  time.Duration // of the load
	Sent     int64
	OK       int64            // 2xx from the instance the header names
	ByStatus map[int]int64    // every non-2xx response, by status
	Actions  map[string]int   // chaos actions done, by kind
	Latency  [3]time.Duration // p50, p99, max over every request

	TransportErrors int64 // no HTTP response at all
	WrongBodies     int64 // 2xx whose body is not from the instance the header names
	CaughtByKill    int64 // 502 naming an instance SIGKILLed while the request was in flight
	CutByKill       int64 // a head relayed from an instance SIGKILLed before its body
	CaughtByPause   int64 // 5xx naming an instance stopped during the request
	OtherNon2xx     int64 // every other non-2xx: a miss

	MinRequests int64
	Wanted      []string // the kinds of action the soak was to do, each at least once
	Problems    []string // actions that failed, bounds exceeded: each is a miss
	Unexplained []string // the failed requests that miss the target, grouped, with what happened then
	Caught      []string // each kill or pause that caught requests: when, how many, the bound
	FirstMisses []string // the first failed requests that miss the target, with exact times
	Stop        StopResult

	DevclusterTail string // devcluster's last lines, when the soak failed
}

// newReport counts and classifies every request against the chaos events.
func newReport(cfg *Config, res loadResult, events []event, problems []string) *Report {
	r := &Report{
		Seed: cfg.Seed, Clients: cfg.Clients, Elapsed: res.elapsed, Sent: res.sent, OK: res.ok,
		ByStatus: map[int]int64{}, Actions: map[string]int{}, MinRequests: cfg.MinRequests, Wanted: cfg.Actions,
		Problems: problems,
	}
	for _, ev := range events {
		if ev.err == "" {
			r.Actions[ev.kind]++
		}
	}
	r.Latency = percentiles(res.latencies)
	r.classify(res.failures, events)
	r.describeCaught(res.begin, res.failures, events)
	r.describeFirstMisses(res.begin, res.failures, events)
	return r
}

// percentiles returns p50, p99 and max (nearest rank).
func percentiles(d []time.Duration) [3]time.Duration {
	if len(d) == 0 {
		return [3]time.Duration{}
	}
	slices.Sort(d)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.999999) - 1
		return d[max(0, min(i, len(d)-1))]
	}
	return [3]time.Duration{rank(0.50), rank(0.99), d[len(d)-1]}
}

// How a failed request is explained by a chaos event (see explain).
const (
	missed   = ""
	byKill   = "kill"  // a 502 naming the killed instance, in flight at the SIGKILL
	cutBy    = "cut"   // a head relayed from the killed instance, its body cut by the SIGKILL
	byPause  = "pause" // a 5xx naming the stopped instance, in flight during the pause
	badBody  = "wrong" // never explained
	noAnswer = "transport"
)

// explain says which event, if any, makes the failed request f unavoidable, and how.
//
// A body cut after its head is the one transport error a kill explains: the instance
// wrote its response head, the proxy relayed it (it streams responses, as HAProxy and
// nginx do), and the SIGKILL came before the body. No proxy can answer 502 after a 200.
func explain(f record, events []event) (string, int) {
	switch {
	case f.cut:
		if i := caughtBy(f, events, Kill); i >= 0 {
			return cutBy, i
		}
		return noAnswer, -1
	case f.status == 0:
		return noAnswer, -1
	case f.err != "":
		return badBody, -1
	}
	if i := caughtBy(f, events, Kill); i >= 0 && f.status == 502 {
		return byKill, i
	}
	if i := caughtBy(f, events, Pause); i >= 0 && (f.status == 502 || f.status == 503 || f.status == 504) {
		return byPause, i
	}
	return missed, -1
}

// classify sorts each failed request into the counts, checks the per-event bounds and
// groups what is left (the misses) by status or error and by the action under way.
func (r *Report) classify(failures []record, events []event) {
	perEvent := map[int]int64{}
	groups := map[string]int64{}
	for _, f := range failures {
		if f.status != 0 && (f.status < 200 || f.status > 299) {
			r.ByStatus[f.status]++
		}
		how, i := explain(f, events)
		switch how {
		case byKill:
			r.CaughtByKill++
		case cutBy:
			r.CutByKill++
		case byPause:
			r.CaughtByPause++
		case noAnswer:
			r.TransportErrors++
		case badBody:
			r.WrongBodies++
		default:
			r.OtherNon2xx++
		}
		if i >= 0 {
			perEvent[i]++
			continue
		}
		groups[r.describeMiss(f, events)]++
	}
	for i, ev := range events {
		n := perEvent[i]
		if ev.kind == Kill && n > ev.inFlight {
			r.Problems = append(r.Problems, fmt.Sprintf("kill of %s (pid %d): %d requests failed, more than the %d in flight at the SIGKILL", ev.target, ev.pid, n, ev.inFlight))
		}
		if ev.kind == Pause && n > int64(r.Clients) {
			r.Problems = append(r.Problems, fmt.Sprintf("pause of %s: %d requests failed, more than the %d clients", ev.target, n, r.Clients))
		}
	}
	kinds := make([]string, 0, len(groups))
	for k := range groups {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if groups[kinds[i]] != groups[kinds[j]] {
			return groups[kinds[i]] > groups[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	for _, k := range kinds {
		r.Unexplained = append(r.Unexplained, fmt.Sprintf("%6d × %s", groups[k], k))
	}
}

// describeCaught lists, for each kill and pause that caught requests, when it happened
// (since the load began) and how many it caught, beside what bounds them.
func (r *Report) describeCaught(begin time.Time, failures []record, events []event) {
	caught := map[int]int64{}
	cut := map[int]int64{}
	late := map[int]int64{}            // sent after the SIGKILL, within killGrace
	lateMax := map[int]time.Duration{} // the latest of them
	for _, f := range failures {
		how, i := explain(f, events)
		switch how {
		case byKill, byPause:
			caught[i]++
		case cutBy:
			cut[i]++
		}
		if d := f.start.Sub(events[max(i, 0)].start); (how == byKill || how == cutBy) && d > 0 {
			late[i]++
			lateMax[i] = max(lateMax[i], d)
		}
	}
	for i, ev := range events {
		n := caught[i] + cut[i]
		if n == 0 {
			continue
		}
		on := "unknown"
		if ev.active >= 0 {
			on = strconv.FormatInt(ev.active, 10)
		}
		line := fmt.Sprintf("%7.1fs %-5s %-6s pid %-7d caught %d", ev.start.Sub(begin).Seconds(), ev.kind, ev.target, ev.pid, n)
		if ev.kind == Kill {
			if cut[i] > 0 {
				line += fmt.Sprintf(" (%d of them cut after the head)", cut[i])
			}
			if late[i] > 0 {
				line += fmt.Sprintf(" (%d of them sent after the SIGKILL, the last %s after)", late[i], lateMax[i].Round(time.Millisecond))
			}
			line += fmt.Sprintf(" (in flight at the SIGKILL: %d from the clients; on %s per ps just before: %s)", ev.inFlight, ev.target, on)
		} else {
			line += fmt.Sprintf(" in %s (at most one per client: %d)", ev.end.Sub(ev.start).Round(time.Millisecond), r.Clients)
		}
		r.Caught = append(r.Caught, line)
	}
}

// describeFirstMisses details the first 10 misses in time order: when each was sent
// and answered (since the load began), on which client connection, and every action
// under way within a second of it, with its own times.
func (r *Report) describeFirstMisses(begin time.Time, failures []record, events []event) {
	var misses []record
	for _, f := range failures {
		if _, i := explain(f, events); i < 0 {
			misses = append(misses, f)
		}
	}
	sort.Slice(misses, func(i, j int) bool { return misses[i].start.Before(misses[j].start) })
	since := func(t time.Time) string { return fmt.Sprintf("%.3fs", t.Sub(begin).Seconds()) }
	for _, f := range misses[:min(len(misses), 10)] {
		conn := "a new connection"
		if f.reused {
			conn = "a reused connection"
		}
		what := fmt.Sprintf("%d from %q: %s", f.status, f.instance, f.body)
		if f.err != "" {
			what = f.err
		}
		line := fmt.Sprintf("sent %s, failed %s, on %s: %s", since(f.start), since(f.end), conn, what)
		for _, ev := range events {
			if !f.start.After(ev.done.Add(time.Second)) && !f.end.Before(ev.start.Add(-time.Second)) {
				line += fmt.Sprintf("; %s %s %s-%s", ev.kind, ev.target, since(ev.start), since(ev.done))
			}
		}
		r.FirstMisses = append(r.FirstMisses, line)
	}
}

// caughtBy returns the index of the event of kind whose victim f names and that was
// under way while f was in flight, or -1: for a kill, f was in flight at the SIGKILL
// (sent at most killGrace after it); for a pause, at some time between the SIGSTOP and
// pauseGrace after the SIGCONT. explain decides which statuses each may explain.
func caughtBy(f record, events []event, kind string) int {
	for i, ev := range events {
		if ev.kind != kind || ev.err != "" || f.instance != ev.target || f.end.Before(ev.start) {
			continue
		}
		if kind == Kill && !f.start.After(ev.start.Add(killGrace)) {
			return i
		}
		if kind == Pause && !f.start.After(ev.end.Add(pauseGrace)) {
			return i
		}
	}
	return -1
}

// describeMiss names a failed request that misses the target: its status (or error)
// and the chaos action that overlapped it, if any. Requests caught by a kill or a pause
// never get here.
func (r *Report) describeMiss(f record, events []event) string {
	what := fmt.Sprintf("%d from %q: %s", f.status, f.instance, f.body)
	switch {
	case f.status == 0:
		what = "transport error: " + trimErr(f.err)
	case f.err != "":
		what = "wrong body: " + f.err
	}
	during := "between actions"
	for _, ev := range events {
		if !f.start.After(ev.done.Add(time.Second)) && !f.end.Before(ev.start) {
			during = fmt.Sprintf("during %s %s", ev.kind, ev.target)
			break
		}
	}
	return what + " (" + during + ")"
}

// trimErr drops the per-connection parts of a transport error (the local port), so that
// equal errors group together.
func trimErr(s string) string {
	if i := strings.Index(s, "->"); i >= 0 {
		if j := strings.LastIndex(s[:i], " "); j >= 0 {
			s = s[:j+1] + s[i+2:]
		}
	}
	return s
}

// Failures lists every way the soak missed its target; none means it passed.
func (r *Report) Failures() []string {
	var out []string
	if r.TransportErrors > 0 {
		out = append(out, fmt.Sprintf("%d transport errors (want 0)", r.TransportErrors))
	}
	if r.OtherNon2xx > 0 {
		out = append(out, fmt.Sprintf("%d non-2xx responses not caught by a kill or a pause (want 0)", r.OtherNon2xx))
	}
	if r.WrongBodies > 0 {
		out = append(out, fmt.Sprintf("%d 2xx responses from another instance than X-Devcluster-Instance says (want 0)", r.WrongBodies))
	}
	for _, a := range r.Wanted {
		if r.Actions[a] == 0 {
			out = append(out, fmt.Sprintf("no %s was done (want each action at least once)", a))
		}
	}
	if r.Sent < r.MinRequests {
		out = append(out, fmt.Sprintf("%d requests sent, want at least %d", r.Sent, r.MinRequests))
	}
	out = append(out, r.Problems...)
	if r.Stop.ExitErr != "" {
		out = append(out, "devcluster up did not stop cleanly on SIGINT: "+r.Stop.ExitErr)
	}
	if r.Stop.Unread && r.Stop.DroppedLines == 0 {
		out = append(out, "stdout was left unread but no line was dropped: the soak never filled it, so it tested nothing")
	}
	for _, l := range r.Stop.Leftovers {
		out = append(out, "left behind after the stop: "+l)
	}
	return out
}

// Write prints the counts, then PASS or FAIL with every failure.
func (r *Report) Write(w io.Writer) {
	pct := func(n int64) string {
		if r.Sent == 0 {
			return ""
		}
		return fmt.Sprintf("%.3f%%", 100*float64(n)/float64(r.Sent))
	}
	rate := float64(r.Sent) / max(r.Elapsed.Seconds(), 1e-9)
	fmt.Fprintf(w, "chaos soak: %d clients, %s, %d requests (%.0f/s), seed %d\n", r.Clients, r.Elapsed.Round(time.Millisecond), r.Sent, rate, r.Seed)
	fmt.Fprintf(w, "  2xx                %9d  %s\n", r.OK, pct(r.OK))
	fmt.Fprintf(w, "  caught by a kill   %9d  %s  (502: the instance was SIGKILLed during the request)\n", r.CaughtByKill, pct(r.CaughtByKill))
	fmt.Fprintf(w, "  cut by a kill      %9d  %s  (the head came from the instance, the SIGKILL came before its body)\n", r.CutByKill, pct(r.CutByKill))
	fmt.Fprintf(w, "  caught by a pause  %9d  %s  (5xx: the instance was SIGSTOPped during the request)\n", r.CaughtByPause, pct(r.CaughtByPause))
	fmt.Fprintf(w, "  other non-2xx      %9d  (target 0)\n", r.OtherNon2xx)
	fmt.Fprintf(w, "  transport errors   %9d  (target 0)\n", r.TransportErrors)
	fmt.Fprintf(w, "  wrong bodies       %9d  (target 0)\n", r.WrongBodies)
	fmt.Fprintf(w, "  non-2xx by status  %s\n", byStatus(r.ByStatus))
	fmt.Fprintf(w, "  latency            p50 %s  p99 %s  max %s\n", r.Latency[0].Round(10*time.Microsecond), r.Latency[1].Round(10*time.Microsecond), r.Latency[2].Round(time.Millisecond))
	var acts []string
	for _, a := range r.Wanted {
		acts = append(acts, fmt.Sprintf("%s %d", a, r.Actions[a]))
	}
	fmt.Fprintf(w, "  actions            %s\n", strings.Join(acts, ", "))
	fmt.Fprintf(w, "  stop               SIGINT → exit in %s (%s); %d processes checked, %d left behind\n",
		r.Stop.Took.Round(time.Millisecond), orOK(r.Stop.ExitErr), r.Stop.Checked, len(r.Stop.Leftovers))
	if r.Stop.Unread {
		fmt.Fprintf(w, "  stdout             unread until the stop (with --access-log): %d lines dropped (%d markers), %d bytes read at the stop\n",
			r.Stop.DroppedLines, r.Stop.DroppedMarkers, r.Stop.StdoutBytes)
	}
	if len(r.Caught) > 0 {
		fmt.Fprintln(w, "  kills and pauses that caught requests (time since the load began):")
		for i, c := range r.Caught {
			if i == 20 {
				fmt.Fprintf(w, "    … and %d more\n", len(r.Caught)-20)
				break
			}
			fmt.Fprintln(w, "  "+c)
		}
	}
	if len(r.Unexplained) > 0 {
		fmt.Fprintln(w, "  failed requests outside a kill or a pause:")
		for i, u := range r.Unexplained {
			if i == 20 {
				fmt.Fprintf(w, "    … and %d more kinds\n", len(r.Unexplained)-20)
				break
			}
			fmt.Fprintln(w, "    "+u)
		}
	}
	if len(r.FirstMisses) > 0 {
		fmt.Fprintln(w, "  the first of them (times since the load began; actions within 1 s):")
		for _, m := range r.FirstMisses {
			fmt.Fprintln(w, "    "+m)
		}
	}
	if f := r.Failures(); len(f) > 0 {
		fmt.Fprintln(w, "FAIL:")
		for _, s := range f {
			fmt.Fprintln(w, "  - "+s)
		}
		if r.DevclusterTail != "" {
			fmt.Fprintln(w, r.DevclusterTail)
		}
		return
	}
	fmt.Fprintln(w, "PASS: zero transport errors, zero other non-2xx, every action done, clean stop")
}

func byStatus(m map[int]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var keys []int
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d ×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func orOK(s string) string {
	if s == "" {
		return "exit status 0"
	}
	return s
}
