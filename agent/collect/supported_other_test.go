//go:build !linux

package collect

import (
	"context"
	"errors"
	"testing"
)

func TestNotSupported(t *testing.T) {
	for _, name := range Names() {
		c, _ := Lookup(name)
		if _, err := c.Collect(context.Background()); !errors.Is(err, ErrNotSupported) {
			t.Errorf("%s: %v, want ErrNotSupported", name, err)
		}
	}
}
