package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/prophasis/prophasis/agent/runner"
)

// dropPrivileges makes a root agent the unprivileged user name, for good:
// it gives the data directory (and everything in it) to that user, then sets
// the supplementary groups, the group and the user of every thread. The
// caller has bound its ports already (the mesh's, the status page's), so
// low ports still work. An agent that is not root keeps its identity.
//
// After it, the agent can read what the user's groups may read (adm or
// systemd-journal for the mesh's error lines) and nothing else of root's;
// plugins run as the same user.
func dropPrivileges(name, dataDir string, logger *slog.Logger) error {
	if os.Geteuid() != 0 {
		return nil
	}
	cred, err := runner.LookupCredential(name)
	if err != nil {
		return fmt.Errorf("--user: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	if err := chownTree(dataDir, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("give the data directory to user %q: %w", name, err)
	}
	if err := setIDs(cred); err != nil {
		return fmt.Errorf("become user %q: %w", name, err)
	}
	// The data directory must still be usable: a parent directory that
	// only root may enter would make every spool write fail later.
	probe := filepath.Join(dataDir, ".write-test")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return fmt.Errorf("user %q cannot write the data directory (is a parent directory closed to it?): %w", name, err)
	}
	_ = os.Remove(probe)
	logger.Info("dropped privileges", "user", name, "uid", cred.Uid, "gid", cred.Gid, "groups", cred.Groups)
	return nil
}

// setIDs sets the supplementary groups, the group and the user of the whole
// process (Go applies each to every thread) and checks that root cannot be
// regained.
func setIDs(cred *syscall.Credential) error {
	groups := make([]int, len(cred.Groups))
	for i, g := range cred.Groups {
		groups[i] = int(g)
	}
	if !slices.Contains(groups, int(cred.Gid)) {
		groups = append(groups, int(cred.Gid))
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(int(cred.Gid)); err != nil {
		return fmt.Errorf("setgid: %w", err)
	}
	if err := syscall.Setuid(int(cred.Uid)); err != nil {
		return fmt.Errorf("setuid: %w", err)
	}
	if syscall.Setuid(0) == nil || os.Geteuid() == 0 || os.Getegid() == 0 {
		return errors.New("still able to become root after dropping privileges")
	}
	return nil
}

// chownTree gives dir and everything under it to uid:gid, without
// following symbolic links.
func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}
