"""Run the reliability tests and write docs/RELIABILITY.md from the figures of that run.

python scripts/reliability_report.py          # ~1-2 minutes
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROMISES = """\
## What is promised

1. **Integrity.** Every weight with a pinned sha256 (published, bundled, or a local hub directory's) is
   hashed after download and, cheaply, on every load: size, mtime, ctime and inode are recorded at verification and a
   change triggers a full rehash (`verify=True` / `resnet-zoo verify-cache` rehash always). A mismatch
   raises `IntegrityError` naming the tag, the path and both hashes; a copy in our cache is moved into
   quarantine so the next call fetches it cleanly, any other file is left where it is. Origin URLs are
   checked against the origin's md5 or file-name hash prefix, then pinned on first use (full sha256).
   `hf_hub_download` alone checks only a file's size.
2. **Atomic, concurrent-safe fetch.** URL downloads go to a temporary file that is renamed only when
   complete (Content-Length) and matching its hash prefix; a file lock serialises processes fetching the
   same file. Hub downloads use huggingface_hub's own lock and temporary files, and nothing from the Hub
   is used before our sha256 check passes.
3. **Faults.** HTTP 408/425/429/5xx, reset or dropped connections, short bodies and stalls past the read
   timeout are retried with exponential backoff inside a bounded total time, then reported with the URL
   and the last error. An interrupted transfer leaves nothing a later call could mistake for a file.
4. **Offline.** With `HF_HUB_OFFLINE=1` a warm cache loads with zero connection attempts; a cold cache
   raises `WeightsNotAvailableError` naming the tag, the cache directory and `resnet-zoo download TAG`.
5. **Hostile and broken inputs** are refused with a documented error that names the value and the fix,
   and the cache is left as it was; a pickle is never executed (`torch.load(weights_only=True)` only).
6. **Credentials.** A Hub token goes to the Hub client and nowhere else: not the manifest, a model card,
   a log line or an error; publishing without one fails before any upload and says how to log in.

7. **Trust (issue 11).** Synthetic (random) weights say so in five places and are never uploaded to
   the Hub without `--allow-synthetic`. Pins come from the package: an overlay manifest may add Hub
   locations and entries, never change a packaged hash, origin, preprocessing or figure. Quarantine
   moves only what a cache owns; FIFOs, devices and symlinks leaving a hub directory are refused
   before reading. Downloads have a total deadline (`RESNET_ZOO_DOWNLOAD_TIMEOUT`, default 300 s) that
   lock waiters share; unreachable hosts are not retried. Origin files are pinned on first use.
   Tensors are checked (one float dtype, finite, BN variances >= 0) and copied on read. Publishing
   into a hub directory holds a lock on it.

## How it is tested

`tests/test_reliability.py`, on every CI run: a fault-injection HTTP server of the tests' own
(`tests/faultserver.py`, loopback only: truncation, flipped bytes, 5xx for the first k requests,
stalls, dropped connections) behind the URL path; olah as a loopback Hub for the Hub path
(`tests/test_weights_hub.py`: tampered bytes, revision pinning, offline warm and cold); 8 concurrent
processes on one cold cache; an interruption sweep; a socket guard for offline runs; and a catalogue
of bad inputs, each checked for its error type, its message, and an unchanged cache.
`tests/test_trust.py` reproduces each defect of the issue-11 review (drip and gzip modes of the fault
server, hostile hub directories, concurrent publishers in separate processes), and
`tests/test_fuzz.py` fuzzes the manifest parser and the safetensors header reader with hypothesis
(seeded): nothing but `ManifestError` / `IncompatibleCheckpointError` comes out.
"""


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        figures_path = Path(tmp) / "figures.json"
        started = time.time()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/test_reliability.py",
                "tests/test_trust.py",
                "tests/test_fuzz.py",
            ],
            cwd=REPO,
            env={**os.environ, "RESNET_ZOO_RELIABILITY_REPORT": str(figures_path)},
            capture_output=True,
            text=True,
        )
        summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
        trust_path = Path(str(figures_path) + ".trust.json")
        if done.returncode != 0 or not figures_path.exists() or not trust_path.exists():
            print(done.stdout[-4000:], done.stderr[-2000:], sep="\n")
            return 1
        figures = json.loads(figures_path.read_text())
        trust = json.loads(trust_path.read_text())
    faults, bad = figures["faults"], figures["bad_inputs"]
    conc = figures.get("concurrency", {})
    places, quarantine = trust["synthetic_places"], trust["quarantine"]
    drip, pub = trust["drip"], trust["concurrent_publish"]
    lines = [
        "# Reliability",
        "",
        "Generated by `python scripts/reliability_report.py` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))} (pytest: {summary}). Do not edit by hand.",
        "",
        "## Figures from the last run",
        "",
        "| | |",
        "|---|---|",
        f"| faults injected and survived | {len(faults)} of {len(faults)} |",
        f"| interrupted transfers (cut at distinct offsets), each followed by a clean load | {figures['interruptions']} |",
        f"| bad inputs tried and refused, cache unchanged | {len(bad)} of {len(bad)} |",
        f"| concurrent loaders on a cold cache | {conc.get('processes')} processes, {conc.get('downloads')} "
        f"download, {conc.get('distinct_results')} distinct result |",
        f"| connection attempts offline with a warm cache | {figures.get('offline_connection_attempts')} |",
        f"| bytes lost or corrupted in the cache | {figures.get('bytes_lost')} |",
        f"| synthetic weights marked (manifest field, file metadata, config.json, model card, load warning) | "
        f"{sum(places.values())} of {len(places)} places |",
        f"| files outside the cache moved or changed, across {len(quarantine['cases'])} quarantine cases | "
        f"{quarantine['files_outside_moved']} |",
        f"| a server dripping one byte every {drip['byte_every_s']} s, deadline {drip['deadline_s']} s | stopped "
        f"after {drip['stopped_after_s']} s, nothing kept |",
        f"| concurrent `publish --to` of distinct tags into one hub directory | {pub['recorded']} of "
        f"{pub['publishers']} entries recorded; {pub['same_repo_publishes']} same-repo publishes -> "
        f"{pub['commits']} commits |",
        "",
        "### Quarantine cases (issue 11): a file the cache does not own is refused and left where it is",
        "",
        "| case | error | message (start) |",
        "|---|---|---|",
        *(f"| {c['case']} | `{c['error']}` | {c['message'].replace('|', '/')} |" for c in quarantine["cases"]),
        "",
        "### Faults",
        "",
        "| fault | outcome |",
        "|---|---|",
        *(f"| {f['fault']} | {f['outcome']} |" for f in faults),
        "",
        "### Bad inputs",
        "",
        "| input | error | message (start) |",
        "|---|---|---|",
        *(f"| {b['input']} | `{b['error']}` | {b['message'].replace('|', '/')} |" for b in bad),
        "",
        PROMISES,
    ]
    (REPO / "docs" / "RELIABILITY.md").write_text("\n".join(lines))
    print(
        f"wrote docs/RELIABILITY.md: {len(faults)} faults, {len(bad)} bad inputs, {figures['interruptions']} "
        f"interruptions, {conc.get('processes')} concurrent loaders, synthetic {sum(places.values())}/{len(places)}, "
        f"{quarantine['files_outside_moved']} files outside the cache moved, drip stopped after "
        f"{drip['stopped_after_s']} s, {pub['recorded']}/{pub['publishers']} publishes recorded ({summary})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
