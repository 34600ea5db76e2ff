package distill

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/distill-dev/distill/student/tokenizer"
)

// shellSplit splits a command line as sh does.
func shellSplit(t *testing.T, line string) []string {
	t.Helper()
	out, err := exec.Command("sh", "-c", `printf '%s\0' `+line).Output()
	if err != nil {
		t.Fatalf("sh: %v: %s", err, line)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

// mutate gives every option of the struct v a value other than its own:
// strings with a space and a quote, and absolute, so that a path read from
// a config file stays as it is.
func mutate(v reflect.Value) {
	const str = "/m n'o"
	for _, o := range options(v, nil, nil) {
		f := o.v
		switch t := f.Type(); t.Kind() {
		case reflect.String:
			f.SetString(str)
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Int, reflect.Int64:
			if t == reflect.TypeFor[time.Duration]() {
				f.SetInt(f.Int() + int64(90*time.Second))
			} else {
				f.SetInt(f.Int() + 3)
			}
		case reflect.Uint64:
			f.SetUint(f.Uint() + 3)
		case reflect.Float64:
			f.SetFloat(f.Float()*1.5 + 0.25)
		case reflect.Map:
			m := reflect.MakeMap(t)
			e := reflect.New(t.Elem()).Elem()
			if t.Elem().Kind() == reflect.Float64 {
				e.SetFloat(0.5)
			} else {
				e.SetString(str + " {problem}")
			}
			m.SetMapIndex(reflect.ValueOf("accuracy"), e)
			f.Set(m)
		case reflect.Slice:
			s := reflect.MakeSlice(t, 2, 2)
			for i := range 2 {
				if t.Elem().Kind() == reflect.Struct {
					mutate(s.Index(i))
				} else {
					s.Index(i).SetString(str)
				}
			}
			if t.Elem().Kind() == reflect.String {
				s.Index(1).SetString("/a,b") // a comma no list flag keeps
			}
			f.Set(s)
		}
	}
}

// Every option of every command, set to another value than its default,
// comes back the same from the command line commandArgs writes (with its
// config file), parsed by the command's own flags.
func TestCommandArgsRoundTrip(t *testing.T) {
	cases := []struct {
		cmd      string
		defaults any
	}{
		{"generate", DefaultGenerateOptions()},
		{"filter", DefaultFilterOptions()},
		{"train", DefaultTrainOptions()},
		{"rl", DefaultRLOptions()},
		{"eval", DefaultEvalOptions()},
		{"corpus", DefaultCorpusOptions()},
	}
	for _, tc := range cases {
		t.Run(tc.cmd, func(t *testing.T) {
			want := reflect.New(reflect.TypeOf(tc.defaults))
			want.Elem().Set(reflect.ValueOf(tc.defaults))
			mutate(want.Elem())
			args, conf := commandArgs(want.Elem().Interface(), tc.defaults)
			if conf != nil {
				b, err := yaml.Marshal(conf)
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(t.TempDir(), "c.yaml")
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				args = append([]string{"--config", path}, args...)
			}
			line := shellLine(append([]string{"distill", tc.cmd}, args...))

			var real *cli.Command
			for _, c := range commands {
				if c.Name == tc.cmd {
					real = c
				}
			}
			got := reflect.New(reflect.TypeOf(tc.defaults))
			app := &cli.App{Commands: []*cli.Command{{Name: tc.cmd, Flags: real.Flags, Action: func(c *cli.Context) error {
				got.Elem().Set(reflect.ValueOf(tc.defaults))
				return configure(c, got.Interface())
			}}}}
			if err := app.Run(shellSplit(t, line)); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if !reflect.DeepEqual(got.Elem().Interface(), want.Elem().Interface()) {
				t.Errorf("%s\ngives %+v\nwant  %+v", line, got.Elem().Interface(), want.Elem().Interface())
			}
		})
	}
}

// The command line of a stage: flags for what differs from the defaults,
// in a form that parses back, and no credentials.
func TestCommandArgs(t *testing.T) {
	cases := []struct {
		name     string
		cmd      string
		opts     any
		defaults any
		want     string
	}{
		{"defaults", "eval", DefaultEvalOptions(), DefaultEvalOptions(), "distill eval"},
		{"false against a true default", "train", func() TrainOptions {
			o := DefaultTrainOptions()
			o.Packing, o.LR = false, 3e-5
			return o
		}(), DefaultTrainOptions(), "distill train --packing=false --lr 3e-05"},
		{"credentials of a teacher URL", "generate", func() GenerateOptions {
			o := DefaultGenerateOptions()
			o.Teacher, o.Timeout = "https://user:pw@host/v1?api_key=sk-1", 90*time.Second
			return o
		}(), DefaultGenerateOptions(), "distill generate --teacher https://host/v1 --timeout 1m30s"},
		{"a mixture and rewards", "rl", func() RLOptions {
			o := DefaultRLOptions()
			o.Rewards = map[string]float64{"format": 0.2, "accuracy": 1}
			o.Decontaminate = []string{"a b.jsonl", "c.jsonl"}
			return o
		}(), DefaultRLOptions(), "distill rl --reward accuracy=1 --reward format=0.2 --decontaminate 'a b.jsonl' --decontaminate c.jsonl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args, conf := commandArgs(tc.opts, tc.defaults)
			if got := shellLine(append([]string{"distill", tc.cmd}, args...)); got != tc.want || conf != nil {
				t.Errorf("%s (config %v), want %s", got, conf, tc.want)
			}
		})
	}
}

// The --template flags whose usage lists the chat templates list them all.
func TestTemplateUsageNamesEveryTemplate(t *testing.T) {
	checked := 0
	for _, c := range commands {
		if c.Name != "corpus" && c.Name != "train" {
			continue
		}
		for _, f := range c.Flags {
			if f.Names()[0] != "template" {
				continue
			}
			checked++
			usage := f.(cli.DocGenerationFlag).GetUsage()
			for _, name := range tokenizer.TemplateNames() {
				if !strings.Contains(usage, name) {
					t.Errorf("distill %s --template: usage %q does not name %s", c.Name, usage, name)
				}
			}
		}
	}
	if checked != 2 {
		t.Errorf("checked %d --template flags, want corpus's and train's", checked)
	}
}
