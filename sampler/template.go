package sampler

import (
	"fmt"
	"sort"
	"strings"
)

// Template turns a problem into the user message sent to the teacher. Text
// holds "{problem}" where the problem goes.
type Template struct {
	Name string
	Text string
}

// The R1 usage recommendations: no system prompt, all instructions in the
// user message, and for math this suffix.
const r1Suffix = "\nPlease reason step by step, and put your final answer within \\boxed{}."

// r1Zero is the DeepSeek-R1-Zero training template (Table 1 of the R1
// paper), sent as one user message.
const r1Zero = "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. " +
	"The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. " +
	"The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, " +
	"i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: {problem}. Assistant:"

// BuiltinTemplates are the templates known by name.
var BuiltinTemplates = map[string]string{
	"r1":      "{problem}" + r1Suffix,
	"r1-zero": r1Zero,
	"plain":   "{problem}",
}

// ResolveTemplate finds a template by name among custom (from the config)
// and builtin ones; custom ones win so a config can redefine "r1".
func ResolveTemplate(name string, custom map[string]string) (Template, error) {
	if name == "" {
		name = "r1"
	}
	if t, ok := custom[name]; ok {
		if !strings.Contains(t, "{problem}") {
			return Template{}, fmt.Errorf("template %q has no {problem} placeholder", name)
		}
		return Template{Name: name, Text: t}, nil
	}
	if t, ok := BuiltinTemplates[name]; ok {
		return Template{Name: name, Text: t}, nil
	}
	var names []string
	for n := range BuiltinTemplates {
		names = append(names, n)
	}
	for n := range custom {
		names = append(names, n)
	}
	sort.Strings(names)
	return Template{}, fmt.Errorf("unknown template %q (have %s)", name, strings.Join(names, ", "))
}

// Render builds the user message for one problem.
func (t Template) Render(problem string) string {
	return strings.Replace(t.Text, "{problem}", problem, 1)
}
