package train

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/distill-dev/distill/dataset"
	"github.com/distill-dev/distill/internal/atomicfile"
)

// Source is one dataset directory of a training mixture, as open-r1's
// dataset mixtures have them: Weight is the fraction of its train rows
// kept, chosen by the seed; MaxRows caps what that leaves. Its test rows
// are all kept.
type Source struct {
	Path    string  `yaml:"path" json:"path" path:"file"`
	Weight  float64 `yaml:"weight" json:"weight"`     // in (0, 1]; 0: 1
	MaxRows int     `yaml:"max_rows" json:"max_rows"` // 0: no cap
}

// Mixture is the data a run trains on: the rows its sources keep,
// concatenated in the order listed.
type Mixture []Source

// Dir is the mixture of one whole dataset directory.
func Dir(path string) Mixture { return Mixture{{Path: path}} }

// ParseSource reads a --data value, DIR[:WEIGHT[:MAX_ROWS]]. A suffix that
// is not a number is part of the directory's name.
func ParseSource(s string) (Source, error) {
	src := Source{Path: s}
	parts := strings.Split(s, ":")
	n := len(parts)
	weight := func(i int) bool {
		w, err := strconv.ParseFloat(parts[i], 64)
		src.Weight = w
		return err == nil
	}
	switch {
	case n >= 3 && weight(n-2):
		m, err := strconv.Atoi(parts[n-1])
		if err != nil {
			return src, fmt.Errorf("--data %s: max rows %q is not a whole number", s, parts[n-1])
		}
		src.Path, src.MaxRows = strings.Join(parts[:n-2], ":"), m
	case n >= 2 && weight(n-1):
		src.Path = strings.Join(parts[:n-1], ":")
	default:
		return Source{Path: s}, nil
	}
	if src.Weight == 0 {
		return src, fmt.Errorf("--data %s: weight 0 keeps no row", s)
	}
	return src, src.check()
}

func (s Source) check() error {
	switch {
	case s.Path == "":
		return errors.New("--data: a source without a path")
	case !(s.Weight >= 0 && s.Weight <= 1): // NaN too
		return fmt.Errorf("--data %s: weight %g is not a fraction in (0, 1]", s.Path, s.Weight)
	case s.MaxRows < 0:
		return fmt.Errorf("--data %s: max_rows %d is negative", s.Path, s.MaxRows)
	}
	return nil
}

// String is the source as --data takes it.
func (s Source) String() string {
	switch {
	case s.MaxRows > 0:
		return fmt.Sprintf("%s:%g:%d", s.Path, cmp.Or(s.Weight, 1), s.MaxRows)
	case s.Weight > 0 && s.Weight < 1:
		return fmt.Sprintf("%s:%g", s.Path, s.Weight)
	}
	return s.Path
}

// String is the mixture as --data flags take it: the sources joined by
// " --data ".
func (m Mixture) String() string {
	s := make([]string, len(m))
	for i, src := range m {
		s[i] = src.String()
	}
	return strings.Join(s, " --data ")
}

// UnmarshalYAML takes a config's data: one directory (the form before
// mixtures), or a list of sources. Keys of a source are checked as the
// config's own are: a typo is an error, not a source trained on whole.
func (m *Mixture) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*m = Dir(n.Value)
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("line %d: data: a directory or a list of {path, weight, max_rows}", n.Line)
	}
	var out Mixture
	for _, item := range n.Content {
		if item.Kind == yaml.MappingNode {
			for i := 0; i < len(item.Content); i += 2 {
				if k := item.Content[i].Value; k != "path" && k != "weight" && k != "max_rows" {
					return fmt.Errorf("line %d: data: unknown key %q (path, weight, max_rows)", item.Content[i].Line, k)
				}
			}
		}
		var s Source
		if err := item.Decode(&s); err != nil {
			return err
		}
		if err := s.check(); err != nil {
			return fmt.Errorf("line %d: %w", item.Line, err)
		}
		out = append(out, s)
	}
	*m = out
	return nil
}

// Plan is a mixture resolved against its shards: what each source gives
// each split. It is written to OUT/data_mixture.json.
type Plan struct {
	Seed    uint64       `json:"seed"`
	Sources []SourcePlan `json:"sources"`
}

