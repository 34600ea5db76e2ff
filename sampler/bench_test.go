package sampler

import (
	"context"
	"testing"

	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/teacher"
)

// BenchmarkRunBuiltin is one trace of the builtin teacher through the
// whole sampler: plan, workers, journal, manifest. Compare with
// BenchmarkTeacherOnly, the same teacher call alone (scripts/bench/generate.sh
// does the same at 800k traces, with peak RSS).
func BenchmarkRunBuiltin(b *testing.B) {
	cfg := testConfig(&testing.T{}, b.TempDir(), max(b.N, 1), 1)
	cfg.Concurrency = 4
	j, err := Open(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	s, err := j.Run(context.Background())
	if err != nil || s.Written != int64(max(b.N, 1)) {
		b.Fatalf("%v %+v", err, s)
	}
}

func BenchmarkTeacherOnly(b *testing.B) {
	p, _ := OpenSuitePrompts("builtin:arith", max(b.N, 1), 1)
	tmpl, _ := ResolveTemplate("r1", nil)
	t := teacher.NewBuiltin(teacher.DefaultBuiltinConfig())
	seed := int64(1)
	enc := newLineEncoder()
	b.ResetTimer()
	p.Each(context.Background(), func(pr record.Prompt) error {
		user := tmpl.Render(pr.Problem)
		resp, err := t.Complete(context.Background(), teacher.Request{Messages: []teacher.Message{{Role: "user", Content: user}}, Seed: &seed})
		if err != nil {
			b.Fatal(err)
		}
		enc.encode(resp)
		return nil
	})
}
