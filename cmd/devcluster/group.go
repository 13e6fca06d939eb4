package main

import (
	"sync"
	"time"
)

// actor is one long-running part of a cluster, in the shape of oklog/run's actors: run
// works until interrupt is called. interrupt only signals (cancels a context, closes a
// channel) and returns at once, so that whoever stops the actors decides the order and
// what to wait for; the cluster writes that order down once, in cluster.stop.
type actor struct {
	name      string
	run       func() error
	interrupt func()

	done chan struct{} // closed when run has returned
	err  error         // what run returned; read after done
	once sync.Once
}

// actors starts a set of actors and tells which one ended first.
type actors struct {
	list   []*actor
	exited chan *actor // every actor sends itself once when run returns
}

// add registers an actor; it starts with the others in start.
func (s *actors) add(name string, run func() error, interrupt func()) *actor {
	a := &actor{name: name, run: run, interrupt: interrupt, done: make(chan struct{})}
	s.list = append(s.list, a)
	return a
}

// start runs every actor in its own goroutine; wait (or each actor's stop) is where
// those goroutines are waited for.
func (s *actors) start() {
	s.exited = make(chan *actor, len(s.list))
	for _, a := range s.list {
		go func() {
			a.err = a.run()
			close(a.done)
			s.exited <- a
		}()
	}
}

// stop interrupts a and waits until its run has returned.
func (a *actor) stop() {
	a.once.Do(a.interrupt)
	<-a.done
}

// stopWithin interrupts a and waits until its run has returned, for at most d or
// until cut is closed (a second Ctrl-C), reporting whether a has ended.
func (a *actor) stopWithin(d time.Duration, cut <-chan struct{}) bool {
	a.once.Do(a.interrupt)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-a.done:
		return true
	case <-t.C:
	case <-cut:
	}
	return false
}

// wait interrupts every actor still running and returns once all have returned.
func (s *actors) wait() {
	for _, a := range s.list {
		a.stop()
	}
}
