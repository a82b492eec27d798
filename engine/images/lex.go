package images

import (
	"errors"
	"strings"
	"unicode"
)

// expand processes the argument of a Dockerfile instruction the way the
// Dockerfile shell lexer does for ENV, LABEL, EXPOSE, USER, WORKDIR,
// VOLUME and STOPSIGNAL: quotes, backslash escapes and $VAR, ${VAR},
// ${VAR:-default} and ${VAR:+alternative} from env. With split, unquoted
// whitespace separates words; without, the result is one word.
func expand(s string, env map[string]string, split bool) ([]string, error) {
	l := &lexer{src: []rune(s), env: env}
	var words []string
	var cur strings.Builder
	inWord := false
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case split && unicode.IsSpace(c):
			l.pos++
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			continue
		case c == '\'':
			l.pos++
			end := indexRune(l.src[l.pos:], '\'')
			if end < 0 {
				return nil, errors.New("unexpected end of statement while looking for matching single-quote")
			}
			cur.WriteString(string(l.src[l.pos : l.pos+end]))
			l.pos += end + 1
		case c == '"':
			l.pos++
			if err := l.doubleQuoted(&cur); err != nil {
				return nil, err
			}
		case c == '\\':
			l.pos++
			if l.pos < len(l.src) {
				cur.WriteRune(l.src[l.pos])
				l.pos++
			}
		case c == '$':
			l.pos++
			v, err := l.variable()
			if err != nil {
				return nil, err
			}
			cur.WriteString(v)
		default:
			cur.WriteRune(c)
			l.pos++
		}
		inWord = true
	}
	if inWord || !split {
		words = append(words, cur.String())
	}
	return words, nil
}

type lexer struct {
	src []rune
	pos int
	env map[string]string
}

func indexRune(rs []rune, r rune) int {
	for i, c := range rs {
		if c == r {
			return i
		}
	}
	return -1
}

// doubleQuoted reads up to the closing quote, expanding variables; a
// backslash escapes only ", \ and $, as in the shell.
func (l *lexer) doubleQuoted(out *strings.Builder) error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		l.pos++
		switch c {
		case '"':
			return nil
		case '\\':
			if l.pos < len(l.src) && strings.ContainsRune(`"\$`, l.src[l.pos]) {
				out.WriteRune(l.src[l.pos])
				l.pos++
			} else {
				out.WriteRune(c)
			}
		case '$':
			v, err := l.variable()
			if err != nil {
				return err
			}
			out.WriteString(v)
		default:
			out.WriteRune(c)
		}
	}
	return errors.New("unexpected end of statement while looking for matching double-quote")
}

// variable reads a variable reference after its '$' and returns its value.
func (l *lexer) variable() (string, error) {
	if l.pos >= len(l.src) {
		return "$", nil
	}
	if l.src[l.pos] != '{' {
		start := l.pos
		for l.pos < len(l.src) && isNameRune(l.src[l.pos]) {
			l.pos++
		}
		if start == l.pos {
			return "$", nil
		}
		return l.env[string(l.src[start:l.pos])], nil
	}
	l.pos++
	start := l.pos
	for l.pos < len(l.src) && isNameRune(l.src[l.pos]) {
		l.pos++
	}
	name := string(l.src[start:l.pos])
	if l.pos >= len(l.src) {
		return "", errors.New("missing '}' in variable substitution")
	}
	if l.src[l.pos] == '}' {
		l.pos++
		return l.env[name], nil
	}
	if l.src[l.pos] != ':' || l.pos+1 >= len(l.src) || (l.src[l.pos+1] != '-' && l.src[l.pos+1] != '+') {
		return "", errors.New("unsupported modifier in variable substitution ${" + name + "…}")
	}
	op := l.src[l.pos+1]
	l.pos += 2
	var word strings.Builder
	for l.pos < len(l.src) && l.src[l.pos] != '}' {
		c := l.src[l.pos]
		l.pos++
		if c == '$' {
			v, err := l.variable()
			if err != nil {
				return "", err
			}
			word.WriteString(v)
			continue
		}
		word.WriteRune(c)
	}
	if l.pos >= len(l.src) {
		return "", errors.New("missing '}' in variable substitution")
	}
	l.pos++
	v, set := l.env[name]
	if op == '-' {
		if !set || v == "" {
			return word.String(), nil
		}
		return v, nil
	}
	if set && v != "" {
		return word.String(), nil
	}
	return "", nil
}

func isNameRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}
