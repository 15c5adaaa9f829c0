"""Seeds each fuzz target's corpus (fuzz/corpus/<target>/, which fuzz/run.sh packs into
fuzz/corpus/<target>.tar.gz) from the conformance vectors in
tests/vectors: their tokens, JWKs, signed requests, webhooks, otpauth URIs, base32 secrets,
API keys and client-address cases, in the shapes fuzz/src/targets.rs reads."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors"
CORPUS = ROOT / "fuzz" / "corpus"


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


def dicts(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from dicts(v)
    elif isinstance(node, list):
        for v in node:
            yield from dicts(v)


def cases(area: str) -> Iterator[dict[str, Any]]:
    for f in sorted((VECTORS / area).glob("*.json")):
        yield from json.loads(f.read_text())["cases"]


def seeds() -> dict[str, set[bytes]]:
    out: dict[str, set[bytes]] = {
        t: set()
        for t in ["jwt", "jwks", "http_signature", "webhook", "otpauth_uri", "base32", "api_key", "forwarded", "dpop"]
    }
    every = [c for area in VECTORS.iterdir() if area.is_dir() and area.name != "tools" for c in cases(area.name)]
    for s in strings(every):
        if re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*", s) and s.startswith("ey"):
            out["jwt"].add(s.encode())
        if s.startswith("otpauth://"):
            out["otpauth_uri"].add(s.encode())
            secret = re.search(r"secret=([^&]*)", s)
            if secret:
                out["base32"].add(secret.group(1).encode())
        if re.fullmatch(r"ag_[a-z]+_[A-Za-z0-9]+", s):
            out["api_key"].add(s.encode())
    for d in dicts(every):
        if "kty" in d or "keys" in d and isinstance(d["keys"], list):
            out["jwks"].add(json.dumps(d).encode())
        if d.get("op") in ("base32_decode", "base32_encode") and isinstance(d.get("text"), str):
            out["base32"].add(d["text"].encode())
    for c in cases("signature"):
        r = c.get("request")
        if r:
            head = "\n".join([f"{r['method']} {r['url']}"] + [f"{n}: {v}" for n, v in r.get("headers", [])])
            out["http_signature"].add(f"{head}\n\n{r.get('body') or ''}".encode())
    for c in cases("webhook"):
        if "headers" in c:
            h = {n.lower(): v for n, v in c["headers"]}
            fields = [
                c["keys"][0],
                h.get("webhook-id", ""),
                h.get("webhook-timestamp", ""),
                h.get("webhook-signature", ""),
                c["payload"],
            ]
            out["webhook"].add("\n".join(fields).encode())
        for k in c.get("keys", []):
            out["webhook"].add(k.encode())
    for c in cases("allowlist"):
        for value in c.get("values", [""]) or [""]:
            entry = (c.get("entries") or c.get("trusted") or [c.get("text", "")])[0]
            out["forwarded"].add(f"{c.get('peer', c.get('ip', ''))}\n{value}\n{entry}".encode())
        if "text" in c:
            out["forwarded"].add(f"\n\n{c['text']}".encode())
    for c in cases("pop"):
        for r in c.get("requests", []):
            out["dpop"].add(f"{r['method']}\n{r['uri']}\n{r['proof']}".encode())
        if "certificate" in c:
            out["dpop"].add(f"\n\n{c['certificate']}".encode())
        if "jwk" in c:
            out["dpop"].add(json.dumps(c["jwk"]).encode())
    return out


def main() -> None:
    for target, items in seeds().items():
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for item in items:
            (folder / ("seed-" + hashlib.sha1(item).hexdigest()[:16])).write_bytes(item)
        print(f"{target}: {len(items)} seeds")


if __name__ == "__main__":
    main()
