package safetensors

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// file builds a safetensors file from a header string and a data length.
func file(hdr string, data int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	b = append(b, hdr...)
	return append(b, make([]byte, data)...)
}

func TestOpenRejects(t *testing.T) {
	ok := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	for _, tc := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "shorter than the 8-byte header length"},
		{"huge length", binary.LittleEndian.AppendUint64(nil, 1<<40), "exceeds"},
		{"length past end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), "runs past the end"},
		{"not object", file(`["a"]`, 0), "does not start with '{'"},
		{"bad json", file(`{"a":`, 0), `tensor "a": EOF`},
		{"trailing", file(`{}{}`, 0), "data after the header"},
		{"not utf8", file("{\"\xff\":1}", 0), "not UTF-8"},
		{"dup key", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), `duplicate key "a"`},
		{"metadata not strings", file(`{"__metadata__":{"x":1}}`, 0), "__metadata__ must map strings"},
		{"unknown dtype", file(`{"a":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}}`, 8), `tensor "a": unknown dtype "F7"`},
		{"no shape", file(`{"a":{"dtype":"F32","data_offsets":[0,0]}}`, 0), `tensor "a": no shape`},
		{"negative dim", file(`{"a":{"dtype":"F32","shape":[-2,-1],"data_offsets":[0,8]}}`, 8), "dimension 0 is -2"},
		{"float dim", file(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}`, 8), `tensor "a"`},
		{"size mismatch", file(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), "needs 12 bytes, data_offsets give 8"},
		{"overflow", file(`{"a":{"dtype":"F64","shape":[2147483647,2147483647,2147483647,4],"data_offsets":[0,8]}}`, 8), "overflows 64 bits"},
		{"offsets past data", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 8), "outside the 8-byte data section"},
		{"offsets reversed", file(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, 8), "outside"},
		{"one offset", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}}`, 8), "2 entries"},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "overlaps"},
		{"hole", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), "unused"},
		{"extra data", file(ok, 12), "cover 8 bytes of a 12-byte data section"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.safetensors")
			if err := os.WriteFile(path, tc.raw, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("err %q, want ErrInvalid naming the file and containing %q", err, tc.want)
			}
		})
	}
	// The valid file the cases above break, padded with spaces as the spec allows.
	path := filepath.Join(t.TempDir(), "ok.safetensors")
	os.WriteFile(path, file(ok+"     ", 8), 0o644)
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// FuzzParseHeader feeds arbitrary headers to the parser: it must never
// panic, and whatever it accepts must describe tensors that tile the data
// section exactly with sizes matching dtype × shape.
// CI runs it briefly: go test -run=^$ -fuzz=FuzzParseHeader -fuzztime=10s ./student/safetensors
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`), int64(8))
	f.Add([]byte(`{"__metadata__":{"format":"pt"},"w":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[],"data_offsets":[8,10]}}  `), int64(10))
	f.Add([]byte(`{"a":{"dtype":"F64","shape":[2147483647,2147483647,2147483647,4],"data_offsets":[0,8]}}`), int64(8))
	f.Add([]byte(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`), int64(8))
	f.Add([]byte(`{}`), int64(0))
	if b, err := os.ReadFile("testdata/torch.safetensors"); err == nil {
		n := binary.LittleEndian.Uint64(b)
		f.Add(b[8:8+n], int64(len(b))-8-int64(n))
	}
	f.Fuzz(func(t *testing.T, hdr []byte, dataLen int64) {
		if dataLen < 0 {
			dataLen = -dataLen
		}
		h, err := parseHeader(hdr, dataLen)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		var end int64
		for _, n := range h.names {
			ti := h.tensors[n]
			if ti.Begin != end {
				t.Fatalf("tensor %q begins at %d, previous ends at %d", n, ti.Begin, end)
			}
			numel := int64(1)
			for _, d := range ti.Shape {
				numel *= int64(d)
			}
			if numel*dtypeSize[ti.Dtype] != ti.End-ti.Begin {
				t.Fatalf("tensor %q: %d elements of %s in %d bytes", n, numel, ti.Dtype, ti.End-ti.Begin)
			}
			end = ti.End
		}
		if end != dataLen {
			t.Fatalf("tensors end at %d of %d", end, dataLen)
		}
	})
}
