package logs

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"
)

// entry is one line of a json-file log as stored on disk.
type entry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// appendEntry writes one log line to buf exactly as dockerd's json-file
// driver does: fields log, stream, time in that order, empty ones left
// out, the time in RFC 3339 with nanoseconds in UTC, and a newline.
func appendEntry(buf *bytes.Buffer, line []byte, stream string, t time.Time) error {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return errors.New("log time outside of the years 0-9999")
	}
	buf.WriteByte('{')
	if len(line) > 0 {
		buf.WriteString(`"log":`)
		appendString(buf, line)
		buf.WriteByte(',')
	}
	if stream != "" {
		buf.WriteString(`"stream":`)
		appendString(buf, []byte(stream))
		buf.WriteByte(',')
	}
	buf.WriteString(`"time":"`)
	buf.Write(t.AppendFormat(buf.AvailableBuffer(), time.RFC3339Nano))
	buf.WriteString("\"}\n")
	return nil
}

// appendString writes s as a JSON string with the escaping dockerd uses:
// HTML characters and U+2028/U+2029 are escaped, control characters other
// than \n and \r become \u00XX, and invalid UTF-8 becomes U+FFFD.
func appendString(buf *bytes.Buffer, s []byte) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	done := 0 // s[:done] is written
	flush := func(i int) {
		buf.Write(s[done:i])
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			flush(i)
			switch c {
			case '"', '\\':
				buf.WriteByte('\\')
				buf.WriteByte(c)
			case '\n':
				buf.WriteString(`\n`)
			case '\r':
				buf.WriteString(`\r`)
			default:
				buf.WriteString(`\u00`)
				buf.WriteByte(hex[c>>4])
				buf.WriteByte(hex[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			flush(i)
			buf.WriteString(`\ufffd`)
		case r == '\u2028' || r == '\u2029':
			flush(i)
			buf.WriteString(`\u202`)
			buf.WriteByte(hex[r&0xf])
		default:
			i += n
			continue
		}
		i += n
		done = i
	}
	flush(len(s))
	buf.WriteByte('"')
}

// decodeEntry parses one line of a log file; ok is false for a malformed
// line, which readers skip.
func decodeEntry(line []byte) (*Message, bool) {
	var e entry
	if err := json.Unmarshal(line, &e); err != nil || e.Time.IsZero() {
		return nil, false
	}
	return &Message{Stream: e.Stream, Line: []byte(e.Log), Time: e.Time}, true
}
