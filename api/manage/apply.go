package manage

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/store"
)

// applyResult is the answer to POST /apply: the diff, and the same rendered
// as text, one change per line, for command lines.
type applyResult struct {
	store.Diff
	Text string `json:"text"`
}

// apply serves POST /apply?dry_run=true: the body is a configuration
// document, YAML (application/yaml, the default) or JSON (application/json).
func (h *handlers) apply(c *gin.Context) {
	dryRun := false
	if s := c.Query("dry_run"); s != "" {
		v, err := strconv.ParseBool(s)
		if err != nil {
			h.fail(c, envelope.Errorf(envelope.ErrBadData, fmt.Errorf("dry_run %q must be true or false", s)))
			return
		}
		dryRun = v
	}
	mt, err := mediaType(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	var parse func([]byte) (store.Document, error)
	switch mt {
	case "application/json":
		parse = store.ParseDocumentJSON
	case "", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain":
		parse = store.ParseDocumentYAML
	default:
		h.fail(c, envelope.Errorf(envelope.ErrBadData, fmt.Errorf("unsupported Content-Type %s: send application/yaml or application/json", mt)))
		return
	}
	body, err := readBody(c, maxDocumentBytes)
	if err != nil {
		h.fail(c, err)
		return
	}
	doc, err := parse(body)
	if err != nil {
		h.fail(c, err)
		return
	}
	diff, err := h.st.Apply(c.Request.Context(), doc, dryRun)
	if err != nil {
		h.fail(c, err)
		return
	}
	if !dryRun && !diff.Empty() {
		h.logger.Info("configuration applied", "changes", len(diff.Changes), "by", who(c))
	}
	envelope.OK(c, applyResult{Diff: diff, Text: diff.String()})
}

// export serves GET /export: the configuration as YAML (the default, a file
// for apply), or in the JSON envelope with Accept: application/json or
// ?format=json.
func (h *handlers) export(c *gin.Context) {
	asJSON := false
	switch f := c.Query("format"); f {
	case "json":
		asJSON = true
	case "yaml":
	case "":
		accept := c.GetHeader("Accept")
		asJSON = strings.Contains(accept, "application/json") && !strings.Contains(accept, "yaml")
	default:
		h.fail(c, envelope.Errorf(envelope.ErrBadData, fmt.Errorf("format %q must be yaml or json", f)))
		return
	}
	doc, err := h.st.Export(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	if asJSON {
		envelope.OK(c, doc)
		return
	}
	y, err := doc.YAML()
	if err != nil {
		h.fail(c, errors.Join(errors.New("encode export"), err))
		return
	}
	c.Header("Content-Disposition", `attachment; filename="prophasis.yaml"`)
	c.Data(200, "application/yaml; charset=utf-8", append([]byte(exportHeader), y...))
}

// exportHeader starts every exported file.
const exportHeader = "# Prophasis configuration, written by `prophasis export`.\n" +
	"# Apply with `prophasis apply -f FILE`; see docs/configuration.md.\n"
