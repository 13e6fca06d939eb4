package dashboard

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func scrape(t *testing.T, s *served) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(s.base + "metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the Prometheus text parser refuses /metrics: %v", err)
	}
	return fams
}

// value finds the sample of family name whose labels are labels.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	t.Fatalf("no %s with labels %v", name, labels)
	return nil
}

func TestMetricsCountWhatWasRecorded(t *testing.T) {
	t.Parallel()
	s := serve(t, 3)
	s.feed(10, 20*time.Millisecond) // 10 × 200 on each of web.1..3
	for range 4 {
		s.rec.Record(Request{Instance: "web.3", Status: 503, Duration: 400 * time.Millisecond})
	}
	s.rec.Record(Request{Instance: "", Status: 502, Error: ErrorConnect, Duration: time.Millisecond})
	s.rec.Record(Request{Instance: "web.1", Status: 0, Error: ErrorReset, Duration: time.Second})
	s.c.mu.Lock()
	s.c.snap.Instances[1].State, s.c.snap.Instances[1].Balancer = "down", "down"
	s.c.snap.Instances[2].Restarts, s.c.snap.Instances[2].Reloads, s.c.snap.Instances[2].Retries = 2, 3, 5
	s.c.snap.Instances[2].Faults = []Fault{{Kind: ActDelay, Detail: "300ms"}}
	s.c.mu.Unlock()

	fams := scrape(t, s)
	counters := []struct {
		instance, class string
		want            float64
	}{
		{"web.1", "2xx", 10}, {"web.2", "2xx", 10}, {"web.3", "2xx", 10},
		{"web.3", "5xx", 4}, {"web.1", "5xx", 0}, {"proxy", "5xx", 1}, {"web.1", "none", 1},
	}
	for _, c := range counters {
		m := value(t, fams, "devcluster_requests_total", map[string]string{"instance": c.instance, "class": c.class})
		if got := m.GetCounter().GetValue(); got != c.want {
			t.Errorf("requests_total{instance=%s,class=%s}: got %v, want %v", c.instance, c.class, got, c.want)
		}
	}
	h := value(t, fams, "devcluster_request_duration_seconds", map[string]string{"instance": "web.3"}).GetHistogram()
	if h.GetSampleCount() != 14 {
		t.Errorf("web.3's histogram: got %d samples, want 14", h.GetSampleCount())
	}
	if want := 10*0.02 + 4*0.4; fmt.Sprintf("%.6f", h.GetSampleSum()) != fmt.Sprintf("%.6f", want) {
		t.Errorf("web.3's histogram sum: got %v, want %v", h.GetSampleSum(), want)
	}
	for _, b := range h.GetBucket() {
		want := uint64(0)
		switch {
		case b.GetUpperBound() >= 0.4:
			want = 14
		case b.GetUpperBound() >= 0.02:
			want = 10
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("web.3's bucket le=%v: got %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	gauges := []struct {
		name, instance string
		want           float64
	}{
		{"devcluster_instance_up", "web.1", 1},
		{"devcluster_instance_up", "web.2", 0},
		{"devcluster_instance_restarts_total", "web.3", 2},
		{"devcluster_instance_reloads_total", "web.3", 3},
		{"devcluster_instance_retries_total", "web.3", 5},
	}
	for _, g := range gauges {
		m := value(t, fams, g.name, map[string]string{"instance": g.instance})
		got := m.GetGauge().GetValue() + m.GetCounter().GetValue()
		if got != g.want {
			t.Errorf("%s{instance=%s}: got %v, want %v", g.name, g.instance, got, g.want)
		}
	}
	if m := value(t, fams, "devcluster_fault_active", map[string]string{"instance": "web.3", "fault": "delay"}); m.GetGauge().GetValue() != 1 {
		t.Errorf("fault_active{web.3, delay}: got %v, want 1", m.GetGauge().GetValue())
	}
	if n := len(fams["devcluster_fault_active"].GetMetric()); n != 1 {
		t.Errorf("fault_active: got %d series, want 1 (only web.3 has a fault)", n)
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	rec := NewRecorder(RecorderConfig{})
	req := Request{Instance: "web.2", Method: "GET", Path: "/cart", Status: 200, Duration: 3 * time.Millisecond, End: time.Now()}
	rec.Record(req) // the instance's first request makes its counters
	if n := testing.AllocsPerRun(1000, func() { rec.Record(req) }); n != 0 {
		t.Errorf("Record: got %v allocations per request, want 0", n)
	}
}

func TestRecentIsNewestFirstAndBounded(t *testing.T) {
	t.Parallel()
	rec := NewRecorder(RecorderConfig{Recent: 5})
	for i := range 12 {
		rec.Record(Request{Instance: "web.1", Path: fmt.Sprintf("/%d", i), Status: 200})
	}
	got := rec.Recent(10)
	if len(got) != 5 {
		t.Fatalf("got %d recent requests, want the 5 kept", len(got))
	}
	for k, r := range got {
		if want := fmt.Sprintf("/%d", 11-k); r.Path != want {
			t.Errorf("recent[%d]: got %s, want %s", k, r.Path, want)
		}
	}
	if got := NewRecorder(RecorderConfig{}).Recent(3); len(got) != 0 {
		t.Errorf("an empty recorder: got %d recent requests, want 0", len(got))
	}
}

func BenchmarkRecord(b *testing.B) {
	rec := NewRecorder(RecorderConfig{})
	ids := []string{"web.1", "web.2", "web.3"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			rec.Record(Request{Instance: ids[i%3], Method: "GET", Path: "/", Status: 200, Duration: time.Duration(i%2000) * time.Microsecond})
			i++
		}
	})
}
