package trainer

import (
	"math"
	"testing"

	"github.com/distill-dev/distill/student/model"
)

// Reference values from torch.optim.AdamW(lr=0.1, betas=(0.9,0.999),
// eps=1e-8, weight_decay=0.01) on w=[1,-2], grads [0.5,-1] then [0.1,0.2]
// (torch 1.13, computed with /usr/bin/python3).
func TestAdamWMatchesTorch(t *testing.T) {
	w := model.Named{Name: "w", Tensor: &model.Tensor{Shape: []int{1, 2}, Data: []float32{1, -2}}}
	g := model.Named{Name: "w", Tensor: &model.Tensor{Shape: []int{1, 2}, Data: []float32{0.5, -1}}}
	o := newAdamW([]model.Named{w}, 0.9, 0.999, 1e-8, 0.01)
	o.Update([]model.Named{w}, []model.Named{g}, 0.1)
	g.Tensor.Data = []float32{0.1, 0.2}
	o.Update([]model.Named{w}, []model.Named{g}, 0.1)
	want := []float64{0.81779695, -1.84499943}
	for i := range want {
		if math.Abs(float64(w.Tensor.Data[i])-want[i]) > 1e-5 {
			t.Errorf("w[%d] = %.8f, torch gives %.8f", i, w.Tensor.Data[i], want[i])
		}
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{Kind: "cosine", Peak: 1, Warmup: 10, Total: 110, MinRatio: 0.1}
	for _, tc := range []struct {
		step int
		want float64
	}{{0, 0.1}, {9, 1}, {10, 1}, {60, 0.55}, {110, 0.1}, {500, 0.1}} {
		if got := s.LR(tc.step); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("cosine LR(%d) = %g, want %g", tc.step, got, tc.want)
		}
	}
	s.Kind = "linear"
	if got := s.LR(60); math.Abs(got-0.55) > 1e-9 {
		t.Errorf("linear LR(60) = %g", got)
	}
	s.Kind = "constant"
	if got := s.LR(100); got != 1 {
		t.Errorf("constant LR(100) = %g", got)
	}
}
