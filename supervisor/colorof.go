package supervisor

import "github.com/fatih/color"

// ColorOf returns the colour of id's "web.2 |" prefixes, so that lines about an
// instance printed elsewhere (the proxy's access log beside them) are coloured
// like its own. An id that has not printed yet gets its colour now, the one its
// first line will have. Nil when the supervisor prints without colour (NO_COLOR,
// not a terminal): callers print plain then, as the supervisor does.
func (s *Supervisor) ColorOf(id string) *color.Color { return s.out.colorOf(id) }

// colorOf is show's colour choice, taken under the same lock.
func (o *output) colorOf(id string) *color.Color {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.color {
		return nil
	}
	c, ok := o.colors[id]
	if !ok {
		c = color.New(palette[len(o.colors)%len(palette)])
		c.EnableColor()
		o.colors[id] = c
	}
	return c
}
