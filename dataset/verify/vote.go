package verify

// Majority returns the most common answer among answers, counting equivalent
// answers (Equivalent) as one, and how many answers agree with it: the vote
// behind cons@k. Empty answers do not vote. Ties go to the answer seen first,
// so the result is deterministic. It costs O(k²) comparisons for k answers,
// meant for the few samples of one prompt.
func Majority(answers []string) (answer string, count int) {
	type class struct {
		rep   string
		count int
	}
	var classes []class
	for _, a := range answers {
		if Normalize(a) == "" {
			continue
		}
		found := false
		for i := range classes {
			if Equivalent(classes[i].rep, a) {
				classes[i].count++
				found = true
				break
			}
		}
		if !found {
			classes = append(classes, class{a, 1})
		}
	}
	for _, c := range classes {
		if c.count > count {
			answer, count = c.rep, c.count
		}
	}
	return answer, count
}
