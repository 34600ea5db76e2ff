package distill

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/distill-dev/distill/student/tokenizer"
)

// TokenizeOptions configure `distill tokenize`.
type TokenizeOptions struct {
	Tokenizer string // tokenizer.json, or a checkpoint directory holding one
	Decode    bool   // read id arrays, write strings
	// Chat names a chat template (tokenizer.TemplateFor): lines are then
	// JSON arrays of {"role", "content"} messages and the output has the
	// rendered ids and the assistant mask.
	Chat             string
	GenerationPrompt bool      // with Chat: end with the assistant header
	In               io.Reader // one JSON string (or id array with Decode) per line
	Out              io.Writer
}

func init() {
	register(&cli.Command{
		Name:  "tokenize",
		Usage: "encode text to token ids (or decode ids) with a tokenizer.json, for comparison with other implementations",
		Description: "Reads one JSON string per line on stdin and prints one JSON array of token ids per\n" +
			"line. With --decode, reads arrays of ids and prints strings. Added tokens such as\n" +
			"<|im_start|> in the text become their ids; no BOS/EOS is added. With --chat NAME\n" +
			"(chatml, qwen2.5, llama3, deepseek-r1), reads JSON arrays of {\"role\",\"content\"}\n" +
			"messages and prints {\"ids\": [...], \"assistant_mask\": [0/1...]} per line: the ids\n" +
			"to train on and the assistant tokens that carry the loss.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "tokenizer", Usage: "a tokenizer.json `FILE`, or a checkpoint directory holding one", Required: true},
			&cli.BoolFlag{Name: "decode", Usage: "read JSON arrays of ids and write JSON strings"},
			&cli.StringFlag{Name: "chat", Usage: "render chats with chat template `NAME` and print ids and assistant mask"},
			&cli.BoolFlag{Name: "generation-prompt", Usage: "with --chat: end each chat with the assistant header, as for generation"},
		},
		Action: func(c *cli.Context) error {
			return runTokenize(c.Context, TokenizeOptions{
				Tokenizer: c.String("tokenizer"), Decode: c.Bool("decode"),
				Chat: c.String("chat"), GenerationPrompt: c.Bool("generation-prompt"),
				In: os.Stdin, Out: os.Stdout,
			})
		},
	})
}

func runTokenize(ctx context.Context, opts TokenizeOptions) error {
	path := opts.Tokenizer
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "tokenizer.json")
	}
	tok, err := tokenizer.Load(path)
	if err != nil {
		return fmt.Errorf("tokenize: --tokenizer: %w", err)
	}
	var tmpl *tokenizer.Template
	if opts.Chat != "" {
		if opts.Decode {
			return fmt.Errorf("tokenize: --chat and --decode exclude each other")
		}
		if tmpl, err = tokenizer.TemplateFor(opts.Chat); err != nil {
			return fmt.Errorf("tokenize: --chat: %w", err)
		}
	}
	in := bufio.NewReaderSize(opts.In, 1<<16)
	out := bufio.NewWriterSize(opts.Out, 1<<16)
	defer out.Flush()
	var buf []byte
	for line := 1; ; line++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, rerr := in.ReadBytes('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return fmt.Errorf("tokenize: stdin: %w", rerr)
		}
		if b = bytes.TrimSpace(b); len(b) > 0 {
			switch {
			case tmpl != nil:
				buf, err = tokenizeChatLine(tok, tmpl, opts.GenerationPrompt, b, buf[:0])
			case opts.Decode:
				buf, err = tokenizeDecodeLine(tok, b, buf[:0])
			default:
				buf, err = tokenizeEncodeLine(tok, b, buf[:0])
			}
			if err != nil {
				return fmt.Errorf("tokenize: stdin line %d: %w", line, err)
			}
			if _, err := out.Write(buf); err != nil {
				return err
			}
		}
		if rerr != nil {
			return out.Flush()
		}
	}
}

func tokenizeEncodeLine(tok *tokenizer.Tokenizer, line, buf []byte) ([]byte, error) {
	var s string
	if err := json.Unmarshal(line, &s); err != nil {
		return nil, fmt.Errorf("want a JSON string: %w", err)
	}
	buf = append(buf, '[')
	for i, id := range tok.Encode(s) {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(id), 10)
	}
	return append(buf, ']', '\n'), nil
}

func tokenizeDecodeLine(tok *tokenizer.Tokenizer, line, buf []byte) ([]byte, error) {
	var ids []int32
	if err := json.Unmarshal(line, &ids); err != nil {
		return nil, fmt.Errorf("want a JSON array of token ids: %w", err)
	}
	for i, id := range ids {
		if id < 0 || int(id) >= tok.VocabSize() {
			return nil, fmt.Errorf("id %d at position %d is outside the vocabulary (0..%d)", id, i, tok.VocabSize()-1)
		}
	}
	var sb bytes.Buffer
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tok.Decode(ids)); err != nil {
		return nil, err
	}
	return append(buf, sb.Bytes()...), nil
}

func tokenizeChatLine(tok *tokenizer.Tokenizer, tmpl *tokenizer.Template, gen bool, line, buf []byte) ([]byte, error) {
	var msgs []tokenizer.Message
	if err := json.Unmarshal(line, &msgs); err != nil {
		return nil, fmt.Errorf("want a JSON array of {\"role\", \"content\"} messages: %w", err)
	}
	ids, mask, err := tmpl.Render(tok, msgs, gen)
	if err != nil {
		return nil, err
	}
	buf = append(buf, `{"ids":[`...)
	for i, id := range ids {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(id), 10)
	}
	buf = append(buf, `],"assistant_mask":[`...)
	for i, m := range mask {
		if i > 0 {
			buf = append(buf, ',')
		}
		if m {
			buf = append(buf, '1')
		} else {
			buf = append(buf, '0')
		}
	}
	return append(buf, "]}\n"...), nil
}
