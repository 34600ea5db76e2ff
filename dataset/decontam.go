package dataset

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Decontaminator finds benchmark n-grams in prompts and responses, as
// open-r1 does with 8-grams against MATH-500, AIME and GPQA.
type Decontaminator struct {
	n      int
	names  []string          // benchmark names, from the file names
	ngrams map[uint64]uint16 // n-gram hash -> index into names (first file wins)
	buf    []uint64
	grams  []uint64
}

// benchmarkItem holds the fields benchmark files put their problem in:
// MATH-500 "problem", GSM8K "question", others "prompt".
type benchmarkItem struct {
	Problem  string `json:"problem"`
	Question string `json:"question"`
	Prompt   string `json:"prompt"`
}

// NewDecontaminator reads the benchmark JSONL files. Its memory is the set
// of the benchmarks' n-grams: small, benchmarks are small.
func NewDecontaminator(files []string, n int) (*Decontaminator, error) {
	d := &Decontaminator{n: n, ngrams: map[uint64]uint16{}}
	for _, file := range files {
		if len(d.names) == 1<<16-1 {
			return nil, fmt.Errorf("decontaminate: too many benchmark files")
		}
		idx := uint16(len(d.names))
		name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		d.names = append(d.names, name)
		if err := d.add(file, idx); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (d *Decontaminator) add(file string, idx uint16) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("decontaminate: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line, items := 0, 0
	for sc.Scan() {
		line++
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var it benchmarkItem
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			return fmt.Errorf("decontaminate: %s:%d: %w", file, line, err)
		}
		text := it.Problem
		if text == "" {
			text = it.Question
		}
		if text == "" {
			text = it.Prompt
		}
		if text == "" {
			return fmt.Errorf("decontaminate: %s:%d: no problem, question or prompt field", file, line)
		}
		items++
		d.buf = wordHashes(d.buf[:0], text)
		if len(d.buf) < d.n {
			continue // too short to match without false alarms
		}
		d.grams = ngramHashes(d.grams[:0], d.buf, d.n)
		for _, g := range d.grams {
			if _, ok := d.ngrams[g]; !ok {
				d.ngrams[g] = idx
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("decontaminate: %s: %w", file, err)
	}
	if items == 0 {
		return fmt.Errorf("decontaminate: %s: no benchmark items", file)
	}
	return nil
}

// Names lists the benchmarks in the order their files were given.
func (d *Decontaminator) Names() []string { return d.names }

// Match returns the name of the first benchmark sharing an n-gram with one of
// texts, or "". A Decontaminator is not safe for concurrent use: clone it per
// goroutine.
func (d *Decontaminator) Match(texts ...string) string {
	if d == nil || len(d.ngrams) == 0 {
		return ""
	}
	for _, t := range texts {
		d.buf = wordHashes(d.buf[:0], t)
		if len(d.buf) < d.n {
			continue
		}
		d.grams = ngramHashes(d.grams[:0], d.buf, d.n)
		for _, g := range d.grams {
			if idx, ok := d.ngrams[g]; ok {
				return d.names[idx]
			}
		}
	}
	return ""
}

// clone shares the read-only n-gram set and gives the copy its own buffers.
func (d *Decontaminator) clone() *Decontaminator {
	if d == nil {
		return nil
	}
	return &Decontaminator{n: d.n, names: d.names, ngrams: d.ngrams}
}
