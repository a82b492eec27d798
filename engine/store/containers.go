package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/mattn/go-sqlite3"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// Container is the durable record of one container.
type Container struct {
	ID               string // 64 lowercase hex digits
	Name             string // without the leading '/'
	Created          time.Time
	Image            string // as the user gave it
	ImageID          string // sha256:…
	Path             string // the command the container runs…
	Args             []string
	Config           *container.Config
	HostConfig       *container.HostConfig
	NetworkingConfig *network.NetworkingConfig
	State            State
	RestartCount     int
	// ManuallyStopped is dockerd's HasBeenManuallyStopped: the user stopped
	// or killed the container, so `unless-stopped` must not restart it.
	ManuallyStopped bool
	LogPath         string
	Driver          string // the snapshotter
}

// State is the persisted run state of a container (dockerd's
// container.State without its in-memory parts).
type State struct {
	Running    bool
	Paused     bool
	Restarting bool
	OOMKilled  bool
	Dead       bool
	Pid        int
	ExitCode   int
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
	// Health is the health check's state, nil without a health check.
	Health *container.Health `json:",omitempty"`
}

// Containers is the container repository.
type Containers struct {
	db *sql.DB
}

const containerColumns = `id, name, created, image, image_id, path, args, config, host_config,
	networking_config, state, restart_count, manually_stopped, log_path, driver`

// Create inserts c. A name already in use is an errdefs.ErrConflict with
// dockerd's text; an ID already in use is errdefs.ErrAlreadyExists.
func (r *Containers) Create(ctx context.Context, c *Container) error {
	row, err := encode(c)
	if err != nil {
		return err
	}
	_, err = r.db.ExecContext(ctx, `INSERT INTO containers (`+containerColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, row...)
	return r.classify(ctx, c, err)
}

// Update replaces the stored record with the same ID (a rename included).
func (r *Containers) Update(ctx context.Context, c *Container) error {
	row, err := encode(c)
	if err != nil {
		return err
	}
	res, err := r.db.ExecContext(ctx, `UPDATE containers SET name = ?, created = ?, image = ?,
		image_id = ?, path = ?, args = ?, config = ?, host_config = ?, networking_config = ?,
		state = ?, restart_count = ?, manually_stopped = ?, log_path = ?, driver = ?
		WHERE id = ?`, append(row[1:], row[0])...)
	if err := r.classify(ctx, c, err); err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(c.ID)
	}
	return nil
}

// classify turns a constraint violation into the errdefs class and text
// dockerd uses.
func (r *Containers) classify(ctx context.Context, c *Container, err error) error {
	var se sqlite3.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	switch {
	case se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey:
		return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("container %s already exists", c.ID))
	case se.ExtendedCode == sqlite3.ErrConstraintUnique && strings.Contains(se.Error(), "containers.name"):
		var holder string
		if err := r.db.QueryRowContext(ctx, `SELECT id FROM containers WHERE name = ?`, c.Name).Scan(&holder); err != nil {
			return fmt.Errorf("name %q is in use, looking up by whom: %w", c.Name, err)
		}
		return NameConflict(c.Name, holder)
	}
	return err
}

// NameConflict is the error of a container name already in use by the
// container holder (a full ID), in dockerd's words.
func NameConflict(name, holder string) error {
	return errdefs.ErrConflict.WithMessage(fmt.Sprintf(
		"Conflict. The container name %q is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name.",
		"/"+strings.TrimPrefix(name, "/"), holder))
}

// Get finds a container the way dockerd's GetContainer does: by full ID,
// then by exact name (with or without '/'), then by unique ID prefix. An
// ambiguous prefix is errdefs.ErrInvalidArgument, no match
// errdefs.ErrNotFound ("No such container: ref").
func (r *Containers) Get(ctx context.Context, ref string) (*Container, error) {
	if ref == "" {
		return nil, errdefs.ErrInvalidArgument.WithMessage(`invalid name or ID supplied: ""`)
	}
	if c, err := r.getOne(ctx, `WHERE id = ?`, ref); err == nil || !errdefs.IsNotFound(err) {
		return c, err
	}
	if c, err := r.getOne(ctx, `WHERE name = ?`, strings.TrimPrefix(ref, "/")); err == nil || !errdefs.IsNotFound(err) {
		return c, err
	}
	if !IsHexPrefix(ref) {
		return nil, notFound(ref)
	}
	// A range scan on the primary key: every id with this prefix sorts
	// between ref and ref+"g" ('g' follows every hex digit).
	cs, err := r.query(ctx, `WHERE id >= ? AND id < ? ORDER BY id LIMIT 2`, ref, ref+"g")
	switch {
	case err != nil:
		return nil, err
	case len(cs) == 0:
		return nil, notFound(ref)
	case len(cs) > 1:
		return nil, errdefs.ErrInvalidArgument.WithMessage("multiple IDs found with provided prefix: " + ref)
	}
	return cs[0], nil
}

// List returns every container, newest first.
func (r *Containers) List(ctx context.Context) ([]*Container, error) {
	return r.query(ctx, `ORDER BY created DESC`)
}

// Delete removes the container with this full ID.
func (r *Containers) Delete(ctx context.Context, id string) error {
	res, err := r.db.ExecContext(ctx, `DELETE FROM containers WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(id)
	}
	return nil
}

func (r *Containers) getOne(ctx context.Context, where string, args ...any) (*Container, error) {
	cs, err := r.query(ctx, where+` LIMIT 1`, args...)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, errdefs.ErrNotFound
	}
	return cs[0], nil
}

func (r *Containers) query(ctx context.Context, tail string, args ...any) ([]*Container, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+containerColumns+` FROM containers `+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Container
	for rows.Next() {
		c, err := decode(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func notFound(ref string) error {
	return errdefs.ErrNotFound.WithMessage("No such container: " + ref)
}

// IsHexPrefix tells whether s could be the start of a container ID.
func IsHexPrefix(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}
