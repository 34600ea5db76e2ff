package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"unicode/utf8"
)

// MaxHeaderSize bounds the JSON header. The reference implementation uses
// 100 MB; real checkpoints stay under a few MB even with thousands of tensors.
const MaxHeaderSize = 100 << 20

// ErrInvalid is wrapped by every error about a malformed file, so callers
// can tell a bad file from an I/O failure.
var ErrInvalid = errors.New("invalid safetensors")

// TensorInfo is one header entry; Begin and End are byte offsets into the
// data section that follows the header.
type TensorInfo struct {
	Name       string
	Dtype      string
	Shape      []int
	Begin, End int64
}

// header is a parsed, validated header.
type header struct {
	tensors  map[string]TensorInfo
	names    []string // in data order
	metadata map[string]string
}

type rawEntry struct {
	Dtype       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// parseHeader validates the JSON header b against a data section of
// dataLen bytes. Everything in b is untrusted: it bounds every number before
// using it, rejects duplicate keys (which a JSON map would silently merge),
// and requires the tensors to tile the data section exactly, as the
// reference implementation does, so no byte is unaccounted for.
func parseHeader(b []byte, dataLen int64) (*header, error) {
	if len(b) == 0 || b[0] != '{' {
		return nil, invalidf("header does not start with '{'")
	}
	if !utf8.Valid(b) {
		return nil, invalidf("header is not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, invalidf("header JSON: %v", err)
	}
	h := &header{tensors: map[string]TensorInfo{}}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalidf("header JSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, invalidf("header JSON: key is %v", tok)
		}
		if seen[key] {
			return nil, invalidf("duplicate key %q in header", key)
		}
		seen[key] = true
		if key == "__metadata__" {
			if err := dec.Decode(&h.metadata); err != nil {
				return nil, invalidf("__metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		var e rawEntry
		if err := dec.Decode(&e); err != nil {
			return nil, invalidf("tensor %q: %v", key, err)
		}
		t, err := checkEntry(key, e, dataLen)
		if err != nil {
			return nil, err
		}
		h.tensors[key] = t
		h.names = append(h.names, key)
	}
	if _, err := dec.Token(); err != nil {
		return nil, invalidf("header JSON: %v", err)
	}
	// Only padding may follow the object; the spec pads with spaces.
	rest, _ := io.ReadAll(dec.Buffered())
	rest = append(rest, b[dec.InputOffset():]...)
	if len(bytes.TrimRight(rest, " \t\r\n\x00")) != 0 {
		return nil, invalidf("data after the header object")
	}

	sort.Slice(h.names, func(i, j int) bool {
		a, b := h.tensors[h.names[i]], h.tensors[h.names[j]]
		if a.Begin != b.Begin {
			return a.Begin < b.Begin
		}
		return a.End < b.End
	})
	var end int64
	for _, n := range h.names {
		t := h.tensors[n]
		if t.Begin < end {
			return nil, invalidf("tensor %q [%d, %d) overlaps the previous tensor ending at %d", n, t.Begin, t.End, end)
		}
		if t.Begin > end {
			return nil, invalidf("tensor %q starts at %d, leaving bytes [%d, %d) unused", n, t.Begin, end, t.Begin)
		}
		end = t.End
	}
	if end != dataLen {
		return nil, invalidf("tensors cover %d bytes of a %d-byte data section", end, dataLen)
	}
	return h, nil
}

func checkEntry(name string, e rawEntry, dataLen int64) (TensorInfo, error) {
	size, ok := dtypeSize[e.Dtype]
	if !ok {
		return TensorInfo{}, invalidf("tensor %q: unknown dtype %q", name, e.Dtype)
	}
	if e.Shape == nil {
		return TensorInfo{}, invalidf("tensor %q: no shape", name)
	}
	if len(e.DataOffsets) != 2 {
		return TensorInfo{}, invalidf("tensor %q: data_offsets must have 2 entries, has %d", name, len(e.DataOffsets))
	}
	begin, end := e.DataOffsets[0], e.DataOffsets[1]
	if begin < 0 || end < begin || end > dataLen {
		return TensorInfo{}, invalidf("tensor %q: data_offsets [%d, %d] outside the %d-byte data section", name, begin, end, dataLen)
	}
	shape := make([]int, len(e.Shape))
	n := size
	for i, d := range e.Shape {
		if d < 0 || int64(int(d)) != d {
			return TensorInfo{}, invalidf("tensor %q: dimension %d is %d", name, i, d)
		}
		shape[i] = int(d)
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return TensorInfo{}, invalidf("tensor %q: %s %v overflows 64 bits", name, e.Dtype, e.Shape)
		}
		n = int64(lo)
	}
	if n != end-begin {
		return TensorInfo{}, invalidf("tensor %q: %s %v needs %d bytes, data_offsets give %d", name, e.Dtype, e.Shape, n, end-begin)
	}
	return TensorInfo{Name: name, Dtype: e.Dtype, Shape: shape, Begin: begin, End: end}, nil
}
