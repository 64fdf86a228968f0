package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/vucelink/vucelink/demo"
	"github.com/vucelink/vucelink/demo/legacysim"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	serve := fs.Bool("serve", false, "keep the network running after the demo, for exploration")
	dir := fs.String("dir", "", "directory for the PKI and node configurations (default: a temporary one)")
	verbose := fs.Bool("v", false, "also print the nodes' own logs")
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	o := demo.Options{Dir: *dir, Out: stdout}
	if *verbose {
		o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return demo.Run(ctx, o, *serve)
}

// cmdDemoSample prints a sample certificate in a country's native format,
// for sending by hand to a demo network.
func cmdDemoSample(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo-sample", flag.ContinueOnError)
	from := fs.String("from", "CL", "origin country (its legacy format is used)")
	to := fs.String("to", "MX", "destination country")
	items := fs.Int("items", 3, "line items")
	seq := fs.Int("seq", 100, "sequence number used in the certificate ID")
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	f, err := legacysim.FormatFor(*from)
	if err != nil {
		return usagef("%v", err)
	}
	b, err := f.Encode(legacysim.Sample(*from, *to, *seq, *items))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}
