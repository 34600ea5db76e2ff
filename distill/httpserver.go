package distill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/urfave/cli/v2"
)

// HTTPTimeouts bound how long a client may hold one of distill's servers;
// 0 turns one off.
type HTTPTimeouts struct {
	Read  time.Duration // reading a request, headers and body
	Write time.Duration // each write of a response; the time taken to compute it does not count
	Idle  time.Duration // a kept-alive connection waiting for its next request; 0 means Read
}

// DefaultHTTPTimeouts suit clients on the same machine or network.
var DefaultHTTPTimeouts = HTTPTimeouts{Read: time.Minute, Write: time.Minute, Idle: 2 * time.Minute}

// httpTimeoutFlags are the timeout flags of serve and reward-server.
func httpTimeoutFlags() []cli.Flag {
	d := DefaultHTTPTimeouts
	return []cli.Flag{
		&cli.DurationFlag{Name: "read-timeout", Value: d.Read, Usage: "limit for reading a request, headers and body (0: none)"},
		&cli.DurationFlag{Name: "write-timeout", Value: d.Write, Usage: "limit for each write of a response to the client; the time an answer takes " +
			"to compute does not count, so a long (streamed or not) answer is not cut off (0: none)"},
		&cli.DurationFlag{Name: "idle-timeout", Value: d.Idle, Usage: "how long a kept-alive connection may wait for its next request (0: the read timeout)"},
	}
}

func httpTimeoutsFrom(c *cli.Context) HTTPTimeouts {
	return HTTPTimeouts{Read: c.Duration("read-timeout"), Write: c.Duration("write-timeout"), Idle: c.Duration("idle-timeout")}
}

// newHTTPServer serves h within t. net/http's WriteTimeout runs from the
// moment a request has been read, so it would cut off any answer that takes
// longer to compute than that (a local checkpoint reasoning for minutes):
// here it bounds each write instead.
func newHTTPServer(h http.Handler, t HTTPTimeouts) *http.Server {
	if t.Write > 0 {
		h = writeDeadlines(h, t.Write)
	}
	return &http.Server{Handler: h, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle}
}

// writeDeadlines lifts the write deadline while h computes its answer and
// gives each write, and the final flush, d to reach the client.
func writeDeadlines(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		rc.SetWriteDeadline(time.Time{})
		h.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: rc, d: d}, r)
		rc.SetWriteDeadline(time.Now().Add(d))
	})
}

type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.rc.SetWriteDeadline(time.Now().Add(w.d))
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// exposed says whether addr is reachable from other machines, and its host.
func exposed(addr net.Addr) (string, bool) {
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "", false
	}
	ip := net.ParseIP(host)
	return host, ip == nil || !ip.IsLoopback()
}

// warnIfExposed prints a warning when the server's address is reachable
// from other machines without authentication.
func warnIfExposed(out io.Writer, cmd string, addr net.Addr) {
	if host, ok := exposed(addr); ok {
		fmt.Fprintf(out, "distill %s: warning: %s is reachable from other machines and has no authentication\n", cmd, host)
	}
}

// serveUntil serves srv on ln until ctx is cancelled (Ctrl-C), then shuts it
// down, letting requests in flight finish for up to grace.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	srv.Close()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}
