"""Test helper for distill/export_verl_test.go: reads the train.parquet and
test.parquet of `distill export verl` with pyarrow, checks them against the
schema of verl's data preprocessing (docs/preparation/prepare_data.rst,
examples/data_preprocess/gsm8k.py) and prints the row counts and first rows
as JSON. Exits 1 with the reason when a file does not match."""

import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def struct_fields(t):
    return {t.field(i).name: t.field(i).type for i in range(t.num_fields)}


def check(path, split):
    table = pq.read_table(path)
    s = table.schema
    want_top = ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    if s.names != want_top:
        raise ValueError(f"{path}: columns {s.names}, want {want_top}")
    if s.field("data_source").type != pa.string() or s.field("ability").type != pa.string():
        raise ValueError(f"{path}: data_source and ability must be strings")
    prompt = s.field("prompt").type
    if not pa.types.is_list(prompt) or not pa.types.is_struct(prompt.value_type):
        raise ValueError(f"{path}: prompt is {prompt}, want a list of {{role, content}}")
    if struct_fields(prompt.value_type) != {"role": pa.string(), "content": pa.string()}:
        raise ValueError(f"{path}: prompt messages are {prompt.value_type}")
    rm = struct_fields(s.field("reward_model").type)
    if rm != {"style": pa.string(), "ground_truth": pa.string()}:
        raise ValueError(f"{path}: reward_model is {s.field('reward_model').type}")
    extra = struct_fields(s.field("extra_info").type)
    if extra.get("split") != pa.string() or extra.get("index") != pa.int64():
        raise ValueError(f"{path}: extra_info is {s.field('extra_info').type}, want split string and index int64")
    rows = table.to_pylist()
    for i, r in enumerate(rows):
        if r["reward_model"]["style"] != "rule" or not r["reward_model"]["ground_truth"]:
            raise ValueError(f"{path}: row {i}: reward_model {r['reward_model']}")
        if [m["role"] for m in r["prompt"]] != ["user"] or not r["prompt"][0]["content"]:
            raise ValueError(f"{path}: row {i}: prompt {r['prompt']}")
        if r["extra_info"]["split"] != split or r["extra_info"]["index"] != i:
            raise ValueError(f"{path}: row {i}: extra_info {r['extra_info']}")
    return {"rows": len(rows), "first": rows[0] if rows else None}


def main():
    d = sys.argv[1]
    try:
        out = {split: check(f"{d}/{split}.parquet", split) for split in ("train", "test")}
    except ValueError as e:
        print(e, file=sys.stderr)
        sys.exit(1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
