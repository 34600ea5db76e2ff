package dataset

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// InputFiles expands --in arguments: a file is taken as is; a directory
// gives its traces-*.jsonl[.zst] files (what `distill generate` writes), or,
// when it has none, all its *.jsonl[.zst] files. The result is sorted within
// each argument, so the order, and with it the output, is stable.
func InputFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		var traces, all []string
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || !(strings.HasSuffix(n, ".jsonl") || strings.HasSuffix(n, ".jsonl.zst")) {
				continue
			}
			all = append(all, filepath.Join(a, n))
			if strings.HasPrefix(n, "traces-") || strings.HasPrefix(n, "traces.") {
				traces = append(traces, filepath.Join(a, n))
			}
		}
		if len(traces) > 0 {
			all = traces
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("input %s: no .jsonl or .jsonl.zst files", a)
		}
		sort.Strings(all)
		out = append(out, all...)
	}
	if len(out) == 0 {
		return nil, errors.New("input: no files given")
	}
	return out, nil
}

// item is one input line, or a bad-input event that has no line to parse
// (an over-long line, a cut-off compressed tail, an empty file).
type item struct {
	file, line int
	data       []byte // valid only within its batch
	bad        string // set for lines that cannot be parsed at all
	detail     string
}

// batch is a run of consecutive items with one backing array, so that the
// lines of many small traces cost one allocation.
type batch struct {
	items []item
	arena []byte
	bytes int64 // input bytes the batch covers
	first int64 // sequence number of the first item over all files
}

const (
	batchLines = 256
	batchBytes = 4 << 20
)

// batches recycles batches (their arena and items) once their items are
// consumed: allocating them afresh cost four times the input in garbage.
var batches = sync.Pool{New: func() any { return new(batch) }}

func newBatch(first int64) *batch {
	b := batches.Get().(*batch)
	clear(b.items) // drop the bad-item strings of its last use
	*b = batch{items: b.items[:0], arena: b.arena[:0], first: first}
	return b
}

// release hands b back for reuse; its items must not be used any more.
func (b *batch) release() { batches.Put(b) }

// readInputs streams the lines of files into batches on out, in order. It
// never fails on bad content: an unreadable or damaged file is reported as a
// bad item, and the lines read before the damage are kept. counts receives
// the items per file.
func readInputs(ctx context.Context, files []string, maxLine int, counts []int, out chan<- *batch) error {
	b := newBatch(0)
	var next int64
	send := func() error {
		if len(b.items) == 0 {
			return nil
		}
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b = newBatch(next)
		return nil
	}
	for fi, path := range files {
		n := 0
		err := eachLine(path, maxLine, func(it item) error {
			n++
			next++
			it.file = fi
			if it.data != nil {
				off := len(b.arena)
				b.arena = append(b.arena, it.data...)
				it.data = b.arena[off:len(b.arena):len(b.arena)]
				b.bytes += int64(len(it.data)) + 1
			}
			b.items = append(b.items, it)
			if len(b.items) >= batchLines || len(b.arena) >= batchBytes {
				// Items point into the arena: a new batch starts a new one.
				return send()
			}
			return nil
		})
		if err != nil {
			return err
		}
		if counts != nil {
			counts[fi] = n
		}
	}
	return send()
}

// eachLine calls fn for every line of the file (plain or zstd). The data of
// an item is only valid during the call. Errors of fn are returned; damage
// in the file becomes bad items.
func eachLine(path string, maxLine int, fn func(item) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fn(item{line: 0, bad: BadRead, detail: err.Error()})
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".zst") {
		zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(128<<20))
		if err != nil {
			return fn(item{line: 0, bad: BadRead, detail: err.Error()})
		}
		defer zr.Close()
		r = zr
	}
	br := bufio.NewReaderSize(r, 1<<20)
	var long []byte
	line, tooLong, any := 0, false, false
	for {
		frag, err := br.ReadSlice('\n')
		if len(frag) > 0 {
			any = true
		}
		switch {
		case err == bufio.ErrBufferFull:
			if !tooLong && len(long)+len(frag) > maxLine {
				tooLong, long = true, long[:0]
			}
			if !tooLong {
				long = append(long, frag...)
			}
			continue
		case err == nil:
			line++
			if tooLong || len(long)+len(frag)-1 > maxLine {
				if e := fn(item{line: line, bad: BadLineTooLong, detail: fmt.Sprintf("over %d bytes", maxLine)}); e != nil {
					return e
				}
			} else {
				data := frag[:len(frag)-1]
				if len(long) > 0 {
					long = append(long, data...)
					data = long
				}
				data = trimCR(data)
				if len(data) > 0 && !blank(data) {
					if e := fn(item{line: line, data: data}); e != nil {
						return e
					}
				}
			}
			long, tooLong = long[:0], false
			continue
		}
		// End of the stream: a last line without a newline is still a line;
		// after a read error (a cut-off .zst) it is a cut-off line.
		if len(long)+len(frag) > 0 || tooLong {
			line++
			data := append(long, frag...)
			switch {
			case tooLong || len(data) > maxLine:
				err2 := fn(item{line: line, bad: BadLineTooLong, detail: fmt.Sprintf("over %d bytes", maxLine)})
				if err2 != nil {
					return err2
				}
			case err != io.EOF:
				if e := fn(item{line: line, bad: BadTruncated, detail: err.Error()}); e != nil {
					return e
				}
				return nil
			case !blank(data):
				if e := fn(item{line: line, data: trimCR(data)}); e != nil {
					return e
				}
			}
		}
		if err != io.EOF {
			return fn(item{line: line + 1, bad: BadTruncated, detail: err.Error()})
		}
		if !any {
			return fn(item{line: 0, bad: BadEmptyFile})
		}
		return nil
	}
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
