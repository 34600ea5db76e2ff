package model

import (
	"encoding/json"
	"reflect"
	"testing"
)

// config.json as transformers 4 and 5 write it gives the same Config.
func TestConfigReadsTransformersVersions(t *testing.T) {
	llama3 := &RopeScaling{RopeType: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192}
	tests := []struct {
		name, json string
		theta      float64
		scaling    *RopeScaling
		dtype      string
	}{
		{"4.x llama", `{"model_type":"llama","rope_theta":500000.0,"rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192},"torch_dtype":"bfloat16"}`,
			500000, llama3, "bfloat16"},
		{"5.x llama", `{"model_type":"llama","rope_parameters":{"factor":8.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_theta":500000.0,"rope_type":"llama3"},"dtype":"float32"}`,
			500000, llama3, "float32"},
		{"5.x qwen2", `{"model_type":"qwen2","rope_parameters":{"rope_theta":1000000.0,"rope_type":"default"},"dtype":"bfloat16"}`,
			1e6, nil, "bfloat16"},
		{"4.x qwen2", `{"model_type":"qwen2","rope_theta":10000.0,"rope_scaling":null}`, 10000, nil, ""},
		{"old type spelling", `{"model_type":"llama","rope_parameters":{"rope_theta":5.0,"type":"linear","factor":2.0}}`,
			5, &RopeScaling{Type: "linear", Factor: 2}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			if err := json.Unmarshal([]byte(tt.json), &c); err != nil {
				t.Fatal(err)
			}
			if c.RopeTheta != tt.theta || !reflect.DeepEqual(c.RopeScaling, tt.scaling) || c.TorchDtype != tt.dtype {
				t.Errorf("rope_theta %g, rope_scaling %+v, dtype %q; want %g, %+v, %q", c.RopeTheta, c.RopeScaling, c.TorchDtype, tt.theta, tt.scaling, tt.dtype)
			}
		})
	}
}
