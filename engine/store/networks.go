package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/containerd/errdefs"
	"github.com/mattn/go-sqlite3"
	"github.com/moby/moby/api/types/network"
)

// Network is the durable record of one network.
type Network struct {
	ID         string
	Name       string
	Driver     string // bridge, host, null
	Created    time.Time
	Internal   bool
	Attachable bool
	Subnet     netip.Prefix // zero for host and none
	Gateway    netip.Addr
	IPRange    netip.Prefix // where addresses are handed out; zero is the whole subnet
	// UserSubnet is set when the user chose the subnet, which is what lets
	// containers ask for a fixed address (--ip), as in dockerd.
	UserSubnet bool
	Bridge     string // the Linux bridge's name
	Labels     map[string]string
	Options    map[string]string
}

// Endpoint is a running container's attachment to a network.
type Endpoint struct {
	ContainerID   string
	ContainerName string // without the leading slash
	Hostname      string
	EndpointID    string
	NetworkID     string
	IfName        string
	NetNS         string // the container's network namespace
	Addr          netip.Addr
	MAC           string
	Aliases       []string
	DNSNames      []string
	// Bypass marks a container whose published ports are bypass4netns'
	// host sockets rather than the port driver's; Ports are then kept
	// here for after a restart of roostd.
	Bypass bool            `json:",omitempty"`
	Ports  network.PortMap `json:",omitempty"`
}

// Networks is the network repository.
type Networks struct {
	db *sql.DB
}

// Networks returns the network repository.
func (s *Store) Networks() *Networks {
	return &Networks{db: s.db}
}

// Create inserts n; a name in use is errdefs.ErrAlreadyExists.
func (r *Networks) Create(ctx context.Context, n *Network) error {
	spec, err := json.Marshal(n)
	if err != nil {
		return err
	}
	_, err = r.db.ExecContext(ctx, `INSERT INTO networks (id, name, spec) VALUES (?, ?, ?)`, n.ID, n.Name, string(spec))
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint {
		return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("network with name %s already exists", n.Name))
	}
	return err
}

// List returns every network.
func (r *Networks) List(ctx context.Context) ([]*Network, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT spec FROM networks ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Network
	for rows.Next() {
		var spec string
		if err := rows.Scan(&spec); err != nil {
			return nil, err
		}
		var n Network
		if err := json.Unmarshal([]byte(spec), &n); err != nil {
			return nil, fmt.Errorf("decode network: %w", err)
		}
		out = append(out, &n)
	}
	return out, rows.Err()
}

// Delete removes the network with id and its endpoints.
func (r *Networks) Delete(ctx context.Context, id string) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM endpoints WHERE network_id = ?`, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM networks WHERE id = ?`, id); err != nil {
		return err
	}
	return tx.Commit()
}

// PutEndpoint records (or replaces) an endpoint.
func (r *Networks) PutEndpoint(ctx context.Context, ep *Endpoint) error {
	spec, err := json.Marshal(ep)
	if err != nil {
		return err
	}
	_, err = r.db.ExecContext(ctx, `INSERT OR REPLACE INTO endpoints (container_id, network_id, spec) VALUES (?, ?, ?)`,
		ep.ContainerID, ep.NetworkID, string(spec))
	return err
}

// DeleteEndpoint forgets an endpoint; a missing one is not an error.
func (r *Networks) DeleteEndpoint(ctx context.Context, containerID, networkID string) error {
	_, err := r.db.ExecContext(ctx, `DELETE FROM endpoints WHERE container_id = ? AND network_id = ?`, containerID, networkID)
	return err
}

// Endpoints returns every recorded endpoint.
func (r *Networks) Endpoints(ctx context.Context) ([]*Endpoint, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT spec FROM endpoints`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Endpoint
	for rows.Next() {
		var spec string
		if err := rows.Scan(&spec); err != nil {
			return nil, err
		}
		var ep Endpoint
		if err := json.Unmarshal([]byte(spec), &ep); err != nil {
			return nil, fmt.Errorf("decode endpoint: %w", err)
		}
		out = append(out, &ep)
	}
	return out, rows.Err()
}
