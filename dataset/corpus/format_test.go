package corpus

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/dataset/reward"
	"github.com/distill-dev/distill/dataset/verify"
	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/student/tokenizer"
	"github.com/distill-dev/distill/teacher"
)

var addition = regexp.MustCompile(`(\d+) \+ (\d+) = (\d+)`)

// The corpus teaches the answer format and no sum: every document ends
// in a \boxed{} number the verifier extracts; every addition written in
// it is false; a sum problem's boxed answer is judged wrong by the reward
// GRPO uses, against the sum worked out here and, for the problems the
// quickstart's builtin:arith:1-2 suites also draw (generation, GRPO and
// evaluation seeds), against the suite's own reference.
func TestFormatTeachesNoSum(t *testing.T) {
	suite := map[string]string{}
	for _, seed := range []uint64{1, 2, 1000} {
		s, err := teacher.OpenSuite("builtin:arith:1-2", seed)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 10000 {
			p := s.At(i)
			suite[p.Problem] = p.Answer
		}
	}
	kinds := map[string]int{}
	const n = 20000
	inSuite := 0
	for i := range n {
		d := Format(7, i)
		kinds[d.Kind]++
		reply := d.Messages()[1].Content
		if got, ok := verify.Extract(reply); !ok || got != d.Answer {
			t.Fatalf("doc %d: extracted %q (%v), want %s:\n%s", i, got, ok, d.Answer, reply)
		}
		for _, m := range addition.FindAllStringSubmatch(d.Problem+"\n"+reply, -1) {
			if atoi(t, m[1])+atoi(t, m[2]) == atoi(t, m[3]) {
				t.Fatalf("doc %d writes a true addition %q:\n%s", i, m[0], reply)
			}
		}
		expr, isSum := strings.CutPrefix(d.Problem, "What is ")
		if !isSum || !strings.Contains(expr, " + ") {
			continue
		}
		sum := 0
		for term := range strings.SplitSeq(strings.TrimSuffix(expr, "?"), " + ") {
			sum += atoi(t, term)
		}
		refs := []string{strconv.Itoa(sum)}
		if ans, ok := suite[d.Problem]; ok {
			refs = append(refs, ans)
			inSuite++
		}
		for _, ref := range refs {
			s := &reward.Sample{Prompt: record.Prompt{Problem: d.Problem, Answer: ref, Task: "builtin:arith"}, Content: reply, FinishReason: "stop"}
			if reward.Accuracy(s) != 0 {
				t.Fatalf("doc %d answers %s = %s correctly:\n%s", i, expr, ref, reply)
			}
		}
	}
	// The guesses have the suite's problem shape: many are its problems.
	if inSuite < 1000 {
		t.Errorf("%d of %d documents are problems of the quickstart's suites, want the same shape", inSuite, n)
	}
	for kind, share := range map[string]float64{KindEcho: 0.2, KindLargest: 0.2, KindGuess: 0.6} {
		if got := float64(kinds[kind]) / n; got < share-0.02 || got > share+0.02 {
			t.Errorf("%s: %.3f of the documents, want %.1f", kind, got, share)
		}
	}
}

// Echo and largest documents answer right: the numbers are the text's.
func TestFormatAnswersFromTheText(t *testing.T) {
	for i := range 2000 {
		d := Format(3, i)
		var want int
		switch d.Kind {
		case KindEcho:
			want = atoi(t, strings.TrimSuffix(strings.TrimPrefix(d.Problem, "What is "), "?"))
		case KindLargest:
			list := strings.TrimSuffix(strings.TrimPrefix(d.Problem, "What is the largest of "), "?")
			for _, f := range strings.Split(strings.Replace(list, " and ", ", ", 1), ", ") {
				want = max(want, atoi(t, f))
			}
		default:
			continue
		}
		if d.Answer != strconv.Itoa(want) {
			t.Fatalf("doc %d: %q answered %s, want %d", i, d.Problem, d.Answer, want)
		}
	}
}

// A corpus is a function of its seed: written twice it is the same bytes,
// with another seed other documents; its rows are the rendered chats,
// read back through the trainer's reader.
func TestWriteIsDeterministic(t *testing.T) {
	tmpl, err := tokenizer.TemplateFor("chatml")
	if err != nil {
		t.Fatal(err)
	}
	render := func(msgs []dataset.Message) (string, error) {
		m := make([]tokenizer.Message, len(msgs))
		for i, x := range msgs {
			m[i] = tokenizer.Message{Role: x.Role, Content: x.Content}
		}
		return tmpl.Format(m, false)
	}
	write := func(seed uint64) (string, map[string][]byte) {
		dir := t.TempDir()
		m, err := Write(context.Background(), Options{Dir: dir, Docs: 300, TestDocs: 20, Seed: seed, Render: render, Template: "chatml"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Train != 300 || m.Test != 20 || m.Kinds[KindGuess]+m.Kinds[KindEcho]+m.Kinds[KindLargest] != 320 {
			t.Fatalf("manifest %+v", m)
		}
		files := map[string][]byte{}
		for _, split := range []string{"train", "test"} {
			shards, err := dataset.ListShards(dir, split)
			if err != nil || len(shards) != 1 {
				t.Fatalf("%s shards %v, %v", split, shards, err)
			}
			b, err := os.ReadFile(shards[0])
			if err != nil {
				t.Fatal(err)
			}
			files[split] = b
		}
		return dir, files
	}
	dir, a := write(5)
	_, b := write(5)
	_, c := write(6)
	for _, split := range []string{"train", "test"} {
		if string(a[split]) != string(b[split]) {
			t.Errorf("%s: two writes with seed 5 differ", split)
		}
		if string(a[split]) == string(c[split]) {
			t.Errorf("%s: seeds 5 and 6 wrote the same corpus", split)
		}
	}
	shards, _ := dataset.ListShards(dir, "test")
	i := 300 // the test documents follow the train ones
	err = dataset.ReadMessages(context.Background(), shards[0], func(r dataset.MessagesRow) error {
		want, err := render(Format(5, i).Messages())
		if err != nil {
			return err
		}
		if r.Text != want || len(r.Messages) != 0 {
			t.Fatalf("test row %d: %q, want %q", i, r.Text, want)
		}
		i++
		return nil
	})
	if err != nil || i != 320 {
		t.Fatalf("read %d test rows: %v", i-300, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestName)); err != nil {
		t.Error(err)
	}
}

// Bad options are refused with the flag they come from.
func TestWriteRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Dir: "x", Docs: 0}, "--docs"},
		{Options{Dir: "x", Docs: 1, TestDocs: -1}, "--test-docs"},
		{Options{Docs: 1}, "--out"},
	} {
		if _, err := Write(context.Background(), tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want one naming %s", tc.o, err, tc.want)
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}
