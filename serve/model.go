package serve

import (
	"sync"
	"time"

	"github.com/latentzoo/latentzoo/autoencoder"
	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/zoo"
)

// model is a served model: an entry open as an autoencoder, and the requests using it.
type model struct {
	*autoencoder.Model
	// name is the entry's name, which the server looks models up by.
	name string
	// entry is the zoo entry the model was opened from, whose pictures it serves.
	entry zoo.Entry
	// users counts the requests using the model, which a load that replaces it waits for
	// before closing it.
	users sync.WaitGroup
}

// open opens entry e's graphs for serving, with their runs counted in the metrics.
func (s *Server) open(e zoo.Entry) (*model, error) {
	name := e.Manifest().Name
	ae, err := autoencoder.Open(e, autoencoder.Options{
		Runtime: infer.Options{Device: s.cfg.Device, IntraOpThreads: s.cfg.IntraOpThreads},
		Logger:  s.log,
		Observe: func(role string, batch int, d time.Duration) {
			s.metrics.observeInference(name, role, batch, d)
		},
		Batching: autoencoder.Batching{
			MaxBatch: s.cfg.BatchSize,
			MaxDelay: s.cfg.BatchDelay,
			MaxQueue: s.cfg.QueueSize,
			ObserveQueue: func(role string, d time.Duration) {
				s.metrics.observeQueue(name, role, d)
			},
		},
	})
	if err != nil {
		return nil, err
	}
	return &model{Model: ae, name: name, entry: e}, nil
}
