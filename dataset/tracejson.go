package dataset

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/distill-dev/distill/record"
)

// decodeTrace is a JSON decoder for record.Trace. encoding/json spent more
// than half of the filter's time in reflection and a separate validation
// scan; this decoder does one pass, allocates only the strings it keeps, and
// is as strict about syntax. Unknown fields are skipped (other tools add
// their own), like encoding/json does.
//
// All the strings of a trace share one allocation: they are gathered in a
// buffer and cut from a single string at the end, which keeps the garbage
// collector's work per trace small.
func decodeTrace(data []byte, t *record.Trace) error { return decodeInto(data, t, false) }

// decodeTraceLean is decodeTrace for the filter: it checks every field as
// strictly, with the same errors, but leaves at zero what the filter does
// not read (params, latency_ms, attempts, usage other than
// completion_tokens, created_at) instead of converting it.
func decodeTraceLean(data []byte, t *record.Trace) error { return decodeInto(data, t, true) }

func decodeInto(data []byte, t *record.Trace, lean bool) error {
	d := decoders.Get().(*jdec)
	defer decoders.Put(d)
	return d.decode(data, t, lean)
}

func (d *jdec) decode(data []byte, t *record.Trace, lean bool) error {
	if len(data) > math.MaxUint32 { // pendingString's offsets
		return fmt.Errorf("a line of %d bytes is too long", len(data))
	}
	d.b, d.i, d.rec, d.pending, d.lean, d.read = data, 0, d.rec[:0], d.pending[:0], lean, 0
	defer func() { d.b = nil }()
	d.ws()
	if err := d.members(&d.top, traceFieldID, func(id int) error { return d.traceField(id, t) }); err != nil {
		return err
	}
	d.ws()
	if d.i != len(d.b) {
		return d.errf("unexpected data after the object")
	}
	all := string(d.rec)
	for _, p := range d.pending {
		l, dst := &d.last[p.id], traceString(t, int(p.id))
		if p.same {
			*dst = l.val
			continue
		}
		*dst = all[p.start:p.end]
		l.raw, l.val = append(l.raw[:0], d.b[p.raw[0]:p.raw[1]]...), *dst
	}
	return nil
}

var decoders = sync.Pool{New: func() any { return new(jdec) }}

type jdec struct {
	lean    bool // see decodeTraceLean
	b       []byte
	i       int
	buf     []byte
	rec     []byte // the trace's string values, back to back
	pending []pendingString
	// frac and exp tell whether the last number read had a fraction or
	// an exponent.
	frac, exp bool
	// The keys of the last trace read, of its usage and of its params, in
	// their order (members), and of objects skipped.
	top, usage, params, skipped []member
	// The last value of each string field, as written and as read
	// (strField), and the fields read so far in this trace, a bit each.
	last [fParams]lastString
	read uint32
}

// lastString is a string field's value in the last trace read: its JSON
// text between the quotes, and the string it gave.
type lastString struct {
	raw []byte
	val string
}

// member is a key as it was written at some place of an object (its bytes
// from the opening quote to the colon) and the field it names.
type member struct {
	lit []byte
	id  int
}

// pendingString is string field id, to set once the trace is read, in the
// order read (the last of a repeated key wins): to the field's last value
// if same, else to rec[start:end], decoded from the JSON text b[raw[0]:raw[1]].
// It holds no pointer, so appending it needs no write barrier.
type pendingString struct {
	start, end uint32
	raw        [2]uint32
	id         uint8
	same       bool
}

var errEnd = errors.New("unexpected end of JSON input")

func (d *jdec) errf(format string, a ...any) error {
	return fmt.Errorf("offset %d: "+format, append([]any{d.i}, a...)...)
}

