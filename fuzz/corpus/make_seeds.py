#!/usr/bin/env python3
"""Writes the committed seed corpora, one folder per fuzz target (run from anywhere: python3 fuzz/corpus/make_seeds.py).
Seeds are small and hostile on purpose: truncated, oversized lengths, invalid UTF-8, NULs, BOMs, duplicate keys,
huge numbers. Inputs found by libFuzzer (scripts/fuzz.sh) are added beside them under names starting with 'found-'."""
import json, os, struct, zlib

ROOT = os.path.dirname(os.path.abspath(__file__))

def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))

HUGE = ["1e309", "-1e309", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "1e19", "-0", "0.5", "1" + "0" * 400]

# --- wire frames: a byte stream of 4-byte big-endian length + payload -----------------------------------------
def frame(payload, length=None):
    return struct.pack(">I", len(payload) if length is None else length) + payload
ok = b'{"v":1,"id":1,"kind":"status","body":{}}'
for name, data in {
    "empty": b"", "one-byte": b"\x00", "three-bytes": b"\x00\x00\x00", "zero-length": frame(b""),
    "valid": frame(ok), "two-valid": frame(ok) + frame(ok), "truncated-payload": frame(ok)[:-5],
    "length-max": frame(b"{}", 0xFFFFFFFF), "length-over-limit": frame(b"{}", 64 * 1024 * 1024 + 1),
    "length-too-long": frame(b"{}", 100), "nul-payload": frame(b"\x00" * 16), "invalid-utf8": frame(b'{"v":1,"kind":"\xff\xfe"}'),
    "bom": frame(b"\xef\xbb\xbf" + ok), "valid-then-garbage": frame(ok) + b"\xde\xad\xbe",
}.items():
    write("frame", name, data)

# --- requests: one JSON frame payload each -------------------------------------------------------------------
reqs = {
    "status": ok.decode(), "empty": "", "not-json": "hello", "array": "[1,2,3]", "null": "null",
    "no-kind": '{"v":1,"id":1}', "bad-version": '{"v":99,"id":1,"kind":"status","body":{}}',
    "version-string": '{"v":"1","id":1,"kind":"status"}', "unknown-kind": '{"v":1,"id":1,"kind":"explode","body":{}}',
    "id-huge": '{"v":1,"id":1e309,"kind":"status","body":{}}', "id-overflow": '{"v":1,"id":9223372036854775808,"kind":"status","body":{}}',
    "duplicate-keys": '{"v":1,"v":2,"id":1,"kind":"status","kind":"list","body":{}}',
    "nul-in-kind": '{"v":1,"id":1,"kind":"sta\\u0000tus","body":{}}',
    "lone-surrogate": '{"v":1,"id":1,"kind":"submit","body":{"jobs":[{"prompt":"\\ud800"}]}}',
    "deep-nesting": '{"v":1,"id":1,"kind":"status","body":' + "[" * 5000 + "]" * 5000 + "}",
    "submit-min": '{"v":1,"id":1,"kind":"submit","body":{"jobs":[{"prompt":"a red circle"}]}}',
    "submit-huge-seed": '{"v":1,"id":1,"kind":"submit","body":{"seed":9223372036854775807,"jobs":[{"prompt":"a"},{"prompt":"b"}]}}',
    "submit-bad-types": '{"v":1,"id":1,"kind":"submit","body":{"jobs":[{"prompt":7,"width":"wide","steps":-1}]}}',
    "submit-no-jobs": '{"v":1,"id":1,"kind":"submit","body":{}}',
    "show-huge-id": '{"v":1,"id":1,"kind":"show","body":{"id":18446744073709551616}}',
    "list-negative": '{"v":1,"id":1,"kind":"list","body":{"limit":-9223372036854775808,"offset":-1}}',
    "cancel-empty": '{"v":1,"id":1,"kind":"cancel","body":{}}',
    "backup-nul-path": '{"v":1,"id":1,"kind":"backup","body":{"path":"/tmp/a\\u0000b"}}',
    "contact-sheet": '{"v":1,"id":1,"kind":"contactSheet","body":{"batch":-1,"columns":1e309}}',
    "prune-bad-age": '{"v":1,"id":1,"kind":"prune","body":{"batch":"","finished_before_seconds":-1e309,"dry_run":"yes"}}',
}
for k in ["status", "list", "show", "cancel", "retry", "pause", "resume", "stats", "export", "workers", "health", "shutdown", "backup", "prune", "contactSheet"]:
    reqs["kind-" + k + "-nobody"] = '{"v":1,"id":2,"kind":"%s"}' % k
    reqs["kind-" + k + "-emptybody"] = '{"v":1,"id":2,"kind":"%s","body":{}}' % k
