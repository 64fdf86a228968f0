package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// envRef matches ${NAME} and ${NAME:-default}.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv replaces ${VAR} references in every string value of c. It runs
// on the decoded structure, not on the YAML text, so a secret containing
// YAML syntax (": ", "#", quotes) cannot change how the file parses.
func expandEnv(c *Config, lookup func(string) (string, bool)) error {
	var errs []error
	walkStrings(reflect.ValueOf(c).Elem(), "", func(path string, v reflect.Value) {
		s := v.String()
		if !strings.Contains(s, "${") {
			return
		}
		out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if val, ok := lookup(m[1]); ok && val != "" {
				return val
			}
			if m[2] != "" {
				return m[3]
			}
			errs = append(errs, fmt.Errorf("%s: environment variable %s is not set", path, m[1]))
			return ""
		})
		v.SetString(out)
	})
	return errors.Join(errs...)
}

// walkStrings calls f for every settable string reachable from v, with its
// YAML key path (e.g. "partners.MX.outbound_auth.password").
func walkStrings(v reflect.Value, path string, f func(string, reflect.Value)) {
	switch v.Kind() {
	case reflect.String:
		f(path, v)
	case reflect.Pointer:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, f)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			walkStrings(v.Field(i), join(path, tag), f)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i), f)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			// Map values are not addressable: copy, walk, store back.
			cp := reflect.New(v.Type().Elem()).Elem()
			cp.Set(v.MapIndex(k))
			walkStrings(cp, join(path, k.String()), f)
			v.SetMapIndex(k, cp)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
