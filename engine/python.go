package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoPython is returned when no interpreter with the job's packages is
// found; its message names the make target that installs them.
var ErrNoPython = errors.New("engine: Python with the engine's packages not found")

// venv is where `make setup` installs python/requirements.lock.
const venv = "python/.venv/bin/python"

// FindPython returns the interpreter engine jobs run with: $DISTILL_PYTHON,
// else the venv of `make setup` in the working directory or beside the
// binary's directory (bin/distill), else python3 on the PATH.
func FindPython() string {
	if p := os.Getenv("DISTILL_PYTHON"); p != "" {
		return p
	}
	cands := []string{venv}
	if exe, err := os.Executable(); err == nil {
		cands = append(cands, filepath.Join(filepath.Dir(filepath.Dir(exe)), venv))
	}
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			abs, err := filepath.Abs(c)
			if err == nil {
				return abs
			}
		}
	}
	return "python3"
}

// modules are what the jobs import.
var modules = []string{"torch", "transformers", "trl", "accelerate", "datasets", "peft"}

// CheckPython fails, in one line, when py is missing or lacks a package
// the jobs import.
func CheckPython(ctx context.Context, py string) error {
	script := "import importlib.util, sys; print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))"
	out, err := exec.CommandContext(ctx, py, append([]string{"-c", script}, modules...)...).Output()
	if err != nil {
		return fmt.Errorf("%w: %s does not run (%v); run `make setup` (python/.venv) or set DISTILL_PYTHON", ErrNoPython, py, err)
	}
	if missing := strings.Fields(string(out)); len(missing) > 0 {
		return fmt.Errorf("%w: %s lacks %s; run `make setup` (python/.venv) or pip install -r OUT/job/requirements.txt", ErrNoPython, py, strings.Join(missing, ", "))
	}
	return nil
}
