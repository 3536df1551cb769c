package runner

import "syscall"

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER of prctl(2).
const prSetChildSubreaper = 36

// becomeSubreaper makes orphaned descendants of the agent its children
// rather than init's, so clearGroup can reap them: PID 1 of a container is
// often not an init that reaps, and an unreaped zombie keeps its process
// group alive. It is process-wide and lasts for the life of the agent.
func becomeSubreaper() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return errno
	}
	return nil
}
