package main

// actorGroup runs actors in the style of oklog/run: each actor is an execute function and
// an interrupt function. When the first execute returns, every interrupt is called; Run
// returns the first error only after every execute has returned, so no goroutine outlives
// the group.
type actorGroup struct {
	actors []actor
}

type actor struct {
	name      string
	execute   func() error
	interrupt func(error)
}

func (g *actorGroup) add(name string, execute func() error, interrupt func(error)) {
	g.actors = append(g.actors, actor{name: name, execute: execute, interrupt: interrupt})
}

type actorResult struct {
	name string
	err  error
}

// run starts every actor and returns the first result once all have exited.
func (g *actorGroup) run() (string, error) {
	if len(g.actors) == 0 {
		return "", nil
	}
	results := make(chan actorResult, len(g.actors))
	for _, a := range g.actors {
		go func(a actor) {
			results <- actorResult{name: a.name, err: a.execute()}
		}(a)
	}
	first := <-results
	for _, a := range g.actors {
		a.interrupt(first.err)
	}
	for i := 1; i < len(g.actors); i++ {
		<-results
	}
	return first.name, first.err
}
