package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealthcheck_ExitsByStatus(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	if err := cmdHealthcheck(context.Background(), []string{"--url", srv.URL + "/healthz"}, io.Discard, io.Discard); err != nil {
		t.Fatalf("healthy node: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := cmdHealthcheck(context.Background(), []string{"--url", srv.URL + "/readyz"}, io.Discard, io.Discard); err == nil {
		t.Fatal("503 reported healthy")
	}
	srv.Close()
	if err := cmdHealthcheck(context.Background(), []string{"--url", srv.URL + "/healthz"}, io.Discard, io.Discard); err == nil {
		t.Fatal("no node reported healthy")
	}
}
