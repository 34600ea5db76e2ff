package distill

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Configuration: every command's options struct carries yaml tags. A
// command fills it with its defaults, overlays the --config file with
// loadConfig, then overlays the flags the user actually set with
// applyFlags (flags.go), so the precedence is flags > config file >
// defaults.

// loadConfig decodes the YAML file at path into into (a pointer to an
// options struct already holding defaults). Unknown keys are errors, so a
// typo in a recipe fails loudly instead of being ignored. The input paths
// the file gives (fields tagged path:"file" or path:"model") are relative
// to the file's directory, so a recipe runs from any working directory;
// outputs (out) and flags stay relative to the working directory.
func loadConfig(path string, into any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var fields []pathField
	collectPaths(reflect.ValueOf(into).Elem(), &fields)
	before := make([]any, len(fields))
	for i, f := range fields {
		before[i] = f.v.Interface()
		if f.v.Kind() == reflect.Slice {
			c := reflect.MakeSlice(f.v.Type(), f.v.Len(), f.v.Len())
			reflect.Copy(c, f.v)
			before[i] = c.Interface()
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for i, f := range fields {
		switch v := f.v.Interface().(type) {
		case string:
			if v != before[i] {
				f.v.SetString(resolvePath(dir, v, f.kind))
			}
		case []string:
			if !slices.Equal(v, before[i].([]string)) {
				for j := range v {
					v[j] = resolvePath(dir, v[j], f.kind)
				}
			}
		default:
			// A list of structs (train's data sources): their own paths.
			if !reflect.DeepEqual(v, before[i]) {
				for j := range f.v.Len() {
					var elem []pathField
					collectPaths(f.v.Index(j), &elem)
					for _, e := range elem {
						e.v.SetString(resolvePath(dir, e.v.String(), e.kind))
					}
				}
			}
		}
	}
	return nil
}

// pathField is an input path of an options struct: kind "file" (a file or
// directory, or a builtin:/http:/local: spec) or "model" (also a preset
// name or a Hub id); or kind "elems", a list of structs whose elements
// hold such paths.
type pathField struct {
	v    reflect.Value
	kind string
}

func collectPaths(v reflect.Value, out *[]pathField) {
	for i := range v.NumField() {
		f, sf := v.Field(i), v.Type().Field(i)
		switch {
		case !sf.IsExported():
		case f.Kind() == reflect.Struct:
			collectPaths(f, out)
		case sf.Tag.Get("path") != "":
			*out = append(*out, pathField{f, sf.Tag.Get("path")})
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct:
			*out = append(*out, pathField{f, "elems"})
		}
	}
}

var hubID = regexp.MustCompile(`^[A-Za-z0-9][\w.-]*/[\w.-]+$`)

// resolvePath makes a path from a recipe relative to the recipe's
// directory. Specs that are not paths stay as they are: builtin:…, URLs,
// and for models a preset name or a Hub id (ORG/NAME) that names nothing
// beside the recipe.
func resolvePath(dir, p, kind string) string {
	switch {
	case p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "builtin") ||
		strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://"):
		return p
	case strings.HasPrefix(p, "local:"):
		return "local:" + resolvePath(dir, strings.TrimPrefix(p, "local:"), "file")
	}
	joined := filepath.Join(dir, p)
	if kind == "model" {
		if _, err := os.Stat(joined); err != nil && (!strings.ContainsRune(p, '/') || hubID.MatchString(p)) {
			return p
		}
	}
	return joined
}
