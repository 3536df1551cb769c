package runner

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// lookupCredential returns the uid, gid and supplementary groups plugins run
// with when the agent is root. Root itself is refused.
func lookupCredential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: gid %q: %w", name, u.Gid, err)
	}
	if uid == 0 || gid == 0 {
		return nil, fmt.Errorf("user %q is root or in group 0; plugins must run unprivileged", name)
	}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("groups of user %q: %w", name, err)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	for _, g := range gids {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("user %q: group %q: %w", name, g, err)
		}
		if n == 0 {
			// A plugin user in the root group could read what root's group may.
			return nil, fmt.Errorf("user %q is in group 0; plugins must run unprivileged", name)
		}
		cred.Groups = append(cred.Groups, uint32(n))
	}
	return cred, nil
}
