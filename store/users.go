package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// User is a person who uses the web UI or owns API tokens.
type User struct {
	Meta `yaml:",inline"`
	Name string `json:"name"`
	Role Role   `json:"role"`
	// HasPassword says whether the user can log in with a password (the
	// bootstrap admin has none until one is set).
	HasPassword bool `json:"has_password"`
}

// UserSpec is what creates or changes a user. The password is never stored
// or returned, only its bcrypt hash.
type UserSpec struct {
	// Name; on update "" keeps the name, another renames the user.
	Name string `json:"name"`
	// Role is admin or viewer; on update "" keeps the role.
	Role Role `json:"role"`
	// Password, when not empty, sets the password: 8 to 72 bytes (bcrypt
	// reads no further than 72).
	Password string `json:"password,omitempty"`
}

// UserStore keeps users. The last admin can be neither deleted nor demoted,
// so the installation always has someone who can change it.
type UserStore interface {
	// Users returns every user, sorted by name.
	Users(ctx context.Context) ([]User, error)
	// User returns one user, or an error wrapping ErrNotFound.
	User(ctx context.Context, name string) (User, error)
	// CreateUser adds a user.
	CreateUser(ctx context.Context, u UserSpec) (User, error)
	// UpdateUser changes the role, name or password of a user.
	UpdateUser(ctx context.Context, name string, u UserSpec) (User, error)
	// DeleteUser deletes a user and the API tokens the user owns.
	DeleteUser(ctx context.Context, name string) error
	// CheckPassword returns the principal of a user whose password matches;
	// anything else is an error wrapping ErrUnauthenticated.
	CheckPassword(ctx context.Context, name, password string) (Principal, error)
}

// Password limits; bcrypt ignores bytes past 72, so longer is refused rather
// than silently truncated.
const (
	minPassword = 8
	maxPassword = 72
)

// bcryptCost is bcrypt's default (10): about 50 ms per check on a server
// core, slow for a guesser, fast enough for a login.
const bcryptCost = bcrypt.DefaultCost

// dummyHash is compared against when a user does not exist, so a login for
// an unknown name takes as long as one with a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("prophasis-no-such-user"), bcryptCost)

func (u *UserSpec) validate(create bool) error {
	if create || u.Name != "" {
		if err := validName("user", u.Name); err != nil {
			return err
		}
	}
	if create || u.Role != "" {
		if u.Role != RoleAdmin && u.Role != RoleViewer {
			return invalidf("user %q: role must be admin or viewer, not %q", u.Name, u.Role)
		}
	}
	if u.Password != "" && (len(u.Password) < minPassword || len(u.Password) > maxPassword) {
		return invalidf("user %q: password must be %d to %d bytes long", u.Name, minPassword, maxPassword)
	}
	return nil
}

func loadUsers(ctx context.Context, q querier, name string) ([]User, error) {
	where, args := whereName("name", name)
	var out []User
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var u User
		var id, created, updated int64
		var hash sql.NullString
		if err := rows.Scan(&id, &u.Name, &u.Role, &hash, &created, &updated); err != nil {
			return err
		}
		u.set(id, created, updated)
		u.HasPassword = hash.Valid && hash.String != ""
		out = append(out, u)
		return nil
	}, `SELECT id, name, role, password_hash, created_at, updated_at FROM users`+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("load users: %w", err)
	}
	return out, nil
}

func hashPassword(pw string) (sql.NullString, error) {
	if pw == "" {
		return sql.NullString{}, nil
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
	if err != nil {
		return sql.NullString{}, fmt.Errorf("hash password: %w", err)
	}
	return sql.NullString{String: string(h), Valid: true}, nil
}

func userByName(ctx context.Context, q querier, name string) (User, error) {
	us, err := loadUsers(ctx, q, name)
	if err != nil {
		return User{}, err
	}
	if len(us) == 0 {
		return User{}, notFoundf("user %q not found", name)
	}
	return us[0], nil
}

// Users implements UserStore.
func (s *sqlStore) Users(ctx context.Context) ([]User, error) {
	var out []User
	err := s.read(ctx, func(q querier) error {
		var err error
		out, err = loadUsers(ctx, q, "")
		return err
	})
	if out == nil {
		out = []User{}
	}
	return out, err
}

// User implements UserStore.
func (s *sqlStore) User(ctx context.Context, name string) (User, error) {
	var out User
	err := s.read(ctx, func(q querier) error {
		var err error
		out, err = userByName(ctx, q, name)
		return err
	})
	return out, err
}

// CreateUser implements UserStore.
func (s *sqlStore) CreateUser(ctx context.Context, u UserSpec) (User, error) {
	if err := u.validate(true); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(u.Password) // outside the transaction: bcrypt is slow
	if err != nil {
		return User{}, err
	}
	var out User
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := userByName(ctx, tx, u.Name); err == nil {
			return conflictf("user %q already exists", u.Name)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		now := s.nowMillis()
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			u.Name, string(u.Role), hash, now, now); err != nil {
			return fmt.Errorf("create user %q: %w", u.Name, err)
		}
		out, err = userByName(ctx, tx, u.Name)
		return err
	})
	return out, err
}

