package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/node"
)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	file := fs.String("config", "config.yaml", "configuration file")
	grace := fs.Duration("grace", 30*time.Second, "how long to wait for in-flight documents on shutdown")
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	cfg, err := config.Load(*file)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, stderr)
	n, err := node.New(cfg, node.Options{Logger: logger})
	if err != nil {
		return fmt.Errorf("%s:\n%w", *file, err)
	}
	return n.Run(ctx, *grace)
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	file := fs.String("config", "config.yaml", "configuration file")
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	cfg, err := config.Load(*file)
	if err != nil {
		return err
	}
	// Warnings (rules the examples never exercise, open routes, …) are
	// printed: check is where an analyst reads them.
	warnings := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := node.New(cfg, node.Options{Logger: warnings})
	if err != nil {
		return fmt.Errorf("%s:\n%w", *file, err)
	}
	fmt.Fprintf(stdout, "%s: OK — node %s, %d route(s), %d inbound document type(s), %d partner(s)\n",
		*file, cfg.Node.Country, len(cfg.Routes), len(cfg.Legacy.Inbound), len(cfg.Partners))
	fmt.Fprintf(stdout, "effective limits: max_body_bytes=%d max_depth=%d; delivery: timeout=%s retries=%d backoff=%s..%s\n",
		cfg.Limits.MaxBodyBytes, cfg.Limits.MaxDepth, cfg.Delivery.Timeout, cfg.Delivery.Retries, cfg.Delivery.BackoffMin, cfg.Delivery.BackoffMax)
	fmt.Fprintf(stdout, "inside: admin listener %s (%s), %d API client(s)\n", cfg.Listen.Admin, tlsWord(cfg.TLS.Admin.Enabled()), len(cfg.Access.Clients))
	engine, version := n.SigningEngine()
	fmt.Fprintf(stdout, "signing: crypto.engine %s → %s (%s)\n", cfg.Crypto.Engine, engine, version)
	if open := cfg.OpenRoutes(); len(open) > 0 {
		fmt.Fprintf(stdout, "warning: route(s) %s take documents from anyone who reaches %s (%s): set routes[].auth unless that segment is the legacy VUCE's alone\n",
			strings.Join(open, ", "), cfg.Listen.Legacy, tlsWord(cfg.TLS.Legacy.Enabled()))
	}
	return nil
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated at load
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func tlsWord(on bool) string {
	if on {
		return "TLS"
	}
	return "plain HTTP"
}
