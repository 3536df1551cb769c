package manage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/store"
)

// fail writes err in the envelope with the status its kind calls for:
// store.ErrInvalid is bad_data (400), ErrNotFound 404, ErrConflict 409. The
// store's messages say what is wrong and are passed on as they are.
func (h *handlers) fail(c *gin.Context, err error) {
	var typed *envelope.Error
	switch {
	case errors.As(err, &typed):
		envelope.Fail(c, typed)
	case errors.Is(err, store.ErrInvalid):
		envelope.FailWith(c, envelope.ErrBadData, err)
	case errors.Is(err, store.ErrNotFound):
		envelope.FailWith(c, envelope.ErrNotFound, err)
	case errors.Is(err, store.ErrConflict):
		envelope.FailWith(c, envelope.ErrConflict, err)
	case errors.Is(err, store.ErrUnauthenticated):
		envelope.FailWith(c, envelope.ErrAuth, err)
	case errors.Is(err, context.Canceled):
		envelope.FailWith(c, envelope.ErrCanceled, err)
	case errors.Is(err, context.DeadlineExceeded):
		envelope.FailWith(c, envelope.ErrTimeout, err)
	default:
		h.logger.Error("management request failed", "method", c.Request.Method, "path", c.FullPath(), "err", err)
		envelope.FailWith(c, envelope.ErrInternal, fmt.Errorf("internal error: %w", err))
	}
}

// readBody reads the request body, at most limit bytes.
func readBody(c *gin.Context, limit int64) ([]byte, error) {
	if c.Request.Body == nil {
		return nil, envelope.Errorf(envelope.ErrBadData, errors.New("the request has no body"))
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, envelope.Errorf(envelope.ErrTooLarge, fmt.Errorf("the request body is larger than %d bytes", limit))
	}
	if err != nil {
		return nil, envelope.Errorf(envelope.ErrBadData, fmt.Errorf("read body: %w", err))
	}
	return b, nil
}

// mediaType returns the request's Content-Type without parameters ("" when
// absent).
func mediaType(c *gin.Context) (string, error) {
	ct := c.GetHeader("Content-Type")
	if ct == "" {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", envelope.Errorf(envelope.ErrBadData, fmt.Errorf("bad Content-Type %q: %w", ct, err))
	}
	return mt, nil
}

// decodeJSON decodes a JSON body into v strictly: one object, no unknown
// fields, at most maxEntityBytes.
func decodeJSON(c *gin.Context, v any) error {
	mt, err := mediaType(c)
	if err != nil {
		return err
	}
	if mt != "" && mt != "application/json" {
		return envelope.Errorf(envelope.ErrBadData, fmt.Errorf("send the body as application/json, not %s", mt))
	}
	b, err := readBody(c, maxEntityBytes)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return envelope.Errorf(envelope.ErrBadData, errors.New("the request body is empty; send a JSON object"))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return envelope.Errorf(envelope.ErrBadData, fmt.Errorf("invalid JSON body: %w", err))
	}
	if dec.More() {
		return envelope.Errorf(envelope.ErrBadData, errors.New("invalid JSON body: unexpected data after the object"))
	}
	return nil
}

// who names the principal of a request, for the audit log.
func who(c *gin.Context) string {
	p, ok := auth.PrincipalOf(c)
	if !ok {
		return "unknown"
	}
	return p.Kind + ":" + p.Name
}

// entityName returns the Name field every entity type has, for logs.
func entityName(v any) string {
	f := reflect.Indirect(reflect.ValueOf(v)).FieldByName("Name")
	if !f.IsValid() || f.Kind() != reflect.String {
		return ""
	}
	return f.String()
}

// resource serves the five REST routes of one kind of entity.
type resource[T any] struct {
	path, kind string
	list       func(ctx context.Context) ([]T, error)
	get        func(ctx context.Context, name string) (T, error)
	create     func(ctx context.Context, v T) (T, error)
	update     func(ctx context.Context, name string, v T) (T, error)
	delete     func(ctx context.Context, name string) error
}

func (r resource[T]) register(g *gin.RouterGroup, h *handlers, read, write gin.HandlerFunc) {
	base := "/" + r.path
	g.GET(base, read, func(c *gin.Context) {
		v, err := r.list(c.Request.Context())
		if err != nil {
			h.fail(c, err)
			return
		}
		envelope.OK(c, v)
	})
	g.GET(base+"/:name", read, func(c *gin.Context) {
		v, err := r.get(c.Request.Context(), c.Param("name"))
		if err != nil {
			h.fail(c, err)
			return
		}
		envelope.OK(c, v)
	})
	g.POST(base, write, func(c *gin.Context) {
		var in T
		if err := decodeJSON(c, &in); err != nil {
			h.fail(c, err)
			return
		}
		v, err := r.create(c.Request.Context(), in)
		if err != nil {
			h.fail(c, err)
			return
		}
		h.logger.Info("created", "kind", r.kind, "name", entityName(v), "by", who(c))
		envelope.OK(c, v)
	})
	g.PUT(base+"/:name", write, func(c *gin.Context) {
		var in T
		if err := decodeJSON(c, &in); err != nil {
			h.fail(c, err)
			return
		}
		v, err := r.update(c.Request.Context(), c.Param("name"), in)
		if err != nil {
			h.fail(c, err)
			return
		}
		h.logger.Info("updated", "kind", r.kind, "name", c.Param("name"), "new_name", entityName(v), "by", who(c))
		envelope.OK(c, v)
	})
	g.DELETE(base+"/:name", write, func(c *gin.Context) {
		name := c.Param("name")
		if err := r.delete(c.Request.Context(), name); err != nil {
			h.fail(c, err)
			return
		}
		h.logger.Info("deleted", "kind", r.kind, "name", name, "by", who(c))
		envelope.OK(c, gin.H{"deleted": name})
	})
}

// groupHosts serves GET /groups/:name/hosts: every host of the group,
// nested groups included.
func (h *handlers) groupHosts(c *gin.Context) {
	hosts, err := h.st.GroupHosts(c.Request.Context(), c.Param("name"))
	if err != nil {
		h.fail(c, err)
		return
	}
	envelope.OK(c, hosts)
}
