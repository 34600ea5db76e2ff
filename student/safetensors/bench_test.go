package safetensors

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// The read benchmarks convert a 64 MB tensor from the mapped file into a
// float32 slice; BenchmarkReadCopy is the reference: a plain copy of the
// same mapped bytes, the fastest any reader can be once the pages are
// cached. The write benchmarks compare Write with os.WriteFile of a buffer
// of the same size. Compare MB/s within one run.
const benchElems = 16 << 20

func benchFile(b *testing.B, dtype string) (*File, string) {
	b.Helper()
	data := make([]float32, benchElems)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = float32(r.NormFloat64())
	}
	path := filepath.Join(b.TempDir(), "b.safetensors")
	if err := Write(path, []NamedTensor{{Name: "x", Shape: []int{benchElems}, Data: data, Dtype: dtype}}, nil); err != nil {
		b.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f, path
}

func benchRead(b *testing.B, dtype string) {
	f, _ := benchFile(b, dtype)
	dst := make([]float32, benchElems)
	b.SetBytes(int64(len(f.data)))
	b.ResetTimer()
	for range b.N {
		if err := f.ReadFloat32("x", dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadF32(b *testing.B)  { benchRead(b, "F32") }
func BenchmarkReadBF16(b *testing.B) { benchRead(b, "BF16") }

func BenchmarkReadCopy(b *testing.B) {
	f, _ := benchFile(b, "F32")
	dst := make([]byte, len(f.data))
	b.SetBytes(int64(len(f.data)))
	b.ResetTimer()
	for range b.N {
		copy(dst, f.data)
	}
}

func benchWrite(b *testing.B, dtype string) {
	data := make([]float32, benchElems)
	path := filepath.Join(b.TempDir(), "w.safetensors")
	b.SetBytes(int64(len(data)) * dtypeSize[dtype])
	for range b.N {
		if err := Write(path, []NamedTensor{{Name: "x", Shape: []int{benchElems}, Data: data, Dtype: dtype}}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteF32(b *testing.B)  { benchWrite(b, "F32") }
func BenchmarkWriteBF16(b *testing.B) { benchWrite(b, "BF16") }

// BenchmarkWriteFileSync is the write reference: the same bytes, one
// os.WriteFile plus fsync.
func BenchmarkWriteFileSync(b *testing.B) {
	buf := make([]byte, benchElems*4)
	path := filepath.Join(b.TempDir(), "w.bin")
	b.SetBytes(int64(len(buf)))
	for range b.N {
		if err := os.WriteFile(path, buf, 0o644); err != nil {
			b.Fatal(err)
		}
		f, _ := os.Open(path)
		f.Sync()
		f.Close()
	}
}
