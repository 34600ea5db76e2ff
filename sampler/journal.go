package sampler

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/record"
	"github.com/klauspost/compress/zstd"
)

// The journal is the set of DIR/traces-*.jsonl[.zst] files. Each process
// appends to a file of its own (never to an old one), one whole JSON line
// per (prompt_id, sample), written in batches by single write calls. A kill
// can therefore only tear the tail of the file being written; recovery cuts
// that tail (at the last newline, or the last complete zstd frame) and the
// keys it held are simply sampled again.

const supersededName = "failed-superseded.jsonl"

// journalPrefix names the files of one shard, so that shards of an array
// job can share one directory without touching each other's files.
func journalPrefix(s Shard) string {
	if s.Count <= 1 {
		return "traces-"
	}
	return fmt.Sprintf("traces-s%05dof%05d-", s.Index, s.Count)
}

func isJournal(name string) bool {
	return strings.HasPrefix(name, "traces-") && (strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".jsonl.zst"))
}

// journalFiles lists DIR's trace files in name order.
func journalFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && isJournal(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// nextJournalName is the first unused sequence number for this shard.
func nextJournalName(files []string, s Shard, compress bool) string {
	prefix := journalPrefix(s)
	seq := 0
	for _, f := range files {
		rest, ok := strings.CutPrefix(f, prefix)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil && n >= seq {
			seq = n + 1
		}
	}
	ext := ".jsonl"
	if compress {
		ext = ".jsonl.zst"
	}
	return fmt.Sprintf("%s%05d%s", prefix, seq, ext)
}

// recoverTail cuts a torn tail off one of our own journal files.
func recoverTail(path string) (cut int64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	var keep int64
	if strings.HasSuffix(path, ".zst") {
		keep, err = completeFrames(f)
		if err != nil && !errors.Is(err, errTornFrame) {
			return 0, fmt.Errorf("%s: %w at byte %d", path, err, keep)
		}
	} else if keep, err = afterLastNewline(f, size); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if keep == size {
		return 0, nil
	}
	if err := f.Truncate(keep); err != nil {
		return 0, err
	}
	return size - keep, f.Sync()
}

// afterLastNewline finds the end of the last complete line by reading
// backwards from the end in small chunks.
func afterLastNewline(f *os.File, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// scanRecord is the part of a trace that resume needs.
type scanRecord struct {
	PromptID string       `json:"prompt_id"`
	Sample   int          `json:"sample"`
	Error    string       `json:"error"`
	Usage    record.Usage `json:"usage"`
	Batch    bool         `json:"batch"`
}

// eachLine calls fn for every complete line of a journal file. A torn tail
// (a file another shard is writing right now) is ignored, never an error.
func eachLine(path string, fn func(line []byte, n int) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".zst") {
		keep, err := completeFrames(f)
		if err != nil && !errors.Is(err, errTornFrame) {
			return fmt.Errorf("%s: %w at byte %d", path, err, keep)
		}
		dec, err := zstd.NewReader(io.NewSectionReader(f, 0, keep), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return err
		}
		defer dec.Close()
		r = dec
	}
	br := bufio.NewReaderSize(r, 1<<20)
	for n := 1; ; n++ {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) {
			return nil // a last line without newline is torn: not a record
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if err := fn(line, n); err != nil {
			return err
		}
	}
}

func parseScan(path string, line []byte, n int) (scanRecord, error) {
	var rec scanRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return rec, fmt.Errorf("%s:%d: corrupt trace line: %w", path, n, err)
	}
	if rec.PromptID == "" {
		return rec, fmt.Errorf("%s:%d: trace without prompt_id", path, n)
	}
	return rec, nil
}

// dropFailed rewrites one of our journal files without its failed records,
// which are first appended to DIR/failed-superseded.jsonl so their billed
// tokens still count. The rewrite streams into a temp file that replaces
// the original by rename: a kill in between leaves either file whole, and
// at worst a failure in both places, which resume reads as "to be retried"
// and cost accounting as a slight overcount.
func dropFailed(dir, name string) (int, error) {
	path := filepath.Join(dir, name)
	nfailed := 0
	err := eachLine(path, func(line []byte, n int) error {
		rec, err := parseScan(path, line, n)
		if err == nil && rec.Error != "" {
			nfailed++
		}
		return err
	})
	if err != nil || nfailed == 0 {
		return 0, err
	}
	sf, err := os.OpenFile(filepath.Join(dir, supersededName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer sf.Close()
	tf, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return 0, err
	}
	defer tf.Abort()
	w := newBatchWriter(tf, strings.HasSuffix(name, ".zst"))
	sw := bufio.NewWriter(sf)
	err = eachLine(path, func(line []byte, n int) error {
		rec, err := parseScan(path, line, n)
		if err != nil {
			return err
		}
		if rec.Error != "" {
			_, err = sw.Write(line)
			return err
		}
		w.buf = append(w.buf, line...)
		if len(w.buf) >= 1<<20 {
			return w.flush()
		}
		return nil
	})
	if err == nil {
		err = w.flush()
	}
	if err == nil {
		err = sw.Flush()
	}
	if err == nil {
		err = sf.Sync()
	}
	if err == nil {
		err = tf.Commit()
	}
	if err != nil {
		return 0, fmt.Errorf("retry-failed: rewriting %s: %w", path, err)
	}
	return nfailed, nil
}

// batchWriter turns whole lines into single writes: plain, or one zstd
// frame per batch, so a torn write can only cut the last batch.
type batchWriter struct {
	w   io.Writer
	enc *zstd.Encoder
	buf []byte
	out []byte
}

func newBatchWriter(w io.Writer, compress bool) *batchWriter {
	b := &batchWriter{w: w}
	if compress {
		// Single-threaded, low-memory encoder: batches are small and the
		// cores belong to the workers.
		b.enc, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true), zstd.WithWindowSize(1<<20))
	}
	return b
}

func (b *batchWriter) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	data := b.buf
	if b.enc != nil {
		b.out = b.enc.EncodeAll(b.buf, b.out[:0])
		data = b.out
	}
	_, err := b.w.Write(data)
	b.buf = b.buf[:0]
	return err
}