func (d *jdec) ws() {
	// Every JSON whitespace byte is at most ' ', and most calls find none.
	for d.i < len(d.b) && d.b[d.i] <= ' ' {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// members calls value for every member of an object, with the field id of
// its key (keyID of the folded key) and d positioned at its value. A writer puts the keys of its traces
// in the same order every time, so each key is first compared with the one
// at its place in the last object read (order, updated as it goes): a match
// is the same key, and needs no scan, folding or lookup.
func (d *jdec) members(order *[]member, keyID func(key []byte) int, value func(id int) error) error {
	if d.i >= len(d.b) {
		return errEnd
	}
	if d.b[d.i] != '{' {
		return d.errf("want an object")
	}
	n := 0
	return d.elements('}', "an object", func() error {
		o := *order
		if n < len(o) && bytes.HasPrefix(d.b[d.i:], o[n].lit) {
			d.i += len(o[n].lit)
		} else {
			start := d.i
			key, err := d.rawString()
			if err != nil {
				return err
			}
			d.ws()
			if d.i >= len(d.b) {
				return errEnd
			}
			if d.b[d.i] != ':' {
				return d.errf("want ':' after a key")
			}
			d.i++
			if n == len(o) {
				o = append(o, member{})
			}
			o[n] = member{lit: append(o[n].lit[:0], d.b[start:d.i]...), id: keyID(foldKey(key))}
			*order = o
		}
		id := (*order)[n].id
		n++
		d.ws()
		return value(id)
	})
}

// elements reads the comma-separated elements of an object or an array up
// to its closing byte, with d at the opening one; elem reads one element,
// with d at its first byte.
func (d *jdec) elements(closing byte, kind string, elem func() error) error {
	d.i++
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == closing {
		d.i++
		return nil
	}
	for {
		d.ws()
		if err := elem(); err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.b) {
			return errEnd
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case closing:
			d.i++
			return nil
		default:
			return d.errf("want ',' or '%c' in %s", closing, kind)
		}
	}
}

// foldKey lower-cases ASCII keys: encoding/json matches field names without
// regard to case, and so must we.
func foldKey(key []byte) []byte {
	for i, c := range key {
		if c >= 'A' && c <= 'Z' {
			k := append([]byte(nil), key...)
			for j := i; j < len(k); j++ {
				if k[j] >= 'A' && k[j] <= 'Z' {
					k[j] += 'a' - 'A'
				}
			}
			return k
		}
	}
	return key
}

// Fields of a trace by id; 0 is a key the decoder skips.
const (
	fUnknown = iota
	fPromptID
	fPrompt
	fReference
	fTask
	fSource
	fTeacher
	fModel
	fReasoning
	fContent
	fFinishReason
	fError
	fSample
	fLatencyMS
	fAttempts
	fCreatedAt
	fUsage
	fParams
)

// traceString is the string field of t with the given id, or nil.
func traceString(t *record.Trace, id int) *string {
	switch id {
	case fPromptID:
		return &t.PromptID
	case fPrompt:
		return &t.Prompt
	case fReference:
		return &t.Reference
	case fTask:
		return &t.Task
	case fSource:
		return &t.Source
	case fTeacher:
		return &t.Teacher
	case fModel:
		return &t.Model
	case fReasoning:
		return &t.Reasoning
	case fContent:
		return &t.Content
	case fFinishReason:
		return &t.FinishReason
	case fError:
		return &t.Error
	}
	return nil
}

// The members of usage and params.
const (
	fPromptTokens = 1 + iota
	fCompletionTokens
	fReasoningTokens
	fTemperature
	fTopP
	fMaxTokens
	fSeed
)

// The JSON names of the fields by id, and the keyID of members for each
// object, found from them.
var (
	traceFieldNames = [...]string{fPromptID: "prompt_id", fPrompt: "prompt", fReference: "reference", fTask: "task",
		fSource: "source", fTeacher: "teacher", fModel: "model", fReasoning: "reasoning", fContent: "content",
		fFinishReason: "finish_reason", fError: "error", fSample: "sample", fLatencyMS: "latency_ms",
		fAttempts: "attempts", fCreatedAt: "created_at", fUsage: "usage", fParams: "params"}
	traceFieldID = fieldIDs(traceFieldNames[:])
	usageFieldID = fieldIDs([]string{fPromptTokens: "prompt_tokens", fCompletionTokens: "completion_tokens",
		fReasoningTokens: "reasoning_tokens"})
	paramsFieldID = fieldIDs([]string{fTemperature: "temperature", fTopP: "top_p", fMaxTokens: "max_tokens", fSeed: "seed"})
)

// fieldIDs returns the id of a (folded) key among names, indexed by id, and
// fUnknown for any other.
func fieldIDs(names []string) func(key []byte) int {
	ids := map[string]int{}
	for id, name := range names {
		if name != "" {
			ids[name] = id
		}
	}
	return func(key []byte) int { return ids[string(key)] }
}

func (d *jdec) traceField(id int, t *record.Trace) error {
	if traceString(t, id) != nil {
		return d.strField(id)
	}
	var err error
	switch id {
	case fSample:
		t.Sample, err = d.integer("sample")
	case fLatencyMS:
		if d.lean {
			return d.checkNumber("latency_ms", false)
		}
		var v int
		v, err = d.integer("latency_ms")
		t.LatencyMS = int64(v)
	case fAttempts:
		if d.lean {
			return d.checkNumber("attempts", false)
		}
		t.Attempts, err = d.integer("attempts")
	case fCreatedAt:
		var s []byte
		// The lean decoder checks the common form by hand and leaves the
		// time at zero.
		if s, err = d.stringOrNull(traceFieldNames[fCreatedAt]); err == nil && len(s) > 0 && !(d.lean && plainRFC3339(s)) {
			var at time.Time
			if at, err = time.Parse(time.RFC3339Nano, string(s)); err != nil {
				err = fmt.Errorf("created_at: %w", err)
			} else if !d.lean {
				t.CreatedAt = at
			}
		}
	case fUsage:
		err = d.objectOrNull("usage", &d.usage, usageFieldID, func(id int) error {
			var err error
			switch id {
			case fPromptTokens:
				if d.lean {
					return d.checkNumber("usage.prompt_tokens", false)
				}
				t.Usage.PromptTokens, err = d.integer("usage.prompt_tokens")
			case fCompletionTokens:
				t.Usage.CompletionTokens, err = d.integer("usage.completion_tokens")
			case fReasoningTokens:
				if d.lean {
					return d.checkNumber("usage.reasoning_tokens", false)
				}
				t.Usage.ReasoningTokens, err = d.integer("usage.reasoning_tokens")
			default:
				err = d.skip(0)
			}
			return err
		})
	case fParams:
		err = d.objectOrNull("params", &d.params, paramsFieldID, func(id int) error {
			if d.lean {
				switch id {
				case fTemperature:
					return d.checkNumber("params.temperature", true)
				case fTopP:
					return d.checkNumber("params.top_p", true)
				case fMaxTokens:
					return d.checkNumber("params.max_tokens", false)
				case fSeed:
					return d.checkNumber("params.seed", false)
				}
			}
			var err error
			switch id {
			case fTemperature:
				t.Params.Temperature, err = d.float("params.temperature")
			case fTopP:
				t.Params.TopP, err = d.float("params.top_p")
			case fMaxTokens:
				t.Params.MaxTokens, err = d.integer("params.max_tokens")
			case fSeed:
				if d.null() {
					return nil
				}
				var v int
				v, err = d.integer("params.seed")
				s := int64(v)
				t.Params.Seed = &s
			default:
				err = d.skip(0)
			}
			return err
		})
	default:
		err = d.skip(0)
	}
	return err
}

func (d *jdec) null() bool {
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

func (d *jdec) objectOrNull(name string, order *[]member, keyID func([]byte) int, value func(id int) error) error {
	if d.null() {
		return nil
	}
	if d.i < len(d.b) && d.b[d.i] != '{' {
		return d.errf("%s: want an object", name)
	}
	return d.members(order, keyID, value)
}

// strField reads string field id (or null, as "") into the trace once the
// whole trace has been read. The samples of a prompt repeat its prompt,
// source and teacher, and duplicates their whole reply: when the JSON text
// of the value is the last trace's, byte for byte, so is the string, and
// the last one is taken without unescaping or copying. The text is compared
// only where the last value ends at a closing quote here too; it was a
// whole JSON string, so that quote is this one's end.
func (d *jdec) strField(id int) error {
	// A key repeated in one trace changes the field's last value only at
	// the end: its repeats are read in full.
	first := d.read&(1<<id) == 0
	d.read |= 1 << id
	if n := len(d.last[id].raw); first && n > 0 && len(d.b)-d.i > n+1 && d.b[d.i+1+n] == '"' && d.b[d.i] == '"' &&
		bytes.Equal(d.b[d.i+1:d.i+1+n], d.last[id].raw) {
		d.i += n + 2
		d.pending = append(d.pending, pendingString{id: uint8(id), same: true})
		return nil
	}
	from := d.i + 1
	b, err := d.stringOrNull(traceFieldNames[id])
	if err != nil {
		return err
	}
	end := d.i - 1 // the closing quote
	if b == nil {
		from, end = d.i, d.i // null
	}
	start := len(d.rec)
	d.rec = append(d.rec, b...)
	d.pending = append(d.pending, pendingString{id: uint8(id), start: uint32(start), end: uint32(len(d.rec)),
		raw: [2]uint32{uint32(from), uint32(end)}})
	return nil
}

// stringOrNull reads a string, or null as an empty one; the bytes are valid
// until the next call. name is the field's, for errors.
func (d *jdec) stringOrNull(name string) ([]byte, error) {
	if d.i < len(d.b) && d.b[d.i] != '"' {
		if d.null() {
			return nil, nil
		}
		return nil, d.errf("%s: want a string", name)
	}
	return d.rawString()
}

// rawString reads a string and returns its unescaped bytes, valid until the
// next call.
func (d *jdec) rawString() ([]byte, error) {
	if d.i >= len(d.b) {
		return nil, errEnd
	}
	if d.b[d.i] != '"' {
		return nil, d.errf("want a string")
	}
	d.i++
	start := d.i
	// Fast path: one pass to the first byte that ends the plain run; when it
	// is the closing quote, the string is taken as is. Most strings are
	// short (keys, ids, names), so one scan beats several calls.
	j := start + plainRun(d.b[start:])
	if j < len(d.b) && d.b[j] == '"' {
		d.i = j + 1
		return d.b[start:j], nil
	}
	if bytes.IndexByte(d.b[j:], '"') < 0 {
		// No closing quote: the input ends first, whatever came before.
		d.i = len(d.b)
		return nil, errEnd
	}
	if d.b[j] != '\\' {
		return nil, d.errf("control character in a string")
	}
	d.i = j
	d.buf = append(d.buf[:0], d.b[start:j]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return d.buf, nil
		case c < 0x20:
			return nil, d.errf("control character in a string")
		case c != '\\':
			// Copy the run up to the next special byte at once.
			j := d.i + 1 + plainRun(d.b[d.i+1:])
			d.buf = append(d.buf, d.b[d.i:j]...)
			d.i = j
			continue
		}
		if d.i+1 >= len(d.b) {
			return nil, errEnd
		}
		e := d.b[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			d.buf = append(d.buf, e)
		case 'n':
			d.buf = append(d.buf, '\n')
		case 't':
			d.buf = append(d.buf, '\t')
		case 'r':
			d.buf = append(d.buf, '\r')
		case 'b':
			d.buf = append(d.buf, '\b')
		case 'f':
			d.buf = append(d.buf, '\f')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return nil, d.errf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(d.b)-d.i >= 6 && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
					save := d.i
					d.i += 2
					if v, ok := d.hex4(); ok {
						r2 = v
					} else {
						d.i = save
					}
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
				} else {
					// A lone surrogate becomes U+FFFD, as in encoding/json;
					// a following escape that was not its pair is kept.
					r = utf8.RuneError
					if r2 >= 0 {
						d.i -= 6
					}
				}
			}
			d.buf = utf8.AppendRune(d.buf, r)
		default:
			return nil, d.errf("bad escape \\%c", e)
		}
	}
	return nil, errEnd
}

