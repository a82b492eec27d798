package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// encode returns c's column values in containerColumns order.
func encode(c *Container) ([]any, error) {
	var js [5][]byte
	for i, v := range []any{c.Args, c.Config, c.HostConfig, c.NetworkingConfig, c.State} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode container %s: %w", c.ID, err)
		}
		js[i] = b
	}
	return []any{
		c.ID, c.Name, c.Created.UnixNano(), c.Image, c.ImageID, c.Path,
		string(js[0]), string(js[1]), string(js[2]), string(js[3]), string(js[4]),
		c.RestartCount, c.ManuallyStopped, c.LogPath, c.Driver,
	}, nil
}

type scanner interface{ Scan(dest ...any) error }

func decode(row scanner) (*Container, error) {
	var (
		c       Container
		created int64
		js      [5]string
	)
	if err := row.Scan(&c.ID, &c.Name, &created, &c.Image, &c.ImageID, &c.Path,
		&js[0], &js[1], &js[2], &js[3], &js[4],
		&c.RestartCount, &c.ManuallyStopped, &c.LogPath, &c.Driver); err != nil {
		return nil, err
	}
	c.Created = time.Unix(0, created).UTC()
	for i, v := range []any{&c.Args, &c.Config, &c.HostConfig, &c.NetworkingConfig, &c.State} {
		if err := json.Unmarshal([]byte(js[i]), v); err != nil {
			return nil, fmt.Errorf("decode container %s: %w", c.ID, err)
		}
	}
	return &c, nil
}
