package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/vucelink/vucelink/config"
)

// cmdHealthcheck asks a running node's admin listener whether it is alive
// (/healthz) or ready (/readyz, --ready): the container image's
// HEALTHCHECK, which has no curl. Exit status 0 means healthy.
func cmdHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	file := fs.String("config", "config.yaml", "configuration file (for listen.admin)")
	url := fs.String("url", "", "URL to ask instead (default http://<listen.admin>/healthz)")
	ready := fs.Bool("ready", false, "ask /readyz (the store takes writes, keys loaded) instead of /healthz")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after")
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	target := *url
	if target == "" {
		cfg, err := config.Load(*file)
		if err != nil {
			return err
		}
		host, port, err := net.SplitHostPort(cfg.Listen.Admin)
		if err != nil {
			return fmt.Errorf("listen.admin: %w", err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		scheme := "http"
		if cfg.TLS.Admin.Enabled() {
			scheme = "https"
		}
		path := "/healthz"
		if *ready {
			path = "/readyz"
		}
		target = scheme + "://" + net.JoinHostPort(host, port) + path
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	// The node's own listener, asked from inside its container: its
	// certificate is not what this check is about.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered %s", target, resp.Status)
	}
	fmt.Fprintf(stdout, "healthy: %s\n", target)
	return nil
}
