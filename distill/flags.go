package distill

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/distill-dev/distill/student/train"
)

// Options are declared once, as fields of a command's options struct: the
// yaml tag is the config key, flag:"NAME[,ALIAS...]" the command-line flag,
// usage its help, arg the word of the help that names its value (shown as
// --NAME ARG) and redact:"url" marks a value whose credentials must not be
// recorded. optionFlags makes a command's flags from its defaults,
// applyFlags sets the flags the user gave (after the config file, so flags
// > config > defaults), and commandArgs writes options back as the flags
// that give them. Fields of nested and inline structs are options too.

// option is one field of an options struct.
type option struct {
	v     reflect.Value
	sf    reflect.StructField
	keys  []string // yaml key path from the struct's top
	names []string // flag and aliases; none: a config key only
}

// options lists the fields of the struct v (and of the structs it holds)
// in declaration order.
func options(v reflect.Value, keys []string, out []option) []option {
	for i := range v.NumField() {
		f, sf := v.Field(i), v.Type().Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || key == "-" || f.Kind() == reflect.Func {
			continue
		}
		if key == "" {
			key = strings.ToLower(sf.Name) // yaml's key for an untagged field
		}
		ks := keys
		if !strings.Contains(sf.Tag.Get("yaml"), ",inline") {
			ks = append(slices.Clone(keys), key)
		}
		names := strings.Split(sf.Tag.Get("flag"), ",")
		if names[0] == "" {
			names = nil
		}
		if f.Kind() == reflect.Struct && names == nil {
			out = options(f, ks, out)
			continue
		}
		out = append(out, option{f, sf, ks, names})
	}
	return out
}

// flagSyntax is the command-line form of a field type that is not a plain
// value: train's --data DIR[:WEIGHT[:MAX_ROWS]].
type flagSyntax struct {
	parse  func(string) (reflect.Value, error)
	format func(reflect.Value) string
}

var flagSyntaxes = map[reflect.Type]flagSyntax{
	reflect.TypeFor[train.Source](): {
		parse: func(s string) (reflect.Value, error) {
			src, err := train.ParseSource(s)
			return reflect.ValueOf(src), err
		},
		format: func(v reflect.Value) string { return v.Interface().(train.Source).String() },
	},
}

// scalar is how a field of one plain type is a flag: the flag showing the
// default def, the value the user gave, and the value as an argument
// (bools: see flagArgs).
type scalar struct {
	flag   func(name string, aliases []string, usage string, def reflect.Value) cli.Flag
	get    func(c *cli.Context, name string) any
	format func(v reflect.Value) string
}

var scalars = map[reflect.Type]scalar{
	reflect.TypeFor[string](): {
		func(n string, a []string, u string, d reflect.Value) cli.Flag {
			return &cli.StringFlag{Name: n, Aliases: a, Usage: u, Value: d.String()}
		},
		func(c *cli.Context, n string) any { return c.String(n) },
		reflect.Value.String,
	},
	reflect.TypeFor[bool](): {
		func(n string, a []string, u string, d reflect.Value) cli.Flag {
			return &cli.BoolFlag{Name: n, Aliases: a, Usage: u, Value: d.Bool()}
		},
		func(c *cli.Context, n string) any { return c.Bool(n) },
		nil,
	},
	reflect.TypeFor[int](): {
		func(n string, a []string, u string, d reflect.Value) cli.Flag {
			return &cli.IntFlag{Name: n, Aliases: a, Usage: u, Value: int(d.Int())}
		},
		func(c *cli.Context, n string) any { return c.Int(n) },
		func(v reflect.Value) string { return strconv.FormatInt(v.Int(), 10) },
	},
	reflect.TypeFor[int64](): {
		func(n string, a []string, u string, d reflect.Value) cli.Flag {
			return &cli.Int64Flag{Name: n, Aliases: a, Usage: u, Value: d.Int()}
		},
		func(c *cli.Context, n string) any { return c.Int64(n) },
		func(v reflect.Value) string { return strconv.FormatInt(v.Int(), 10) },
	},
	reflect.TypeFor[uint64](): {
		func(n string, a []string, u string, d reflect.Value) cli.Flag {
			return &cli.Uint64Flag{Name: n, Aliases: a, Usage: u, Value: d.Uint()}
		},
		func(c *cli.Context, n string) any { return c.Uint64(n) },
		func(v reflect.Value) string { return strconv.FormatUint(v.Uint(), 10) },
	},
	reflect.TypeFor[float64](): {
		func(n string, a []string, u string, d reflect.Value) cli.Flag {
			return &cli.Float64Flag{Name: n, Aliases: a, Usage: u, Value: d.Float()}
		},
		func(c *cli.Context, n string) any { return c.Float64(n) },
		func(v reflect.Value) string { return strconv.FormatFloat(v.Float(), 'g', -1, 64) }, // the shortest that parses back
	},
	reflect.TypeFor[time.Duration](): {
		func(n string, a []string, u string, d reflect.Value) cli.Flag {
			return &cli.DurationFlag{Name: n, Aliases: a, Usage: u, Value: time.Duration(d.Int())}
		},
		func(c *cli.Context, n string) any { return c.Duration(n) },
		func(v reflect.Value) string { return time.Duration(v.Int()).String() },
	},
}