for i, h in enumerate(HUGE):
    reqs["number-%d" % i] = '{"v":%s,"id":%s,"kind":"status","body":{}}' % (h, h)
for name, text in reqs.items():
    write("request", name, text)
write("request", "invalid-utf8", b'{"v":1,"id":1,"kind":"\xc3\x28","body":{}}')
write("request", "truncated", ok[:-3])

# --- prompt files ----------------------------------------------------------------------------------------------
common = {
    "empty": b"", "blank-lines": b"\n\n  \n\t\n", "bom": b"\xef\xbb\xbfa red circle\n", "nul": b"the blue\x00square\n",
    "invalid-utf8": b"a \xff\xfe red\n\xc3\x28\n", "crlf": b"a\r\nb\r\n", "no-final-newline": b"a red circle",
    "control": b"a\x1bred\x07\n", "long-line": b"x" * 20_000 + b"\n", "only-cr": b"a\rb\rc",
    "double-bom": b"\xef\xbb\xbf\xef\xbb\xbfa\n", "truncated-utf8": b"a red \xe2\x82",
}
for name, data in common.items():
    for t in ("prompt-txt", "prompt-jsonl", "prompt-csv"):
        write(t, name, data)
write("prompt-txt", "many-lines", "".join("prompt %d\n" % i for i in range(500)))
jsonl = {
    "valid": '{"prompt":"a red circle","seed":1}\n{"prompt":"a blue square","width":64,"height":64,"steps":2}\n',
    "duplicate-keys": '{"prompt":"a red circle","prompt":"a blue square","seed":1,"seed":2}\n',
    "escaped-duplicate": '{"prompt":"a","pr\\u006fmpt":"b"}\n',
    "nested-duplicate": '{"prompt":"a","x":{"k":1,"k":2}}\n',
    "not-object": '[1,2]\n"str"\nnull\n42\n', "truncated": '{"prompt":"a red',
    "nul-escape": '{"prompt":"the blue\\u0000square"}\n', "lone-surrogate": '{"prompt":"\\udc00"}\n',
    "prompt-number": '{"prompt":12}\n', "bad-types": '{"prompt":"a","width":"64","seed":true,"guidance":"x"}\n',
    "deep": '{"prompt":"a","x":' + "[" * 3000 + "]" * 3000 + '}\n', "unterminated-string-key": '{"pro\n',
    "backslash-end": '{"prompt":"a\\', "unknown-key": '{"prompt":"a","colour":"red"}\n',
}
for i, h in enumerate(HUGE):
    jsonl["number-%d" % i] = '{"prompt":"a","seed":%s,"width":%s,"steps":%s,"guidance":%s,"priority":%s}\n' % (h, h, h, h, h)
for name, text in jsonl.items():
    write("prompt-jsonl", name, text)
csv = {
    "valid": 'prompt,seed,width\n"a red, circle",1,64\nplain,2,64\n',
    "bom-header": '\ufeffprompt,seed\na,1\n', "no-prompt-column": 'text,seed\na,1\n', "unterminated-quote": 'prompt\n"a red\n',
    "stray-quote": 'prompt\na"b\n', "extra-fields": 'prompt,seed\na,1,2,3\n', "missing-fields": 'prompt,seed,width\na\n',
    "duplicate-columns": 'prompt,prompt,seed,seed\na,b,1,2\n', "huge-seed": 'prompt,seed\na,99999999999999999999999\nb,-9223372036854775808\n',
    "quote-escapes": 'prompt\n"say ""hi"""\n""\n"""\n', "header-only": 'prompt\n', "nul-field": 'prompt,seed\na\x00b,1\n',
    "empty-header": ',,,\n',
}
for name, text in csv.items():
    write("prompt-csv", name, text)

