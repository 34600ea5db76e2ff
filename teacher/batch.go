package teacher

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The OpenAI Batch API's files: each input line is a POST to
// /v1/chat/completions with the body the live client sends, and each line of
// the output (or error) file answers one custom_id with a chat completion or
// an error. vLLM's run-batch reads and writes the same lines.

// BatchURL is the endpoint batch input lines name.
const BatchURL = "/v1/chat/completions"

// AppendBatchRequest appends req as one batch input line, newline included.
func AppendBatchRequest(b []byte, customID string, req Request) ([]byte, error) {
	b = append(b, `{"custom_id":`...)
	b = appendJSONString(b, customID)
	b = append(b, `,"method":"POST","url":"`+BatchURL+`","body":`...)
	b, err := appendRequest(b, req, 1, false, "")
	if err != nil {
		return nil, err
	}
	return append(b, "}\n"...), nil
}

// BatchResult is one line of a batch output or error file.
type BatchResult struct {
	CustomID string
	Response Response // the answer, with its usage, when Err is nil
	Err      *Error   // the request failed: a failed sample, as a live failure is
}

// ParseBatchResult reads one output or error line. Its error means the line
// itself is malformed; a request that failed comes back in BatchResult.Err.
func ParseBatchResult(line []byte) (BatchResult, error) {
	var w struct {
		CustomID string `json:"custom_id"`
		Response *struct {
			StatusCode int             `json:"status_code"`
			Body       json.RawMessage `json:"body"`
		} `json:"response"`
		Error *wireError `json:"error"`
	}
	if err := json.Unmarshal(line, &w); err != nil {
		return BatchResult{}, fmt.Errorf("malformed batch result: %w", err)
	}
	if w.CustomID == "" {
		return BatchResult{}, errors.New("batch result without custom_id")
	}
	r := BatchResult{CustomID: w.CustomID}
	switch {
	case w.Error != nil:
		// Failed before reaching the model (expired batch, bad line): the
		// batch's own error, with no HTTP status.
		kind := "batch"
		var code string
		if json.Unmarshal(w.Error.Code, &code) == nil && code != "" {
			kind = code
		}
		r.Err = &Error{Kind: kind, Message: w.Error.Message}
	case w.Response == nil:
		return BatchResult{}, fmt.Errorf("batch result %s has neither response nor error", w.CustomID)
	case w.Response.StatusCode != 200:
		r.Err = statusErr(w.Response.StatusCode, errorMessage(w.Response.Body), 0)
	default:
		resps, u, err := decodeCompletion(w.Response.Body, 1, func(s string) string { return s })
		var te *Error
		if errors.As(err, &te) {
			r.Err = te
			return r, nil
		}
		if err != nil {
			return BatchResult{}, err
		}
		r.Response = resps[0]
		r.Response.normalize()
		r.Response.Usage = u
	}
	return r, nil
}
