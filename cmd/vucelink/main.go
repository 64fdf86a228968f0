// Command vucelink runs a vucelink node and the tools around it.
//
//	vucelink run     --config FILE                 run a node
//	vucelink check   --config FILE                 validate a configuration and its rule files
//	vucelink demo    [--serve] [--dir DIR]         run the four-country demo network on loopback
//	vucelink pki init --dir DIR [--countries CL,CO,MX,PE]   development PKI
//	vucelink sign    --key FILE --cert FILE [--out FILE] IN.xml
//	vucelink verify  --ca FILE[,FILE...] [--exporters-ca FILE[,FILE...]] [--profile auto|enveloped|aladi-cod] [--exporter-only] [--accept-sha1] IN.xml
//	vucelink map     --rules FILE [--out FILE] [--explain] IN
//	vucelink rules test [--update] DIR              run the example pairs beside the rule files
//	vucelink hash-password [--cost N] < PASSWORD    bcrypt hash for the configuration
//	vucelink token new --name NAME --role ROLE      bearer token for the API, metrics or a route
//	vucelink officials list|add|revoke|publish      this country's repository of authorized officials
//
// This is the only package that reads flags; everything else takes plain
// values.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// errUsage marks errors that are the caller's fault; the exit code is 2.
var errUsage = errors.New("usage")

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "run --config FILE", cmdRun},
		{"check", "check --config FILE", cmdCheck},
		{"backup", "backup --config FILE --out FILE", cmdBackup},
		{"healthcheck", "healthcheck [--config FILE] [--ready] [--url URL]", cmdHealthcheck},
		{"demo", "demo [--serve] [--dir DIR] [-v]", cmdDemo},
		{"demo-sample", "demo-sample [--from CC] [--to CC] [--items N]", cmdDemoSample},
		{"pki", "pki init --dir DIR [--countries CL,CO,MX,PE]", cmdPKI},
		{"sign", "sign --key FILE --cert FILE [--out FILE] IN.xml", cmdSign},
		{"verify", "verify --ca FILE[,FILE...] [--exporters-ca FILE[,FILE...]] [--profile auto|enveloped|aladi-cod] [--exporter-only] [--accept-sha1] IN.xml", cmdVerify},
		{"map", "map --rules FILE [--out FILE] [--explain] IN", cmdMap},
		{"rules", "rules test [--update] DIR", cmdRules},
		{"hash-password", "hash-password [--cost N] < PASSWORD", cmdHashPassword},
		{"token", "token new --name NAME --role viewer|operator|legacy", cmdToken},
		{"officials", "officials list|add|revoke|publish [--registry FILE] ... (vucelink officials help)", cmdOfficials},
		{"verify-paper", "verify-paper --ca FILE[,FILE...] CODE|IMAGE.png|IMAGE.jpg|-", cmdVerifyPaper},
		{"evidence", "evidence export TRACKING-ID --out FILE [--admin URL] | evidence verify FILE --ca FILE[,FILE...]", cmdEvidence},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		return 2
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "vucelink %s: %v\nusage: vucelink %s\n", c.name, strings.TrimPrefix(err.Error(), "usage: "), c.usage)
			return 2
		default:
			fmt.Fprintf(stderr, "vucelink %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "vucelink: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "vucelink connects trade Single Windows: it maps, signs, delivers and verifies documents.")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  vucelink %s\n", c.usage)
	}
}

// parse parses flags that may appear before or after positional arguments
// ("vucelink verify IN.xml --ca ca.pem" works as well as the other order).
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	fs.SetOutput(stderr)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}
