package train

// Metric is one line of metrics.jsonl.
type Metric struct {
	Step      int      `json:"step"`
	Epoch     int      `json:"epoch"`
	Loss      float64  `json:"loss"`
	EvalLoss  *float64 `json:"eval_loss,omitempty"`
	LR        float64  `json:"lr"`
	GradNorm  float64  `json:"grad_norm"`
	Tokens    int64    `json:"tokens"` // tokens processed so far, padding excluded
	TokensSec float64  `json:"tokens_per_sec"`
	Elapsed   float64  `json:"elapsed_sec"`
}
