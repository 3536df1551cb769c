package runner

import (
	"errors"
	"syscall"
	"time"
)

// groupKillGrace bounds how long clearGroup keeps killing: SIGKILL cannot be
// ignored, so only a process stuck in the kernel (uninterruptible I/O) or a
// zombie whose parent left the group outlasts it.
const groupKillGrace = 5 * time.Second

// killGroup sends SIGKILL to every process of the group.
func killGroup(pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// clearGroup kills and reaps whatever is left of a plugin's process group
// after its main process has ended, until the group is empty (kill returns
// ESRCH) or groupKillGrace has passed. Killing again catches processes forked
// while the previous kill was delivered; reaping removes the zombies that
// were reparented to the agent (see becomeSubreaper), which would otherwise
// keep the group alive.
func (x *Executor) clearGroup(pgid int) {
	deadline := time.Now().Add(groupKillGrace)
	for {
		reapGroup(pgid)
		err := syscall.Kill(-pgid, syscall.SIGKILL)
		switch {
		case errors.Is(err, syscall.ESRCH):
			return
		case err != nil:
			x.logger.Warn("cannot kill a plugin's process group", "pgid", pgid, "err", err)
			return
		case time.Now().After(deadline):
			x.logger.Warn("processes of a plugin survive SIGKILL", "pgid", pgid, "after", groupKillGrace)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// reapGroup reaps every exited child of the agent in the group, without
// waiting. The plugin's main process has been reaped by then, so this takes
// only its orphaned descendants.
func reapGroup(pgid int) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-pgid, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
	}
}
