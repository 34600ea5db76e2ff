package dataset

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"

	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/parquet-go/parquet-go"
)

// Defaults for shard writing. Row groups are bounded by uncompressed bytes so
// memory stays bounded whatever the length of the traces.
const (
	DefaultShardBytes    = 256 << 20
	DefaultRowGroupBytes = 32 << 20
	DefaultRowGroupRows  = 8192
)

func (r *Row) size() int {
	n := len(r.Prompt) + len(r.Reasoning) + len(r.Answer) + len(r.Reference) + len(r.Verifier) +
		len(r.Source) + len(r.Teacher) + len(r.PromptID) + 32
	for _, m := range r.Messages {
		n += len(m.Role) + len(m.Content)
	}
	return n
}

func (r *RejectRow) size() int {
	return len(r.Prompt) + len(r.Reasoning) + len(r.Answer) + len(r.Reference) + len(r.Verifier) +
		len(r.Source) + len(r.Teacher) + len(r.PromptID) + len(r.RejectReason) + 32
}

// ShardWriter writes rows of type T into Hugging Face style shards
// DIR/PREFIX-00000-of-000NN.parquet. The total NN is known only at the end, so
// shards are written under hidden temporary names and renamed by Close: a
// crash never leaves a file that looks like a complete shard.
type ShardWriter[T any] struct {
	dir, prefix   string
	shardBytes    int64
	rowGroupBytes int
	rowGroupRows  int

	f        *os.File
	cw       *countWriter
	w        *parquet.GenericWriter[T]
	buf      []T
	bufBytes int
	tmp      []string // temporary names of the shards written so far
	rows     int64
	sizeOf   func(*T) int

	// Row groups are encoded and compressed by a goroutine of their own, so
	// that writing overlaps with parsing and with the other splits' writers.
	groups  chan []T
	done    chan struct{}
	loopErr atomic.Pointer[error]
}

// ShardOptions configure a ShardWriter; zero values take the defaults.
type ShardOptions struct {
	ShardBytes    int64
	RowGroupBytes int
	RowGroupRows  int
}

// NewShardWriter returns a writer of PREFIX shards in dir. sizeOf estimates the
// uncompressed bytes of a row.
func NewShardWriter[T any](dir, prefix string, opts ShardOptions, sizeOf func(*T) int) *ShardWriter[T] {
	if opts.ShardBytes <= 0 {
		opts.ShardBytes = DefaultShardBytes
	}
	if opts.RowGroupBytes <= 0 {
		opts.RowGroupBytes = DefaultRowGroupBytes
	}
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = DefaultRowGroupRows
	}
	return &ShardWriter[T]{dir: dir, prefix: prefix, shardBytes: opts.ShardBytes,
		rowGroupBytes: opts.RowGroupBytes, rowGroupRows: opts.RowGroupRows, sizeOf: sizeOf}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Write buffers one row, flushing a row group and starting a new shard when
// their sizes are reached.
func (s *ShardWriter[T]) Write(row T) error {
	if err := s.loopErr.Load(); err != nil {
		return *err
	}
	s.buf = append(s.buf, row)
	s.bufBytes += s.sizeOf(&s.buf[len(s.buf)-1])
	s.rows++
	if s.bufBytes >= s.rowGroupBytes || len(s.buf) >= s.rowGroupRows {
		s.send()
	}
	return nil
}

// Rows is the number of rows written so far.
func (s *ShardWriter[T]) Rows() int64 { return s.rows }

// send hands the buffered rows to the writing goroutine as one row group.
func (s *ShardWriter[T]) send() {
	if len(s.buf) == 0 {
		return
	}
	if s.groups == nil {
		s.groups = make(chan []T, 1)
		s.done = make(chan struct{})
		go s.loop()
	}
	s.groups <- s.buf
	s.buf = make([]T, 0, cap(s.buf))
	s.bufBytes = 0
}

func (s *ShardWriter[T]) loop() {
	defer close(s.done)
	for g := range s.groups {
		if s.loopErr.Load() != nil {
			continue // drain
		}
		if err := s.writeGroup(g); err != nil {
			s.loopErr.Store(&err)
		}
	}
}