// plainRun is the length of the prefix of b without control characters,
// '"' and '\\'. Strings are most of a trace, and a byte loop was most of
// decoding: 32-byte blocks are tested at once where the CPU can
// (plainRunBlocks), then eight bytes at a time.
func plainRun(b []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i, found := plainRunBlocks(b)
	if found {
		return i
	}
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// Exact tests for "some byte is below 0x20" and "some byte is
		// zero" (after xor with the quote or the backslash): when one
		// holds, the byte loop finds which byte.
		q, bs := x^('"'*ones), x^('\\'*ones)
		if (x-0x20*ones)&^x&highs|(q-ones)&^q&highs|(bs-ones)&^bs&highs != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == '"' || c == '\\' {
			return i
		}
	}
	return i
}

func (d *jdec) hex4() (rune, bool) {
	if len(d.b)-d.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	d.i += 4
	return r, true
}

// number returns the bytes of a JSON number.
func (d *jdec) number() ([]byte, error) {
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	if n := d.digits(); n == 0 || (n > 1 && d.b[d.i-n] == '0') {
		return nil, d.errf("bad number")
	}
	d.frac, d.exp = false, false
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		d.frac = true
		if d.digits() == 0 {
			return nil, d.errf("bad number")
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		d.exp = true
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return nil, d.errf("bad number")
		}
	}
	return d.b[start:d.i], nil
}

