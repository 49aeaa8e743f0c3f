package baselines

import (
	"fmt"
	"strings"
)

// Glob reports whether s matches pattern, ignoring ASCII case. "*" matches
// any run of characters (slashes and dots included, so one pattern can
// cover a URL subtree or a domain's subdomains) and "?" exactly one. It does
// not allocate, since rules call it once per object.
func Glob(pattern, s string) bool {
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		if p < len(pattern) {
			switch c := pattern[p]; {
			case c == '*':
				starP, starI = p, i
				p++
				continue
			case c == '?' || lower(c) == lower(s[i]):
				p++
				i++
				continue
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last star swallow one more character and retry.
		starI++
		p, i = starP+1, starI
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// checkGlob validates a pattern: non-empty, no whitespace, and no bracket
// classes (reserved so that a later version can add them without changing
// what existing patterns mean).
func checkGlob(p string) error {
	if p == "" {
		return fmt.Errorf("empty pattern")
	}
	if strings.ContainsAny(p, " \t\r\n") {
		return fmt.Errorf("pattern contains whitespace")
	}
	if strings.ContainsAny(p, "[]{}") {
		return fmt.Errorf("character classes and braces are not supported; use * and ?")
	}
	return nil
}

// AnyGlob reports whether s matches any of the patterns.
func AnyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if Glob(p, s) {
			return true
		}
	}
	return false
}
