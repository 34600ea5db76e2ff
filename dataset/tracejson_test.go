package dataset

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/distill-dev/distill/record"
)

// decodeTrace must agree with encoding/json on what it accepts and what it
// reads.
func TestDecodeTraceMatchesEncodingJSON(t *testing.T) {
	lines := []string{
		`{"prompt_id":"p1","sample":2,"prompt":"What is 1 + 1?","reference":"2","task":"builtin:arith","source":"s","teacher":"t","model":"m","params":{"temperature":0.6,"top_p":0.95,"max_tokens":100,"seed":3},"reasoning":"1 + 1 = 2","content":"\\boxed{2}","finish_reason":"stop","usage":{"prompt_tokens":5,"completion_tokens":9,"reasoning_tokens":4},"latency_ms":12,"attempts":1,"error":"","created_at":"2026-01-02T03:04:05.123Z"}`,
		`{"prompt_id":"p\u00e9\ud83d\ude00","prompt":"a\nb\t\"c\"\\ \/ \b\f\r","content":"<think>x</think>y","extra":{"a":[1,2,{"b":null}],"c":true,"d":-1.5e3}}`,
		`{"prompt_id":"lone \ud800 x \udc00 y \ud800\u0041","prompt":"p","params":{"seed":null},"usage":null}`,
		` { "prompt_id" : "p" , "prompt" : "q" , "sample" : 0 } `,
		`{"prompt_id":"p","prompt":"q","reasoning":null}`,
		`{}`,
		`{"prompt_id":"p","prompt":"q","prompt":"dup key: last wins"}`,
		// malformed
		``, `{`, `[]`, `{"prompt_id":"p",}`, `{"prompt_id":"p" "prompt":"q"}`, `{"prompt_id":p}`,
		`{"prompt_id":"p","sample":"3"}`, `{"prompt_id":"p","sample":1.5}`, `{"prompt_id":"p","sample":01}`,
		`{"prompt_id":"a` + "\x01" + `"}`, `{"prompt_id":"a` + "\x01", `{"prompt_id":"a\n` + "\x01" + `"}`, `{"prompt_id":"a\n`, `{"prompt_id":"\x"}`, `{"prompt_id":"\u12"}`, `{"prompt_id":"p"} x`,
		`{"prompt_id":"p","usage":{"completion_tokens":"9"}}`, `{"prompt_id":"p","usage":[1]}`,
		`{"prompt_id":"p","x":tru}`, `{"prompt_id":"p","x":[1,]}`, `{"prompt_id":"p","created_at":"yesterday"}`,
		`{"prompt_id":"p","x":-}`, `{"prompt_id":"p","x":1.}`, `{"prompt_id":"p","x":1e}`,
		// integers at and beyond int64's bounds, with fractions and exponents
		`{"prompt_id":"p","params":{"seed":9223372036854775807},"latency_ms":-9223372036854775808}`,
		`{"prompt_id":"p","params":{"seed":9223372036854775808}}`, `{"prompt_id":"p","latency_ms":-9223372036854775809}`,
		`{"prompt_id":"p","params":{"seed":10000000000000000000}}`, `{"prompt_id":"p","attempts":1e2}`,
		`{"prompt_id":"p","usage":{"reasoning_tokens":2.0}}`, `{"prompt_id":"p","params":{"max_tokens":999999999999999999}}`,
		`{"prompt_id":"p","params":{"temperature":1e400}}`, `{"prompt_id":"p","params":{"top_p":0.5E-1}}`,
	}
	for _, tr := range builtinTraces(t, 20, 2) {
		b, _ := json.Marshal(tr)
		lines = append(lines, string(b))
	}
	for _, line := range lines {
		var want, got record.Trace
		werr := json.Unmarshal([]byte(line), &want)
		gerr := decodeTrace([]byte(line), &got)
		if (werr == nil) != (gerr == nil) {
			t.Errorf("%q: encoding/json error %v, decodeTrace error %v", line, werr, gerr)
			continue
		}
		if werr == nil && !reflect.DeepEqual(want, got) {
			t.Errorf("%q:\n got %+v\nwant %+v", line, got, want)
		}
	}
}

func FuzzDecodeTrace(f *testing.F) {
	f.Add(`{"prompt_id":"p","sample":1,"prompt":"q\u00e9\n","usage":{"completion_tokens":3},"x":[1,{"y":null}]}`)
	f.Add(`{"prompt_id":"\ud800\udc00"}`)
	f.Fuzz(func(t *testing.T, line string) {
		if strings.Contains(strings.ToLower(line), `created_at`) || strings.ContainsAny(line, "\u212a\u017f") ||
			strings.Contains(strings.ToLower(line), `\u212a`) || strings.Contains(strings.ToLower(line), `\u017f`) {
			// Time layouts differ in corner cases we do not care about;
			// encoding/json also folds the Kelvin sign and long s into k
			// and s in keys, which no trace writer relies on.
			return
		}
		var want, got record.Trace
		werr := json.Unmarshal([]byte(line), &want)
		gerr := decodeTrace([]byte(line), &got)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: encoding/json error %v, decodeTrace error %v", line, werr, gerr)
		}
		checkLean(t, line, &got, gerr)
		if werr == nil && !reflect.DeepEqual(want, got) {
			t.Fatalf("%q:\n got %+v\nwant %+v", line, got, want)
		}
	})
}

