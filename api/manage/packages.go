package manage

import (
	"context"
	"errors"
	"fmt"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/plugins"
	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/store"
)

// PackageStore keeps plugin packages (plugins.Packages). It must be safe
// for concurrent use.
type PackageStore interface {
	// Put validates a .tar.gz, stores it and makes it the named plugin's
	// package; an invalid archive wraps archive.ErrInvalid and changes
	// nothing.
	Put(ctx context.Context, plugin string, body []byte) (store.Plugin, error)
}

// gzipTypes are the media types accepted for a package upload.
var gzipTypes = map[string]bool{"application/gzip": true, "application/x-gzip": true}

// putPackage uploads a plugin's package: PUT /plugins/{name}/package with a
// .tar.gz body (Content-Type application/gzip, at most archive.MaxBytes).
// The answer is the plugin, whose sha256 names the package.
func (h *handlers) putPackage(c *gin.Context) {
	if h.pkgs == nil {
		envelope.FailWith(c, envelope.ErrUnavailable, errors.New("this server keeps no plugin packages"))
		return
	}
	mt, err := mediaType(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	if !gzipTypes[mt] {
		envelope.FailWith(c, envelope.ErrBadData, fmt.Errorf("a plugin package is a .tar.gz sent as Content-Type application/gzip, not %q", mt))
		return
	}
	body, err := readBody(c, archive.MaxBytes)
	if err != nil {
		h.fail(c, err)
		return
	}
	p, err := h.pkgs.Put(c.Request.Context(), c.Param("name"), body)
	switch {
	case errors.Is(err, archive.ErrInvalid), errors.Is(err, plugins.ErrNoPackageForKind):
		envelope.FailWith(c, envelope.ErrBadData, err)
	case err != nil:
		h.fail(c, err)
	default:
		h.logger.Info("plugin package uploaded", "plugin", p.Name, "sha256", p.SHA256, "bytes", len(body))
		envelope.OK(c, p)
	}
}
