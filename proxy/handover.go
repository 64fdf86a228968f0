package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/vucelink/vucelink/wire"
	"github.com/vucelink/vucelink/xmlsafe"
)

// LegacyError is a hand-over the legacy VUCE did not take. Public is what
// the sending side may be told; Internal (its URL, the dial error, its
// answer) stays on this node, in its log and history.
type LegacyError struct {
	Code     string // legacy.request, legacy.unavailable or legacy.refused
	Public   string
	Internal string
	// Temporary: no verdict now (unreachable, 5xx); the sender retries.
	// Otherwise the legacy VUCE refused the document (4xx), which is final.
	Temporary bool
}

func (e *LegacyError) Error() string { return e.Code + ": " + e.Public + " [" + e.Internal + "]" }

// HandOver posts a native document to the legacy VUCE at t, with the
// tracking headers. A refusal (4xx) is the document's fault and final;
// anything else is temporary.
//
// A redelivery (a hand-over left in doubt by a crash) is marked with the
// X-Vucelink-Redelivery header; if the legacy VUCE then answers with its
// duplicate status (it already has that certificate number), the first
// hand-over did arrive, and the document counts as handed over.
//
// client nil means one with a 15 s timeout.
func (t *Target) HandOver(ctx context.Context, client *http.Client, trackingID, from, documentID string, native []byte, redelivery bool) *LegacyError {
	contentType := t.ContentType
	if t.Charset != "" {
		b, err := xmlsafe.FromUTF8(native, t.Charset)
		if err != nil {
			return &LegacyError{Code: "legacy.request", Public: "the receiving node could not write the document in its legacy VUCE's encoding", Internal: err.Error(), Temporary: true}
		}
		native = b
		if !strings.Contains(strings.ToLower(contentType), "charset=") {
			contentType += "; charset=" + t.Charset
		}
	}
	req, err := http.NewRequestWithContext(ctx, t.Method, t.URL, bytes.NewReader(native))
	if err != nil {
		return &LegacyError{Code: "legacy.request", Public: "the receiving node could not reach its legacy VUCE", Internal: err.Error(), Temporary: true}
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set(wire.HeaderTrackingID, trackingID)
	req.Header.Set(wire.HeaderSender, from)
	req.Header.Set(wire.HeaderDocumentID, documentID)
	if redelivery {
		req.Header.Set(HeaderRedelivery, "true")
	}
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return &LegacyError{Code: "legacy.unavailable", Public: "the receiving country's legacy VUCE is not available; retry later",
			Internal: "legacy VUCE unreachable: " + err.Error(), Temporary: true}
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	detail := fmt.Sprintf("%s %s answered HTTP %d: %s", t.Method, t.URL, resp.StatusCode, strings.TrimSpace(string(msg)))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300,
		redelivery && t.DuplicateStatus != 0 && resp.StatusCode == t.DuplicateStatus:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return &LegacyError{Code: "legacy.refused", Public: fmt.Sprintf("the receiving country's legacy VUCE refused the document (HTTP %d)", resp.StatusCode), Internal: detail}
	default:
		return &LegacyError{Code: "legacy.unavailable", Public: "the receiving country's legacy VUCE is not available; retry later", Internal: detail, Temporary: true}
	}
}
