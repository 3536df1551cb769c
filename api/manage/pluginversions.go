package manage

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/plugins"
	"github.com/prophasis/prophasis/store"
)

// Registry is the plugin registry (plugins.Registry). It must be safe for
// concurrent use.
type Registry interface {
	// UploadVersion checks and publishes a package and says whether the
	// version is new; refusals for its content wrap plugins.ErrBadPackage,
	// a version that exists with other content store.ErrConflict.
	UploadVersion(ctx context.Context, body []byte, signature, by string) (store.PluginVersion, bool, error)
	// Versions lists a plugin's versions with the hosts that run each.
	Versions(ctx context.Context, plugin string) ([]plugins.VersionHosts, error)
	// Rollback makes version current ("" for the highest below the
	// current one).
	Rollback(ctx context.Context, plugin, version string) (store.Plugin, error)
	// DeleteVersion deletes a version neither current nor pinned.
	DeleteVersion(ctx context.Context, plugin, version string) error
}

// SignatureHeader carries a package's detached signature (package
// plugins/sign's text form) with POST /plugin-packages.
const SignatureHeader = "X-Prophasis-Signature"

// registerPluginVersions mounts the registry's routes.
func registerPluginVersions(g *gin.RouterGroup, h *handlers, read, write gin.HandlerFunc) {
	g.POST("/plugin-packages", write, h.uploadPackage)
	g.GET("/plugins/:name/versions", read, h.pluginVersions)
	g.GET("/plugins/:name/versions/:version", read, h.pluginVersion)
	g.DELETE("/plugins/:name/versions/:version", write, h.deletePluginVersion)
	g.POST("/plugins/:name/rollback", write, h.rollbackPlugin)
}

// noRegistry answers 503 when the server has no registry.
func (h *handlers) noRegistry(c *gin.Context) bool {
	if h.registry == nil {
		envelope.FailWith(c, envelope.ErrUnavailable, errors.New("this server has no plugin registry"))
		return true
	}
	return false
}

// uploadPackage publishes a plugin package: POST /plugin-packages with the
// .tar.gz as the body (application/gzip, at most plugins.MaxPackageBytes)
// and, optionally, its signature in X-Prophasis-Signature. 201 with the
// version when it is new, 200 when the same package was already there.
func (h *handlers) uploadPackage(c *gin.Context) {
	if h.noRegistry(c) {
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
	body, err := readBody(c, plugins.MaxPackageBytes)
	if err != nil {
		h.fail(c, err)
		return
	}
	by := ""
	if p, ok := auth.PrincipalOf(c); ok {
		by = p.Name
	}
	v, created, err := h.registry.UploadVersion(c.Request.Context(), body, c.GetHeader(SignatureHeader), by)
	switch {
	case errors.Is(err, plugins.ErrBadPackage):
		envelope.FailWith(c, envelope.ErrBadData, err)
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	h.logger.Info("plugin version uploaded", "plugin", v.Plugin, "version", v.Version, "sha256", v.SHA256,
		"signer", v.Signer, "by", who(c))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, envelope.Response{Status: "success", Data: v})
}

// pluginVersions lists a plugin's versions, newest upload first, each with
// the hosts that run it.
func (h *handlers) pluginVersions(c *gin.Context) {
	if h.noRegistry(c) {
		return
	}
	vs, err := h.registry.Versions(c.Request.Context(), c.Param("name"))
	if err != nil {
		h.fail(c, err)
		return
	}
	envelope.OK(c, vs)
}

// pluginVersion returns one version, manifest included.
func (h *handlers) pluginVersion(c *gin.Context) {
	v, err := h.st.PluginVersion(c.Request.Context(), c.Param("name"), c.Param("version"))
	if err != nil {
		h.fail(c, err)
		return
	}
	envelope.OK(c, v)
}

// deletePluginVersion deletes a version neither current nor pinned.
func (h *handlers) deletePluginVersion(c *gin.Context) {
	if h.noRegistry(c) {
		return
	}
	name, version := c.Param("name"), c.Param("version")
	if err := h.registry.DeleteVersion(c.Request.Context(), name, version); err != nil {
		h.fail(c, err)
		return
	}
	h.logger.Info("plugin version deleted", "plugin", name, "version", version, "by", who(c))
	envelope.OK(c, gin.H{"deleted": name + " " + version})
}

// rollbackRequest is the body of POST /plugins/{name}/rollback.
type rollbackRequest struct {
	// Version to make current; "" (or no body) means the highest version
	// below the current one.
	Version string `json:"version"`
}

// rollbackPlugin makes another stored version the plugin's current one.
func (h *handlers) rollbackPlugin(c *gin.Context) {
	if h.noRegistry(c) {
		return
	}
	var req rollbackRequest
	if c.Request.ContentLength != 0 {
		if err := decodeJSON(c, &req); err != nil {
			var e *envelope.Error
			// An empty body is the same as {}: roll back one version.
			if !errors.As(err, &e) || e.Err.Error() != "the request body is empty; send a JSON object" {
				h.fail(c, err)
				return
			}
		}
	}
	name := c.Param("name")
	p, err := h.registry.Rollback(c.Request.Context(), name, req.Version)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.logger.Info("plugin version set", "plugin", name, "version", p.Version, "by", who(c))
	envelope.OK(c, p)
}