// optionFlags are the flags of the options struct defaults points to,
// each showing its default.
func optionFlags(defaults any) []cli.Flag {
	var flags []cli.Flag
	seen := map[string]bool{}
	for _, o := range options(reflect.ValueOf(defaults).Elem(), nil, nil) {
		if o.names == nil {
			continue
		}
		for _, n := range o.names {
			if seen[n] {
				panic(fmt.Sprintf("flag --%s declared twice (field %s)", n, o.sf.Name))
			}
			seen[n] = true
		}
		flags = append(flags, newFlag(o))
	}
	return flags
}

func newFlag(o option) cli.Flag {
	name, aliases := o.names[0], o.names[1:]
	usage := o.sf.Tag.Get("usage")
	if arg := o.sf.Tag.Get("arg"); arg != "" {
		if !strings.Contains(usage, arg) {
			panic(fmt.Sprintf("flag --%s: its usage does not name its value %s", name, arg))
		}
		usage = strings.Replace(usage, arg, "`"+arg+"`", 1)
	}
	if sc, ok := scalars[o.v.Type()]; ok {
		return sc.flag(name, aliases, usage, o.v)
	}
	if repeatable(o.v.Type()) {
		// No default value: a slice flag's Value would be shared by every
		// run of the app, and set values replace the defaults anyway.
		return &cli.StringSliceFlag{Name: name, Aliases: aliases, Usage: usage}
	}
	panic(fmt.Sprintf("flag --%s: field %s has type %s, which no flag takes", name, o.sf.Name, o.v.Type()))
}

// repeatable tells the field types given by a repeated flag: lists of
// strings or of a flagSyntax type, and NAME=NUMBER maps.
func repeatable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Slice:
		_, ok := flagSyntaxes[t.Elem()]
		return ok || t.Elem().Kind() == reflect.String
	case reflect.Map:
		return t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.Float64
	}
	return false
}

// configFlag is --config, which every command with an options struct
// takes: a YAML file of its options, read before the flags.
func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", Usage: "YAML `FILE` with any of these options (flags override it)"}
}

// configure fills the options struct opts points to, which holds the
// command's defaults, from --config and then from the flags the user gave:
// flags > config file > defaults.
func configure(c *cli.Context, opts any) error {
	if p := c.String("config"); p != "" {
		if err := loadConfig(p, opts); err != nil {
			return err
		}
	}
	return applyFlags(c, opts)
}

// applyFlags sets the fields of the options struct opts points to whose
// flags the user gave.
func applyFlags(c *cli.Context, opts any) error {
	for _, o := range options(reflect.ValueOf(opts).Elem(), nil, nil) {
		if o.names == nil || !c.IsSet(o.names[0]) {
			continue
		}
		name, v := o.names[0], o.v
		switch t := v.Type(); {
		case scalars[t].get != nil:
			v.Set(reflect.ValueOf(scalars[t].get(c, name)))
		case t.Kind() == reflect.Map:
			ws, err := parseWeights(name, c.StringSlice(name))
			if err != nil {
				return err
			}
			v.Set(reflect.ValueOf(ws).Convert(t))
		case t.Elem().Kind() == reflect.String:
			v.Set(reflect.ValueOf(slices.Clone(c.StringSlice(name))).Convert(t))
		default:
			vals := c.StringSlice(name)
			s := reflect.MakeSlice(t, len(vals), len(vals))
			for i, val := range vals {
				e, err := flagSyntaxes[t.Elem()].parse(val)
				if err != nil {
					return err
				}
				s.Index(i).Set(e)
			}
			v.Set(s)
		}
	}
	return nil
}

