package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; migrations[i] brings the schema from
// version i to i+1. Never edit an applied migration: append a new one.
var migrations = []string{
	// 1: containers. Config, HostConfig, NetworkingConfig and State are the
	// moby API types (and store.State) as JSON, so new API fields need no
	// migration.
	`CREATE TABLE containers (
		id                TEXT PRIMARY KEY,
		name              TEXT NOT NULL UNIQUE,
		created           INTEGER NOT NULL,
		image             TEXT NOT NULL,
		image_id          TEXT NOT NULL,
		path              TEXT NOT NULL,
		args              TEXT NOT NULL,
		config            TEXT NOT NULL,
		host_config       TEXT NOT NULL,
		networking_config TEXT NOT NULL,
		state             TEXT NOT NULL,
		restart_count     INTEGER NOT NULL DEFAULT 0,
		manually_stopped  INTEGER NOT NULL DEFAULT 0,
		log_path          TEXT NOT NULL,
		driver            TEXT NOT NULL
	);
	CREATE INDEX containers_image_id ON containers(image_id);`,
	// 2: volumes of the local driver. Labels and options are JSON objects.
	`CREATE TABLE volumes (
		name      TEXT PRIMARY KEY,
		driver    TEXT NOT NULL,
		created   INTEGER NOT NULL,
		labels    TEXT NOT NULL,
		options   TEXT NOT NULL,
		anonymous INTEGER NOT NULL DEFAULT 0
	);`,
	// 3: networks (the moby API's network.Inspect minus its live parts, as
	// JSON) and the endpoints of running containers, kept so that DNS and
	// published ports survive a restart of roostd.
	`CREATE TABLE networks (
		id      TEXT PRIMARY KEY,
		name    TEXT NOT NULL UNIQUE,
		spec    TEXT NOT NULL
	);
	CREATE TABLE endpoints (
		container_id TEXT NOT NULL,
		network_id   TEXT NOT NULL REFERENCES networks(id),
		spec         TEXT NOT NULL,
		PRIMARY KEY (container_id, network_id)
	);`,
}

// migrate applies the migrations the database has not seen yet, each in its
// own transaction together with the version bump.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	for {
		done, err := s.migrateOne(ctx)
		if err != nil || done {
			return err
		}
	}
}

func (s *Store) migrateOne(ctx context.Context) (done bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()

	var version int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version)
	switch {
	case err == sql.ErrNoRows:
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return false, err
		}
	case err != nil:
		return false, err
	}
	if version > len(migrations) {
		return false, fmt.Errorf("database schema version %d is newer than this roostd (%d)", version, len(migrations))
	}
	if version == len(migrations) {
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
		return false, fmt.Errorf("migration %d: %w", version+1, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, version+1); err != nil {
		return false, err
	}
	return false, tx.Commit()
}
