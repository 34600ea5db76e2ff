package dataset

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/parquet-go/parquet-go/compress/zstd"
)

// The lower-memory codec must write the bytes parquet-go's zstd codec
// writes, for pages of every size up to well past the page buffer, and
// read back.
func TestShardCodecMatchesParquetZstd(t *testing.T) {
	ref := &zstd.Codec{Level: zstd.SpeedDefault}
	rng := rand.New(rand.NewPCG(3, 4))
	text := []byte("Ravi has 99 cookies. He buys 3 trays of 12 cookies each. <think>\n3 × 12 = 36\n</think>\n\n\\boxed{135}\n")
	for _, size := range []int{0, 1, 1000, 128<<10 + 1, 1 << 20, 3 << 20} {
		for _, kind := range []string{"text", "random"} {
			src := make([]byte, size)
			for i := range src {
				if kind == "text" {
					src[i] = text[(i*7+i/len(text))%len(text)]
				} else {
					src[i] = byte(rng.Uint32())
				}
			}
			name := fmt.Sprintf("%s/%d", kind, size)
			want, err := ref.Encode(nil, src)
			if err != nil {
				t.Fatal(err)
			}
			// Twice: the second call reuses a pooled encoder.
			for range 2 {
				got, err := shardCodec.Encode(nil, src)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: %d bytes, parquet-go's codec %d, or different bytes", name, len(got), len(want))
				}
			}
			back, err := shardCodec.Decode(nil, want)
			if err != nil || !bytes.Equal(back, src) {
				t.Fatalf("%s: does not read back (%v)", name, err)
			}
		}
	}
}