# --- safetensors -----------------------------------------------------------------------------------------------
def st(header, data=b"", length=None):
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(h) if length is None else length) + h + data
good = {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, "__metadata__": {"format": "pt"}}
for name, data in {
    "valid": st(good, b"\x00" * 16), "empty": b"", "short": b"\x01\x02\x03", "length-only": struct.pack("<Q", 2),
    "length-top-bit": st(good, b"\x00" * 16, 1 << 63), "length-max": st(good, b"\x00" * 16, (1 << 64) - 1),
    "length-too-long": st(good, b"", 10_000), "length-zero": st(b"", b"", 0), "not-json": st(b"hello"),
    "array": st(b"[1,2]"), "invalid-utf8": st(b'{"\xff":1}'), "nul-header": st(b"\x00" * 32),
    "truncated-data": st(good, b"\x00" * 8),
    "shape-overflow": st({"w": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 16]}}, b"\x00" * 16),
    "shape-negative": st({"w": {"dtype": "F32", "shape": [-2, -2], "data_offsets": [0, 16]}}, b"\x00" * 16),
    "shape-negative-product": st({"w": {"dtype": "F32", "shape": [-1, 4], "data_offsets": [0, 0]}}),
    "shape-huge-float": st(b'{"w":{"dtype":"F32","shape":[1e300],"data_offsets":[0,16]}}', b"\x00" * 16),
    "offsets-huge": st(b'{"w":{"dtype":"F32","shape":[4],"data_offsets":[9223372036854775807,18446744073709551615]}}', b"\x00" * 16),
    "offsets-reversed": st({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, b"\x00" * 16),
    "offsets-three": st({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4, 8]}}, b"\x00" * 16),
    "dtype-unknown": st({"w": {"dtype": "Q4", "shape": [3], "data_offsets": [0, 5]}}, b"\x00" * 16),
    "dtype-number": st(b'{"w":{"dtype":32,"shape":[2],"data_offsets":[0,8]}}', b"\x00" * 16),
    "metadata-not-strings": st(b'{"__metadata__":{"a":1,"b":[1]},"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', b"\x00" * 4),
    "duplicate-keys": st(b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', b"\x00" * 8),
    "bom-header": st(b'\xef\xbb\xbf{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\x00" * 4),
    "bf16-valid": st({"w": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}, b"\x80\x3f" * 3),
    "scalar-shape": st({"w": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}, b"\x00" * 4),
    "zero-dim": st({"w": {"dtype": "F32", "shape": [0, 9223372036854775807], "data_offsets": [0, 0]}}),
}.items():
    write("safetensors", name, data)

# --- model configs (fed to the UNet, CLIP text, scheduler and VAE config readers) -----------------------------
cfgs = {
    "empty": "", "not-object": "[1]", "empty-object": "{}", "truncated": '{"in_channels": 4, "block_out',
    "unet-min": json.dumps({"_class_name": "UNet2DConditionModel", "in_channels": 4, "out_channels": 4,
                            "block_out_channels": [32, 64], "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
                            "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"], "cross_attention_dim": 32,
                            "layers_per_block": 1, "attention_head_dim": 8, "norm_num_groups": 8, "sample_size": 8}),
    "clip-min": json.dumps({"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4, "num_hidden_layers": 2,
                            "vocab_size": 1000, "max_position_embeddings": 77, "hidden_act": "quick_gelu"}),
    "scheduler-min": json.dumps({"_class_name": "EulerDiscreteScheduler", "num_train_timesteps": 1000, "beta_start": 0.00085,
                                 "beta_end": 0.012, "beta_schedule": "scaled_linear"}),
    "zero-heads": json.dumps({"hidden_size": 32, "num_attention_heads": 0, "num_hidden_layers": 1, "intermediate_size": 1}),
    "negative-sizes": json.dumps({"in_channels": -4, "block_out_channels": [-1], "num_train_timesteps": -5, "hidden_size": -1,
                                  "layers_per_block": -1, "norm_num_groups": 0}),
    "mismatched-lists": json.dumps({"block_out_channels": [32, 64, 128], "down_block_types": ["DownBlock2D"],
                                    "attention_head_dim": [1, 2], "only_cross_attention": [True]}),
    "wrong-types": json.dumps({"in_channels": "4", "block_out_channels": "32", "beta_start": True, "hidden_act": 3,
                               "_class_name": ["x"], "num_train_timesteps": None}),
    "nul-strings": '{"_class_name":"Euler\\u0000DiscreteScheduler","hidden_act":"gelu\\u0000"}',
    "duplicate-keys": '{"in_channels":4,"in_channels":-4,"num_train_timesteps":1000,"num_train_timesteps":0}',
    "invalid-utf8": b'{"_class_name":"\xff\xfe"}', "bom": b'\xef\xbb\xbf{"in_channels":4}',
    "huge-timesteps": '{"num_train_timesteps":9223372036854775807,"beta_schedule":"linear"}',
    "beta-nan-like": '{"beta_start":1e309,"beta_end":-1e309,"num_train_timesteps":10}',
    "trained-betas-wrong": '{"trained_betas":[1,2,"x"],"num_train_timesteps":3}',
}
for i, h in enumerate(HUGE):
    cfgs["number-%d" % i] = ('{"in_channels":%s,"out_channels":%s,"block_out_channels":[%s],"hidden_size":%s,"num_hidden_layers":%s,'
                             '"num_attention_heads":%s,"intermediate_size":%s,"num_train_timesteps":%s,"max_position_embeddings":%s,'
                             '"sample_size":%s,"layers_per_block":%s,"norm_num_groups":%s,"vocab_size":%s}') % ((h,) * 13)
