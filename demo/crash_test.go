package demo

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vucelink/vucelink/demo/legacysim"
)

// process is a real "vucelink run" process.
type process struct {
	t      testing.TB
	bin    string
	config string
	addr   string // its legacy-side address, to know when it is up
	cmd    *exec.Cmd
	log    *os.File
	// wrap, if set, runs the process under another (strace, to count its
	// fsyncs): wrap's words, then the vucelink command line.
	wrap []string
}

func buildBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vucelink")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/vucelink").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func (p *process) start() {
	p.t.Helper()
	args := []string{p.bin, "run", "--config", p.config, "--grace", "2s"}
	if len(p.wrap) > 0 {
		args = append(append([]string{}, p.wrap...), args...)
	}
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(p.log.Name())
			if len(out) > 4<<10 {
				out = out[len(out)-4<<10:]
			}
			p.t.Fatalf("vucelink did not listen on %s within 20s; its log ends:\n%s", p.addr, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill9 kills the process the way a power cut would: no shutdown at all.
func (p *process) kill9() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

func (p *process) stop() {
	if p.cmd != nil && p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.kill9()
		}
	}
}

// TestCrash_ExactlyOnce sends a burst of 1,000 certificates from CL's
// legacy VUCE to MX through real vucelink processes, kills one node with
// SIGKILL mid-burst and restarts it. Every certificate must reach MX's
// legacy VUCE exactly once with its content intact, and end "received
// correctly" at CL.
func TestCrash_ExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs real processes; skipped in -short mode")
	}
	bin := buildBinary(t)
	for _, victim := range []string{"none", "CL", "MX"} {
		t.Run("kill -9 "+victim, func(t *testing.T) {
			crashRun(t, bin, victim, 1000)
		})
	}
}

func crashRun(t *testing.T, bin, victim string, total int) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	n, err := Start(ctx, Options{Dir: t.TempDir(), Countries: []string{"CL", "MX"}, NoWait: true, External: true})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	procs := map[string]*process{}
	for _, cc := range []string{"CL", "MX"} {
		logf, _ := os.Create(filepath.Join(n.Dir, cc+".log"))
		defer logf.Close()
		procs[cc] = &process{t: t, bin: bin, config: n.Configs[cc], addr: n.Addrs[cc]["legacy"], log: logf}
		procs[cc].start()
		defer procs[cc].stop()
	}

	f, _ := legacysim.FormatFor("CL")
	outURL := n.LegacyOutboundURL("CL")
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}}
	var accepted atomic.Int64
	var killed sync.Once
	killAt := int64(total * 3 / 10)
	if victim == "none" {
		killAt = -1
	}
	mxAtKill := -1

	// The legacy VUCE sends with 8 clients and, like any client whose
	// request failed, tries again until its document is accepted.
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range jobs {
				cert := legacysim.Sample("CL", "MX", seq, 3)
				for {
					status, _, err := legacysim.Send(ctx, client, outURL, f, cert)
					if err == nil && status == http.StatusAccepted {
						break
					}
					if ctx.Err() != nil {
						t.Errorf("certificate %d never accepted: %v", seq, err)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
				if accepted.Add(1) == killAt {
					killed.Do(func() {
						if victim == "MX" {
							mxAtKill = len(n.Legacy["MX"].Received())
						}
						procs[victim].kill9()
						go func() {
							time.Sleep(time.Second)
							procs[victim].start()
						}()
					})
				}
			}
		}()
	}
	for seq := 1; seq <= total; seq++ {
		jobs <- seq
	}
	close(jobs)
	wg.Wait()
	if t.Failed() {
		return
	}

	// Wait for every certificate to reach MX's legacy VUCE and its receipt
	// to be recorded at CL.
	apiURL := n.AdminURL("CL") + "/api/v1/documents?direction=outbound&state=received-correctly&limit=1000"
	var done int
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		done = countDocs(ctx, client, apiURL, n.ViewerToken)
		if done == total && len(n.Legacy["MX"].Received()) >= total {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	got := n.Legacy["MX"].Received()
	t.Logf("victim %s killed after %d accepted (MX legacy had %d); MX legacy accepted %d, refused %d repeats; CL records %d received-correctly",
		victim, killAt, mxAtKill, len(got), len(n.Legacy["MX"].Refused()), done)
	if done != total {
		t.Errorf("%d of %d documents are received-correctly at CL", done, total)
	}
	checkExactlyOnce(t, n.Legacy["MX"], total)
}

func countDocs(ctx context.Context, c *http.Client, url, token string) int {
	n := 0
	for url != "" {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			return n
		}
		var page struct {
			Documents []struct {
				Type string `json:"document_type"`
			} `json:"documents"`
			Next string `json:"next"`
		}
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		for _, d := range page.Documents {
			if d.Type == "sps" {
				n++
			}
		}
		url = ""
		if page.Next != "" {
			url = "http://" + req.URL.Host + page.Next
		}
	}
	return n
}
