package dataset

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The spill carries what pass 2 needs from pass 1, so that pass 2 neither
// reads nor parses the input again: one record per trace that pass 2 writes
// (kept candidates, and rejects when they are written), in input order, in
// a temporary file of the output directory.
//
// A record is its length (uvarint), then what decide knows (code, verdict,
// the trace's sequence number, its prompt's index and the input bytes since
// the previous record), then the payload examine encoded: the row's numbers,
// the lengths of its strings and the strings back to back. The assistant
// reply is stored once, in R1 form, and the reasoning and the answer are
// cut from it, so a row costs one string allocation when it is read back.

// spillPattern names the spill file; Run removes stale ones.
const spillPattern = ".filter-*.spill.tmp"

// Strings of a spilled row, in the order of their lengths in the payload.
const (
	spPrompt = iota
	spReasoning
	spAnswer
	spReference
	spVerifier
	spSource
	spTeacher
	spPromptID
	spContam
	spStrings
)

// appendSpillPayload appends the part of a trace's spill record that
// examine knows: its row (rowOf) and the benchmark it matched.
func appendSpillPayload(dst []byte, r *Row, contam string) []byte {
	dst = binary.AppendUvarint(dst, uint64(r.NumTokens))
	dst = binary.AppendVarint(dst, r.Sample)
	for _, n := range [spStrings]int{len(r.Prompt), len(r.Reasoning), len(r.Answer), len(r.Reference),
		len(r.Verifier), len(r.Source), len(r.Teacher), len(r.PromptID), len(contam)} {
		dst = binary.AppendUvarint(dst, uint64(n))
	}
	dst = append(dst, r.Prompt...)
	dst = append(dst, assistant(r.Reasoning, r.Answer)...) // the reply in R1 form, which holds reasoning and answer
	for _, s := range [...]string{r.Reference, r.Verifier, r.Source, r.Teacher, r.PromptID, contam} {
		dst = append(dst, s...)
	}
	return dst
}

// spillHead is what decide adds in front of the payload.
type spillHead struct {
	code, verdict uint8
	seq           int64
	prompt        int   // index into run.states
	bytes         int64 // input bytes since the previous record, this one's line included
}

// spillWriter appends records to the spill file.
type spillWriter struct {
	f   *os.File
	w   *bufio.Writer
	hdr []byte
}

func createSpill(dir string) (*spillWriter, error) {
	f, err := os.CreateTemp(dir, spillPattern)
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	return &spillWriter{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (s *spillWriter) write(h spillHead, payload []byte) error {
	body := s.hdr[:0]
	body = append(body, h.code, h.verdict)
	body = binary.AppendUvarint(body, uint64(h.seq))
	body = binary.AppendUvarint(body, uint64(h.prompt))
	body = binary.AppendUvarint(body, uint64(h.bytes))
	var n [binary.MaxVarintLen64]byte
	s.w.Write(n[:binary.PutUvarint(n[:], uint64(len(body)+len(payload)))])
	s.w.Write(body)
	_, err := s.w.Write(payload)
	s.hdr = body
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	return nil
}

// finish flushes the records and returns a reader from the first one.
func (s *spillWriter) finish() (*spillReader, error) {
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	return &spillReader{r: bufio.NewReaderSize(s.f, 1<<20)}, nil
}

// remove closes and deletes the spill file.
func (s *spillWriter) remove() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// removeStaleSpills deletes the spill files of runs that crashed.
func removeStaleSpills(dir string) {
	stale, _ := filepath.Glob(filepath.Join(dir, spillPattern))
	for _, p := range stale {
		os.Remove(p)
	}
}

// spilled is one record read back: its head and its row.
type spilled struct {
	spillHead
	row    Row // Verifier and Correct as pass 1 found them
	contam string
}

type spillReader struct {
	r   *bufio.Reader
	buf []byte
}

var errSpill = errors.New("spill: damaged record")

// next reads the following record into x; io.EOF ends the spill.
func (s *spillReader) next(x *spilled) error {
	n, err := binary.ReadUvarint(s.r)
	if err != nil {
		return err // io.EOF at a record boundary is the end
	}
	if n > uint64(1<<31) {
		return errSpill
	}
	if cap(s.buf) < int(n) {
		s.buf = make([]byte, n)
	}
	b := s.buf[:n]
	if _, err := io.ReadFull(s.r, b); err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	if len(b) < 2 {
		return errSpill
	}
	x.code, x.verdict = b[0], b[1]
	b = b[2:]
	var u [3]uint64 // seq, prompt, bytes
	for i := range u {
		var k int
		if u[i], k = binary.Uvarint(b); k <= 0 {
			return errSpill
		}
		b = b[k:]
	}
	x.seq, x.prompt, x.bytes = int64(u[0]), int(u[1]), int64(u[2])
	return x.decodePayload(b)
}

// decodePayload sets x's row and contam from a payload of
// appendSpillPayload.
func (x *spilled) decodePayload(b []byte) error {
	var u [2 + spStrings]uint64 // tokens, sample, lengths
	for i := range u {
		var k int
		if i == 1 { // the sample, signed
			var v int64
			v, k = binary.Varint(b)
			u[i] = uint64(v)
		} else {
			u[i], k = binary.Uvarint(b)
		}
		if k <= 0 {
			return errSpill
		}
		b = b[k:]
	}
	lens := u[2:]
	total := uint64(0)
	for _, l := range lens {
		total += l
	}
	assistant := lens[spAnswer]
	if lens[spReasoning] > 0 {
		assistant += lens[spReasoning] + uint64(len("<think>\n\n</think>\n\n"))
	}
	if total-lens[spReasoning]-lens[spAnswer]+assistant != uint64(len(b)) {
		return errSpill
	}
	all := string(b) // every string of the row shares this allocation
	cut := func(n uint64) string {
		s := all[:n]
		all = all[n:]
		return s
	}
	prompt := cut(lens[spPrompt])
	reply := cut(assistant)
	reasoning, answer := "", reply
	if lens[spReasoning] > 0 {
		reasoning = reply[len("<think>\n") : len("<think>\n")+int(lens[spReasoning])]
		answer = reply[len(reply)-int(lens[spAnswer]):]
	}
	x.row = Row{
		Messages: []Message{{Role: "user", Content: prompt}, {Role: "assistant", Content: reply}},
		Prompt:   prompt, Reasoning: reasoning, Answer: answer, Reference: cut(lens[spReference]),
		Verifier: cut(lens[spVerifier]), Source: cut(lens[spSource]), Teacher: cut(lens[spTeacher]),
		PromptID: cut(lens[spPromptID]), NumTokens: int64(u[0]), Sample: int64(u[1]),
	}
	x.contam = cut(lens[spContam])
	return nil
}
