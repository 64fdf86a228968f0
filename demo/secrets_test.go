package demo

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/wire"
)

// lockedBuffer collects the nodes' logs from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Every rejection is logged and counted with its reason, and no password —
// neither a wrong guess nor the real one — ever appears in a log line.
func TestRejections_LoggedAndCountedWithoutSecrets(t *testing.T) {
	logs := &lockedBuffer{}
	n := startNetworkWith(t, Options{Countries: []string{"CL", "MX"}, NoWait: true,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	clCfg, err := config.Load(n.Configs["CL"])
	if err != nil {
		t.Fatal(err)
	}
	realPassword := clCfg.Partners["MX"].OutboundAuth.Password
	const guess = "hunter2-never-log-me"

	// A delivery with the real password, and a caller guessing.
	tid := sendNative(t, n, 1)
	waitState(t, n, "CL", tid, lifecycle.ReceivedCorrectly)
	mxCA := mustPool(t, filepath.Join(n.PKI, "MX", "ca.pem"))
	clClient := mustKeyPair(t, filepath.Join(n.PKI, "CL", "client.pem"), filepath.Join(n.PKI, "CL", "client.key"))
	endpoint := "https://" + n.Nodes["MX"].Addr("partners") + wire.DocumentsPath + "sps"
	for range 3 {
		if status, _ := postInbound(t, endpoint, mxCA, inboundCall{cert: &clClient, user: "CL", password: guess, sender: "CL", tracking: "CL-SECRET-1", body: []byte("<x/>")}); status != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", status)
		}
	}

	out := logs.String()
	for _, secret := range []string{guess, realPassword} {
		if strings.Contains(out, secret) {
			t.Errorf("a password appears in the logs")
		}
	}
	if !strings.Contains(out, "auth.credentials") {
		t.Errorf("the rejection is not logged with its reason:\n%s", out)
	}
	resp, err := n.AdminRequest(context.Background(), "MX", "GET", "/metrics", n.ViewerToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(metrics), `vucelink_failures_total{direction="inbound",partner="CL",reason="auth.credentials"} 3`) {
		t.Errorf("the rejections are not counted by reason:\n%s", grepLines(string(metrics), "vucelink_failures_total"))
	}
}

func grepLines(s, part string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, part) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
