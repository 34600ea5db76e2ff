package trainer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

// MetricsLog appends one JSON line per update to metrics.jsonl and flushes
// each, so a crash loses at most the line being written. Each training
// method logs its own metric type T (student/train's, student/rl's).
type MetricsLog[T any] struct {
	f *os.File
	w *bufio.Writer
}

// OpenMetrics opens path for appending after dropping the lines past step:
// a resumed run redoes those updates and must not log them twice, and a
// fresh run (step 0) starts an empty log.
func OpenMetrics[T any](path string, step int) (*MetricsLog[T], error) {
	if err := truncateMetrics(path, step); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &MetricsLog[T]{f: f, w: bufio.NewWriter(f)}, nil
}

// truncateMetrics drops the lines of a metrics.jsonl whose "step" is past
// step (all of them for step 0).
func truncateMetrics(path string, step int) error {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		line := b[:i]
		if i < len(b) {
			i++
		}
		b = b[i:]
		var m struct {
			Step int `json:"step"`
		}
		if json.Unmarshal(line, &m) == nil && m.Step <= step && m.Step > 0 {
			keep = append(keep, line...)
			keep = append(keep, '\n')
		}
	}
	return os.WriteFile(path, keep, 0o644)
}

// Write appends m.
func (l *MetricsLog[T]) Write(m T) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := l.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return l.w.Flush()
}

// Close flushes and closes the file.
func (l *MetricsLog[T]) Close() error {
	if err := l.w.Flush(); err != nil {
		l.f.Close()
		return err
	}
	return l.f.Close()
}
