// Package verl writes a GRPO job for verl (github.com/volcengine/verl): its
// prompt Parquet files in the schema of verl's data preprocessing scripts
// (examples/data_preprocess/gsm8k.py), distill's reward function for its
// custom_reward_function, and run_grpo.sh.
//
// Of ours it may import only `dataset`, `internal/atomicfile`, `python` and
// `record`.
package verl

import (
	"fmt"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/internal/atomicfile"
	"github.com/distill-dev/distill/record"
)

// Row is one prompt as verl's RLHFDataset reads it.
type Row struct {
	DataSource  string            `parquet:"data_source"` // verl's reward_fn_key
	Prompt      []dataset.Message `parquet:"prompt,list"` // the chat, to which verl applies the model's template
	Ability     string            `parquet:"ability"`
	RewardModel RewardModel       `parquet:"reward_model"`
	ExtraInfo   ExtraInfo         `parquet:"extra_info"`
}

// RewardModel holds the reference answer for a rule-based reward.
type RewardModel struct {
	Style       string `parquet:"style"` // "rule"
	GroundTruth string `parquet:"ground_truth"`
}

// ExtraInfo is passed to the reward function with every response: task and
// question tell distill's reward server which verifier to use and the
// prompt's language.
type ExtraInfo struct {
	Split    string `parquet:"split"`
	Index    int64  `parquet:"index"`
	ID       string `parquet:"id"`
	Task     string `parquet:"task"`
	Question string `parquet:"question"`
}

// rows splits the prompts into train and test (dataset.IsTest, as distill
// filter splits) and turns each problem into the user message with render.
func rows(prompts []record.Prompt, testFraction float64, render func(problem string) string) (train, test []Row) {
	for _, p := range prompts {
		split, dst := "train", &train
		if dataset.IsTest(p.ID, testFraction) {
			split, dst = "test", &test
		}
		source := p.Source
		if source == "" {
			source = p.Task
		}
		*dst = append(*dst, Row{
			DataSource:  source,
			Prompt:      []dataset.Message{{Role: "user", Content: render(p.Problem)}},
			Ability:     p.Task,
			RewardModel: RewardModel{Style: "rule", GroundTruth: p.Answer},
			ExtraInfo:   ExtraInfo{Split: split, Index: int64(len(*dst)), ID: p.ID, Task: p.Task, Question: p.Problem},
		})
	}
	return train, test
}

// writeParquet writes rows to path through a temporary file, so that a
// crash never leaves a truncated file under the final name.
func writeParquet(path string, rows []Row) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	w := parquet.NewGenericWriter[Row](f,
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}),
		parquet.CreatedBy("distill", "0", "0"),
	)
	if _, err := w.Write(rows); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}
