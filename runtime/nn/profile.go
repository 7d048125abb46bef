package nn

import "time"

// Profile records the time spent in each layer's forward and backward code, per worker.
// Setting Workspace.Profile turns it on (netc bench does); generated code then calls Start
// and Tick around every layer, which costs a clock read each.
type Profile struct {
	// Forward and Backward are indexed [worker][layer].
	Forward, Backward [][]time.Duration
	last              []time.Time
}

// NewProfile returns an empty profile for the given numbers of workers and layers.
func NewProfile(workers, layers int) *Profile {
	p := &Profile{last: make([]time.Time, workers)}
	for range workers {
		p.Forward = append(p.Forward, make([]time.Duration, layers))
		p.Backward = append(p.Backward, make([]time.Duration, layers))
	}
	return p
}

// Start marks the moment worker w starts a run of layers.
func (p *Profile) Start(w int) { p.last[w] = time.Now() }

// Tick charges the time since worker w's last Start or Tick to layer.
func (p *Profile) Tick(w, layer int, backward bool) {
	now := time.Now()
	d := now.Sub(p.last[w])
	p.last[w] = now
	if backward {
		p.Backward[w][layer] += d
	} else {
		p.Forward[w][layer] += d
	}
}

// Layer returns the time spent in layer summed over workers, forward and backward.
func (p *Profile) Layer(layer int) (forward, backward time.Duration) {
	for w := range p.Forward {
		forward += p.Forward[w][layer]
		backward += p.Backward[w][layer]
	}
	return forward, backward
}
