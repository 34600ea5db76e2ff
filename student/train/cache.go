package train

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"

	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/internal/mmap"
	"github.com/distill-dev/distill/student/tokenizer"
)

// A token cache holds a split's conversations rendered once, so that the
// trainer maps the file instead of holding the tokens in the heap (an
// 800k-trace R1 set is about 4G tokens), and a rerun or --resume skips the
// rendering. Layout, little-endian:
//
//	header, cacheHeaderSize bytes:
//	   0  magic cacheMagic
//	   8  format version (uint32)
//	  12  CRC-32C of the body, then of header bytes 16 to the end
//	  16  data key (32 bytes, see cacheKey)
//	  48  tokenizer key (32 bytes)
//	  80  examples (uint64)
//	  88  tokens (uint64)
//	  96  rows skipped for want of an assistant turn (uint64)
//	body:
//	  tokens: a uint32 each, the id with the assistant mask in bit 31
//	    (vocabularies stay far below 2^31)
//	  index: indexEntrySize bytes an example, in the shards' order: first
//	    token (uint64), length in tokens (uint32), FNV-1a hash of the ids
//	    (uint64), which canonicalOrder sorts by
const (
	cacheMagic      = "DSTLTOK\n"
	cacheVersion    = 1
	cacheHeaderSize = 104
	indexEntrySize  = 20
	assistantBit    = 1 << 31
)

// errInvalidCache marks a cache file that cannot be used as it is (stale,
// truncated, corrupted); the trainer renders the shards again.
var errInvalidCache = errors.New("token cache out of date or damaged")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// cacheKey says what a cache was rendered from. The shards are known by
// their names, sizes and modification times (hashing gigabytes of Parquet at
// every start would cost more than rendering saves); the tokenizer and
// template are hashed whole, since any change to them changes the ids.
type cacheKey struct {
	data, tok [32]byte
}

// newCacheKey is the key of a split of the plan rendered with tok and
// tmpl. A lone source kept whole has the key it had before mixtures, so
// caches rendered then stay valid; a mixture's key also names each source's
// share of the rows (and the seed that chose them).
func newCacheKey(plan *Plan, split string, tok *tokenizer.Tokenizer, tmpl *tokenizer.Template) (cacheKey, error) {
	var k cacheKey
	h := sha256.New()
	for i, src := range plan.Sources {
		files, keep := src.split(split)
		if len(plan.Sources) > 1 || keep != nil {
			seed := uint64(0) // the seed changes nothing a source keeps whole
			if keep != nil {
				seed = plan.Seed
			}
			fmt.Fprintf(h, "source %d weight %g max_rows %d seed %d\n", i, src.Weight, src.MaxRows, seed)
		}
		for _, f := range files {
			st, err := os.Stat(f)
			if err != nil {
				return k, err
			}
			// Relative, so that moving the dataset directory keeps the cache.
			name, err := filepath.Rel(src.Path, f)
			if err != nil {
				name = f
			}
			fmt.Fprintf(h, "%q %d %d\n", filepath.ToSlash(name), st.Size(), st.ModTime().UnixNano())
		}
	}
	h.Sum(k.data[:0])
	h = sha256.New()
	h.Write(tok.JSON())
	fmt.Fprintf(h, "\x00%s\x00%s", tmpl.Name, tmpl.Jinja)
	h.Sum(k.tok[:0])
	return k, nil
}

// cacheWriter appends examples to a temporary file that commit renames into
// place: a cache is whole or absent, never half written.
type cacheWriter struct {
	f      *atomicfile.File
	w      *bufio.Writer
	crc    hash.Hash32 // of the body so far
	index  []byte
	tokens uint64
	buf    []byte
}

