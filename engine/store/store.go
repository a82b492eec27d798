// Package store keeps the engine's durable state in one SQLite database
// (WAL mode): one small repository per kind of object, lookups by name or
// unique ID prefix, and errors in containerd/errdefs classes.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	// The driver registers itself as "sqlite3"; it needs cgo.
	_ "github.com/mattn/go-sqlite3"
)

// busyTimeoutMillis is how long a writer waits for another writer's lock
// before SQLITE_BUSY. Writes are tiny, so this only matters under a burst of
// parallel `docker run`s.
const busyTimeoutMillis = 5000

// Store is an open database. It is safe for concurrent use.
type Store struct {
	db *sql.DB
}

// Open opens (creating if needed) the database at path and brings its
// schema up to date.
func Open(path string) (*Store, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	// NORMAL is durable across a crash of roostd (the WAL is synced at
	// checkpoints); only a power loss can drop the last transactions.
	q.Set("_synchronous", "NORMAL")
	q.Set("_busy_timeout", fmt.Sprint(busyTimeoutMillis))
	q.Set("_foreign_keys", "1")
	// Take the write lock at BEGIN so that two read-then-write transactions
	// cannot deadlock on the lock upgrade.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	return s.db.Close()
}

// Containers returns the container repository.
func (s *Store) Containers() *Containers {
	return &Containers{db: s.db}
}

// Volumes returns the volume repository.
func (s *Store) Volumes() *Volumes {
	return &Volumes{db: s.db}
}