// SourcePlan is one source of a Plan.
type SourcePlan struct {
	Source
	Rows     int      `json:"rows"`      // train rows in its shards
	Kept     int      `json:"kept"`      // of them, the rows the mixture trains on
	TestRows int      `json:"test_rows"` // all kept
	Train    []string `json:"-"`
	Test     []string `json:"-"`
	keep     []int    // indices of the kept train rows, ascending; nil: all
}

// PlanMixture lists each source's shards and chooses the train rows it
// keeps with seed, from the row counts in the shards' footers.
func PlanMixture(m Mixture, seed uint64) (*Plan, error) {
	if len(m) == 0 {
		return nil, errors.New("--data: the dataset directory is required")
	}
	p := &Plan{Seed: seed}
	for _, s := range m {
		if err := s.check(); err != nil {
			return nil, err
		}
		sp := SourcePlan{Source: s}
		var err error
		if sp.Train, err = dataset.ListShards(s.Path, "train"); err != nil {
			return nil, fmt.Errorf("--data %s: %w", s.Path, err)
		}
		if len(sp.Train) == 0 {
			return nil, fmt.Errorf("--data %s: no train-*.parquet shards", s.Path)
		}
		if sp.Test, err = dataset.ListShards(s.Path, "test"); err != nil {
			return nil, fmt.Errorf("--data %s: %w", s.Path, err)
		}
		if sp.Rows, err = shardRows(sp.Train); err != nil {
			return nil, err
		}
		if sp.TestRows, err = shardRows(sp.Test); err != nil {
			return nil, err
		}
		sp.keep = keepRows(sp.Rows, s.Weight, s.MaxRows, seed)
		sp.Kept = sp.Rows
		if sp.keep != nil {
			sp.Kept = len(sp.keep)
		}
		p.Sources = append(p.Sources, sp)
	}
	return p, nil
}

// split is the source's shards of split and the indices of the rows it
// keeps of them (nil: all; the test rows always).
func (s *SourcePlan) split(split string) ([]string, []int) {
	if split == "train" {
		return s.Train, s.keep
	}
	return s.Test, nil
}

// ReadRows calls fn with each row of split that the plan keeps, source by
// source, each in its shards' order, with the file and the row's number
// there (from 1). It stops at the first error.
func (p *Plan) ReadRows(ctx context.Context, split string, fn func(file string, row int, r dataset.MessagesRow) error) error {
	for _, src := range p.Sources {
		files, keep := src.split(split)
		index := 0 // of the row in the source's split
		for _, f := range files {
			row := 0
			err := dataset.ReadMessages(ctx, f, func(r dataset.MessagesRow) error {
				row++
				index++
				if keep != nil {
					if len(keep) == 0 || keep[0] != index-1 {
						return nil
					}
					keep = keep[1:]
				}
				return fn(f, row, r)
			})
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		}
	}
	return nil
}

func shardRows(files []string) (int, error) {
	n := 0
	for _, f := range files {
		k, err := dataset.CountRows(f)
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// keepRows chooses the rows of n a source keeps: open-r1's int(n × weight),
// then at most maxRows, the first of a seeded permutation. The permutation
// orders rows by a splitmix64 hash of the seed and the row index, which the
// TRL engine computes alike (distill_engine.keep_rows), so both train on the
// same rows. nil keeps them all.
func keepRows(n int, weight float64, maxRows int, seed uint64) []int {
	k := n
	if weight > 0 && weight < 1 {
		k = int(float64(n) * weight)
	}
	if maxRows > 0 {
		k = min(k, maxRows)
	}
	if k == n {
		return nil
	}
	type ranked struct {
		key uint64
		i   int
	}
	r := make([]ranked, n)
	for i := range r {
		r[i] = ranked{splitmix64(seed + uint64(i+1)*0x9e3779b97f4a7c15), i}
	}
	slices.SortFunc(r, func(a, b ranked) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.i, b.i)) })
	keep := make([]int, k)
	for j := range keep {
		keep[j] = r[j].i
	}
	slices.Sort(keep)
	return keep
}

// splitmix64's output function (Steele, Lea and Flood 2014).
func splitmix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Record logs what each source contributes and writes it to
// OUT/data_mixture.json.
func (p *Plan) Record(out string, logf func(string, ...any)) error {
	for _, s := range p.Sources {
		logf("data %s: %d of %d train rows (weight %g, max_rows %d), %d test rows", s.Path, s.Kept, s.Rows, cmp.Or(s.Weight, 1), s.MaxRows, s.TestRows)
	}
	return atomicfile.WriteJSON(filepath.Join(out, "data_mixture.json"), p)
}
