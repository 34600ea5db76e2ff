package tokenizer

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Expected texts are written by hand from each model's Jinja chat_template
// (Qwen2.5-Instruct, Meta-Llama-3-Instruct, DeepSeek-R1-Distill), as
// apply_chat_template(messages, tokenize=False, add_generation_prompt=...)
// prints them.
func TestTemplateFormat(t *testing.T) {
	qa := []Message{{"user", "What is 2+2?"}, {"assistant", "4"}}
	sysQA := []Message{{"system", "Be brief."}, {"user", "What is 2+2?"}, {"assistant", "4"}}
	r1 := []Message{{"user", "1+1?"}, {"assistant", "<think>\nadd them\n</think>\n\n\\boxed{2}"}}
	multi := []Message{{"user", "a"}, {"assistant", "<think>\nx\n</think>\n\nA"}, {"user", "b"}}
	tests := []struct {
		template string
		msgs     []Message
		gen      bool
		want     string
	}{
		{"qwen2.5", qa, false, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"},
		{"qwen2.5", sysQA, false, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"},
		{"qwen2.5", qa[:1], true, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"},
		{"chatml", qa, false, "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"},
		{"chatml", sysQA[:2], true, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"},
		{"llama3", sysQA, false, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>"},
		{"llama3", []Message{{"user", "  padded \n"}}, true, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\npadded<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"deepseek-r1", qa[:1], true, "<｜begin▁of▁sentence｜><｜User｜>What is 2+2?<｜Assistant｜><think>\n"},
		{"deepseek-r1", sysQA, false, "<｜begin▁of▁sentence｜>Be brief.<｜User｜>What is 2+2?<｜Assistant｜>4<｜end▁of▁sentence｜>"},
		// History loses its reasoning as in HF's template...
		{"deepseek-r1", multi, true, "<｜begin▁of▁sentence｜><｜User｜>a<｜Assistant｜>\n\nA<｜end▁of▁sentence｜><｜User｜>b<｜Assistant｜><think>\n"},
		// ...but the turn being trained on keeps it (HF would drop it).
		{"deepseek-r1", r1, false, "<｜begin▁of▁sentence｜><｜User｜>1+1?<｜Assistant｜><think>\nadd them\n</think>\n\n\\boxed{2}<｜end▁of▁sentence｜>"},
	}
	for _, tc := range tests {
		tmpl, err := TemplateFor(tc.template)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tmpl.Format(tc.msgs, tc.gen)
		if err != nil {
			t.Fatalf("%s: %v", tc.template, err)
		}
		if got != tc.want {
			t.Errorf("%s %v gen=%v:\n got %q\nwant %q", tc.template, tc.msgs, tc.gen, got, tc.want)
		}
	}
}

func TestTemplateFor(t *testing.T) {
	for name, want := range map[string]string{
		"chatml": "chatml", "qwen": "qwen2.5", "Qwen2.5": "qwen2.5", "qwen-tiny": "qwen2.5", "qwen-7b": "qwen2.5",
		"llama": "llama3", "llama-8b": "llama3", "llama-tiny": "llama3",
		"deepseek-r1": "deepseek-r1", "r1": "deepseek-r1", "DeepSeek-R1-Distill-Qwen-7B": "deepseek-r1", "deepseek-r1-distill-llama-8b": "deepseek-r1",
	} {
		tmpl, err := TemplateFor(name)
		if err != nil {
			t.Errorf("TemplateFor(%q): %v", name, err)
			continue
		}
		if tmpl.Name != want {
			t.Errorf("TemplateFor(%q) = %s, want %s", name, tmpl.Name, want)
		}
	}
	if _, err := TemplateFor("mistral"); err == nil || !strings.Contains(err.Error(), "chatml") {
		t.Errorf("TemplateFor(mistral) = %v, want an error listing the templates", err)
	}
}

// With one token per byte the mask can be checked exactly: the masked
// tokens decode to each assistant content followed by its end token.
func TestRenderMaskByteLevel(t *testing.T) {
	tok := NewByteLevel([]string{"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
		"<｜begin▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<｜end▁of▁sentence｜>"})
	msgs := []Message{{"system", "sys"}, {"user", "12+7?"}, {"assistant", "<think>\n12 + 7 = 19\n</think>\n\n\\boxed{19}"}, {"user", "again"}, {"assistant", "19"}}
	for _, tc := range []struct{ name, want string }{
		{"chatml", "<think>\n12 + 7 = 19\n</think>\n\n\\boxed{19}<|im_end|>19<|im_end|>"},
		{"llama3", "<think>\n12 + 7 = 19\n</think>\n\n\\boxed{19}<|eot_id|>19<|eot_id|>"},
		{"deepseek-r1", "\n\n\\boxed{19}<｜end▁of▁sentence｜>19<｜end▁of▁sentence｜>"},
	} {
		tmpl, _ := TemplateFor(tc.name)
		ids, mask, err := tmpl.Render(tok, msgs, false)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		text, _ := tmpl.Format(msgs, false)
		if got := tok.Decode(ids); got != text {
			t.Errorf("%s: ids decode to %q, want the formatted text %q", tc.name, got, text)
		}
		if len(mask) != len(ids) {
			t.Fatalf("%s: mask has %d entries for %d ids", tc.name, len(mask), len(ids))
		}
		var masked []int32
		for i, m := range mask {
			if m {
				masked = append(masked, ids[i])
			}
		}
		if got := tok.Decode(masked); got != tc.want {
			t.Errorf("%s: masked tokens %q, want %q", tc.name, got, tc.want)
		}
	}
}

// With the real tokenizers: ids are Encode of the formatted text, the masked
// tokens are the answer and the end-of-turn token, and generation stops at
// that token.
func TestRenderReal(t *testing.T) {
	msgs := []Message{{"user", "Natalia sold clips to 48 of her friends. How many?"}, {"assistant", "<think>\n48 / 2 = 24\n</think>\n\nShe sold \\boxed{72} clips."}}
	for _, tc := range []struct{ family, template, header string }{
		{"qwen3", "qwen2.5", "<|im_start|>assistant\n"},
		{"qwen3", "chatml", "<|im_start|>assistant\n"},
		{"llama3", "llama3", "<|start_header_id|>assistant<|end_header_id|>\n\n"},
	} {
		tok := realTokenizer(t, tc.family)
		tmpl, _ := TemplateFor(tc.template)
		ids, mask, err := tmpl.Render(tok, msgs, false)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := tmpl.Format(msgs, false)
		if want := tok.Encode(text); !equalIDs(ids, want) {
			t.Fatalf("%s: Render ids differ from Encode(Format):\n got %v\nwant %v", tc.template, ids, want)
		}
		var masked []int32
		for i, m := range mask {
			if m {
				masked = append(masked, ids[i])
			}
		}
		if got, want := tok.Decode(masked), msgs[1].Content+tmpl.EndOfTurn; got != want {
			t.Errorf("%s: masked tokens decode to %q, want %q", tc.template, got, want)
		}
		prompt, err := tmpl.RenderPrompt(tok, msgs[:1])
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Decode(prompt); !strings.HasSuffix(got, tc.header) {
			t.Errorf("%s: prompt ends %q", tc.template, got)
		}
		stop := tmpl.StopTokens(tok)
		if eot, _ := tok.TokenID(tmpl.EndOfTurn); len(stop) == 0 || stop[0] != eot {
			t.Errorf("%s: StopTokens = %v, want %s (%d) first", tc.template, stop, tmpl.EndOfTurn, eot)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	tok := NewByteLevel(nil)
	r1, _ := TemplateFor("deepseek-r1")
	if _, _, err := r1.Render(tok, []Message{{"user", "hi"}}, true); !errors.Is(err, ErrMissingToken) {
		t.Errorf("deepseek-r1 on a tokenizer without its tokens: err = %v, want ErrMissingToken", err)
	}
	chatml, _ := TemplateFor("chatml")
	if _, _, err := chatml.Render(tok, []Message{{"tool", "{}"}}, false); err == nil || !strings.Contains(err.Error(), `"tool"`) {
		t.Errorf("role tool: err = %v, want an error naming the role", err)
	}
}

// The Jinja written to tokenizer_config.json renders, in the reference
// engine (transformers.js), the same text as Format.
func TestJinjaMatchesFormat(t *testing.T) {
	tok := NewByteLevel([]string{"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
		"<｜begin▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<｜end▁of▁sentence｜>"})
	convs := [][]Message{
		{{"user", "What is 2+2?"}},
		{{"user", "What is 2+2?"}, {"assistant", "<think>\n2 + 2 = 4\n</think>\n\n\\boxed{4}"}},
		{{"system", "Be brief."}, {"user", " 12*3? "}, {"assistant", "36\n"}},
		{{"user", "a"}, {"assistant", "<think>\nx\n</think>\n\nA"}, {"user", "b"}, {"assistant", "<think>y</think>B"}},
		{{"user", "first"}, {"system", "late system"}, {"user", "你好 🤗"}},
	}
	for _, name := range TemplateNames() {
		t.Run(name, func(t *testing.T) {
			tmpl, _ := TemplateFor(name)
			dir := t.TempDir()
			if err := tok.Save(dir + "/tokenizer.json"); err != nil {
				t.Fatal(err)
			}
			if err := tok.SaveConfig(dir+"/tokenizer_config.json", tmpl); err != nil {
				t.Fatal(err)
			}
			var inputs []any
			var want []string
			for i, msgs := range convs {
				if name == "deepseek-r1" && i == 3 {
					// Dropping history reasoning calls str.split, which the
					// reference engine lacks; TestTemplateFormat covers it.
					continue
				}
				for _, gen := range []bool{false, true} {
					text, err := tmpl.Format(msgs, gen)
					if err != nil {
						t.Fatal(err)
					}
					inputs = append(inputs, map[string]any{"messages": msgs, "add_generation_prompt": gen})
					want = append(want, text)
				}
			}
			ref := runReference(t, dir+"/tokenizer.json", []string{"--chat"}, inputs)
			for i := range want {
				var got string
				if err := json.Unmarshal(ref[i], &got); err != nil {
					t.Fatal(err)
				}
				if got != want[i] {
					t.Errorf("%v:\nJinja  %q\nFormat %q", inputs[i], got, want[i])
				}
			}
			// tokenizer_config.json also sets EOS to the end-of-turn token.
			back, err := Load(dir + "/tokenizer.json")
			if err != nil {
				t.Fatal(err)
			}
			if eos, _ := back.EOS(); back.Decode([]int32{eos}) != tmpl.EndOfTurn {
				t.Errorf("EOS after SaveConfig = %q, want %q", back.Decode([]int32{eos}), tmpl.EndOfTurn)
			}
		})
	}
}
