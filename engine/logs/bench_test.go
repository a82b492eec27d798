package logs

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func BenchmarkWrite(b *testing.B) {
	f, err := OpenJSONFile(filepath.Join(b.TempDir(), "log"), JSONFileOptions{MaxSize: 10 << 20, MaxFiles: 3})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	m := &Message{Stream: "stdout", Line: []byte("a typical log line of some eighty characters, give or take a few.\n")}
	for b.Loop() {
		m.Time = time.Now()
		if err := f.Write(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadAll(b *testing.B) {
	path := filepath.Join(b.TempDir(), "log")
	f, err := OpenJSONFile(path, JSONFileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	m := &Message{Stream: "stdout", Line: []byte("a typical log line of some eighty characters, give or take a few.\n")}
	for range 10000 {
		f.Write(m)
	}
	f.Close()
	for b.Loop() {
		ch, err := Read(context.Background(), path, JSONFileOptions{}, ReadOptions{Tail: -1})
		if err != nil {
			b.Fatal(err)
		}
		for range ch {
		}
	}
}
