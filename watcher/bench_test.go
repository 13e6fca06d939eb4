package watcher

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkSaveToBatch measures the time from a file write to its batch on
// Batches(): the debounce plus the watcher's own overhead.
//
//	go test -run '^$' -bench SaveToBatch -benchtime 20x ./watcher
func BenchmarkSaveToBatch(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"inotify/debounce=50ms (default)", Config{}},
		{"inotify/debounce=10ms", Config{Debounce: 10 * time.Millisecond}},
		{"poll=500ms/debounce=50ms", Config{Poll: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			root := b.TempDir()
			writeFiles(b, root, map[string]string{"app.py": "v0", "pkg/a/b/c.py": "", "pkg/d/e.py": ""})
			cfg := bc.cfg
			cfg.Root = root
			w, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			defer func() { cancel(); <-done }()
			<-w.Ready()
			p := filepath.Join(root, "app.py")

			var total time.Duration
			b.ResetTimer()
			for i := range b.N {
				begin := time.Now()
				if err := os.WriteFile(p, []byte("v"+strconv.Itoa(i)), 0o644); err != nil {
					b.Fatal(err)
				}
				select {
				case <-w.Batches():
				case <-time.After(10 * time.Second):
					b.Fatal("no batch within 10s")
				}
				total += time.Since(begin)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/save")
		})
	}
}
