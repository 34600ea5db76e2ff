package teacher

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// operand is a literal or the result of an earlier step, so that an injected
// mistake propagates through the steps that use it.
type operand struct {
	v   int64
	ref int // index of the step whose result this is, -1 for a literal
}

// step is one line of a solution: "label a op b = r".
type step struct {
	label string
	a, b  operand
	op    byte // '+', '-', '*', '/'
	r     int64
}

// solution is a problem read back from prompt text, solved one operation
// per step in the order a person would write them.
type solution struct {
	steps  []step
	result operand
	// word problems answer with a short sentence; nil for plain arithmetic.
	word *word
}

// maxAbs bounds every number so int64 arithmetic cannot overflow.
const maxAbs = 1e15

func apply(op byte, a, b int64) (int64, bool) {
	var r int64
	switch op {
	case '+':
		r = a + b
	case '-':
		r = a - b
	case '*':
		r = a * b
		if a != 0 && (r/a != b || abs(a) > 1e9 && abs(b) > 1e9) {
			return 0, false
		}
	case '/':
		if b == 0 || a%b != 0 {
			return 0, false // only exact divisions have an integer answer
		}
		r = a / b
	}
	return r, abs(r) <= maxAbs
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// value is the operand's value given the (possibly altered) step results.
func (o operand) value(steps []step) int64 {
	if o.ref >= 0 {
		return steps[o.ref].r
	}
	return o.v
}

// recompute redoes steps from..end after steps[from-1].r was changed.
func (s *solution) recompute(from int) {
	for i := from; i < len(s.steps); i++ {
		st := &s.steps[i]
		r, ok := apply(st.op, st.a.value(s.steps), st.b.value(s.steps))
		if !ok {
			r = st.r // keep the old value rather than fail on an injected error
		}
		st.r = r
	}
}

func (s *solution) answer() int64 { return s.result.value(s.steps) }

// readProblem finds a problem in prompt text, whatever template wraps it: a
// builtin word problem, or else the last arithmetic expression in the text.
func readProblem(text string) (solution, bool) {
	if w, ok := readWord(text); ok {
		return w.solve(), true
	}
	return readExpr(text)
}

func (w word) solve() solution {
	s := solution{word: &w, steps: []step{
		{label: "New " + w.item + ": ", a: lit(w.boxes), op: '*', b: lit(w.each), r: w.boxes * w.each},
		{label: "After buying: ", a: lit(w.start), op: '+', b: operand{ref: 0}},
		{label: "After giving away: ", a: operand{ref: 1}, op: '-', b: lit(w.away)},
	}}
	s.recompute(1)
	s.result = operand{ref: 2}
	return s
}

func lit(v int64) operand { return operand{v: v, ref: -1} }

// readWord reads a level-5 word problem back from its template.
func readWord(text string) (word, bool) {
	var w word
	buys := strings.Index(text, " buys ")
	away := strings.Index(text, ", then gives away ")
	if buys < 0 || away < buys {
		return w, false
	}
	has := strings.LastIndex(text[:buys], " has ")
	if has < 0 {
		return w, false
	}
	// The name is the word before " has ".
	start := strings.LastIndexAny(text[:has], " \n\t") + 1
	w.name = text[start:has]
	var ok bool
	rest := text[has+len(" has "):]
	if w.start, rest, ok = leadingInt(rest); !ok {
		return w, false
	}
	w.item, _, _ = strings.Cut(strings.TrimPrefix(rest, " "), ".")
	if w.boxes, rest, ok = leadingInt(text[buys+len(" buys "):]); !ok {
		return w, false
	}
	w.box, rest, _ = strings.Cut(strings.TrimPrefix(rest, " "), " of ")
	if w.each, _, ok = leadingInt(rest); !ok {
		return w, false
	}
	if w.away, _, ok = leadingInt(text[away+len(", then gives away "):]); !ok {
		return w, false
	}
	return w, w.name != "" && w.item != ""
}

// leadingInt parses the decimal number s starts with.
func leadingInt(s string) (int64, string, bool) {
	n := 0
	for n < len(s) && n < 15 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, s, false
	}
	v, err := strconv.ParseInt(s[:n], 10, 64)
	return v, s[n:], err == nil
}

// exprRune reports whether r may appear in an arithmetic expression.
func exprRune(r rune) bool {
	switch r {
	case ' ', '+', '-', '*', '/', '(', ')', '×', '÷', '−', '·':
		return true
	}
	return r >= '0' && r <= '9'
}

// readExpr returns the last run of expression characters in text that
// parses as an arithmetic expression with at least one operation.
func readExpr(text string) (solution, bool) {
	end := len(text)
	for end > 0 {
		// Skip back over non-expression runes, then collect the run before.
		r, size := utf8.DecodeLastRuneInString(text[:end])
		if !exprRune(r) {
			end -= size
			continue
		}
		start := end
		for start > 0 {
			r, size := utf8.DecodeLastRuneInString(text[:start])
			if !exprRune(r) {
				break
			}
			start -= size
		}
		if hasDigit(text[start:end]) && exprContext(text, start, end) {
			if s, ok := parseExpr(text[start:end]); ok {
				return s, true
			}
		}
		end = start
	}
	return solution{}, false
}

