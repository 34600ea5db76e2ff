package distill

import (
	"math"
	"strings"
	"testing"

	"github.com/distill-dev/distill/student/train"
)

// A run on data without test shards says it has no held-out set instead of
// reporting "held-out loss NaN (NaN before)".
func TestTrainSummary(t *testing.T) {
	for _, tc := range []struct {
		name          string
		first, last   float64
		want, notWant string
	}{
		{"no test split", math.NaN(), math.NaN(), "no held-out set", "NaN"},
		{"test split", 2.5, 1.25, "held-out loss 1.2500 (2.5000 before)", "no held-out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := trainSummary(&train.Result{Steps: 3, Loss: 1, FirstEvalLoss: tc.first, EvalLoss: tc.last}, "OUT")
			if !strings.Contains(got, tc.want) || strings.Contains(got, tc.notWant) {
				t.Errorf("summary %q: want %q, not %q", got, tc.want, tc.notWant)
			}
		})
	}
}
