package sampler

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/record"
	"github.com/distill-dev/distill/teacher"
)

// Batch files take a run's pending requests to a provider's batch API
// (cheaper, answered within a day) and bring the answers back into the
// journal: ExportBatch writes the (prompt, sample) pairs the journal does not
// hold as OpenAI Batch API input lines, ImportBatch merges the output and
// error files, each answer exactly once.

// BatchLimits bound one input file: OpenAI takes at most 50,000 requests and
// 200 MB a file.
type BatchLimits struct {
	Lines int
	Bytes int64
}

// OpenAIBatchLimits are the OpenAI Batch API's limits.
var OpenAIBatchLimits = BatchLimits{Lines: 50_000, Bytes: 200 << 20}

// BatchID is the custom_id of sample s of a prompt: the id with '%' and '#'
// percent-encoded, then "#s", so any id maps back unambiguously.
func BatchID(promptID string, sample int) string {
	return batchEscaper.Replace(promptID) + "#" + strconv.Itoa(sample)
}

var batchEscaper = strings.NewReplacer("%", "%25", "#", "%23")

// ParseBatchID inverts BatchID.
func ParseBatchID(id string) (promptID string, sample int, err error) {
	i := strings.LastIndexByte(id, '#')
	if i < 0 {
		return "", 0, fmt.Errorf("custom_id %q: not PROMPT_ID#SAMPLE", id)
	}
	sample, err = strconv.Atoi(id[i+1:])
	if err == nil && sample < 0 {
		err = errors.New("negative sample")
	}
	if err == nil {
		promptID, err = url.PathUnescape(id[:i])
	}
	if err != nil || strings.Contains(id[:i], "#") {
		return "", 0, fmt.Errorf("custom_id %q: not PROMPT_ID#SAMPLE", id)
	}
	return promptID, sample, nil
}

// BatchExport is what ExportBatch wrote.
type BatchExport struct {
	Files    []string
	Requests int64
}

// ExportBatch writes the plan's pending requests to DIR/batch-00000.jsonl,
// … within lim, each file put in place whole; older batch files beyond the
// new ones are removed, so DIR holds exactly this export. It releases the
// run directory.
func (j *Job) ExportBatch(ctx context.Context, dir string, lim BatchLimits) (BatchExport, error) {
	defer j.Close()
	var ex BatchExport
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ex, fmt.Errorf("batch export: %w", err)
	}
	var (
		f     *atomicfile.File
		bw    *bufio.Writer
		lines int
		size  int64
		line  []byte
	)
	defer func() {
		if f != nil {
			f.Abort()
		}
	}()
	commit := func() error {
		if f == nil {
			return nil
		}
		err := bw.Flush()
		if err == nil {
			err = f.Commit()
		}
		f = nil
		return err
	}
	err := j.cfg.Prompts.Each(ctx, func(p record.Prompt) error {
		if !j.cfg.Shard.Contains(p.ID) {
			return nil
		}
		for s := 0; s < j.cfg.Samples; s++ {
			if j.done.has(p.ID, s) {
				continue
			}
			req, _ := j.request(p, s)
			var err error
			if line, err = teacher.AppendBatchRequest(line[:0], BatchID(p.ID, s), req); err != nil {
				return fmt.Errorf("prompt %s sample %d: %w", p.ID, s, err)
			}
			if int64(len(line)) > lim.Bytes {
				return fmt.Errorf("prompt %s sample %d: request of %d bytes is over the %d-byte file limit", p.ID, s, len(line), lim.Bytes)
			}
			if f != nil && (lines == lim.Lines || size+int64(len(line)) > lim.Bytes) {
				if err := commit(); err != nil {
					return err
				}
			}
			if f == nil {
				name := filepath.Join(dir, fmt.Sprintf("batch-%05d.jsonl", len(ex.Files)))
				if f, err = atomicfile.Create(name, 0o644); err != nil {
					return err
				}
				bw = bufio.NewWriterSize(f, 1<<20)
				ex.Files = append(ex.Files, name)
				lines, size = 0, 0
			}
			if _, err := bw.Write(line); err != nil {
				return err
			}
			lines++
			size += int64(len(line))
			ex.Requests++
		}
		return ctx.Err()
	})
	if err == nil {
		err = commit()
	}
	if err == nil {
		err = removeStaleBatches(dir, len(ex.Files))
	}
	if err != nil {
		return ex, fmt.Errorf("batch export to %s: %w", dir, err)
	}
	return ex, nil
}

