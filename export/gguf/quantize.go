package gguf

import (
	"fmt"
	"runtime"
	"sync"
)

// Quantize encodes x, rows of rowLen weights, as type t in ggml's byte
// layout. Rows must be a whole number of t's blocks. Blocks are encoded
// independently, so large tensors are split by rows across the CPUs with
// the same bytes as one pass.
func Quantize(t Type, x []float32, rowLen int) ([]byte, error) {
	info, ok := types[t]
	if !ok {
		return nil, fmt.Errorf("quantize: %v is not supported", t)
	}
	if rowLen <= 0 || len(x)%rowLen != 0 || rowLen%info.block != 0 {
		return nil, fmt.Errorf("quantize %v: rows of %d weights are not whole blocks of %d", t, rowLen, info.block)
	}
	rows, rowBytes := len(x)/rowLen, int(t.RowBytes(rowLen))
	dst := make([]byte, rows*rowBytes)
	const minChunk = 1 << 18 // weights per goroutine worth starting one for
	parts := max(1, min(runtime.GOMAXPROCS(0), len(x)/minChunk, rows))
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := rows*p/parts, rows*(p+1)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			quantizeRows(t, dst[lo*rowBytes:hi*rowBytes], x[lo*rowLen:hi*rowLen])
		}()
	}
	wg.Wait()
	return dst, nil
}

// quantizeRows encodes whole rows x into dst, which has their exact size.
func quantizeRows(t Type, dst []byte, x []float32) {
	switch t {
	case F32:
		for i, v := range x {
			putF32(dst[4*i:], v)
		}
	case F16:
		for i, v := range x {
			h := f32ToF16(v)
			dst[2*i], dst[2*i+1] = byte(h), byte(h>>8)
		}
	case Q8_0:
		quantizeQ8_0(dst, x)
	case Q4_0:
		quantizeQ4_0(dst, x)
	case Q5_0:
		quantizeQ5_0(dst, x)
	case Q4_K:
		quantizeQ4_K(dst, x)
	case Q5_K:
		quantizeQ5_K(dst, x)
	case Q6_K:
		quantizeQ6_K(dst, x)
	}
}