// exprContext tells a question ("What is 12 + 30?", "Compute: 7 × 6.")
// from numbers that merely look like arithmetic inside prose ("waits
// 10-15 minutes"): the run must follow a question word, a colon or the start
// of a line, and be followed by the end of a line or sentence.
func exprContext(text string, start, end int) bool {
	after := strings.TrimLeft(text[end:], " ")
	if after != "" && !strings.ContainsRune("?.!=,;:\n\r", rune(after[0])) {
		return false
	}
	before := strings.TrimRight(text[:start], " ")
	if before == "" || strings.HasSuffix(before, "\n") || strings.HasSuffix(before, ":") {
		return true
	}
	word := before[strings.LastIndexAny(before, " \n\t")+1:]
	switch strings.ToLower(strings.TrimRight(word, ",")) {
	case "is", "what's", "compute", "calculate", "evaluate", "simplify", "of", "solve", "find":
		return true
	}
	return false
}

// hasDigit screens runs cheaply: most runs are the spaces between words.
func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}

type token struct {
	kind byte // 'n' number, or the operator / parenthesis itself
	v    int64
}

func tokenize(s string, toks []token) ([]token, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case c >= '0' && c <= '9':
			v, rest, ok := leadingInt(s[i:])
			if !ok || (len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9') {
				return nil, false // more than 15 digits
			}
			toks = append(toks, token{kind: 'n', v: v})
			i = len(s) - len(rest)
		case c == '+' || c == '-' || c == '*' || c == '/' || c == '(' || c == ')':
			toks = append(toks, token{kind: c})
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			switch r {
			case '×', '·':
				toks = append(toks, token{kind: '*'})
			case '÷':
				toks = append(toks, token{kind: '/'})
			case '−':
				toks = append(toks, token{kind: '-'})
			default:
				return nil, false
			}
			i += size
		}
	}
	return toks, true
}

// parseExpr parses s whole, emitting one step per operation in evaluation
// order: × and ÷ before + and -, left to right, parentheses first.
func parseExpr(s string) (solution, bool) {
	s = strings.TrimSpace(s)
	var buf [32]token
	toks, ok := tokenize(s, buf[:0])
	if !ok || len(toks) < 3 {
		return solution{}, false
	}
	p := parser{toks: toks, steps: make([]step, 0, len(toks)/2)}
	res := p.expr()
	if !p.ok() || p.pos != len(p.toks) || len(p.steps) == 0 {
		return solution{}, false
	}
	return solution{steps: p.steps, result: res}, true
}

type parser struct {
	toks  []token
	pos   int
	steps []step
	bad   bool
}

func (p *parser) ok() bool { return !p.bad && len(p.steps) <= 64 }

func (p *parser) peek(kinds string) byte {
	if p.pos < len(p.toks) && strings.IndexByte(kinds, p.toks[p.pos].kind) >= 0 {
		return p.toks[p.pos].kind
	}
	return 0
}

func (p *parser) expr() operand {
	x := p.term()
	for p.ok() {
		op := p.peek("+-")
		if op == 0 {
			break
		}
		p.pos++
		x = p.emit(x, op, p.term())
	}
	return x
}

func (p *parser) term() operand {
	x := p.factor()
	for p.ok() {
		op := p.peek("*/")
		if op == 0 {
			break
		}
		p.pos++
		x = p.emit(x, op, p.factor())
	}
	return x
}

func (p *parser) factor() operand {
	switch p.peek("n-(") {
	case 'n':
		p.pos++
		return lit(p.toks[p.pos-1].v)
	case '-': // a negative literal
		if p.pos+1 < len(p.toks) && p.toks[p.pos+1].kind == 'n' {
			p.pos += 2
			return lit(-p.toks[p.pos-1].v)
		}
	case '(':
		p.pos++
		x := p.expr()
		if p.peek(")") == 0 {
			break
		}
		p.pos++
		return x
	}
	p.bad = true
	return lit(0)
}

func (p *parser) emit(a operand, op byte, b operand) operand {
	if p.bad {
		return a
	}
	r, ok := apply(op, a.value(p.steps), b.value(p.steps))
	if !ok {
		p.bad = true
		return a
	}
	p.steps = append(p.steps, step{a: a, op: op, b: b, r: r})
	return operand{ref: len(p.steps) - 1}
}

// appendStep writes "label a op b = r".
func appendStep(dst []byte, steps []step, st step) []byte {
	dst = append(dst, st.label...)
	dst = strconv.AppendInt(dst, st.a.value(steps), 10)
	dst = appendOp(dst, st.op)
	dst = strconv.AppendInt(dst, st.b.value(steps), 10)
	dst = append(dst, " = "...)
	return strconv.AppendInt(dst, st.r, 10)
}

func appendOp(dst []byte, op byte) []byte {
	switch op {
	case '*':
		return append(dst, " × "...)
	case '/':
		return append(dst, " ÷ "...)
	}
	return append(dst, ' ', op, ' ')
}
