package distill

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/distill-dev/distill/teacher"
)

// TestServe starts the real server on a loopback port, asks it with the
// real client, streaming and not, then stops it with the context.
func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := make(chan string, 1)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, ServeOptions{Teacher: "builtin", Addr: "127.0.0.1:0", Builtin: teacher.BuiltinConfig{}.Perfect(),
			Out: &out, Listening: func(u string) { urls <- u }})
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("runServe: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	if !strings.Contains(out.String(), base) {
		t.Errorf("printed %q, want the URL %s", out.String(), base)
	}
	seed := int64(1)
	for _, stream := range []bool{false, true} {
		c, err := teacher.NewOpenAI(teacher.OpenAIConfig{BaseURL: base, Model: "builtin", Stream: stream})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Complete(ctx, teacher.Request{Messages: []teacher.Message{{Role: "user",
			Content: "What is 69 + 66 × 3?\nPlease reason step by step, and put your final answer within \\boxed{}."}}, Seed: &seed})
		if err != nil {
			t.Fatalf("stream=%v: %v", stream, err)
		}
		if resp.Reasoning != "66 × 3 = 198\n69 + 198 = 267" || resp.Content != `\boxed{267}` || resp.FinishReason != "stop" || resp.Model != "builtin" {
			t.Errorf("stream=%v: %+v", stream, resp)
		}
		_, err = c.Complete(ctx, teacher.Request{Messages: []teacher.Message{{Role: "user", Content: "Write a haiku."}}})
		var te *teacher.Error
		if !errors.As(err, &te) || te.Status != 422 || te.Retryable {
			t.Errorf("stream=%v: non-arithmetic prompt gave %v, want a 422", stream, err)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runServe after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop on cancel")
	}
	c, _ := teacher.NewOpenAI(teacher.OpenAIConfig{BaseURL: base, Timeout: 2 * time.Second})
	if _, err := c.Complete(context.Background(), teacher.Request{Messages: []teacher.Message{{Role: "user", Content: "What is 1 + 1?"}}}); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestServeBadOptions(t *testing.T) {
	for _, tt := range []struct {
		opts ServeOptions
		msg  string
	}{
		{ServeOptions{Teacher: "gpt-5", Addr: "127.0.0.1:0"}, `--teacher "gpt-5"`},
		{ServeOptions{Teacher: "builtin", Addr: "127.0.0.1:99999"}, "--addr 127.0.0.1:99999"},
		{ServeOptions{Teacher: "builtin", Addr: "127.0.0.1:0", Builtin: teacher.BuiltinConfig{WrongRate: -0.1}}, "wrong-rate -0.1"},
	} {
		err := runServe(context.Background(), tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%+v: got %v, want ~%q", tt.opts, err, tt.msg)
		}
	}
}
