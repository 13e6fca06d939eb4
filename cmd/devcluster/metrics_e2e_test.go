package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsCountRequestsThroughTheProxy (issue 12, done when 6): a real cluster of
// three instances serves 30 requests through its proxy; /_devcluster/metrics then
// parses with Prometheus' text parser, and its counters say 10 requests answered 2xx
// by each instance, with a duration histogram of 10 observations each.
func TestMetricsCountRequestsThroughTheProxy(t *testing.T) {
	const manifest = `processes:
  web:
    command: exec python3 -m http.server --bind 127.0.0.1 $PORT
    instances: 3
`
	listen := "127.0.0.1:8790"
	startTestCluster(t, manifest, 7790, listen, nil)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	for i := range 30 {
		resp, err := hc.Get("http://" + listen + "/")
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: got %s, want 200", i+1, resp.Status)
		}
	}
	resp, err := hc.Get("http://" + listen + "/_devcluster/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("metrics: got %s %s, want 200", resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("metrics do not parse as Prometheus text: %v", err)
	}
	got := map[string]float64{}
	if f := fams["devcluster_requests_total"]; f != nil {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[labels["instance"]+" "+labels["class"]] += m.GetCounter().GetValue()
		}
	}
	counts := map[string]uint64{}
	if f := fams["devcluster_request_duration_seconds"]; f != nil {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "instance" {
					counts[l.GetValue()] += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	for _, id := range []string{"web.1", "web.2", "web.3"} {
		if n := got[id+" 2xx"]; n != 10 {
			t.Errorf("devcluster_requests_total{instance=%q,class=\"2xx\"}: got %v, want 10 (all: %v)", id, n, got)
		}
		if n := counts[id]; n != 10 {
			t.Errorf("devcluster_request_duration_seconds_count{instance=%q}: got %d, want 10", id, n)
		}
	}
	for k, v := range got {
		if !strings.HasSuffix(k, " 2xx") && v != 0 {
			t.Errorf("devcluster_requests_total %s: got %v, want none", k, v)
		}
	}
}
