// Package gguf writes student checkpoints as GGUF v3 files for llama.cpp
// (and Ollama, LM Studio): the qwen2 and llama architectures with llama.cpp's
// tensor names and layout, the tokenizer as llama.cpp's BPE vocabulary, and
// weights in f32, f16 or ggml's block quantisations (Q8_0, Q4_0, Q5_0, Q4_K,
// Q5_K, Q6_K), each bit-identical to ggml's reference quantiser.
//
// Of ours it may import only `internal/atomicfile`, `student/model` and
// `student/tokenizer`.
package gguf

import (
	"fmt"
	"strings"
)

// Type is a ggml tensor type (enum ggml_type).
type Type uint32

// The ggml types the exporter writes, with ggml's numbers.
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q5_0 Type = 6
	Q8_0 Type = 8
	Q4_K Type = 12
	Q5_K Type = 13
	Q6_K Type = 14
)

// typeInfo is a type's block: how many weights, stored in how many bytes.
type typeInfo struct {
	name   string
	block  int
	nbytes int
}

// The block layouts of ggml-common.h: Q8_0 is an f16 scale and 32 int8;
// Q4_0 an f16 scale and 32 nibbles; Q5_0 adds 32 high bits; Q4_K is a
// 256-weight super-block of f16 d and dmin, 12 bytes of 6-bit scales and
// mins, and 128 bytes of nibbles; Q5_K adds 32 bytes of fifth bits; Q6_K has 128 bytes of low nibbles, 64 of
// high bits, 16 int8 scales and an f16 d.
var types = map[Type]typeInfo{
	F32:  {"F32", 1, 4},
	F16:  {"F16", 1, 2},
	Q4_0: {"Q4_0", 32, 2 + 16},
	Q5_0: {"Q5_0", 32, 2 + 4 + 16},
	Q8_0: {"Q8_0", 32, 2 + 32},
	Q4_K: {"Q4_K", 256, 2 + 2 + 12 + 128},
	Q5_K: {"Q5_K", 256, 2 + 2 + 12 + 32 + 128},
	Q6_K: {"Q6_K", 256, 128 + 64 + 16 + 2},
}

func (t Type) String() string {
	if i, ok := types[t]; ok {
		return i.name
	}
	return fmt.Sprintf("ggml_type(%d)", uint32(t))
}

// BlockSize is the number of weights a block of t holds.
func (t Type) BlockSize() int { return types[t].block }

// RowBytes is the size of a row of n weights (n a multiple of BlockSize).
func (t Type) RowBytes(n int) int64 { return int64(n/types[t].block) * int64(types[t].nbytes) }

// FileType is the llama_ftype written as general.file_type: what the file
// is "mostly", with the per-tensor choices llama.cpp's quantiser makes.
type FileType uint32

// The file types `distill export gguf --type` offers, with llama.cpp's numbers.
const (
	AllF32      FileType = 0
	MostlyF16   FileType = 1
	MostlyQ4_0  FileType = 2
	MostlyQ8_0  FileType = 7
	MostlyQ4_KM FileType = 15
)

var fileTypeNames = map[FileType]string{
	AllF32: "f32", MostlyF16: "f16", MostlyQ8_0: "q8_0", MostlyQ4_0: "q4_0", MostlyQ4_KM: "q4_k_m",
}

// FileTypeNames lists the --type values in order of size.
func FileTypeNames() []string { return []string{"f32", "f16", "q8_0", "q4_k_m", "q4_0"} }

func (f FileType) String() string { return fileTypeNames[f] }

// ParseFileType reads a --type value (case-insensitive).
func ParseFileType(s string) (FileType, error) {
	for f, n := range fileTypeNames {
		if strings.EqualFold(s, n) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("GGUF type %q: want one of %s", s, strings.Join(FileTypeNames(), ", "))
}