// BenchmarkDecodeTrace compares decodeTrace with encoding/json on the same
// builtin-teacher lines, in the same run: read the ratio of the two.
func BenchmarkDecodeTrace(b *testing.B) {
	var lines [][]byte
	size := 0
	for _, tr := range builtinTraces(b, 200, 4) {
		line, _ := json.Marshal(tr)
		lines = append(lines, line)
		size += len(line)
	}
	for _, dec := range []struct {
		name string
		f    func([]byte, *record.Trace) error
	}{{"decodeTrace", decodeTrace}, {"decodeTraceLean", decodeTraceLean},
		{"encoding-json", func(l []byte, t *record.Trace) error { return json.Unmarshal(l, t) }}} {
		b.Run(dec.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			for i := 0; i < b.N; i++ {
				for _, l := range lines {
					var t record.Trace
					if err := dec.f(l, &t); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func TestPlainRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{'a', ' ', '"', '\\', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xa2, 0xdc, 0xff, '\n'}
	for n := 0; n < 40000; n++ {
		// lengths across the 32-byte blocks and the 8-byte words, and
		// specials rare enough to leave whole blocks plain
		b := make([]byte, rng.IntN(140))
		odds := 1 + rng.IntN(80)
		for i := range b {
			b[i] = 'x'
			if rng.IntN(odds) == 0 {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		want := len(b)
		for i, c := range b {
			if c < 0x20 || c == '"' || c == '\\' {
				want = i
				break
			}
		}
		if got := plainRun(b); got != want {
			t.Fatalf("plainRun(%q) = %d, want %d", b, got, want)
		}
	}
}

// checkLean: decodeTraceLean fails exactly where decodeTrace does, with the
// same error, and reads the same fields the filter uses.
func checkLean(t *testing.T, line string, full *record.Trace, ferr error) {
	t.Helper()
	var lean record.Trace
	lerr := decodeTraceLean([]byte(line), &lean)
	if fmt.Sprint(lerr) != fmt.Sprint(ferr) {
		t.Fatalf("%q: decodeTrace error %v, decodeTraceLean error %v", line, ferr, lerr)
	}
	if ferr != nil {
		return
	}
	want := *full
	want.Params, want.LatencyMS, want.Attempts = record.Params{}, 0, 0
	want.Usage.PromptTokens, want.Usage.ReasoningTokens = 0, 0
	if !reflect.DeepEqual(want, lean) {
		t.Fatalf("%q:\n lean %+v\nwant %+v", line, lean, want)
	}
}

func TestDecodeTraceLean(t *testing.T) {
	for _, line := range []string{
		`{"prompt_id":"p","latency_ms":1.5}`, `{"prompt_id":"p","attempts":1e3}`, `{"prompt_id":"p","attempts":-12}`,
		`{"prompt_id":"p","latency_ms":12345678901234567890}`, `{"prompt_id":"p","latency_ms":-123456789012345678}`,
		`{"prompt_id":"p","usage":{"prompt_tokens":1.0,"completion_tokens":3}}`, `{"prompt_id":"p","usage":{"reasoning_tokens":"x"}}`,
		`{"prompt_id":"p","params":{"temperature":1e400}}`, `{"prompt_id":"p","params":{"top_p":-1e-400}}`,
		`{"prompt_id":"p","params":{"temperature":"0.6"}}`, `{"prompt_id":"p","params":{"temperature":01}}`,
		`{"prompt_id":"p","params":{"seed":null,"max_tokens":null}}`, `{"prompt_id":"p","params":{"seed":1.5}}`,
		`{"prompt_id":"p","params":{"seed":-9223372036854775808}}`, `{"prompt_id":"p","params":{"seed":9223372036854775808}}`,
		`{"prompt_id":"p","params":{"Seed":3,"TOP_P":0.9}}`, `{"prompt_id":"p","params":{"max_tokens":1e2}}`,
		`{"prompt_id":"p","params":{"temperature":0.` + strings.Repeat("1", 400) + `}}`,
		`{"prompt_id":"p","params":{"temperature":1` + strings.Repeat("0", 400) + `}}`,
	} {
		var full record.Trace
		err := decodeTrace([]byte(line), &full)
		checkLean(t, line, &full, err)
	}
	for _, tr := range builtinTraces(t, 20, 2) {
		b, _ := json.Marshal(tr)
		var full record.Trace
		err := decodeTrace(b, &full)
		checkLean(t, string(b), &full, err)
	}
}
