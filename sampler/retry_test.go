package sampler

import (
	"errors"
	"testing"
	"time"

	"github.com/distill-dev/distill/teacher"
)

func TestRetryDecide(t *testing.T) {
	p := RetryPolicy{MaxRetries: 3, Base: 100 * time.Millisecond, Max: time.Second}
	half := func() float64 { return 0.5 }
	tests := []struct {
		name      string
		err       error
		attempt   int
		retry     bool
		wait      time.Duration
		poolPause bool
		kind      string
	}{
		{"429 with Retry-After", &teacher.Error{Status: 429, Kind: "rate_limit", Retryable: true, RetryAfter: 2 * time.Second}, 1, true, 2*time.Second + 50*time.Millisecond, true, "rate_limit"},
		{"429 without", &teacher.Error{Status: 429, Kind: "rate_limit", Retryable: true}, 1, true, 75 * time.Millisecond, true, "rate_limit"},
		{"500 first", &teacher.Error{Status: 500, Kind: "server", Retryable: true}, 1, true, 75 * time.Millisecond, false, "server"},
		{"500 third", &teacher.Error{Status: 500, Kind: "server", Retryable: true}, 3, true, 300 * time.Millisecond, false, "server"},
		{"500 exhausted", &teacher.Error{Status: 500, Kind: "server", Retryable: true}, 4, false, 0, false, "server"},
		{"backoff capped", &teacher.Error{Kind: "timeout", Retryable: true}, 3, true, 300 * time.Millisecond, false, "timeout"},
		{"401", &teacher.Error{Status: 401, Kind: "auth", Message: "bad key"}, 1, false, 0, false, "auth"},
		{"422", &teacher.Error{Status: 422, Kind: "client"}, 1, false, 0, false, "client"},
		{"plain error", errors.New("boom"), 1, false, 0, false, "error"},
		{"wrapped", errors.Join(errors.New("ctx"), &teacher.Error{Kind: "stream", Retryable: true}), 1, true, 75 * time.Millisecond, false, "stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.decide(tt.err, tt.attempt, half)
			if d.retry != tt.retry || d.wait != tt.wait || d.poolPause != tt.poolPause || d.kind != tt.kind {
				t.Fatalf("decide = %+v, want retry=%v wait=%v pause=%v kind=%s", d, tt.retry, tt.wait, tt.poolPause, tt.kind)
			}
		})
	}
	// Backoff is capped at Max.
	big := RetryPolicy{MaxRetries: 100, Base: 100 * time.Millisecond, Max: time.Second}
	if d := big.decide(&teacher.Error{Kind: "server", Retryable: true}, 60, half); d.wait != 750*time.Millisecond {
		t.Fatalf("capped wait = %v", d.wait)
	}
}
