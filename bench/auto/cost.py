"""What `format = "auto"` costs: one 1000-px "inside" variant as JPEG alone, as `auto` (AVIF, WebP and
the JPEG fallback from one resample), and as three separate variants (JPEG, WebP, AVIF), on three
corpus photos. Medians of the warm iterations of `imgdeploy render --repeat 7 --json` (wall and CPU ms
of one process). Needs `cargo build --release` and ../shared/corpus.

    python3 bench/auto/cost.py
"""
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
PHOTOS = {
    "kleiber": "photo_kleiber_6028x3391.jpg",
    "mosaic48": "photo_mosaic4_48mp.jpg",
    "png": "photo_aitzgorri_3088x2056.png",
}
BOX = 'width = 1000\nheight = 1000\nfit = "inside"\n'
CONFIGS = {
    "jpeg": f'[[variant]]\nname = "v"\n{BOX}format = "jpeg"\n',
    "auto": f'[[variant]]\nname = "v"\n{BOX}format = "auto"\n',
    "three": "".join(f'[[variant]]\nname = "{f}"\n{BOX}format = "{f}"\n' for f in ("jpeg", "webp", "avif")),
}


def main() -> None:
    binary = ROOT / "target" / "release" / "imgdeploy"
    print("| photo | " + " | ".join(f"{c}: wall, CPU ms" for c in CONFIGS) + " |")
    print("| --- |" + " --- |" * len(CONFIGS))
    with tempfile.TemporaryDirectory() as tmp:
        for photo, file in PHOTOS.items():
            cells = []
            for name, text in CONFIGS.items():
                config = Path(tmp) / f"{name}.toml"
                config.write_text(text)
                out = subprocess.run(
                    [binary, "render", "--config", config, "--out", Path(tmp) / name, "--repeat", "7",
                     "--json", CORPUS / file],
                    capture_output=True, text=True, check=True,
                ).stdout.strip().splitlines()[-1]
                run = json.loads(out)
                wall = statistics.median(run["ms"][1:])
                cpu = statistics.median(run["cpu_ms"][1:])
                cells.append(f"{wall:.0f}, {cpu:.0f}")
            print(f"| {photo} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
