package dashboard

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The state metrics are read from a Snapshot at each scrape (the counts of
// requests are the Recorder's, fed per request). client_golang writes the
// exposition format: its escaping, HELP/TYPE lines and histogram series
// (cumulative le buckets, +Inf, _sum, _count) are easy to get subtly wrong
// by hand, and Prometheus rejects a whole scrape for one bad line.
var (
	upDesc = prometheus.NewDesc("devcluster_instance_up",
		"1 when the balancer sends the instance requests (or, for an unbalanced process, when its process is ready).",
		[]string{"instance", "process"}, nil)
	restartsDesc = prometheus.NewDesc("devcluster_instance_restarts_total",
		"Restarts of the instance's process (crashes, kills and restarts asked for).", []string{"instance"}, nil)
	reloadsDesc = prometheus.NewDesc("devcluster_instance_reloads_total",
		"Reloads of the instance after source changes.", []string{"instance"}, nil)
	retriesDesc = prometheus.NewDesc("devcluster_instance_retries_total",
		"Requests retried on another instance after failing on this one.", []string{"instance"}, nil)
	connectDesc = prometheus.NewDesc("devcluster_instance_connect_errors_total",
		"Failed attempts to connect to the instance.", []string{"instance"}, nil)
	activeDesc = prometheus.NewDesc("devcluster_instance_active_requests",
		"Requests in flight to the instance.", []string{"instance"}, nil)
	faultDesc = prometheus.NewDesc("devcluster_fault_active",
		"1 for each fault set on an instance, by kind.", []string{"instance", "fault"}, nil)
)

// scrapeTimeout bounds the Snapshot of one scrape.
const scrapeTimeout = 5 * time.Second

// clusterCollector turns a Snapshot into metrics at scrape time.
type clusterCollector struct{ d *Dashboard }

func (c clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{upDesc, restartsDesc, reloadsDesc, retriesDesc, connectDesc, activeDesc, faultDesc} {
		ch <- d
	}
}

func (c clusterCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	snap, err := c.d.cfg.Cluster.Snapshot(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(upDesc, err)
		return
	}
	for _, in := range snap.Instances {
		up := 0.0
		if in.Balancer == "up" || (in.Balancer == "" && in.State == "ready") {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up, in.ID, in.Process)
		ch <- prometheus.MustNewConstMetric(restartsDesc, prometheus.CounterValue, float64(in.Restarts), in.ID)
		ch <- prometheus.MustNewConstMetric(reloadsDesc, prometheus.CounterValue, float64(in.Reloads), in.ID)
		ch <- prometheus.MustNewConstMetric(retriesDesc, prometheus.CounterValue, float64(in.Retries), in.ID)
		ch <- prometheus.MustNewConstMetric(connectDesc, prometheus.CounterValue, float64(in.Connect), in.ID)
		ch <- prometheus.MustNewConstMetric(activeDesc, prometheus.GaugeValue, float64(in.Active), in.ID)
		seen := map[ActionKind]bool{}
		for _, f := range in.Faults {
			if seen[f.Kind] {
				continue // one series per kind: two delays on one instance are one fault to alert on
			}
			seen[f.Kind] = true
			ch <- prometheus.MustNewConstMetric(faultDesc, prometheus.GaugeValue, 1, in.ID, string(f.Kind))
		}
	}
}
