// Command prophasis is the Prophasis server and its operator CLI.
//
//	prophasis serve [flags]          run the server
//	prophasis apply -f FILE.yaml     apply declarative configuration
//	prophasis export                 print the configuration as YAML
//	prophasis token create HOST      a one-time enrolment token for an agent
//	prophasis states                 current states of checks, hosts and trend rules
//	prophasis classify test ...      what a classifier says over a history or stored results
//	prophasis trend backtest ...     when a trend rule would have changed state
//	prophasis plugin new|lint|test|pack|keygen|sign|push ...   write, check, package and upload plugins
//	prophasis loadgen [flags]        simulate agents for capacity planning
//	prophasis version
//
// main only parses flags, wires and handles signals; the logic lives in the
// packages it calls.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: it parses its own flags from args.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = map[string]command{
	"serve":    {"run the server", runServe},
	"apply":    {"apply a declarative configuration file (hosts, groups, checks, ...)", runApply},
	"export":   {"print the server's configuration as a YAML file for apply", runExport},
	"token":    {"token create HOST: a one-time enrolment token for a host's agent", runToken},
	"states":   {"current states of checks, hosts and trend rules (--host, --state)", runStates},
	"classify": {"classify test --plugin P (--host H | --history FILE): what a classifier says", runClassify},
	"trend":    {"trend backtest (NAME | -f FILE): when a trend rule would have changed state", runTrend},
	"plugin":   {"plugin new|lint|test|pack|keygen|sign|push: write, check, package and upload plugins", runPlugin},
	"loadgen":  {"simulate agents pushing results, for capacity planning", runLoadgen},
	"version":  {"print the version", runVersion},
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	cmd, ok := commands[name]
	if !ok {
		if name != "-h" && name != "--help" && name != "help" {
			fmt.Fprintf(os.Stderr, "prophasis: unknown command %q\n\n", name)
		}
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cmd.run(ctx, os.Args[2:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stderr, "prophasis %s: %v\n", name, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: prophasis COMMAND [flags]\n\ncommands:")
	for _, n := range []string{"serve", "apply", "export", "token", "states", "classify", "trend", "plugin", "loadgen", "version"} {
		fmt.Fprintf(os.Stderr, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nprophasis COMMAND -h shows a command's flags.")
}
