package rl

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/distill-dev/distill/student/studenttest"
)

// sampleRun is a GRPO run set up on the tiny model, rewarded for a
// completion that starts with a digit (a few percent of a random model's):
// most groups of 4 have no signal.
func sampleRun(t *testing.T, dir string, dynamic bool, maxBatches int) *run {
	t.Helper()
	o := digitOptions(t, dir)
	o.PromptsPerStep, o.NumGenerations, o.MaxNewTokens = 4, 4, 2
	o.DynamicSampling, o.MaxGenBatches = dynamic, maxBatches
	return newRun(t, o, testPrompts(8, 0))
}

// completions is every group's completions, in order.
func completions(gs []*group) [][][]int32 {
	var out [][][]int32
	for _, g := range gs {
		out = append(out, g.comps)
	}
	return out
}

// Dynamic sampling (DAPO) draws batches until PromptsPerStep groups have
// rewards that differ, trains on the first ones found and on no group
// without a signal, stops at MaxGenBatches, and samples its first batch as
// a step without it does.
func TestDynamicSampling(t *testing.T) {
	dir := studenttest.Tiny(t, 3)
	ctx := context.Background()

	plain := sampleRun(t, dir, false, 0)
	p, err := plain.sample(ctx, &plain.t.State)
	if err != nil {
		t.Fatal(err)
	}
	if p.batches != 1 || len(p.groups) != 4 || len(p.train) != 4 {
		t.Fatalf("without dynamic sampling: %d batches, %d groups, %d trained on; want 1, 4, 4", p.batches, len(p.groups), len(p.train))
	}

	for _, tc := range []struct {
		name       string
		maxBatches int
	}{{"fills the step", 200}, {"stops at the limit", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			r := sampleRun(t, dir, true, tc.maxBatches)
			d, err := r.sample(ctx, &r.t.State)
			if err != nil {
				t.Fatal(err)
			}
			if d.batches > tc.maxBatches || len(d.groups) != 4*d.batches {
				t.Fatalf("%d batches (at most %d), %d groups", d.batches, tc.maxBatches, len(d.groups))
			}
			if !reflect.DeepEqual(completions(d.groups[:4]), completions(p.groups)) {
				t.Error("the first batch differs from the step's without dynamic sampling")
			}
			var signal []*group
			for _, g := range d.groups {
				if g.signal() {
					signal = append(signal, g)
				}
			}
			want := signal[:min(4, len(signal))]
			if !slices.Equal(d.train, want) {
				t.Errorf("trained on %d groups, want the first %d of the %d with a signal", len(d.train), len(want), len(signal))
			}
			switch {
			case tc.maxBatches == 200 && (len(d.train) != 4 || d.batches < 2):
				t.Errorf("%d batches gave %d groups to train on; want 4, from more than one batch at this reward's rate", d.batches, len(d.train))
			case tc.maxBatches == 2 && d.batches != 2:
				t.Errorf("%d batches; want the limit, 2, before 4 groups with a signal are found", d.batches)
			}
			t.Logf("%d batches, %d of %d groups with a signal", d.batches, len(signal), len(d.groups))
		})
	}
}
