package gguf

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/distill-dev/distill/internal/repotest"
)

// quantRows are rows that reach the quantisers' corner cases as well as
// ordinary Gaussian weights: all zeros, one weight far larger than the rest,
// a negative largest weight, ties in |x|, values that land exactly on .5
// after scaling (rounded away from zero by roundf, not to even), constant rows, tiny weights whose scale is subnormal in
// f16, and weights with an exponent spread.
func quantRows(rowLen, rows int) []float32 {
	rng := rand.New(rand.NewPCG(11, 12))
	x := make([]float32, rowLen*rows)
	for r := range rows {
		row := x[r*rowLen : (r+1)*rowLen]
		for i := range row {
			switch r % 10 {
			case 0:
				row[i] = 0
			case 1:
				row[i] = float32(rng.NormFloat64() * 0.01)
				if i%37 == 5 {
					row[i] = 3
				}
			case 2:
				row[i] = float32(rng.NormFloat64())
				if i%32 == 7 {
					row[i] = -5
				}
			case 3:
				row[i] = float32(i%8) - 4 // ties and exact halves after scaling
			case 4:
				row[i] = 0.25
			case 5:
				row[i] = float32(rng.NormFloat64() * 1e-6)
			case 6:
				row[i] = float32(rng.NormFloat64() * math.Exp(rng.NormFloat64()*3))
			case 7:
				// Scale 1 for Q8_0 (127 per block): every other weight is a
				// tie that roundf takes away from zero.
				row[i] = float32(i%16) - 7.5
				if i%32 == 0 {
					row[i] = 127
				}
			default:
				row[i] = float32(rng.NormFloat64() * 0.02)
			}
		}
	}
	return x
}

// TestQuantizeMatchesGGUFPackage compares Q8_0, Q4_0 and Q5_0 with the
// gguf package's quantisers (llama.cpp's gguf-py, numpy ports of ggml's
// reference functions) byte for byte. gguf-py has no quantiser for the
// k-quants; TestGGUFMatchesLlamaQuantize checks those against llama.cpp.
func TestQuantizeMatchesGGUFPackage(t *testing.T) {
	const rowLen, rows = 512, 100
	x := quantRows(rowLen, rows)
	dir := t.TempDir()
	raw := filepath.Join(dir, "x.f32")
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, x); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(raw, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(repotest.Python(t), repotest.Path(t, "python/checks/gguf_check.py"), "quantize", raw, "512", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gguf_check.py quantize: %v\n%s", err, out)
	}
	for _, typ := range []Type{Q8_0, Q4_0, Q5_0} {
		t.Run(typ.String(), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, typ.String()+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Quantize(typ, x, rowLen)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d bytes, gguf wrote %d", len(got), len(want))
			}
			rowBytes := int(typ.RowBytes(rowLen))
			for r := range rows {
				g, w := got[r*rowBytes:(r+1)*rowBytes], want[r*rowBytes:(r+1)*rowBytes]
				if !bytes.Equal(g, w) {
					i := 0
					for g[i] == w[i] {
						i++
					}
					t.Errorf("row %d (kind %d): first difference at byte %d: %#02x, gguf %#02x", r, r%10, i, g[i], w[i])
				}
			}
		})
	}
}

func TestQuantizeRejectsPartialBlocks(t *testing.T) {
	for _, tc := range []struct {
		typ    Type
		rowLen int
	}{{Q8_0, 48}, {Q4_K, 128}, {Q6_K, 32}, {Type(99), 32}} {
		if _, err := Quantize(tc.typ, make([]float32, 2*tc.rowLen), tc.rowLen); err == nil {
			t.Errorf("%v with rows of %d: no error", tc.typ, tc.rowLen)
		}
	}
}

// TestQuantizeParallelSameBytes: a tensor split across goroutines encodes
// to the same bytes as one sequential pass.
func TestQuantizeParallelSameBytes(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	const rowLen = 1024
	x := quantRows(rowLen, 1100) // 1.1M weights: 4 parts
	for typ := range types {
		got, err := Quantize(typ, x, rowLen)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, len(got))
		quantizeRows(typ, want, x)
		if !bytes.Equal(got, want) {
			t.Errorf("%v: parallel encoding differs from one pass", typ)
		}
	}
}
