package verify

import "strings"

// inequalityInterval rewrites a one-variable inequality as the interval it
// describes, so "x\leq3" matches "(-\infty,3]" and "-1<x\leq2" matches
// "(-1,2]". ok is false for anything else.
func inequalityInterval(s string) (string, bool) {
	parts, ops := splitInequality(s)
	switch len(parts) {
	case 2: // x op a, or a op x
		if isVariable(parts[0]) && !isVariable(parts[1]) {
			return halfLine(ops[0], parts[1], false)
		}
		if isVariable(parts[1]) && !isVariable(parts[0]) {
			return halfLine(ops[0], parts[0], true)
		}
	case 3: // a op x op b, both ops pointing the same way
		if !isVariable(parts[1]) || isVariable(parts[0]) || isVariable(parts[2]) {
			return "", false
		}
		lo, hi := parts[0], parts[2]
		loOp, hiOp := ops[0], ops[1]
		if loOp[0] == '>' && hiOp[0] == '>' {
			// b > x > a reads as a < x < b.
			flip := map[string]string{">": "<", ">=": "<="}
			lo, hi = hi, lo
			loOp, hiOp = flip[hiOp], flip[loOp]
		} else if loOp[0] != '<' || hiOp[0] != '<' {
			return "", false
		}
		open, close := "(", ")"
		if loOp == "<=" {
			open = "["
		}
		if hiOp == "<=" {
			close = "]"
		}
		return open + lo + "," + hi + close, true
	}
	return "", false
}

// halfLine is the interval of "x op a" (or "a op x" when flipped).
func halfLine(op, a string, flipped bool) (string, bool) {
	if flipped { // a < x is x > a
		op = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
	}
	switch op {
	case "<":
		return `(-\infty,` + a + ")", true
	case "<=":
		return `(-\infty,` + a + "]", true
	case ">":
		return "(" + a + `,\infty)`, true
	case ">=":
		return "[" + a + `,\infty)`, true
	}
	return "", false
}

// splitInequality splits a normalised answer at <, >, \le, \leq, \ge, \geq,
// \lt, \gt, returning the operands and the operators as "<", "<=", ">", ">=".
func splitInequality(s string) (parts, ops []string) {
	start := 0
	for i := 0; i < len(s); {
		op, n := "", 0
		switch {
		case s[i] == '<' && i+1 < len(s) && s[i+1] == '=':
			op, n = "<=", 2
		case s[i] == '>' && i+1 < len(s) && s[i+1] == '=':
			op, n = ">=", 2
		case s[i] == '<':
			op, n = "<", 1
		case s[i] == '>':
			op, n = ">", 1
		case s[i] == '\\':
			for _, c := range [...]struct{ cmd, op string }{{`\leq`, "<="}, {`\geq`, ">="}, {`\le`, "<="}, {`\ge`, ">="}, {`\lt`, "<"}, {`\gt`, ">"}} {
				// After Normalize there are no spaces, so "\leq3" is \leq 3;
				// \left and \geqslant-like commands are not operators here.
				if strings.HasPrefix(s[i:], c.cmd) && !strings.HasPrefix(s[i:], `\left`) {
					op, n = c.op, len(c.cmd)
					break
				}
			}
		}
		if op == "" {
			i++
			continue
		}
		parts = append(parts, s[start:i])
		ops = append(ops, op)
		i += n
		start = i
	}
	if len(ops) == 0 {
		return nil, nil
	}
	parts = append(parts, s[start:])
	for _, p := range parts {
		if p == "" {
			return nil, nil
		}
	}
	return parts, ops
}