// digits passes over a run of decimal digits and returns its length.
func (d *jdec) digits() int {
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i - start
}

// numberOrNull reads a number, or null as nil.
func (d *jdec) numberOrNull(name string) ([]byte, error) {
	if d.null() {
		return nil, nil
	}
	b, err := d.number()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

func (d *jdec) integer(name string) (int, error) {
	b, err := d.numberOrNull(name)
	if b == nil {
		return 0, err
	}
	return atoi(name, b)
}

func atoi(name string, b []byte) (int, error) {
	v, err := strconv.Atoi(string(b))
	if err != nil {
		return 0, fmt.Errorf("%s: not an integer: %s", name, b)
	}
	return v, nil
}

// checkNumber reads an integer (or, with float, a float) or null as
// integer and float do, with their errors, and drops it. The conversions
// run only where they could fail: integers with a fraction or exponent or
// beyond int64, floats with an exponent or of 300 bytes or more.
func (d *jdec) checkNumber(name string, float bool) error {
	b, err := d.numberOrNull(name)
	if b == nil {
		return err
	}
	if float {
		if len(b) >= 300 || d.exp {
			_, err = strconv.ParseFloat(string(b), 64)
		}
		return err
	}
	if d.frac || d.exp || !fitsInt64(b) {
		_, err = atoi(name, b)
	}
	return err
}

// fitsInt64 tells whether a JSON integer without fraction or exponent is
// within int64, without converting it: 18 digits always are, 19 digits
// compare as text with the bounds (seeds are 19 digits long).
func fitsInt64(b []byte) bool {
	limit := "9223372036854775807"
	if b[0] == '-' {
		b, limit = b[1:], "9223372036854775808"
	}
	return len(b) < len(limit) || len(b) == len(limit) && string(b) <= limit
}

func (d *jdec) float(name string) (float64, error) {
	b, err := d.numberOrNull(name)
	if b == nil {
		return 0, err
	}
	return strconv.ParseFloat(string(b), 64)
}

// skip passes over any JSON value, checking its syntax.
func (d *jdec) skip(depth int) error {
	if depth > 1000 {
		return d.errf("nesting too deep")
	}
	if d.i >= len(d.b) {
		return errEnd
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, err := d.rawString()
		return err
	case c == '{':
		return d.members(&d.skipped, func([]byte) int { return fUnknown }, func(int) error { return d.skip(depth + 1) })
	case c == '[':
		return d.elements(']', "an array", func() error { return d.skip(depth + 1) })
	case c == '-' || c >= '0' && c <= '9':
		_, err := d.number()
		return err
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
			d.i += len(lit)
			return nil
		}
	}
	return d.errf("invalid value")
}

// plainRFC3339 tells whether s is a time in the form the sampler writes
// (time.Time's JSON: YYYY-MM-DDTHH:MM:SS, up to nine digits of fraction, Z)
// with every part in range, which time.Parse(time.RFC3339Nano) accepts; it
// says false for anything else, which may still be a valid time.
func plainRFC3339(s []byte) bool {
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(layout)+1 || s[len(s)-1] != 'Z' {
		return false
	}
	for i := range len(layout) {
		if c := s[i]; layout[i] == 'd' && (c < '0' || c > '9') || layout[i] != 'd' && c != layout[i] {
			return false
		}
	}
	if frac := s[len(layout) : len(s)-1]; len(frac) > 0 {
		if len(frac) < 2 || len(frac) > 10 || frac[0] != '.' {
			return false
		}
		for _, c := range frac[1:] {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range s[i : i+n] {
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	if month < 1 || month > 12 || day < 1 || num(11, 2) > 23 || num(14, 2) > 59 || num(17, 2) > 59 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}