func createCache(path string) (*cacheWriter, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// A run killed while rendering leaves its temporary file behind: never
	// read again, only taking space.
	stale, _ := filepath.Glob(filepath.Join(dir, atomicfile.TempPattern(path)))
	for _, s := range stale {
		os.Remove(s)
	}
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return nil, err
	}
	w := &cacheWriter{f: f, w: bufio.NewWriterSize(f, 1<<20), crc: crc32.New(castagnoli)}
	// The header goes in last, once the counts and the checksum are known.
	if _, err := w.w.Write(make([]byte, cacheHeaderSize)); err != nil {
		w.f.Abort()
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return w, nil
}

// add appends one example: its ids and their assistant mask.
func (w *cacheWriter) add(ids []int32, mask []bool) error {
	if len(ids) > math.MaxUint32 {
		return fmt.Errorf("%s: an example of %d tokens", w.f.Name(), len(ids))
	}
	w.buf = w.buf[:0]
	for _, id := range ids {
		if id < 0 {
			return fmt.Errorf("%s: token id %d", w.f.Name(), id)
		}
		w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(id))
	}
	// The hash is of the ids alone, as canonicalOrder always took it, so a
	// run's data order is the one the in-memory trainer had.
	h := fnv.New64a()
	h.Write(w.buf)
	for i, m := range mask {
		if m {
			w.buf[4*i+3] |= assistantBit >> 24
		}
	}
	w.crc.Write(w.buf)
	if _, err := w.w.Write(w.buf); err != nil {
		return fmt.Errorf("%s: %w", w.f.Name(), err)
	}
	w.index = binary.LittleEndian.AppendUint64(w.index, w.tokens)
	w.index = binary.LittleEndian.AppendUint32(w.index, uint32(len(ids)))
	w.index = binary.LittleEndian.AppendUint64(w.index, h.Sum64())
	w.tokens += uint64(len(ids))
	return nil
}

// commit writes the index and the header, syncs the file and renames it
// into place. After an error the caller aborts.
func (w *cacheWriter) commit(key cacheKey, skipped int) error {
	w.crc.Write(w.index)
	if _, err := w.w.Write(w.index); err != nil {
		return fmt.Errorf("%s: %w", w.f.Name(), err)
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("%s: %w", w.f.Name(), err)
	}
	hdr := make([]byte, cacheHeaderSize)
	copy(hdr, cacheMagic)
	binary.LittleEndian.PutUint32(hdr[8:], cacheVersion)
	copy(hdr[16:48], key.data[:])
	copy(hdr[48:80], key.tok[:])
	binary.LittleEndian.PutUint64(hdr[80:], uint64(len(w.index)/indexEntrySize))
	binary.LittleEndian.PutUint64(hdr[88:], w.tokens)
	binary.LittleEndian.PutUint64(hdr[96:], uint64(skipped))
	w.crc.Write(hdr[16:])
	binary.LittleEndian.PutUint32(hdr[12:], w.crc.Sum32())
	if _, err := w.f.WriteAt(hdr, 0); err != nil {
		return fmt.Errorf("%s: %w", w.f.Name(), err)
	}
	return w.f.Commit()
}

// tokenCache is a cache file mapped read-only.
type tokenCache struct {
	path    string
	data    []byte // the mapping; tokens and index are slices of it
	unmap   func() error
	tokens  []byte
	index   []byte
	skipped int
}

