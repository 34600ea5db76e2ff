package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestReadTorchFixture reads a file whose bytes torch produced (see
// testdata/gen_torch.py) and checks every value against torch's own
// widening to float32.
func TestReadTorchFixture(t *testing.T) {
	f, err := Open("testdata/torch.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want map[string]struct {
		Shape  []int
		Values []string
	}
	b, err := os.ReadFile("testdata/torch.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if got := f.Metadata()["format"]; got != "pt" {
		t.Errorf("metadata format = %q, want pt", got)
	}
	if len(f.Names()) != len(want) {
		t.Errorf("names %v, want %d tensors", f.Names(), len(want))
	}
	for name, w := range want {
		got, shape, err := f.Float32(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(shape, w.Shape) {
			t.Errorf("%s: shape %v, want %v", name, shape, w.Shape)
		}
		if len(got) != len(w.Values) {
			t.Fatalf("%s: %d values, want %d", name, len(got), len(w.Values))
		}
		for i, s := range w.Values {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			if math.Float32bits(got[i]) != math.Float32bits(float32(x)) {
				t.Errorf("%s[%d] = %g, want %s", name, i, got[i], s)
			}
		}
	}
}

// TestWriteBF16MatchesTorch writes float32 values as BF16 and compares the
// bytes with torch's .to(torch.bfloat16) of the same values.
func TestWriteBF16MatchesTorch(t *testing.T) {
	f, err := Open("testdata/torch.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, shape, err := f.Float32("g.ties.f32")
	if err != nil {
		t.Fatal(err)
	}
	want := f.raw(t, "g.ties.bf16")
	path := filepath.Join(t.TempDir(), "x.safetensors")
	if err := Write(path, []NamedTensor{{Name: "x", Shape: shape, Data: src, Dtype: "BF16"}}, nil); err != nil {
		t.Fatal(err)
	}
	g, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	got := g.raw(t, "x")
	for i := 0; i < len(want); i += 2 {
		if got[i] != want[i] || got[i+1] != want[i+1] {
			t.Errorf("element %d (%g): bf16 %#04x, torch %#04x", i/2, src[i/2],
				binary.LittleEndian.Uint16(got[i:]), binary.LittleEndian.Uint16(want[i:]))
		}
	}
}

func (f *File) raw(t *testing.T, name string) []byte {
	t.Helper()
	ti, err := f.lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return f.data[ti.Begin:ti.End]
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	in := []NamedTensor{
		{Name: "w", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, 1e-30, float32(math.Inf(1)), 0}},
		{Name: "b", Shape: []int{3}, Data: []float32{0.1, 0.2, 0.3}, Dtype: "BF16"},
		{Name: "s", Shape: []int{}, Data: []float32{7}},
		{Name: "z", Shape: []int{0, 4}, Data: nil},
	}
	meta := map[string]string{"format": "pt", "note": "ünïcode \"quoted\""}
	if err := Write(path, in, meta); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(raw); n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the file (temp file left behind?)", len(ents))
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !slices.Equal(f.Names(), []string{"w", "b", "s", "z"}) {
		t.Errorf("names %v", f.Names())
	}
	if f.Metadata()["note"] != meta["note"] {
		t.Errorf("metadata %v", f.Metadata())
	}
	for _, want := range in {
		got, shape, err := f.Float32(want.Name)
		if err != nil {
			t.Fatal(err)
		}
		dt, _, _ := f.Info(want.Name)
		if want.Dtype == "" && dt != "F32" || want.Dtype != "" && dt != want.Dtype {
			t.Errorf("%s: dtype %s", want.Name, dt)
		}
		if !slices.Equal(shape, want.Shape) {
			t.Errorf("%s: shape %v, want %v", want.Name, shape, want.Shape)
		}
		for i := range got {
			w := want.Data[i]
			if want.Dtype == "BF16" {
				w = math.Float32frombits(uint32(f32ToBF16(w)) << 16)
			}
			if got[i] != w {
				t.Errorf("%s[%d] = %g, want %g", want.Name, i, got[i], w)
			}
		}
	}
	if _, _, err := f.Float32("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tensor: err %v, want ErrNotFound", err)
	}
	if err := f.ReadFloat32("w", make([]float32, 5)); err == nil {
		t.Error("ReadFloat32 into a short slice succeeded")
	}
}

func TestWriteRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	for _, tc := range []struct {
		name string
		ts   []NamedTensor
		want string
	}{
		{"shape", []NamedTensor{{Name: "a", Shape: []int{2}, Data: []float32{1}}}, "shape [2] has 2 elements, data 1"},
		{"dtype", []NamedTensor{{Name: "a", Shape: []int{1}, Data: []float32{1}, Dtype: "F16"}}, "cannot write dtype"},
		{"dup", []NamedTensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{1}}}, "repeated"},
		{"reserved", []NamedTensor{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}}, "reserved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(path, tc.ts, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(path); err == nil {
				t.Error("a file was written")
			}
		})
	}
}

func TestF16(t *testing.T) {
	for _, tc := range []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, 5.960464477539063e-08},
		{0x03ff, 6.097555160522461e-05}, {0x0400, 6.103515625e-05}, {0x3555, 0.333251953125},
		{0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))}, {0x8000, float32(math.Copysign(0, -1))},
	} {
		got := f16ToF32(tc.h)
		if math.Float32bits(got) != math.Float32bits(tc.want) {
			t.Errorf("f16 %#04x = %g, want %g", tc.h, got, tc.want)
		}
	}
	if !math.IsNaN(float64(f16ToF32(0x7e00))) {
		t.Error("f16 0x7e00 is not NaN")
	}
	if !math.IsNaN(float64(math.Float32frombits(uint32(f32ToBF16(float32(math.NaN()))) << 16))) {
		t.Error("bf16 of NaN is not NaN")
	}
}
