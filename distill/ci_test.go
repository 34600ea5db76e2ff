package distill

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/distill-dev/distill/dataset"
	"github.com/rhysd/actionlint"
	"go.yaml.in/yaml/v3"
)

// ciRun runs the distill command lines of a CI script with bash in dir,
// with bin's directory first on PATH; the other lines (installing distill)
// are the CI machine's business.
func ciRun(t *testing.T, bin, dir, script string, env map[string]string) {
	t.Helper()
	n := 0
	for _, line := range strings.Split(script, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "distill ") {
			continue
		}
		n++
		cmd := exec.Command("bash", "-euc", line)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
	}
	if n == 0 {
		t.Fatalf("no distill command in %q", script)
	}
}

// ciDataset checks that dir holds a dataset made of want input records.
func ciDataset(t *testing.T, dir string, want int64) {
	t.Helper()
	var st dataset.Stats
	b, err := os.ReadFile(filepath.Join(dir, "stats.json"))
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil || st.LinesIn != want || len(st.Shards["train"]) == 0 {
		t.Fatalf("dataset %s: %v; %d input records, want %d; shards %v", dir, err, st.LinesIn, want, st.Shards)
	}
}

type ghStep struct {
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
}

// The GitHub workflow passes actionlint, and its jobs run as written: each
// matrix shard's generate line, the artifacts moved as upload-artifact and
// download-artifact would, then the merge job's filter line.
func TestCIGitHubActions(t *testing.T) {
	const path = "../scripts/ci/github-actions.yml"
	var sb strings.Builder
	l, err := actionlint.NewLinter(&sb, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if errs, err := l.LintFile(path, nil); err != nil || len(errs) > 0 {
		t.Fatalf("actionlint: %v\n%s", err, sb.String())
	}

	var wf struct {
		Env  map[string]string `yaml:"env"`
		Jobs map[string]struct {
			Needs    any               `yaml:"needs"`
			Env      map[string]string `yaml:"env"`
			Steps    []ghStep          `yaml:"steps"`
			Strategy struct {
				Matrix struct {
					Shard []int `yaml:"shard"`
				} `yaml:"matrix"`
			} `yaml:"strategy"`
		} `yaml:"jobs"`
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	gen, merge := wf.Jobs["generate"], wf.Jobs["merge"]
	if merge.Needs != "generate" || len(gen.Strategy.Matrix.Shard) < 2 {
		t.Fatalf("want a matrix job generate and a job merge that needs it: %+v", wf.Jobs)
	}
	step := func(steps []ghStep, uses string) ghStep {
		t.Helper()
		for _, s := range steps {
			if strings.HasPrefix(s.Uses, uses+"@") {
				return s
			}
		}
		t.Fatalf("no step uses %s", uses)
		return ghStep{}
	}
	scripts := func(steps []ghStep) string {
		var s []string
		for _, st := range steps {
			s = append(s, st.Run)
		}
		return strings.Join(s, "\n")
	}
	bin := buildDistill(t)
	dir := t.TempDir()
	shards := gen.Strategy.Matrix.Shard
	upload, download := step(gen.Steps, "actions/upload-artifact"), step(merge.Steps, "actions/download-artifact")
	if cache := step(gen.Steps, "actions/cache/save"); cache.With["path"] != upload.With["path"] {
		t.Fatalf("the cache keeps %s, the artifact %s", cache.With["path"], upload.With["path"])
	}
	for _, shard := range shards {
		expr := strings.NewReplacer("${{ matrix.shard }}", strconv.Itoa(shard), "${{ strategy.job-total }}", strconv.Itoa(len(shards)))
		env := map[string]string{}
		for _, m := range []map[string]string{wf.Env, gen.Env} {
			for k, v := range m {
				if v = expr.Replace(v); strings.Contains(v, "${{") {
					t.Fatalf("env %s: %s", k, v)
				}
				env[k] = v
			}
		}
		env["NUM_PROMPTS"] = "12" // seconds, not minutes
		ciRun(t, bin, dir, scripts(gen.Steps), env)
		to := filepath.Join(dir, download.With["path"], expr.Replace(upload.With["name"]))
		if matched, _ := filepath.Match(download.With["pattern"], filepath.Base(to)); !matched {
			t.Fatalf("artifact %s not matched by %s", filepath.Base(to), download.With["pattern"])
		}
		os.MkdirAll(filepath.Dir(to), 0o755)
		if err := os.Rename(filepath.Join(dir, expr.Replace(upload.With["path"])), to); err != nil {
			t.Fatal(err)
		}
	}
	ciRun(t, bin, dir, scripts(merge.Steps), wf.Env)
	samples, _ := strconv.Atoi(wf.Env["SAMPLES"])
	ciDataset(t, filepath.Join(dir, step(merge.Steps, "actions/upload-artifact").With["path"]), int64(12*samples))
}

// The GitLab pipeline's jobs name its stages, merge needs generate, the
// matrix has SHARDS shards, and the jobs run as written: every shard's
// generate line, then merge's filter line over the shards' artifacts.
func TestCIGitLab(t *testing.T) {
	b, err := os.ReadFile("../scripts/ci/gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	type job struct {
		Extends  string   `yaml:"extends"`
		Stage    string   `yaml:"stage"`
		Needs    []string `yaml:"needs"`
		Script   []string `yaml:"script"`
		Parallel struct {
			Matrix []map[string][]string `yaml:"matrix"`
		} `yaml:"parallel"`
		Cache struct {
			Key   string   `yaml:"key"`
			Paths []string `yaml:"paths"`
			When  string   `yaml:"when"`
		} `yaml:"cache"`
		Artifacts struct {
			Paths []string `yaml:"paths"`
		} `yaml:"artifacts"`
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var stages []string
	var vars map[string]string
	jobs := map[string]job{}
	for name, n := range doc {
		switch name {
		case "stages":
			err = n.Decode(&stages)
		case "variables":
			err = n.Decode(&vars)
		default:
			var j job
			err = n.Decode(&j)
			jobs[name] = j
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for name, j := range jobs {
		if strings.HasPrefix(name, ".") {
			continue
		}
		if !slices.Contains(stages, j.Stage) {
			t.Errorf("job %s: stage %q not in stages %v", name, j.Stage, stages)
		}
		if _, ok := jobs[j.Extends]; j.Extends != "" && !ok {
			t.Errorf("job %s extends %q: no such job", name, j.Extends)
		}
		for _, n := range j.Needs {
			if _, ok := jobs[n]; !ok || slices.Index(stages, jobs[n].Stage) >= slices.Index(stages, j.Stage) {
				t.Errorf("job %s needs %q: no such job in an earlier stage", name, n)
			}
		}
	}
	gen, merge := jobs["generate"], jobs["merge"]
	if len(gen.Parallel.Matrix) != 1 || !slices.Contains(merge.Needs, "generate") || gen.Cache.When != "always" {
		t.Fatalf("want generate with one matrix, an always-saved cache, and merge needing it: %+v %+v", gen, merge)
	}
	shards := gen.Parallel.Matrix[0]["SHARD"]
	if strconv.Itoa(len(shards)) != vars["SHARDS"] || !strings.Contains(gen.Cache.Key, "$SHARD") {
		t.Fatalf("SHARDS %s, matrix %v, cache key %q (want one per shard)", vars["SHARDS"], shards, gen.Cache.Key)
	}
	bin := buildDistill(t)
	dir := t.TempDir()
	for _, shard := range shards {
		env := map[string]string{"SHARD": shard, "NUM_PROMPTS": "12"}
		for k, v := range vars {
			if _, set := env[k]; !set {
				env[k] = v
			}
		}
		ciRun(t, bin, dir, strings.Join(gen.Script, "\n"), env)
	}
	ciRun(t, bin, dir, strings.Join(merge.Script, "\n"), vars)
	samples, _ := strconv.Atoi(vars["SAMPLES"])
	ciDataset(t, filepath.Join(dir, strings.TrimSuffix(merge.Artifacts.Paths[0], "/")), int64(12*samples))
}
