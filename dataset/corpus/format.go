// Package corpus generates the documents a fresh student is pretrained on
// before distillation or RL: conversations in the shape of an R1 trace
// (a problem, `<think> … </think>`, then `\boxed{N}`) that teach the byte
// vocabulary, the digits and the answer format but not the arithmetic of
// the builtin suites. Every document is a pure function of the seed and
// its index, so a corpus is reproducible and needs no storage to check.
//
// Of ours it may import only `dataset` and `internal/atomicfile`.
package corpus

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/distill-dev/distill/dataset"
)

// The kinds of document, each a share of the corpus.
const (
	// KindEcho: "What is 47?", answered 47: copying a number into the box.
	KindEcho = "echo"
	// KindLargest: "What is the largest of 35, 56 and 82?": a number of
	// the text, chosen by comparison, not by arithmetic.
	KindLargest = "largest"
	// KindGuess: the builtin:arith:1-2 problem shape ("What is 35 + 56?",
	// "What is 35 + 56 + 82?") worked in the teacher's step lines, but with
	// random results: plausible sums of other operands, never the right
	// ones, so the student learns the shape of the work and not the sums.
	KindGuess = "guess"
)

// Doc is one document: a user problem and an R1-format assistant reply.
type Doc struct {
	Kind      string
	Problem   string
	Reasoning string
	Answer    string // the number in \boxed{}
}

// Messages is the document as a chat, the assistant's turn as
// DeepSeek-R1 writes it (dataset.R1Assistant), as the filter writes SFT rows.
func (d Doc) Messages() []dataset.Message {
	return []dataset.Message{
		{Role: "user", Content: d.Problem},
		{Role: "assistant", Content: dataset.R1Assistant(d.Reasoning, `\boxed{`+d.Answer+`}`)},
	}
}

// Format is document i of the corpus of seed: 20% echo, 20% largest, 60%
// guess, the guesses split evenly between two and three operands as
// builtin:arith:1-2's problems are.
func Format(seed uint64, i int) Doc {
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	switch u := rng.IntN(10); {
	case u < 2:
		n := strconv.Itoa(number(rng, 1+rng.IntN(3)))
		return Doc{Kind: KindEcho, Problem: "What is " + n + "?", Reasoning: n, Answer: n}
	case u < 4:
		return largest(rng)
	default:
		return guess(rng, 2+rng.IntN(2))
	}
}

// number is a random number of the given count of digits.
func number(rng *rand.Rand, digits int) int {
	lo := 1
	for range digits - 1 {
		lo *= 10
	}
	if digits == 1 {
		return rng.IntN(10)
	}
	return lo + rng.IntN(9*lo)
}

// twoDigit is a random operand of builtin:arith:1-2.
func twoDigit(rng *rand.Rand) int { return 10 + rng.IntN(90) }

func largest(rng *rand.Rand) Doc {
	xs := make([]int, 2+rng.IntN(2))
	for i := range xs {
		xs[i] = twoDigit(rng)
	}
	best := xs[0]
	var steps []string
	for _, x := range xs[1:] {
		if x > best {
			steps = append(steps, fmt.Sprintf("%d < %d", best, x))
			best = x
		} else {
			steps = append(steps, fmt.Sprintf("%d >= %d", best, x))
		}
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	list := strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
	return Doc{Kind: KindLargest, Problem: "What is the largest of " + list + "?",
		Reasoning: strings.Join(steps, "\n"), Answer: strconv.Itoa(best)}
}

// guess writes a sum of n two-digit operands as the builtin teacher works
// it, one addition a line ("35 + 56 = 91", "91 + 82 = 173"), each result
// replaced by a wrong one: the sum of as many fresh operands, drawn again
// while it equals the right partial sum or the line's own addition (whose
// first term is the previous wrong result). The results are independent of
// the problem's operands, so nothing in the document relates a sum to its
// terms.
func guess(rng *rand.Rand, n int) Doc {
	xs := make([]int, n)
	terms := make([]string, n)
	for i := range xs {
		xs[i] = twoDigit(rng)
		terms[i] = strconv.Itoa(xs[i])
	}
	var lines []string
	acc, shown := xs[0], xs[0] // the true partial sum, and the one written
	for k := 1; k < n; k++ {
		acc += xs[k]
		r := wrongSum(rng, k+1, acc, shown+xs[k])
		lines = append(lines, fmt.Sprintf("%d + %d = %d", shown, xs[k], r))
		shown = r
	}
	return Doc{Kind: KindGuess, Problem: "What is " + strings.Join(terms, " + ") + "?",
		Reasoning: strings.Join(lines, "\n"), Answer: strconv.Itoa(shown)}
}

// wrongSum is the sum of k fresh two-digit operands, equal to neither
// of the right values.
func wrongSum(rng *rand.Rand, k, right, line int) int {
	for {
		s := 0
		for range k {
			s += twoDigit(rng)
		}
		if s != right && s != line {
			return s
		}
	}
}
