package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/distill-dev/distill/python"
)

// jobPackages are what a job imports; their versions come from
// python/requirements.lock, the versions distill's own checks run.
var jobPackages = []string{"accelerate", "datasets", "peft", "safetensors", "tokenizers", "torch", "transformers", "trl"}

// deepspeedPin is the one job package outside the lock: it compiles CUDA
// operators when installed, so only GPU clusters install it.
const deepspeedPin = "deepspeed==0.19.8"

// requirements is the job's requirements.txt.
func requirements(r Resources) ([]byte, error) {
	lock, err := python.Files.ReadFile("requirements.lock")
	if err != nil {
		return nil, err
	}
	pins := lockedVersions(lock)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# The versions distill's own checks run (python/requirements.lock); pip install -r requirements.txt\n")
	for _, p := range jobPackages {
		v, ok := pins[p]
		if !ok {
			return nil, fmt.Errorf("engine job: python/requirements.lock has no %s", p)
		}
		fmt.Fprintf(&b, "%s==%s\n", p, v)
	}
	if r.GPUsPerNode > 0 && r.Processes() > 1 && r.Sharding == "deepspeed" {
		fmt.Fprintln(&b, deepspeedPin)
	}
	return b.Bytes(), nil
}

// lockedVersions reads the name==version lines of a uv/pip lock file.
func lockedVersions(lock []byte) map[string]string {
	pins := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(lock))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == ' ' || line[0] == '#' {
			continue
		}
		name, ver, ok := strings.Cut(strings.Fields(line)[0], "==")
		if ok {
			pins[strings.ToLower(name)] = ver
		}
	}
	return pins
}
