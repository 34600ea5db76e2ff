package sampler

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/distill-dev/distill/record"
)

// JSONLPrompts streams prompts from a JSON Lines file.
type JSONLPrompts struct {
	Path   string
	Fields Fields
}

func (p *JSONLPrompts) Name() string { return p.Path }

// maxLine bounds one JSONL line; long MATH problems are a few KB, this leaves
// room for generous custom sets without letting a broken file eat memory.
const maxLine = 64 << 20

func (p *JSONLPrompts) Each(ctx context.Context, fn func(record.Prompt) error) error {
	f, err := os.Open(p.Path)
	if err != nil {
		return fmt.Errorf("prompts: %w", err)
	}
	defer f.Close()
	source := sourceName(p.Path)
	r := bufio.NewReaderSize(f, 1<<20)
	for line := 1; ; line++ {
		if line%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		b, err := readLine(r)
		if errors.Is(err, io.EOF) && len(b) == 0 {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("prompts: %s:%d: %w", p.Path, line, err)
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		var row map[string]json.RawMessage
		if err := json.Unmarshal(b, &row); err != nil {
			return fmt.Errorf("prompts: %s:%d: not a JSON object: %w", p.Path, line, err)
		}
		get := func(name string) (string, bool, error) {
			raw, ok := row[name]
			if !ok || string(raw) == "null" {
				return "", false, nil
			}
			s, err := jsonScalar(raw)
			if err != nil {
				return "", false, fmt.Errorf("field %q: %w", name, err)
			}
			return s, true, nil
		}
		pr, err := buildPrompt(get, p.Fields, source, filepath.Base(p.Path), line)
		if err != nil {
			return fmt.Errorf("prompts: %s:%d: %w", p.Path, line, err)
		}
		if err := fn(pr); err != nil {
			return err
		}
	}
}

func readLine(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return nil, fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return buf, err
	}
}

// jsonScalar renders a JSON string, number or boolean as text; ids are
// often numbers.
func jsonScalar(raw json.RawMessage) (string, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	if len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') {
		return "", errors.New("is an object or array, want text or a number")
	}
	return string(raw), nil
}

type getter func(name string) (string, bool, error)

// buildPrompt applies the field mapping to one row. row is the 1-based line
// or row number, which names prompts of files without an id column.
func buildPrompt(get getter, f Fields, source, base string, row int) (record.Prompt, error) {
	first := func(names []string) (string, string, error) {
		for _, n := range names {
			v, ok, err := get(n)
			if err != nil {
				return "", "", err
			}
			if ok {
				return v, n, nil
			}
		}
		return "", "", nil
	}
	problem, pname, err := first(candidates(f.Prompt, defaultPromptFields))
	if err != nil {
		return record.Prompt{}, err
	}
	if pname == "" || strings.TrimSpace(problem) == "" {
		return record.Prompt{}, fmt.Errorf("no prompt text (looked for %s; set --prompt-field)", strings.Join(candidates(f.Prompt, defaultPromptFields), ", "))
	}
	id, _, err := first(candidates(f.ID, defaultIDFields))
	if err != nil {
		return record.Prompt{}, err
	}
	if id == "" {
		id = base + ":" + strconv.Itoa(row)
	}
	answer, _, err := first(candidates(f.Answer, defaultAnswerFields))
	if err != nil {
		return record.Prompt{}, err
	}
	answer, gsm := gsm8kReference(answer)
	answer = strings.TrimSpace(answer)
	taskCol, _, _ := get("task")
	level, _, _ := get("level")
	src, ok, _ := get("source")
	if !ok || src == "" {
		src = source
	}
	return record.Prompt{ID: id, Problem: problem, Answer: answer, Source: src, Task: guessTask(f.Task, taskCol, gsm), Level: level}, nil
}

// sourceName is the file name without directory and extensions:
// "data/gsm8k_test.jsonl" → "gsm8k_test".
func sourceName(path string) string {
	b := filepath.Base(path)
	if i := strings.IndexByte(b, '.'); i > 0 {
		b = b[:i]
	}
	return b
}
