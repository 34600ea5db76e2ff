package verify

// equivExpr compares two expressions that are neither plain numbers nor
// structures. For now only by their normalised text.
func equivExpr(a, b string) bool { return a == b }
