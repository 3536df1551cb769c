package manage

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/store"
)

// ModuleTester sends a test notification through a configured alert
// module (rules/notify). It must be safe for concurrent use, and its error
// must say what went wrong without quoting secrets.
type ModuleTester interface {
	TestModule(ctx context.Context, name string) error
}

// errNoTester answers POST /alert-modules/{name}/test when the server has no
// notifier.
var errNoTester = envelope.Errorf(envelope.ErrUnavailable, errors.New("the alert modules are not running on this server"))

// registerAlertModules mounts /alert-modules: the five routes of an entity,
// every answer redacted (store.AlertModule.Redacted: secrets read
// "<secret>", and sending that back keeps the stored secret), and POST
// /alert-modules/{name}/test.
func registerAlertModules(g *gin.RouterGroup, h *handlers, read, write gin.HandlerFunc) {
	st := h.st
	redact := func(m store.AlertModule, err error) (store.AlertModule, error) { return m.Redacted(), err }
	resource[store.AlertModule]{
		path: "alert-modules", kind: "alert module",
		list: func(ctx context.Context) ([]store.AlertModule, error) {
			ms, err := st.AlertModules(ctx)
			for i := range ms {
				ms[i] = ms[i].Redacted()
			}
			return ms, err
		},
		get: func(ctx context.Context, name string) (store.AlertModule, error) {
			return redact(st.AlertModule(ctx, name))
		},
		create: func(ctx context.Context, m store.AlertModule) (store.AlertModule, error) {
			return redact(st.CreateAlertModule(ctx, m))
		},
		update: func(ctx context.Context, name string, m store.AlertModule) (store.AlertModule, error) {
			return redact(st.UpdateAlertModule(ctx, name, m))
		},
		delete: st.DeleteAlertModule,
	}.register(g, h, read, write)
	g.POST("/alert-modules/:name/test", write, h.testModule)
}

// testModule serves POST /alert-modules/{name}/test: a test notification
// through the module. A module that fails answers 502 with its error, with
// any of the module's secrets that slipped into it replaced by
// store.SecretPlaceholder.
func (h *handlers) testModule(c *gin.Context) {
	if h.tester == nil {
		h.fail(c, errNoTester)
		return
	}
	name := c.Param("name")
	m, err := h.st.AlertModule(c.Request.Context(), name)
	if err != nil {
		h.fail(c, err)
		return
	}
	if err := h.tester.TestModule(c.Request.Context(), name); err != nil {
		msg := scrubSecrets(m, err.Error())
		h.logger.Info("alert module test failed", "module", name, "by", who(c), "err", msg)
		c.AbortWithStatusJSON(http.StatusBadGateway, envelope.Response{Status: "error", ErrorType: envelope.ErrExec,
			Error: "alert module " + name + ": " + msg})
		return
	}
	h.logger.Info("alert module tested", "module", name, "by", who(c))
	envelope.OK(c, gin.H{"module": name, "sent": true})
}

// scrubSecrets replaces in msg every secret of m's Config (store.SecretKeys:
// strings, or objects of strings) by store.SecretPlaceholder.
func scrubSecrets(m store.AlertModule, msg string) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(m.Config, &obj) != nil {
		return msg
	}
	var secrets []string
	for _, k := range store.SecretKeys[m.Kind] {
		var s string
		if json.Unmarshal(obj[k], &s) == nil {
			secrets = append(secrets, s)
			continue
		}
		var inner map[string]string
		if json.Unmarshal(obj[k], &inner) == nil {
			for _, v := range inner {
				secrets = append(secrets, v)
			}
		}
	}
	for _, s := range secrets {
		// Very short values would blank out ordinary words; a secret
		// that short is no secret anyway.
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, store.SecretPlaceholder)
		}
	}
	return msg
}
