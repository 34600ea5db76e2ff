package sampler

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/distill-dev/distill/internal/atomicfile"
)

// ErrMismatch is returned when DIR holds traces of a different teacher,
// model or template: mixing them would silently poison the dataset.
var ErrMismatch = errors.New("run directory belongs to another configuration")

// ErrBusy is returned when another process is generating the same shard
// into the same directory.
var ErrBusy = errors.New("run directory busy")

const fingerprintName = "run.json"

// fingerprint is what must not change between runs into one directory.
// Sampling parameters and the sample count may: more samples, or a new
// max_tokens, are a natural continuation.
type fingerprint struct {
	Teacher        string `json:"teacher"`
	Model          string `json:"model"`
	Template       string `json:"template"`
	TemplateSHA256 string `json:"template_sha256"`
}

func newFingerprint(teacherName, model string, t Template) fingerprint {
	sum := sha256.Sum256([]byte(t.Text))
	return fingerprint{Teacher: teacherName, Model: model, Template: t.Name, TemplateSHA256: hex.EncodeToString(sum[:])}
}

// checkFingerprint stores fp in dir, or checks it against the stored one.
func checkFingerprint(dir string, fp fingerprint) error {
	path := filepath.Join(dir, fingerprintName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return atomicfile.WriteJSON(path, fp)
	}
	if err != nil {
		return err
	}
	var old fingerprint
	if err := json.Unmarshal(b, &old); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if old != fp {
		what := ""
		switch {
		case old.Teacher != fp.Teacher:
			what = fmt.Sprintf("teacher %q, not %q", old.Teacher, fp.Teacher)
		case old.Model != fp.Model:
			what = fmt.Sprintf("model %q, not %q", old.Model, fp.Model)
		default:
			what = fmt.Sprintf("template %q (sha256 %.12s), not %q (sha256 %.12s)", old.Template, old.TemplateSHA256, fp.Template, fp.TemplateSHA256)
		}
		return fmt.Errorf("%w: %s was written with %s; use another --out", ErrMismatch, dir, what)
	}
	return nil
}