// UpdateUser implements UserStore.
func (s *sqlStore) UpdateUser(ctx context.Context, name string, u UserSpec) (User, error) {
	if err := u.validate(false); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(u.Password)
	if err != nil {
		return User{}, err
	}
	var out User
	defer s.authCache.invalidate() // a demotion revokes tokens
	err = s.write(ctx, func(tx *sql.Tx) error {
		cur, err := userByName(ctx, tx, name)
		if err != nil {
			return err
		}
		newName, role := cur.Name, cur.Role
		if u.Name != "" && u.Name != cur.Name {
			if _, err := userByName(ctx, tx, u.Name); err == nil {
				return conflictf("cannot rename user %q to %q: %q already exists", name, u.Name, u.Name)
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
			newName = u.Name
		}
		if u.Role != "" {
			role = u.Role
		}
		if cur.Role == RoleAdmin && role != RoleAdmin {
			if err := notLastAdmin(ctx, tx, name); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET name = ?, role = ?, password_hash = COALESCE(?, password_hash), updated_at = ? WHERE id = ?`,
			newName, string(role), hash, s.nowMillis(), cur.ID); err != nil {
			return fmt.Errorf("update user %q: %w", name, err)
		}
		// A demoted user's tokens may not keep more rights than the user.
		if role == RoleViewer {
			if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND role = 'admin' AND revoked_at IS NULL`,
				s.nowMillis(), cur.ID); err != nil {
				return fmt.Errorf("revoke admin tokens of %q: %w", name, err)
			}
		}
		out, err = userByName(ctx, tx, newName)
		return err
	})
	return out, err
}

// DeleteUser implements UserStore.
func (s *sqlStore) DeleteUser(ctx context.Context, name string) error {
	defer s.authCache.invalidate() // the user's tokens go with it
	return s.write(ctx, func(tx *sql.Tx) error {
		cur, err := userByName(ctx, tx, name)
		if err != nil {
			return err
		}
		if cur.Role == RoleAdmin {
			if err := notLastAdmin(ctx, tx, name); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, cur.ID); err != nil {
			return fmt.Errorf("delete user %q: %w", name, err)
		}
		return nil
	})
}

func notLastAdmin(ctx context.Context, tx *sql.Tx, name string) error {
	var admins int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = 'admin'`).Scan(&admins); err != nil {
		return fmt.Errorf("count admins: %w", err)
	}
	if admins <= 1 {
		return conflictf("user %q is the last admin; make another user admin first", name)
	}
	return nil
}

// CheckPassword implements UserStore.
func (s *sqlStore) CheckPassword(ctx context.Context, name, password string) (Principal, error) {
	var id int64
	var role string
	var hash sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT id, role, password_hash FROM users WHERE name = ?`, name).Scan(&id, &role, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Principal{}, fmt.Errorf("check password: %w", err)
	}
	if err != nil || !hash.Valid || len(password) > maxPassword {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return Principal{}, unauthenticatedf("wrong user name or password")
	}
	if bcrypt.CompareHashAndPassword([]byte(hash.String), []byte(password)) != nil {
		return Principal{}, unauthenticatedf("wrong user name or password")
	}
	return Principal{Kind: "user", ID: id, Name: name, Role: Role(role)}, nil
}

// Bootstrap implements Store: on a store without users it creates the user
// admin (no password: the UI login comes later) and an admin API token.
func (s *sqlStore) Bootstrap(ctx context.Context) (string, bool, error) {
	var secret string
	err := s.write(ctx, func(tx *sql.Tx) error {
		var users int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&users); err != nil {
			return fmt.Errorf("count users: %w", err)
		}
		if users > 0 {
			return nil
		}
		now := s.nowMillis()
		var uid int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES ('admin', 'admin', NULL, ?, ?) RETURNING id`,
			now, now).Scan(&uid); err != nil {
			return fmt.Errorf("create admin user: %w", err)
		}
		var err error
		secret, _, err = insertToken(ctx, tx, TokenSpec{Name: "admin", Role: RoleAdmin}, sql.NullInt64{Int64: uid, Valid: true}, now)
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("bootstrap: %w", err)
	}
	return secret, secret != "", nil
}
