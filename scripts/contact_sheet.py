"""The demo's contact sheet: each original beside its variants, with dimensions and bytes.

Two steps, run by scripts/demo.sh with the test venv's Python (boto3):

  contact_sheet.py fetch --endpoint-url URL --config examples/imgdeploy.toml --out demo-out
      downloads every original (under the source prefix) and, from the function's manifest of each
      (_manifests/<stem>.json), every variant it lists, into OUT/images/; checks that the manifest
      names each configured variant with its file's real size and type; prints one line per image
      (dimensions, bytes) and writes OUT/manifest.json;
  contact_sheet.py html --out demo-out
      writes OUT/index.html from the manifest; the images sit next to it, so it works from file://.

Dimensions are read from the files' headers (JPEG, PNG, WebP) with the standard library only.
"""

import argparse
import html
import json
import os
import struct
import sys
import tomllib
import urllib.parse
from pathlib import Path



def dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG, PNG or WebP header, or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        chunk = data[12:16]
        if chunk == b"VP8 ":
            w, h = struct.unpack("<HH", data[26:30])
            return w & 0x3FFF, h & 0x3FFF
        if chunk == b"VP8L":
            b = data[21:25]
            w = 1 + (((b[1] & 0x3F) << 8) | b[0])
            h = 1 + (((b[3] & 0x0F) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
            return w, h
        if chunk == b"VP8X":
            w = 1 + int.from_bytes(data[24:27], "little")
            h = 1 + int.from_bytes(data[27:30], "little")
            return w, h
        return None
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return w, h
            i += 2 + length
    return None


def human(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024 / 1024:.1f} MiB"


def manifest_key(relative: str) -> str:
    """The function's rule: `_manifests/<key relative to the prefix, without its extension>.json`."""
    folder, _, file = relative.rpartition("/")
    dot = file.rfind(".")
    stem = file[:dot] if dot > 0 else file
    return f"_manifests/{folder + '/' if folder else ''}{stem}.json"


def fetch(args: argparse.Namespace) -> int:
    import boto3
    from botocore.config import Config

    config = tomllib.loads(Path(args.config).read_text(encoding="utf-8"))
    stack = config["stack"]["name"]
    prefix = config.get("source", {}).get("prefix", "originals/")
    variants = [v["name"] for v in config.get("variant", [])]
    s3 = boto3.client(
        "s3",
        endpoint_url=args.endpoint_url,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}),
    )
    out = Path(args.out)
    images = out / "images"
    originals_bucket, processed_bucket = f"{stack}-originals", f"{stack}-processed"

    def download(bucket: str, key: str) -> dict:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        local = images / bucket.removeprefix(stack + "-") / key
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(body)
        size = dimensions(body)
        return {
            "bucket": bucket,
            "key": key,
            "file": local.relative_to(out).as_posix(),
            "bytes": len(body),
            "width": size[0] if size else None,
            "height": size[1] if size else None,
        }

    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=originals_bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", []) if not o["Key"].endswith("/")]
    entries, missing = [], 0
    print(f"      {'image':<44} {'size':>11} {'bytes':>10}")
    for key in sorted(keys):
        original = download(originals_bucket, key)
        print(f"      {key:<44} {original['width']:>5}x{original['height']:<5} {human(original['bytes']):>10}")
        mkey = manifest_key(key[len(prefix):])
        try:
            listed = json.loads(s3.get_object(Bucket=processed_bucket, Key=mkey)["Body"].read())
        except s3.exceptions.NoSuchKey:
            print(f"        {mkey} MISSING")
            missing += len(variants)
            entries.append({"original": original, "variants": []})
            continue
        original["placeholder"] = (listed.get("placeholder") or {}).get("colour")
        by_name = {v["name"]: v for v in listed["variants"]}
        outputs = []
        for name in variants:
            if name not in by_name:
                print(f"        {name:<8} not in {mkey}: MISSING")
                missing += 1
                continue
            entry = by_name[name]
            # The variant's own path: its one file, or the fallback of an `auto` variant.
            vkey = urllib.parse.unquote(entry["path"][1:])
            file = next(f for f in entry["files"] if f["path"] == entry["path"])
            v = download(processed_bucket, vkey)
            if (v["width"], v["height"], v["bytes"]) != (entry["width"], entry["height"], file["bytes"]):
                print(f"        {name:<8} {vkey}: the manifest says {entry['width']}x{entry['height']}, "
                      f"{file['bytes']} bytes; the file is {v['width']}x{v['height']}, {v['bytes']} bytes")
                missing += 1
            v["variant"] = name
            outputs.append(v)
            size = f"{v['width']}x{v['height']}" if v["width"] else "?"
            print(f"        {name:<8} {vkey:<34} {size:>11} {human(v['bytes']):>10}")
        entries.append({"original": original, "variants": outputs})
    manifest = {"stack": stack, "prefix": prefix, "variants": variants, "photos": entries}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    total = sum(len(e["variants"]) for e in entries)
    print(f"      {len(entries)} originals, {total} variants, {missing} missing")
    return 1 if missing or not entries else 0


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>imgdeploy demo: contact sheet of {stack}</title>
<style>
  body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; background: #f4f4f2; color: #222; }}
  h1 {{ font-size: 20px; margin: 0 0 4px; }}
  .lead {{ color: #555; margin: 0 0 20px; }}
  .photo {{ display: flex; gap: 16px; align-items: flex-end; background: #fff; padding: 12px;
           margin-bottom: 16px; border-radius: 6px; box-shadow: 0 1px 3px #0002; overflow-x: auto; }}
  figure {{ margin: 0; flex: none; }}
  figure img {{ display: block; max-height: 300px; max-width: 420px; background: #ddd; }}
  figure.original img {{ max-width: 360px; }}
  figcaption {{ font-size: 12px; color: #444; margin-top: 4px; }}
  figcaption b {{ color: #000; }}
  #status {{ margin-top: 12px; font-size: 12px; color: #555; }}
</style>
</head>
<body>
<h1>imgdeploy demo: {count} photos, {total} variants</h1>
<p class="lead">Stack <b>{stack}</b>: each original (uploaded to <code>{prefix}</code>) beside the variants the
function wrote ({variant_names}). Sizes are the files' own pixel dimensions and bytes.</p>
{rows}
<p id="status" data-images="pending">checking images...</p>
<script>
  // Reports whether every picture decoded: the demo's test reads this marker.
  window.addEventListener("load", () => {{
    const imgs = Array.from(document.images);
    const broken = imgs.filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.getAttribute("src"));
    const status = document.getElementById("status");
    status.dataset.images = broken.length === 0 ? "all-loaded" : "broken";
    status.dataset.loaded = String(imgs.length - broken.length);
    status.dataset.total = String(imgs.length);
    status.dataset.broken = JSON.stringify(broken);
    status.textContent = `${{imgs.length - broken.length}} of ${{imgs.length}} images loaded` +
      (broken.length ? ` (broken: ${{broken.join(", ")}})` : "");
  }});
</script>
</body>
</html>
"""


def figure(entry: dict, label: str, css: str) -> str:
    src = urllib.parse.quote(entry["file"])
    size = f"{entry['width']}x{entry['height']}" if entry.get("width") else "?"
    colour = html.escape(entry.get("placeholder") or "")
    # The manifest's placeholder colour, as a page would paint it before the picture loads.
    swatch = f' &middot; <span style="background:{colour}">&nbsp;&nbsp;&nbsp;</span> {colour}' if colour else ""
    return (
        f'<figure class="{css}"><img src="{html.escape(src)}" alt="{html.escape(label)}">'
        f"<figcaption><b>{html.escape(label)}</b> {size} &middot; {human(entry['bytes'])}{swatch}"
        f"<br>{html.escape(entry['key'])}</figcaption></figure>"
    )


def write_html(args: argparse.Namespace) -> int:
    out = Path(args.out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rows = []
    for e in manifest["photos"]:
        cells = [figure(e["original"], "original", "original")]
        cells += [figure(v, v["variant"], "variant") for v in e["variants"]]
        rows.append('<div class="photo">' + "".join(cells) + "</div>")
    page = PAGE.format(
        stack=html.escape(manifest["stack"]),
        prefix=html.escape(manifest["prefix"]),
        count=len(manifest["photos"]),
        total=sum(len(e["variants"]) for e in manifest["photos"]),
        variant_names=", ".join(html.escape(v) for v in manifest["variants"]),
        rows="\n".join(rows),
    )
    (out / "index.html").write_text(page, encoding="utf-8")
    print(f"      wrote {out / 'index.html'} ({len(rows)} photos)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="download the originals and variants, print them, write manifest.json")
    f.add_argument("--endpoint-url", required=True)
    f.add_argument("--config", required=True)
    f.add_argument("--out", required=True)
    h = sub.add_parser("html", help="write index.html from manifest.json")
    h.add_argument("--out", required=True)
    args = parser.parse_args()
    return fetch(args) if args.command == "fetch" else write_html(args)


if __name__ == "__main__":
    sys.exit(main())
