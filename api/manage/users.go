package manage

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/auth"
	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/store"
)

func (h *handlers) listUsers(c *gin.Context) {
	us, err := h.st.Users(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	envelope.OK(c, us)
}

func (h *handlers) getUser(c *gin.Context) {
	u, err := h.st.User(c.Request.Context(), c.Param("name"))
	if err != nil {
		h.fail(c, err)
		return
	}
	envelope.OK(c, u)
}

func (h *handlers) createUser(c *gin.Context) {
	var in store.UserSpec
	if err := decodeJSON(c, &in); err != nil {
		h.fail(c, err)
		return
	}
	u, err := h.st.CreateUser(c.Request.Context(), in)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.logger.Info("created", "kind", "user", "name", u.Name, "role", u.Role, "by", who(c))
	envelope.OK(c, u)
}

func (h *handlers) updateUser(c *gin.Context) {
	var in store.UserSpec
	if err := decodeJSON(c, &in); err != nil {
		h.fail(c, err)
		return
	}
	u, err := h.st.UpdateUser(c.Request.Context(), c.Param("name"), in)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.logger.Info("updated", "kind", "user", "name", c.Param("name"), "new_name", u.Name, "role", u.Role,
		"password_changed", in.Password != "", "by", who(c))
	envelope.OK(c, u)
}

func (h *handlers) deleteUser(c *gin.Context) {
	name := c.Param("name")
	if err := h.st.DeleteUser(c.Request.Context(), name); err != nil {
		h.fail(c, err)
		return
	}
	h.logger.Info("deleted", "kind", "user", "name", name, "by", who(c))
	envelope.OK(c, gin.H{"deleted": name})
}

func (h *handlers) listTokens(c *gin.Context) {
	ts, err := h.st.Tokens(c.Request.Context())
	if err != nil {
		h.fail(c, err)
		return
	}
	envelope.OK(c, ts)
}

func tokenID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, envelope.Errorf(envelope.ErrBadData, fmt.Errorf("token id %q is not a positive integer", c.Param("id")))
	}
	return id, nil
}

func (h *handlers) getToken(c *gin.Context) {
	id, err := tokenID(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	t, err := h.st.Token(c.Request.Context(), id)
	if err != nil {
		h.fail(c, err)
		return
	}
	envelope.OK(c, t)
}

// createdToken is the answer to POST /tokens: the only time the secret is
// shown.
type createdToken struct {
	Token  store.Token `json:"token"`
	Secret string      `json:"secret"`
}

// createToken makes a token. Without an owner, the token belongs to the
// user behind the request (the owner of the calling token).
func (h *handlers) createToken(c *gin.Context) {
	var in store.TokenSpec
	if err := decodeJSON(c, &in); err != nil {
		h.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	if in.Owner == "" {
		owner, err := h.callerUser(c)
		if err != nil {
			h.fail(c, err)
			return
		}
		in.Owner = owner
	}
	t, secret, err := h.st.CreateToken(ctx, in)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.logger.Info("created", "kind", "token", "name", t.Name, "id", t.ID, "role", t.Role, "owner", t.Owner, "by", who(c))
	envelope.OK(c, createdToken{Token: t, Secret: secret})
}

// callerUser returns the name of the user behind the request: the user
// itself, or the owner of the calling token ("" when the token has none).
func (h *handlers) callerUser(c *gin.Context) (string, error) {
	p, ok := auth.PrincipalOf(c)
	if !ok {
		return "", nil
	}
	switch p.Kind {
	case "user":
		return p.Name, nil
	case "token":
		t, err := h.st.Token(c.Request.Context(), p.ID)
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		return t.Owner, err
	}
	return "", nil
}

func (h *handlers) revokeToken(c *gin.Context) {
	id, err := tokenID(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	if err := h.st.RevokeToken(c.Request.Context(), id); err != nil {
		h.fail(c, err)
		return
	}
	h.logger.Info("revoked", "kind", "token", "id", id, "by", who(c))
	envelope.OK(c, gin.H{"revoked": id})
}
