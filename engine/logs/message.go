// Package logs holds the container log drivers and their readers.
package logs

import "time"

// Message is one log line of a container.
type Message struct {
	Stream string // "stdout" or "stderr"
	Line   []byte // with its trailing newline, if it had one
	Time   time.Time
}
