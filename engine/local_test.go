package engine

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// follow turns the engine's progress lines into metrics.jsonl lines with
// the Go trainer's keys, attaches a held-out loss to its update's line,
// finds markers behind progress bars, and passes everything else on.
func TestFollow(t *testing.T) {
	out := t.TempDir()
	engineOut := strings.Join([]string{
		`Loading checkpoint shards: 100%`,
		`@distill {"event":"begin","step":0,"max_steps":3}`,
		"  0%|          | 0/3 [00:00<?, ?it/s]\r 33%|███▎      | 1/3@distill {\"event\":\"step\",\"step\":1,\"epoch\":0,\"loss\":2.5,\"lr\":0.001,\"grad_norm\":1,\"tokens\":100,\"tokens_per_sec\":50,\"elapsed_sec\":2}",
		`@distill {"event":"step","step":2,"epoch":0,"loss":2.0,"lr":0.001,"grad_norm":1,"tokens":200,"tokens_per_sec":50,"elapsed_sec":4}`,
		`@distill {"event":"eval","step":2,"eval_loss":2.2}`,
		`@distill {"event":"save","step":2}`,
		`@distill {"event":"step","step":3,"epoch":1,"loss":1.5,"lr":0.0005,"grad_norm":1,"tokens":300,"tokens_per_sec":50,"elapsed_sec":6}`,
		`Traceback? no: just a warning`,
	}, "\n") + "\n"
	var log bytes.Buffer
	var other []string
	var steps []int
	err := follow(strings.NewReader(engineOut), &log, out, func(m Metric, total int) {
		if total != 3 {
			t.Errorf("total %d, want 3", total)
		}
		steps = append(steps, m.Step())
	}, func(s string) { other = append(other, s) })
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("metrics.jsonl:\n%s", b)
	}
	var m2 map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &m2); err != nil {
		t.Fatal(err)
	}
	if m2["eval_loss"] != 2.2 || m2["loss"] != 2.0 || m2["event"] != nil {
		t.Errorf("step 2: %v", m2)
	}
	if len(steps) != 3 || steps[2] != 3 {
		t.Errorf("steps reported %v", steps)
	}
	if log.Len() < len(engineOut)-10 {
		t.Errorf("engine.log lost output: %d of %d bytes", log.Len(), len(engineOut))
	}
	if len(other) == 0 || other[len(other)-1] != "Traceback? no: just a warning" {
		t.Errorf("other lines %q", other)
	}
}
