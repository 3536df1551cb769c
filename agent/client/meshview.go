package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/prophasis/prophasis/wire"
)

// MeshView reports what this agent's mesh sees of its peers: POST
// /agent/v1/mesh-view. The server uses the views to say whether a host
// whose results stopped is still alive according to its peers.
func (c *Client) MeshView(ctx context.Context, v wire.MeshView) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode mesh view: %w", err)
	}
	r, err := http.NewRequest(http.MethodPost, c.base+"/agent/v1/mesh-view", bytes.NewReader(body))
	if err != nil {
		return err
	}
	r.Header.Set("Content-Type", "application/json")
	_, err = c.do(ctx, r, nil)
	return err
}