for name, text in cfgs.items():
    write("config", name, text)

# --- tokenizer: prompt text --------------------------------------------------------------------------------------
for name, data in {
    "empty": b"", "plain": b"a red circle on a blue square", "nul": b"the blue\x00square", "bom": b"\xef\xbb\xbfa red circle",
    "invalid-utf8": b"\xff\xfe\xfd red", "emoji-zwj": "👩‍👩‍👧‍👦 🏳️‍🌈 café naïve".encode(), "combining": ("e" + "\u0301" * 500).encode(),
    "long": b"word " * 5000, "one-long-word": b"a" * 20000, "specials": b"<|startoftext|><|endoftext|> <|endoftext|>a",
    "whitespace": b" \t\n\r\x0b\x0c\xc2\xa0\xe3\x80\x80", "digits": b"0123456789" * 100, "punctuation": b"!!!???...,,,'''s've're" * 50,
    "cjk": "赤い丸と青い四角".encode(), "rtl": "\u202eabc\u202c שלום مرحبا".encode(), "control": bytes(range(0, 32)),
    "high-bytes": bytes(range(128, 256)), "surrogate-escape": b"\xed\xa0\x80\xed\xb0\x80",
}.items():
    write("tokenizer", name, data)

# --- PNG (text chunks and decode) --------------------------------------------------------------------------------
SIG = b"\x89PNG\r\n\x1a\n"
def chunk(kind, body, length=None, crc=True):
    c = struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF) if crc else b"\x00\x00\x00\x00"
    return struct.pack(">I", len(body) if length is None else length) + kind + body + c
def png(w=1, h=1, extra=b"", idat=None, ihdr=None):
    ihdr = ihdr if ihdr is not None else struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x80" * (3 * w) for _ in range(h))
    return SIG + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw) if idat is None else idat) + chunk(b"IEND", b"")
text = chunk(b"tEXt", b"parameters\x00a red circle\nSteps: 2, Seed: 1")
for name, data in {
    "valid": png(extra=text), "signature-only": SIG, "empty": b"", "short": SIG[:4],
    "itxt": png(extra=chunk(b"iTXt", b"mdd\x00\x00\x00en\x00mdd\x00{\"seed\":1}")),
    "itxt-truncated": png(extra=chunk(b"iTXt", b"mdd\x00")), "itxt-no-nuls": png(extra=chunk(b"iTXt", b"k\x00\x01")),
    "text-no-nul": png(extra=chunk(b"tEXt", b"keyonly")), "text-invalid-utf8": png(extra=chunk(b"tEXt", b"\xff\x00\xfe\xc3")),
    "text-empty": png(extra=chunk(b"tEXt", b"")), "ztxt": png(extra=chunk(b"zTXt", b"k\x00\x00" + zlib.compress(b"hello"))),
    "chunk-length-max": SIG + chunk(b"tEXt", b"a\x00b", length=0xFFFFFFFF), "chunk-length-big": png(extra=chunk(b"tEXt", b"a\x00b", length=0x7FFFFFFF)),
    "bad-crc": png(extra=chunk(b"tEXt", b"a\x00b", crc=False)), "truncated": png(extra=text)[:-20],
    "huge-dimensions": png(ihdr=struct.pack(">IIBBBBB", 0x7FFFFFFF, 0x7FFFFFFF, 8, 2, 0, 0, 0)),
    "zero-dimensions": png(ihdr=struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0)),
    "bad-depth": png(ihdr=struct.pack(">IIBBBBB", 1, 1, 7, 9, 0, 0, 0)), "bad-idat": png(idat=b"\x00\x01\x02"),
    "idat-bomb": png(w=16, h=16, idat=zlib.compress(b"\x00" * 10_000_000)), "palette-no-plte": png(ihdr=struct.pack(">IIBBBBB", 1, 1, 8, 3, 0, 0, 0)),
    "gray16": png(ihdr=struct.pack(">IIBBBBB", 1, 1, 16, 0, 0, 0, 0), idat=zlib.compress(b"\x00\xff\xff")),
    "many-text": png(extra=text * 200), "no-iend": png(extra=text)[:-12], "ihdr-short": SIG + chunk(b"IHDR", b"\x00\x00"),
}.items():
    write("png", name, data)
