package engine

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// accelerateConfig is the accelerate config of the job, as TRL ships them
// (trl/accelerate_configs): DeepSpeed ZeRO-3 or FSDP 2 with bf16 across
// several GPUs, plain bf16 on one, fp32 on the CPU. num_machines and
// machine_rank are the single-machine values; job.sbatch and job.yaml
// override them per node.
func accelerateConfig(r Resources) ([]byte, error) {
	c := map[string]any{
		"compute_environment":    "LOCAL_MACHINE",
		"debug":                  false,
		"distributed_type":       "NO",
		"downcast_bf16":          "no",
		"machine_rank":           0,
		"main_training_function": "main",
		"mixed_precision":        "bf16",
		"num_machines":           r.Nodes,
		"num_processes":          r.Processes(),
		"rdzv_backend":           "static",
		"same_network":           true,
		"use_cpu":                false,
	}
	switch {
	case r.GPUsPerNode == 0:
		c["use_cpu"] = true
		c["mixed_precision"] = "no"
	case r.Processes() == 1:
		// One GPU: nothing to shard.
	case r.Sharding == "deepspeed":
		c["distributed_type"] = "DEEPSPEED"
		c["deepspeed_config"] = map[string]any{
			"deepspeed_multinode_launcher": "standard",
			"offload_optimizer_device":     "none",
			"offload_param_device":         "none",
			"zero3_init_flag":              true,
			"zero3_save_16bit_model":       true,
			"zero_stage":                   3,
		}
	case r.Sharding == "fsdp":
		c["distributed_type"] = "FSDP"
		c["fsdp_config"] = map[string]any{
			"fsdp_activation_checkpointing":  false,
			"fsdp_auto_wrap_policy":          "TRANSFORMER_BASED_WRAP",
			"fsdp_cpu_ram_efficient_loading": true,
			"fsdp_offload_params":            false,
			"fsdp_reshard_after_forward":     true,
			"fsdp_state_dict_type":           "FULL_STATE_DICT",
			"fsdp_version":                   2,
		}
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("engine job: accelerate config: %w", err)
	}
	return b, nil
}
