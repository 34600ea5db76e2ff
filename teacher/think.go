package teacher

import "strings"

// splitThink separates reasoning written inline in content: "<think>…</think>
// answer", R1's "…</think> answer" whose opening tag is in the prompt
// template, or "<think>…" cut off before the closing tag.
func splitThink(content string) (reasoning, answer string, ok bool) {
	trimmed := strings.TrimLeft(content, " \t\r\n")
	opened := strings.HasPrefix(trimmed, "<think>")
	end := strings.Index(content, "</think>")
	switch {
	case end >= 0:
		reasoning = content[:end]
		if opened {
			reasoning = strings.TrimPrefix(trimmed[:len(trimmed)-(len(content)-end)], "<think>")
		}
		return strings.TrimSpace(reasoning), strings.TrimSpace(content[end+len("</think>"):]), true
	case opened:
		return strings.TrimSpace(strings.TrimPrefix(trimmed, "<think>")), "", true
	}
	return "", content, false
}

// normalize fills Reasoning from think tags when the server sent none in a
// reasoning field, and trims the whitespace around both parts.
func (r *Response) normalize() {
	if r.Reasoning == "" {
		if reasoning, answer, ok := splitThink(r.Content); ok {
			r.Reasoning, r.Content = reasoning, answer
			return
		}
	}
	r.Reasoning = strings.TrimSpace(r.Reasoning)
	r.Content = strings.TrimSpace(r.Content)
}
