// Command server is Nexus: the map, the API, the live updates, and the
// import, export, token and backup commands over one SQLite file.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		cancel() // the first signal stops gracefully
		<-signals
		fmt.Fprintln(os.Stderr, "server: second signal, exiting at once")
		os.Exit(2)
	}()
	if err := Exec(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}
