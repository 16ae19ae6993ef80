package zoo

import (
	"strings"
	"testing"
)

// TestModelCardTraining checks the card's training paragraph: the run's length, which
// loss-log line its losses come from, and the exported checkpoint.
func TestModelCardTraining(t *testing.T) {
	tests := []struct {
		name string
		run  RunSummary
		want []string
	}{
		{
			name: "last checkpoint",
			run:  RunSummary{Steps: 1000, Epochs: 2, Backend: "onnx:cpu", Final: map[string]float64{"loss": 1.5}, FinalStep: 1000},
			want: []string{"1000 steps (2.0 epochs)", "Final loss-log line: loss 1.5;"},
		},
		{
			name: "best checkpoint before the end",
			run: RunSummary{Steps: 1000, Epochs: 2, Backend: "onnx:cpu", Final: map[string]float64{"loss": 2.5}, FinalStep: 750,
				Checkpoint: "best", CheckpointStep: 760},
			want: []string{"1000 steps (2.0 epochs)", "Loss-log line of step 750, the last up to the exported checkpoint: loss 2.5;", "Exported from the best checkpoint, step 760"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Manifest{Name: "vae/test:v1", Family: "vae", Dataset: "test", Resolution: 32, Channels: 1, LatentSize: 8, Run: &tt.run}
			card := string(ModelCard(m))
			for _, w := range tt.want {
				if !strings.Contains(card, w) {
					t.Errorf("card lacks %q:\n%s", w, card)
				}
			}
		})
	}
}
