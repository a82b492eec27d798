package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	"github.com/mattn/go-sqlite3"
)

// Volume is the durable record of one volume.
type Volume struct {
	Name    string
	Driver  string
	Created time.Time
	Labels  map[string]string
	Options map[string]string
	// Anonymous volumes were made for a container (-v /path, image VOLUME):
	// `docker rm -v` and a default prune remove them.
	Anonymous bool
}

// Volumes is the volume repository.
type Volumes struct {
	db *sql.DB
}

const volumeColumns = `name, driver, created, labels, options, anonymous`

// Create inserts v; a name in use is errdefs.ErrAlreadyExists.
func (r *Volumes) Create(ctx context.Context, v *Volume) error {
	labels, err := json.Marshal(orEmpty(v.Labels))
	if err != nil {
		return err
	}
	opts, err := json.Marshal(orEmpty(v.Options))
	if err != nil {
		return err
	}
	_, err = r.db.ExecContext(ctx, `INSERT INTO volumes (`+volumeColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		v.Name, v.Driver, v.Created.UnixNano(), string(labels), string(opts), v.Anonymous)
	var se sqlite3.Error
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey {
		return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("volume %s already exists", v.Name))
	}
	return err
}

// Get returns the volume named name, or errdefs.ErrNotFound.
func (r *Volumes) Get(ctx context.Context, name string) (*Volume, error) {
	vs, err := r.query(ctx, `WHERE name = ?`, name)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, errdefs.ErrNotFound.WithMessage("get " + name + ": no such volume")
	}
	return vs[0], nil
}

// List returns every volume by name.
func (r *Volumes) List(ctx context.Context) ([]*Volume, error) {
	return r.query(ctx, `ORDER BY name`)
}

// Delete removes the record of the volume named name.
func (r *Volumes) Delete(ctx context.Context, name string) error {
	res, err := r.db.ExecContext(ctx, `DELETE FROM volumes WHERE name = ?`, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errdefs.ErrNotFound.WithMessage("get " + name + ": no such volume")
	}
	return nil
}

func (r *Volumes) query(ctx context.Context, tail string, args ...any) ([]*Volume, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+volumeColumns+` FROM volumes `+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Volume
	for rows.Next() {
		var (
			v            Volume
			created      int64
			labels, opts string
		)
		if err := rows.Scan(&v.Name, &v.Driver, &created, &labels, &opts, &v.Anonymous); err != nil {
			return nil, err
		}
		v.Created = time.Unix(0, created).UTC()
		if err := json.Unmarshal([]byte(labels), &v.Labels); err != nil {
			return nil, fmt.Errorf("decode volume %s: %w", v.Name, err)
		}
		if err := json.Unmarshal([]byte(opts), &v.Options); err != nil {
			return nil, fmt.Errorf("decode volume %s: %w", v.Name, err)
		}
		out = append(out, &v)
	}
	return out, rows.Err()
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
