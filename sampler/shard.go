package sampler

import (
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
)

// Shard selects the prompts one job of an array job handles: those whose
// id hashes to Index modulo Count. Hashing the id (not the position) keeps
// the partition stable when a prompt file is reordered or extended.
type Shard struct {
	Index, Count int
}

// All is the whole prompt set.
var All = Shard{0, 1}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Contains reports whether the prompt with this id belongs to the shard.
func (s Shard) Contains(id string) bool {
	if s.Count <= 1 {
		return true
	}
	return shardHash(id)%uint64(s.Count) == uint64(s.Index)
}

func shardHash(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// ParseShard reads "i/N" with 0 <= i < N.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/N with 0 <= i < N", s)
	}
	return Shard{i, n}, nil
}

// ShardFromEnv reads the shard of a Slurm array task
// (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT, minus SLURM_ARRAY_TASK_MIN
// so arrays may start at 1) or of a Kubernetes Indexed Job
// (JOB_COMPLETION_INDEX; the count comes from completions, which Kubernetes
// does not export, so from DISTILL_SHARD_COUNT or the count argument).
// ok is false when neither is set.
func ShardFromEnv(getenv func(string) string, count int) (s Shard, ok bool, err error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if id := getenv("SLURM_ARRAY_TASK_ID"); id != "" {
		i, err := strconv.Atoi(id)
		if err != nil {
			return Shard{}, false, fmt.Errorf("SLURM_ARRAY_TASK_ID=%q is not a number", id)
		}
		if m := getenv("SLURM_ARRAY_TASK_MIN"); m != "" {
			mi, err := strconv.Atoi(m)
			if err != nil {
				return Shard{}, false, fmt.Errorf("SLURM_ARRAY_TASK_MIN=%q is not a number", m)
			}
			i -= mi
		}
		n := count
		if c := getenv("SLURM_ARRAY_TASK_COUNT"); c != "" && n == 0 {
			if n, err = strconv.Atoi(c); err != nil {
				return Shard{}, false, fmt.Errorf("SLURM_ARRAY_TASK_COUNT=%q is not a number", c)
			}
		}
		s, err := checkShard(i, n, "SLURM_ARRAY_TASK_COUNT")
		return s, err == nil, err
	}
	if id := getenv("JOB_COMPLETION_INDEX"); id != "" {
		i, err := strconv.Atoi(id)
		if err != nil {
			return Shard{}, false, fmt.Errorf("JOB_COMPLETION_INDEX=%q is not a number", id)
		}
		n := count
		if c := getenv("DISTILL_SHARD_COUNT"); c != "" && n == 0 {
			if n, err = strconv.Atoi(c); err != nil {
				return Shard{}, false, fmt.Errorf("DISTILL_SHARD_COUNT=%q is not a number", c)
			}
		}
		s, err := checkShard(i, n, "DISTILL_SHARD_COUNT (the Indexed Job's completions) or --shard-count")
		return s, err == nil, err
	}
	return All, false, nil
}

func checkShard(i, n int, countFrom string) (Shard, error) {
	if n < 1 {
		return Shard{}, fmt.Errorf("shard index %d set but no shard count: set %s", i, countFrom)
	}
	if i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard index %d out of range for %d shards", i, n)
	}
	return Shard{i, n}, nil
}
