package runner

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// LookupCredential returns the uid, gid and supplementary groups of an
// unprivileged user: the one plugins run as when the agent is root, and the
// one the agent drops to (agent.Options.DropTo). Root, and any user in
// group 0, is refused.
func LookupCredential(name string) (*syscall.Credential, error) {
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
		return nil, fmt.Errorf("user %q is root or in group 0; it must be unprivileged", name)
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
			// A user in the root group could read what root's group may.
			return nil, fmt.Errorf("user %q is in group 0; it must be unprivileged", name)
		}
		cred.Groups = append(cred.Groups, uint32(n))
	}
	return cred, nil
}
