package a

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"example.com/mod/helper"
)

// get fails on its t, as proxy's get did.
func get(t testing.TB, url string) string {
	t.Helper()
	if url == "" {
		t.Fatalf("no url")
	}
	return url
}

// mustGet fails only through get: found by the fixed point.
func mustGet(tb testing.TB) string { return get(tb, "x") }

// quiet takes a t but never fails it.
func quiet(t *testing.T) { t.Log("fine") }

func TestBad(t *testing.T) {
	p := &helper.Page{}
	go func() {
		t.Fatal("direct") // want t.Fatal
	}()
	go func() {
		get(t, "u") // want get
	}()
	go func() {
		mustGet(t) // want mustGet
	}()
	var wg sync.WaitGroup
	wg.Go(func() {
		helper.WaitFor(t, time.Second, func() bool { return true }) // want helper.WaitFor
	})
	time.AfterFunc(time.Second, func() { t.FailNow() }) // want t.FailNow
	_ = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Skipf("in a handler") // want t.Skipf
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.MustClick() // want p.MustClick
	})
	go func(tt *testing.T) {
		tt.Fatal("passed in") // want tt.Fatal
	}(t)
	go mustGet(t) // want mustGet
}

func TestGood(t *testing.T) {
	p := &helper.Page{}
	errc := make(chan error, 1)
	go func() {
		t.Error("reported, and the goroutine returns")
		quiet(t)
		helper.Poll(time.Second, func() bool { return true })
		_ = p.Text()
		errc <- nil
	}()
	go func() {
		t.Run("sub", func(t *testing.T) {
			t.Fatal("a subtest's own goroutine")
		})
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	get(t, "on the test's goroutine")
	helper.WaitFor(t, time.Second, func() bool { return true })
	p.MustClick()
}