// removeStaleBatches removes batch-NNNNN.jsonl files numbered keep or above.
func removeStaleBatches(dir string, keep int) error {
	old, err := filepath.Glob(filepath.Join(dir, "batch-[0-9][0-9][0-9][0-9][0-9].jsonl"))
	if err != nil {
		return err
	}
	for _, p := range old {
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "batch-"), ".jsonl"))
		if n >= keep {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// BatchImport counts what ImportBatch did with the result lines it read.
type BatchImport struct {
	Files      []string `json:"files"`
	Lines      int64    `json:"lines"`
	Imported   int64    `json:"imported"`   // new records, failed ones included
	Skipped    int64    `json:"skipped"`    // already in the journal
	Duplicates int64    `json:"duplicates"` // a custom_id seen again in the files
}

// batchLine is one parsed result line and where it came from.
type batchLine struct {
	at  string // FILE:LINE
	res teacher.BatchResult
}

// ImportBatch merges batch output and error files into the journal. Every
// file is read and checked first: a malformed line, or a custom_id that is
// not a request of this plan, is an error naming its file and line, and
// nothing is written. Then each answer whose pair the journal does not hold
// becomes a record, a failed request a failed record (--retry-failed
// samples it again), as the live path writes them; tokens are priced at the
// batch prices. A custom_id seen twice keeps its first success, else its
// first failure. It releases the run directory.
func (j *Job) ImportBatch(ctx context.Context, files []string) (Summary, error) {
	defer j.Close()
	started := time.Now()
	j.start.Store(started.UnixNano())
	j.importing = true
	imp := BatchImport{Files: files}
	results := map[string]*batchLine{}
	for _, path := range files {
		if err := readBatchResults(path, results, &imp); err != nil {
			return Summary{}, err
		}
	}
	enc := newLineEncoder()
	var lines []byte
	err := j.cfg.Prompts.Each(ctx, func(p record.Prompt) error {
		if !j.cfg.Shard.Contains(p.ID) {
			return nil
		}
		for s := 0; s < j.cfg.Samples; s++ {
			id := BatchID(p.ID, s)
			bl, ok := results[id]
			if !ok {
				continue
			}
			delete(results, id)
			if j.done.has(p.ID, s) {
				imp.Skipped++
				continue
			}
			_, t := j.request(p, s)
			t.Sample, t.Attempts, t.CreatedAt, t.Batch = s, 1, started.UTC(), true
			var err error
			var kind string
			if r := bl.res; r.Err != nil {
				err, kind = r.Err, r.Err.Kind
			} else {
				u := r.Response.Usage
				t.Usage = record.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, ReasoningTokens: u.ReasoningTokens}
				j.c.promptTok.Add(int64(u.PromptTokens))
				j.c.complTok.Add(int64(u.CompletionTokens))
				j.c.reasonTok.Add(int64(u.ReasoningTokens))
			}
			j.finish(&t, bl.res.Response, err, kind)
			if lines, err = enc.encode(lines, &t); err != nil {
				return fmt.Errorf("%s: encoding trace: %w", bl.at, err)
			}
			imp.Imported++
		}
		return ctx.Err()
	})
	if err == nil && len(results) > 0 {
		left := make([]*batchLine, 0, len(results))
		for _, bl := range results {
			left = append(left, bl)
		}
		slices.SortFunc(left, func(a, b *batchLine) int { return strings.Compare(a.at, b.at) })
		err = fmt.Errorf("%s: custom_id %q is not a request of this run (other prompts, --samples or --shard); nothing imported", left[0].at, left[0].res.CustomID)
	}
	if err != nil {
		return Summary{}, fmt.Errorf("batch import: %w", err)
	}
	name, err := j.appendJournal(lines)
	if err != nil {
		return Summary{}, fmt.Errorf("batch import: writing traces: %w", err)
	}
	j.c.written.Store(imp.Imported)
	sum := j.summary("batch_import", name, started)
	sum.Batch = &imp
	return sum, j.writeManifest(sum)
}

// readBatchResults adds path's result lines to results.
func readBatchResults(path string, results map[string]*batchLine, imp *BatchImport) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("batch import: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	for n := 1; ; n++ {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("batch import: %s:%d: %w", path, n, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		at := fmt.Sprintf("%s:%d", path, n)
		r, perr := teacher.ParseBatchResult(line)
		if perr == nil {
			_, _, perr = ParseBatchID(r.CustomID)
		}
		if perr != nil {
			return fmt.Errorf("batch import: %s: %w; nothing imported", at, perr)
		}
		imp.Lines++
		if old, ok := results[r.CustomID]; ok {
			imp.Duplicates++
			if old.res.Err == nil || r.Err != nil {
				continue
			}
		}
		results[r.CustomID] = &batchLine{at: at, res: r}
		if errors.Is(err, io.EOF) { // a last line without newline
			return nil
		}
	}
}

// appendJournal writes lines to a new journal file of this shard through
// the live path's writer, so a kill leaves whole records only.
func (j *Job) appendJournal(lines []byte) (string, error) {
	if len(lines) == 0 {
		return "", nil
	}
	w := newJournalWriter(j.cfg)
	go w.run()
	for len(lines) > 0 {
		n := bytes.IndexByte(lines, '\n') + 1 // every record ends with one
		w.in <- lines[:n]
		lines = lines[n:]
	}
	close(w.in)
	<-w.closed
	return w.name, w.err
}
