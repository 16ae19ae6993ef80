package autoencoder

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/errkind"
	"github.com/latentzoo/latentzoo/latent"
)

// examplePoolSize is how many test images a model keeps for Examples, evenly spread
// through its data set's test split.
const examplePoolSize = 256

// examplePool holds some test images of a model's data set, at the model's size. It loads
// them on first use; a failed load is tried again on the next call, so a data set
// installed while a server runs is found without a restart.
type examplePool struct {
	mu     sync.Mutex
	set    *dataset.Set
	index  []int // each image's index in the test split
	labels []string
}

// get loads the pool if it is not loaded yet.
func (p *examplePool) get(m *Model) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.set != nil {
		return nil
	}
	man := m.manifest
	full, err := dataset.Load(man.Dataset, dataset.Test, man.Resolution, man.Channels)
	if err != nil {
		return err
	}
	if full.N == 0 {
		return fmt.Errorf("data set %s has no test images", man.Dataset)
	}
	n := min(examplePoolSize, full.N)
	set := *full
	set.N = n
	set.Images = make([]float32, n*full.ImageSize())
	set.Labels = nil
	p.index = make([]int, n)
	p.labels = make([]string, n)
	for i := range n {
		j := i * full.N / n
		copy(set.Image(i), full.Image(j))
		p.index[i] = j
		if l := full.Labels[j]; l >= 0 && l < len(full.Classes) {
			p.labels[i] = full.Classes[l]
		}
	}
	p.set = &set
	return nil
}

// Example is one test image of the model's data set, at the model's size.
type Example struct {
	Index int       // in the data set's test split
	Label string    // the class, if the data set has classes
	Image []float32 // CHW
}

// ExampleSplit is the data set split that Examples draws from.
const ExampleSplit = dataset.Test

// Examples returns n test images of the model's data set (at most the pool's 256), evenly
// spread through the pool, or, when random is set, drawn from it by seed. Without the data
// set on this machine it is an errkind.NotFound error.
func (m *Model) Examples(n int, seed int64, random bool) ([]Example, error) {
	pool := &m.examples
	if err := pool.get(m); err != nil {
		return nil, errkind.New(errkind.NotFound, "no test images for model %s: its data set %s is not available on this server (%w)", m.Name(), m.manifest.Dataset, err)
	}
	n = min(n, pool.set.N)
	pick := make([]int, n)
	if random {
		perm := rand.New(rand.NewPCG(uint64(seed), latent.SeedStream)).Perm(pool.set.N)
		copy(pick, perm)
	} else {
		for i := range pick {
			pick[i] = i * pool.set.N / n
		}
	}
	out := make([]Example, n)
	for k, i := range pick {
		out[k] = Example{Index: pool.index[i], Label: pool.labels[i], Image: pool.set.Image(i)}
	}
	return out, nil
}