// openCache maps the cache at path and checks that it is whole and was
// rendered from what key names; an error wrapping errInvalidCache says why
// it cannot be used. The check reads the whole file once, which also brings
// it into the page cache for the first epoch.
func openCache(ctx context.Context, path string, key cacheKey) (*tokenCache, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < cacheHeaderSize {
		return nil, fmt.Errorf("%s: %w: %d bytes, shorter than the header", path, errInvalidCache, st.Size())
	}
	data, unmap, err := mmap.File(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c := &tokenCache{path: path, data: data, unmap: unmap}
	if err := c.check(ctx, key); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (c *tokenCache) check(ctx context.Context, key cacheKey) error {
	le := binary.LittleEndian
	h := c.data[:cacheHeaderSize]
	switch {
	case string(h[:8]) != cacheMagic:
		return fmt.Errorf("%w: not a token cache", errInvalidCache)
	case le.Uint32(h[8:]) != cacheVersion:
		return fmt.Errorf("%w: format version %d, this build writes %d", errInvalidCache, le.Uint32(h[8:]), cacheVersion)
	case !bytes.Equal(h[16:48], key.data[:]):
		return fmt.Errorf("%w: the data shards changed", errInvalidCache)
	case !bytes.Equal(h[48:80], key.tok[:]):
		return fmt.Errorf("%w: the tokenizer or the chat template changed", errInvalidCache)
	}
	examples, tokens := le.Uint64(h[80:]), le.Uint64(h[88:])
	body := uint64(len(c.data) - cacheHeaderSize)
	if tokens > body/4 || examples > (body-4*tokens)/indexEntrySize || 4*tokens+indexEntrySize*examples != body {
		return fmt.Errorf("%w: %d bytes do not hold the %d examples (%d tokens) the header counts: truncated or overwritten",
			errInvalidCache, len(c.data), examples, tokens)
	}
	var crc uint32
	for b := c.data[cacheHeaderSize:]; len(b) > 0; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(len(b), 64<<20)
		crc = crc32.Update(crc, castagnoli, b[:n])
		b = b[n:]
	}
	if crc32.Update(crc, castagnoli, h[16:]) != le.Uint32(h[12:]) {
		return fmt.Errorf("%w: checksum mismatch (the file is damaged)", errInvalidCache)
	}
	c.tokens = c.data[cacheHeaderSize : cacheHeaderSize+4*tokens]
	c.index = c.data[cacheHeaderSize+4*tokens:]
	c.skipped = int(le.Uint64(h[96:]))
	// The examples are stored back to back; checked once here so that
	// slicing them later cannot fail.
	next := uint64(0)
	for i := range c.Len() {
		e := c.index[i*indexEntrySize:]
		if le.Uint64(e) != next {
			return fmt.Errorf("%w: example %d starts at token %d, want %d", errInvalidCache, i, le.Uint64(e), next)
		}
		next += uint64(le.Uint32(e[8:]))
	}
	if next != tokens {
		return fmt.Errorf("%w: the examples hold %d tokens, the header says %d", errInvalidCache, next, tokens)
	}
	return nil
}

// Len is the number of examples.
func (c *tokenCache) Len() int { return len(c.index) / indexEntrySize }

// example returns the tokens of example i, decoded by tokenAt.
func (c *tokenCache) example(i int) []byte {
	e := c.index[i*indexEntrySize:]
	off, n := binary.LittleEndian.Uint64(e), uint64(binary.LittleEndian.Uint32(e[8:]))
	return c.tokens[4*off : 4*(off+n)]
}

// exampleLen is the length of example i in tokens.
func (c *tokenCache) exampleLen(i int) int {
	return int(binary.LittleEndian.Uint32(c.index[i*indexEntrySize+8:]))
}

// hash is the FNV-1a hash of example i's ids.
func (c *tokenCache) hash(i int) uint64 {
	return binary.LittleEndian.Uint64(c.index[i*indexEntrySize+12:])
}

// tokenAt decodes token k of an example: its id, and whether the loss
// counts it (an assistant token).
func tokenAt(ex []byte, k int) (id int32, assistant bool) {
	v := binary.LittleEndian.Uint32(ex[4*k:])
	return int32(v &^ assistantBit), v&assistantBit != 0
}

// Close unmaps the file; the slices example returned become invalid.
func (c *tokenCache) Close() error {
	if c.unmap == nil {
		return nil
	}
	err := c.unmap()
	c.unmap, c.data, c.tokens, c.index = nil, nil, nil, nil
	if err != nil {
		return fmt.Errorf("%s: %w", c.path, err)
	}
	return nil
}
