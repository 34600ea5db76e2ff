package dataset

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

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
	// The first line with one thing changed: forms a writer seldom uses,
	// and errors, also after a line of the usual form (a decoder compares
	// the keys with that line's).
	for _, edit := range [][2]string{
		{`"prompt":"What is 1 + 1?"`, `"prompt":"What is 1 \u002b 1?"`}, {`"sample":2`, `"sample":null`},
		{`"sample":2`, `"sample":2.0`}, {`"sample":2`, `"sample":1e2`}, {`"sample":2`, `"sample":02`},
		{`"sample":2`, `"sample":-0`}, {`"sample":2`, `"sample":-9223372036854775808`}, {`"sample":2`, `"sample":9223372036854775808`},
		{`"seed":3`, `"seed":12345678901234567890`}, {`"seed":3`, `"seed":-3`}, {`"temperature":0.6`, `"temperature":6e-1`},
		{`"temperature":0.6`, `"temperature":1`}, {`"temperature":0.6`, `"temperature":1.`}, {`"temperature":0.6`, `"temperature":-.6`},
		{`"top_p":0.95`, `"top_p":null`}, {`"usage":{`, `"usage":{"cached_tokens":1,`}, {`"usage":{"prompt_tokens":5,`, `"usage":{`},
		{`"completion_tokens":9`, `"completion_tokens":9.5`}, {`"latency_ms":12`, `"latency_ms": 12`}, {`"latency_ms":12`, `"latency_ms":12 `},
		{`"error":""`, `"error":null`}, {`"error":""`, `"error":"","extra":1`}, {`,"error":""`, ``},
		{`"created_at":"2026-01-02T03:04:05.123Z"`, `"created_at":"2026-01-02T03:04:05+01:00"`},
		{`"created_at":"2026-01-02T03:04:05.123Z"`, `"created_at":"2026-02-30T03:04:05Z"`},
		{`"prompt_id":"p1"`, `"Prompt_ID":"p1"`}, {`"prompt_id":"p1"`, `"prompt_id":"p\u0001"`},
		{`"prompt_id":"p1"`, `"prompt_id":"p\x"`},
		{`"prompt_id":"p1"`, `"prompt_id" : "p1"`}, {`"reasoning":"1 + 1 = 2"`, `"reasoning":"1 + 1 = 2","reasoning":"again"`},
	} {
		if !strings.Contains(lines[0], edit[0]) {
			t.Fatalf("no %s in the first line", edit[0])
		}
		lines = append(lines, strings.Replace(lines[0], edit[0], edit[1], 1))
	}
	for _, tr := range builtinTraces(t, 20, 2) {
		b, _ := json.Marshal(tr)
		lines = append(lines, string(b))
	}
	t.Run("after each other line", func(t *testing.T) { checkAfterEachOther(t, lines) })
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

// checkAfterEachOther: a decoder that has read one line (and learnt its
// keys' order, members) reads every other line as a new decoder does, with
// the same result or error, lean or not.
func checkAfterEachOther(t *testing.T, lines []string) {
	for _, lean := range []bool{false, true} {
		for _, b := range lines {
			var want record.Trace
			werr := new(jdec).decode([]byte(b), &want, lean)
			for _, a := range lines {
				d := new(jdec)
				d.decode([]byte(a), new(record.Trace), lean)
				var got record.Trace
				gerr := d.decode([]byte(b), &got, lean)
				if fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
					t.Fatalf("lean %v, %q after %q:\n got %+v, %v\nwant %+v, %v", lean, b, a, got, gerr, want, werr)
				}
			}
		}
	}
}

// TestDecodeTraceLastValue: a decoder takes a string field's value from
// the last trace it read only when its JSON text is the same (strField):
// escapes, prefixes either way, null, "", repeated keys, \u escapes.
func TestDecodeTraceLastValue(t *testing.T) {
	checkAfterEachOther(t, []string{
		`{"prompt_id":"p","prompt":"a\nb"}`,
		`{"prompt_id":"p","prompt":"a\n"}`,
		`{"prompt_id":"p","prompt":"a\\"}`,
		`{"prompt_id":"p","prompt":"a\\\""}`,
		`{"prompt_id":"p","prompt":"a\"b"}`,
		`{"prompt_id":"p","prompt":"a"}`,
		`{"prompt_id":"p","prompt":"ab"}`,
		`{"prompt_id":"p","prompt":"abc"}`,
		`{"prompt_id":"p","prompt":null}`,
		`{"prompt_id":"p","prompt":""}`,
		`{"prompt_id":"p","prompt":"a","prompt":"ab"}`,
		`{"prompt_id":"p","prompt":"ab","prompt":"a"}`,
		`{"prompt_id":"p","prompt":"\u00e9"}`,
		`{"prompt_id":"p","prompt":"é"}`,
		`{"prompt_id":"p","prompt":"a\nb","reasoning":"a\nb","content":"ab"}`,
		`{"prompt_id":"p","prompt":"x","reasoning":"a\nb","content":"ab`,
	})
}

func TestPlainRFC3339(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"2026-12-05T04:06:07.440131616Z", true}, {"2026-12-05T04:06:07Z", true}, {"2026-12-05T04:06:07.1Z", true},
		{"2024-02-29T23:59:59.5Z", true}, {"2000-02-29T00:00:00Z", true}, {"0001-01-01T00:00:00Z", true},
		{"2026-12-31T00:00:00Z", true},
		// valid, but not the sampler's form: time.Parse decides
		{"2026-12-05T04:06:07+01:00", false}, {"2026-12-05T04:06:07.1234567891Z", false}, {"2026-12-05t04:06:07Z", false},
		// invalid
		{"2023-02-29T00:00:00Z", false}, {"1900-02-29T00:00:00Z", false}, {"2026-04-31T00:00:00Z", false},
		{"2026-13-01T00:00:00Z", false}, {"2026-00-01T00:00:00Z", false}, {"2026-01-00T00:00:00Z", false},
		{"2026-01-01T24:00:00Z", false}, {"2026-01-01T00:60:00Z", false}, {"2026-01-01T00:00:60Z", false},
		{"2026-01-01T00:00:00.Z", false}, {"2026-01-01T00:00:00.1xZ", false}, {"2026-01-01T00:00:00", false},
		{"2026-1-01T00:00:00Z", false}, {"2026-01-01 00:00:00Z", false}, {"", false}, {"Z", false},
	} {
		if got := plainRFC3339([]byte(tc.s)); got != tc.want {
			t.Errorf("plainRFC3339(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
	// What it accepts, time.Parse accepts: every day of four years, and
	// random strings near the form.
	for d := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2027; d = d.Add(23*time.Hour + 59*time.Minute + 59*time.Second) {
		s := d.Format(time.RFC3339Nano)
		if !plainRFC3339([]byte(s)) {
			t.Fatalf("plainRFC3339(%q) = false", s)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const chars = "0123456789-T:.Z+ "
	for range 200000 {
		b := []byte("2024-02-29T23:59:59.123Z")
		for range 1 + rng.IntN(3) {
			b[rng.IntN(len(b))] = chars[rng.IntN(len(chars))]
		}
		if _, err := time.Parse(time.RFC3339Nano, string(b)); plainRFC3339(b) && err != nil {
			t.Fatalf("plainRFC3339(%q) = true, time.Parse: %v", b, err)
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
	want.Params, want.LatencyMS, want.Attempts, want.CreatedAt = record.Params{}, 0, 0, time.Time{}
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
