package sampler

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		in   string
		want Shard
		err  bool
	}{
		{"0/1", Shard{0, 1}, false},
		{"3/8", Shard{3, 8}, false},
		{" 1 / 2 ", Shard{1, 2}, false},
		{"8/8", Shard{}, true},
		{"-1/4", Shard{}, true},
		{"1/0", Shard{}, true},
		{"2", Shard{}, true},
		{"a/b", Shard{}, true},
	}
	for _, tt := range tests {
		got, err := ParseShard(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseShard(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestShardFromEnv(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		count int
		want  Shard
		ok    bool
		err   string
	}{
		{"none", nil, 0, All, false, ""},
		{"slurm", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, Shard{2, 4}, true, ""},
		{"slurm from 1", map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, Shard{3, 4}, true, ""},
		{"slurm count flag wins", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, 3, Shard{2, 3}, true, ""},
		{"k8s", map[string]string{"JOB_COMPLETION_INDEX": "5", "DISTILL_SHARD_COUNT": "16"}, 0, Shard{5, 16}, true, ""},
		{"k8s flag", map[string]string{"JOB_COMPLETION_INDEX": "5"}, 8, Shard{5, 8}, true, ""},
		{"k8s no count", map[string]string{"JOB_COMPLETION_INDEX": "5"}, 0, Shard{}, false, "no shard count"},
		{"out of range", map[string]string{"JOB_COMPLETION_INDEX": "9"}, 8, Shard{}, false, "out of range"},
		{"garbage", map[string]string{"SLURM_ARRAY_TASK_ID": "x"}, 0, Shard{}, false, "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := ShardFromEnv(func(k string) string { return tt.env[k] }, tt.count)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || ok != tt.ok || got != tt.want {
				t.Fatalf("got %v %v %v, want %v %v", got, ok, err, tt.want, tt.ok)
			}
		})
	}
}

// Every id lands in exactly one shard, the split is even, and it depends
// on the id only.
func TestShardPartition(t *testing.T) {
	const n, ids = 7, 7000
	counts := make([]int, n)
	for i := 0; i < ids; i++ {
		id := fmt.Sprintf("prompt-%d", i)
		in := 0
		for s := 0; s < n; s++ {
			if (Shard{s, n}).Contains(id) {
				in++
				counts[s]++
			}
		}
		if in != 1 {
			t.Fatalf("%s is in %d shards", id, in)
		}
	}
	for s, c := range counts {
		if c < ids/n*8/10 || c > ids/n*12/10 {
			t.Errorf("shard %d holds %d of %d ids", s, c, ids)
		}
	}
	// A fixed id keeps its shard across versions: shards of one array job
	// may run different builds.
	if !(Shard{shardHashFixed % 5, 5}).Contains("gsm8k_test.jsonl:1") {
		t.Errorf("the partition changed")
	}
}

var shardHashFixed = int(shardHash("gsm8k_test.jsonl:1") % 5)
