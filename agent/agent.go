// Package agent is prophasis-agent: config sync with the server, the schedule
// grid, the one-at-a-time plugin runner, collectors, the durable spool, push,
// and the mesh. It never imports server packages (only wire and the plugin
// format), so the agent binary stays small; e2e's architecture test checks it.
package agent
