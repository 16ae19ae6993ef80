package train

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.
)

// This file holds the terms that several families' losses share.

// reparameterize draws z = mu + exp(logvar/2)·eps.
func reparameterize(mu, logvar, eps *Node) *Node {
	return Add(mu, Mul(Exp(MulScalar(logvar, 0.5)), eps))
}

// klDivergence is KL(N(mu, exp(logvar)) || N(0, I)) per example: -1/2 Σ(1 + logvar - mu² - exp(logvar)).
func klDivergence(mu, logvar *Node) *Node {
	t := Sub(Sub(OnePlus(logvar), Square(mu)), Exp(logvar))
	return MulScalar(ReduceSum(t, -1), -0.5)
}

// reconstructionError is the per-example error between the net's output and target x:
// summed binary cross-entropy (from the output's logits) or summed squared error.
func reconstructionError(kind string, out netOutputs, name string, x *Node) *Node {
	axes := make([]int, x.Rank()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	switch kind {
	case "bce":
		logits, ok := out.Logits[name]
		if !ok {
			panic(fmt.Sprintf("train: output %q has no logits for bce", name))
		}
		// BCE(x, sigmoid(l)) = softplus(l) - x·l.
		return ReduceSum(Sub(softplus(logits), Mul(x, logits)), axes...)
	case "mse":
		return ReduceSum(Square(Sub(out.Out[name], x)), axes...)
	}
	panic(fmt.Sprintf("train: unknown reconstruction error %q", kind))
}
