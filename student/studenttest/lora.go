package studenttest

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/lora"
	"github.com/distill-dev/distill/student/trainer"
)

// PublishedLoRA checks what a LoRA run published into out: a merged model
// that loads, and in out/adapter a PEFT adapter that merges into the base
// it names to the same weights (within 1e-6). It returns both for the
// caller's checks of rank, alpha, targets and base.
func PublishedLoRA(t testing.TB, out string) (*student.Student, *lora.Adapters) {
	t.Helper()
	merged, err := student.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(out, trainer.AdapterDir)
	a, err := lora.Load(dir, merged.Weights.Config)
	if err != nil {
		t.Fatal(err)
	}
	viaAdapter, err := student.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range viaAdapter.Weights.Params() {
		q := merged.Weights.Params()[i]
		for j := range p.Tensor.Data {
			if d := math.Abs(float64(p.Tensor.Data[j] - q.Tensor.Data[j])); d > 1e-6 {
				t.Fatalf("%s[%d]: base+adapter %g, published %g", p.Name, j, p.Tensor.Data[j], q.Tensor.Data[j])
			}
		}
	}
	return merged, a
}
