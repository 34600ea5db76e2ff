package distill

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/sampler"
	"github.com/parquet-go/parquet-go"
	"go.yaml.in/yaml/v3"
)

// slurmCluster is a single-node Slurm on loopback, with its own munged,
// configuration, state and logs in one directory.
type slurmCluster struct {
	dir string
	env []string // the environment the Slurm commands need (SLURM_CONF)
}

// startSlurm starts munged, slurmctld and slurmd (as root, as a real
// cluster's daemons run) and waits for the node to be idle; Cleanup stops
// them, and on failure the test log gets their logs.
func startSlurm(t *testing.T) *slurmCluster {
	t.Helper()
	for _, bin := range []string{"munged", "slurmctld", "slurmd", "sbatch", "sinfo"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: `make setup` installs Debian's slurm-wlm and munge", bin)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatal("a single-node Slurm needs root to run slurmd's jobs: run the tests as root, as CI does")
	}
	c := &slurmCluster{dir: t.TempDir()}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		logs, _ := filepath.Glob(filepath.Join(c.dir, "*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("==> %s\n%s", l, b)
		}
	})

	key := make([]byte, 1024)
	rand.Read(key)
	if err := os.WriteFile(filepath.Join(c.dir, "munge.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(c.dir, "munge.socket")
	// --force: the temporary directories are private to root, which munged
	// otherwise refuses as a socket only root can reach.
	c.daemon(t, "munged", "--foreground", "--force", "--socket", sock,
		"--key-file", filepath.Join(c.dir, "munge.key"), "--pid-file", filepath.Join(c.dir, "munged.pid"),
		"--seed-file", filepath.Join(c.dir, "munged.seed"))
	slurmWait(t, "munged's socket", func() (bool, string) {
		_, err := os.Stat(sock)
		return err == nil, fmt.Sprint(err)
	})

	// Free ports rather than 6817/6818, so that another Slurm on the
	// machine (or this test in another checkout) does not collide.
	var ports [2]int
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	for _, d := range []string{"state", "spool"} {
		os.Mkdir(filepath.Join(c.dir, d), 0o700)
	}
	// The node claims 8 CPUs and 8 GB (config_overrides) so that the four
	// tasks, each asking for the template's 2 CPUs and 2G, run at once.
	conf := fmt.Sprintf(`ClusterName=distilltest
SlurmctldHost=localhost
SlurmctldPort=%d
SlurmdPort=%d
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=%[3]s/munge.socket
StateSaveLocation=%[3]s/state
SlurmdSpoolDir=%[3]s/spool
SlurmctldPidFile=%[3]s/slurmctld.pid
SlurmdPidFile=%[3]s/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SchedulerParameters=sched_interval=1
NodeName=localhost NodeAddr=127.0.0.1 CPUs=8 RealMemory=8192 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
`, ports[0], ports[1], c.dir)
	confPath := filepath.Join(c.dir, "slurm.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c.env = append(os.Environ(), "SLURM_CONF="+confPath)
	c.daemon(t, "slurmctld", "-D", "-i")
	c.daemon(t, "slurmd", "-D", "-N", "localhost")

	slurmWait(t, "the Slurm node idle", func() (bool, string) {
		out, err := c.command(context.Background(), "sinfo", "-h", "-n", "localhost", "-o", "%T").CombinedOutput()
		return err == nil && strings.TrimSpace(string(out)) == "idle", fmt.Sprintf("sinfo: %v %q", err, out)
	})
	return c
}

// slurmWait polls ready until it holds, failing after a minute with what it
// last said.
func slurmWait(t *testing.T, what string, ready func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ok, last := ready()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after a minute (%s)", what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// daemon starts a daemon in the foreground in its own process group, its
// output (Slurm's daemons log to stderr under -D) in NAME.log.
func (c *slurmCluster) daemon(t *testing.T, name string, args ...string) {
	t.Helper()
	f, err := os.Create(filepath.Join(c.dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := c.command(context.Background(), name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-in first-out: slurmd stops before slurmctld, and
	// munged, which both need, last.
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		f.Close()
	})
}

func (c *slurmCluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = c.dir, c.env
	return cmd
}

// The Slurm template runs under a real Slurm as an array of 4 tasks, each
// generating its shard of the shipped builtin config into one run
// directory, and `distill filter` merges them: every (prompt, sample) of
// the config exactly once, in the traces and in the dataset.
func TestSlurmArrayGenerate(t *testing.T) {
	bin := buildDistill(t)
	script, err := filepath.Abs("../scripts/slurm/generate.sbatch")
	if err != nil {
		t.Fatal(err)
	}
	config, _ := filepath.Abs("../configs/generate-builtin.yaml")
	var cfg struct {
		NumPrompts int `yaml:"num_prompts"`
		Samples    int `yaml:"samples"`
	}
	b, err := os.ReadFile(config)
	if err == nil {
		err = yaml.Unmarshal(b, &cfg)
	}
	if err != nil || cfg.NumPrompts == 0 || cfg.Samples == 0 {
		t.Fatalf("%s: %v (num_prompts %d, samples %d)", config, err, cfg.NumPrompts, cfg.Samples)
	}
	want := cfg.NumPrompts * cfg.Samples

	c := startSlurm(t)
	run, data := filepath.Join(c.dir, "run"), filepath.Join(c.dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a hung scheduler fails, not hangs
	defer cancel()
	sbatch := c.command(ctx, "sbatch", "--wait", "--parsable", "--array=0-3", script, config)
	sbatch.Env = append(sbatch.Env, "DISTILL="+bin, "OUT="+run)
	var stderr strings.Builder
	sbatch.Stderr = &stderr
	out, err := sbatch.Output()
	if err != nil {
		t.Fatalf("sbatch: %v\n%s%s", err, out, stderr.String())
	}
	job := strings.TrimSpace(string(out))
	for i := range 4 {
		// The template's --output names each task's log in the submit directory.
		if _, err := os.Stat(filepath.Join(c.dir, fmt.Sprintf("distill-generate-%s_%d.log", job, i))); err != nil {
			t.Error(err)
		}
		// Each task took its own shard from Slurm's array variables.
		s := sampler.Shard{Index: i, Count: 4}
		_, traces := genReadTraces(t, filepath.Join(run, fmt.Sprintf("traces-s%05dof00004-*", i)))
		if len(traces) == 0 {
			t.Fatalf("task %d wrote no traces of shard %s into %s", i, s, run)
		}
		for _, tr := range traces {
			if !s.Contains(tr.PromptID) {
				t.Fatalf("shard %s holds prompt %s of another shard", s, tr.PromptID)
			}
		}
	}
	genExactlyOnce(t, run, want)

	if out, err := exec.Command(bin, "filter", "--in", run, "--out", data).CombinedOutput(); err != nil {
		t.Fatalf("distill filter: %v\n%s", err, out)
	}
	ciDataset(t, data, int64(want))
	seen := map[string]int{}
	for _, split := range []string{"train", "test", "rejects"} {
		shards, err := dataset.ListShards(data, split)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range shards {
			// A train or test shard reads as RejectRow with an empty reason.
			rows, err := parquet.ReadFile[dataset.RejectRow](p)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				seen[fmt.Sprintf("%s#%d", r.PromptID, r.Sample)]++
			}
		}
	}
	if len(seen) != want {
		t.Errorf("the dataset holds %d distinct (prompt, sample), want %d", len(seen), want)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s is in the dataset %d times", k, n)
		}
	}
}
