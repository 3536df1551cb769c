// Temporary stand-in for cmd/prophasis while apply/export are unfinished.
// Not committed.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"syscall"

	"github.com/prophasis/prophasis/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "version":
		fmt.Println("prophasis shim")
	case "loadgen":
		err = runLoadgen(ctx, os.Args[2:])
	case "serve":
		opts := server.Defaults()
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		fs.StringVar(&opts.Listen, "listen", opts.Listen, "")
		fs.StringVar(&opts.DataDir, "data-dir", opts.DataDir, "")
		fs.String("log-level", "info", "")
		pprof := fs.String("pprof", "", "")
		fs.Parse(os.Args[2:])
		if *pprof != "" {
			go http.ListenAndServe(*pprof, nil)
		}
		logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		err = server.Run(ctx, opts, logger)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