// stop waits for the writing goroutine to finish what it was given.
func (s *ShardWriter[T]) stop() error {
	if s.groups != nil {
		close(s.groups)
		<-s.done
		s.groups = nil
	}
	if err := s.loopErr.Load(); err != nil {
		return *err
	}
	return nil
}

func (s *ShardWriter[T]) writeGroup(g []T) error {
	if s.w == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	if _, err := s.w.Write(g); err != nil {
		return fmt.Errorf("write %s: %w", s.f.Name(), err)
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", s.f.Name(), err)
	}
	if s.cw.n >= s.shardBytes {
		return s.closeShard()
	}
	return nil
}

func (s *ShardWriter[T]) open() error {
	name := filepath.Join(s.dir, fmt.Sprintf(".%s-%05d.parquet.tmp", s.prefix, len(s.tmp)))
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("create shard: %w", err)
	}
	s.f = f
	s.cw = &countWriter{w: f}
	s.w = parquet.NewGenericWriter[T](s.cw,
		parquet.Compression(shardCodec),
		// A fixed creator string: the version of parquet-go must not make two
		// runs over the same input differ.
		parquet.CreatedBy("distill", "0", "0"),
		parquet.PageBufferSize(1<<20),
		// Min/max bounds of text that differs from row to row say nothing a
		// reader can prune by, and computing them compares every value of
		// the page; the columns that name a source, teacher, verifier or
		// reason keep theirs.
		parquet.SkipPageBounds("prompt"), parquet.SkipPageBounds("reasoning"), parquet.SkipPageBounds("answer"),
		parquet.SkipPageBounds("reference"), parquet.SkipPageBounds("prompt_id"),
		parquet.SkipPageBounds("messages", "list", "element", "content"),
		parquet.SkipPageBounds("messages", "list", "element", "role"),
	)
	s.tmp = append(s.tmp, name)
	return nil
}

func (s *ShardWriter[T]) closeShard() error {
	if s.w == nil {
		return nil
	}
	err := s.w.Close()
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.w, s.f, s.cw = nil, nil, nil
	if err != nil {
		return fmt.Errorf("close shard: %w", err)
	}
	return nil
}

// Close flushes the last rows and renames the temporary shards to their final
// names. A writer that got no rows writes one empty shard, so readers always
// find the split with its schema. It returns the final paths.
func (s *ShardWriter[T]) Close() ([]string, error) {
	s.send()
	if err := s.stop(); err != nil {
		return nil, err
	}
	if len(s.tmp) == 0 || s.w != nil {
		if s.w == nil {
			if err := s.open(); err != nil {
				return nil, err
			}
		}
		if err := s.closeShard(); err != nil {
			return nil, err
		}
	}
	out := make([]string, len(s.tmp))
	for i := range s.tmp {
		out[i] = filepath.Join(s.dir, fmt.Sprintf("%s-%05d-of-%05d.parquet", s.prefix, i, len(s.tmp)))
	}
	// Shards of an earlier run with another count would mix with ours.
	if err := removeShards(s.dir, s.prefix, out); err != nil {
		return nil, err
	}
	for i, t := range s.tmp {
		if err := atomicfile.Rename(t, out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Abort removes the temporary shards: used when a run fails.
func (s *ShardWriter[T]) Abort() {
	s.stop()
	if s.f != nil {
		s.f.Close()
	}
	for _, t := range s.tmp {
		if err := os.Remove(t); err != nil && !errors.Is(err, os.ErrNotExist) {
			continue
		}
	}
}

// removeShards deletes the PREFIX-*-of-*.parquet files of dir not in keep.
func removeShards(dir, prefix string, keep []string) error {
	old, err := filepath.Glob(filepath.Join(dir, prefix+"-[0-9]*-of-[0-9]*.parquet"))
	if err != nil {
		return err
	}
	for _, p := range old {
		if slices.Contains(keep, p) {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove old shard: %w", err)
		}
	}
	return nil
}
