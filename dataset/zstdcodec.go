package dataset

import (
	"fmt"
	"sync"

	kzstd "github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// shardCodec compresses the pages of every shard. It is parquet-go's zstd
// codec at the default level with encoders in the lower-memory mode: an
// encoder's history buffer is its window (8 MB) plus one block instead of
// twice the window. The window and the level are unchanged, and a page,
// far below the window, never fills the buffer, so the bytes are the
// same; an encoder costs 8 MB instead of 16 MB. One codec serves all
// writers, so idle encoders are shared between the splits.
var shardCodec = &lowMemZstd{}

type lowMemZstd struct {
	zstd.Codec // name, format code and decoding
	encoders   sync.Pool
}

func (c *lowMemZstd) Encode(dst, src []byte) ([]byte, error) {
	e, _ := c.encoders.Get().(*kzstd.Encoder)
	if e == nil {
		var err error
		// The options of parquet-go's codec, plus the lower-memory mode.
		e, err = kzstd.NewWriter(nil, kzstd.WithEncoderConcurrency(1), kzstd.WithEncoderLevel(kzstd.SpeedDefault),
			kzstd.WithZeroFrames(true), kzstd.WithEncoderCRC(false), kzstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
	}
	defer c.encoders.Put(e)
	return e.EncodeAll(src, dst[:0]), nil
}
