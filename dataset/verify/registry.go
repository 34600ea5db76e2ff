package verify

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Verifier judges a response against a reference answer. Implementations are
// safe for concurrent use.
type Verifier interface {
	Name() string
	Verify(response, reference string) Result
}

// ErrUnknownVerifier is returned by Lookup for a name nobody registered.
var ErrUnknownVerifier = errors.New("unknown verifier")

var (
	regMu    sync.RWMutex
	registry = map[string]Verifier{}
)

// Register makes v available under v.Name(), replacing any earlier one.
func Register(v Verifier) {
	regMu.Lock()
	defer regMu.Unlock()
	registry[v.Name()] = v
}

// Lookup returns the verifier registered under name.
func Lookup(name string) (Verifier, error) {
	regMu.RLock()
	defer regMu.RUnlock()
	if v, ok := registry[name]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("verifier %q: %w (have %s)", name, ErrUnknownVerifier, strings.Join(namesLocked(), ", "))
}

// Names lists the registered verifiers, sorted.
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	return namesLocked()
}

func namesLocked() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ForTask picks the verifier for a prompt's task. GSM8K and the builtin
// arithmetic suites have numeric answers; "choice" has letters; everything
// else, including an empty or unknown task, gets the general math verifier,
// which also handles plain numbers.
func ForTask(task string) Verifier {
	name := "math"
	switch {
	case task == "gsm8k", task == "builtin:arith", strings.HasPrefix(task, "builtin:arith:"):
		name = "number"
	case task == "choice":
		name = "choice"
	}
	if v, err := Lookup(name); err == nil {
		return v
	}
	return mathVerifier{}
}