// parseWeights reads the values of a repeated --NAME KEY=WEIGHT flag (a
// bare KEY weighs 1).
func parseWeights(flag string, vals []string) (map[string]float64, error) {
	ws := map[string]float64{}
	for _, s := range vals {
		key, w, ok := strings.Cut(s, "=")
		weight := 1.0
		if ok {
			var err error
			if weight, err = strconv.ParseFloat(w, 64); err != nil {
				return nil, fmt.Errorf("--%s %q: want NAME=WEIGHT with a number", flag, s)
			}
		}
		ws[key] = weight
	}
	return ws, nil
}

// commandArgs are the flags that turn the options defaults into opts (both
// the same options struct type, not pointers): one for each flagged option
// whose value differs. The differing options no flag can give (config keys
// only, or an empty list) are returned by yaml key path for a --config
// file; relative input paths among them are made absolute, as a config
// file's directory would otherwise anchor them. Values marked redact:"url"
// lose their credentials.
func commandArgs(opts, defaults any) (args []string, conf map[string]any) {
	vs, ds := options(reflect.ValueOf(opts), nil, nil), options(reflect.ValueOf(defaults), nil, nil)
	for i, o := range vs {
		if reflect.DeepEqual(o.v.Interface(), ds[i].v.Interface()) {
			continue
		}
		v := o.v
		if o.sf.Tag.Get("redact") == "url" {
			v = reflect.ValueOf(genRedactURL(v.String()))
		}
		if o.names != nil {
			if a, ok := flagArgs(o.names[0], v); ok {
				args = append(args, a...)
				continue
			}
		}
		if conf == nil {
			conf = map[string]any{}
		}
		setKey(conf, o.keys, absPaths(v, o.sf.Tag.Get("path")))
	}
	return args, conf
}

// flagArgs are the arguments that give flag name the value v; false when
// no flag can (an empty list, whose flag would be absent, an element
// holding the comma that splits a list flag's values, or one its syntax
// would read back otherwise).
func flagArgs(name string, v reflect.Value) ([]string, bool) {
	flag := "--" + name
	if v.Kind() == reflect.Bool { // a bool flag takes a value only after =
		if v.Bool() {
			return []string{flag}, true
		}
		return []string{flag + "=false"}, true
	}
	if sc, ok := scalars[v.Type()]; ok {
		return []string{flag, sc.format(v)}, true
	}
	var vals []string
	switch v.Kind() {
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			vals = append(vals, k.String()+"="+strconv.FormatFloat(v.MapIndex(k).Float(), 'g', -1, 64))
		}
	case reflect.Slice:
		syn, custom := flagSyntaxes[v.Type().Elem()]
		for i := range v.Len() {
			if !custom {
				vals = append(vals, v.Index(i).String())
				continue
			}
			// A value its syntax misreads (a directory named dir:0.5)
			// goes to the config file.
			s := syn.format(v.Index(i))
			if back, err := syn.parse(s); err != nil || !reflect.DeepEqual(back.Interface(), v.Index(i).Interface()) {
				return nil, false
			}
			vals = append(vals, s)
		}
	}
	if len(vals) == 0 {
		return nil, false
	}
	var args []string
	for _, s := range vals {
		if strings.Contains(s, ",") {
			return nil, false
		}
		args = append(args, flag, s)
	}
	return args, true
}

// absPaths is v with its relative input paths (kind: its path tag; the
// path-tagged fields of a list of structs) made absolute, so that a config
// file anywhere reads them as they are meant.
func absPaths(v reflect.Value, kind string) any {
	wd, err := os.Getwd()
	if err != nil {
		return v.Interface()
	}
	switch {
	case kind != "" && v.Kind() == reflect.String:
		return resolvePath(wd, v.String(), kind)
	case kind != "" && v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		out := make([]string, v.Len())
		for i := range out {
			out[i] = resolvePath(wd, v.Index(i).String(), kind)
		}
		return out
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			var ps []pathField
			collectPaths(c.Index(i), &ps)
			for _, p := range ps {
				p.v.SetString(resolvePath(wd, p.v.String(), p.kind))
			}
		}
		return c.Interface()
	}
	return v.Interface()
}

// setKey sets conf[keys[0]][keys[1]]... to v.
func setKey(conf map[string]any, keys []string, v any) {
	for _, k := range keys[:len(keys)-1] {
		sub, ok := conf[k].(map[string]any)
		if !ok {
			sub = map[string]any{}
			conf[k] = sub
		}
		conf = sub
	}
	conf[keys[len(keys)-1]] = v
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellLine joins args into a line a POSIX shell splits back into them.
func shellLine(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = a
		if !shellSafe.MatchString(a) {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
