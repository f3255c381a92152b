"""Trust in every weight (issue 11): each defect of the adversarial review reproduced and refused.

Synthetic weights marked in all five places; pins that an overlay cannot replace; quarantine that
touches only the cache; bounded downloads; pins of first use; content checks; copy-on-read;
concurrent publishing. With ``RESNET_ZOO_RELIABILITY_REPORT=path`` the figures of the run go to
``path`` + ``.trust.json`` (``scripts/reliability_report.py`` puts them in docs/RELIABILITY.md).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import resnet_zoo
from faultserver import FaultServer
from hubtools import REPO, free_port
from resnet_zoo import (
    IncompatibleCheckpointError,
    IntegrityError,
    InvalidArgumentError,
    ManifestError,
    NetworkUnreachableError,
    SyntheticWeightsWarning,
)
from resnet_zoo.cli import main
from resnet_zoo.errors import DownloadError, ResNetZooError
from resnet_zoo.tools.convert import convert
from resnet_zoo.tools.publish import publish
from resnet_zoo.weights.cache import sha256_file
from resnet_zoo.weights.download import RetryPolicy, url_cache_path, url_download
from resnet_zoo.weights.localhub import LocalHub
from resnet_zoo.weights.manifest import read_manifest_file

FIGURES: dict[str, object] = {}
TAG = "resnet10t.c3_in1k"
DIGITS = "cifar_resnet20.digits"


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    path = os.environ.get("RESNET_ZOO_RELIABILITY_REPORT")
    if path:
        Path(path + ".trust.json").write_text(json.dumps(FIGURES, indent=1, default=str) + "\n")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "zoo-cache"
    monkeypatch.setenv("RESNET_ZOO_CACHE", str(path))
    return path


@pytest.fixture(scope="module")
def synthetic_hub(tmp_path_factory) -> tuple[Path, Path]:
    """(converted folder, local hub) of one synthetic conversion."""
    root = tmp_path_factory.mktemp("synthetic")
    out = convert(TAG, root / "out", source="synthetic").out_dir
    publish(out, to=root / "hub")
    return out, root / "hub"


def digits_sd() -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in resnet_zoo.create_model(DIGITS, pretrained=True).state_dict().items()}


# -- 1. synthetic weights are marked everywhere, and never published by accident ------------------


def test_synthetic_weights_are_marked_in_all_five_places(synthetic_hub, cache, capsys, recwarn):
    from safetensors import safe_open

    out, hub = synthetic_hub
    places = {}
    entry = read_manifest_file(hub / "weights_manifest.json")[TAG]
    places["manifest entry (field synthetic)"] = entry.synthetic and entry.reported == ()
    with safe_open(str(out / "model.safetensors"), framework="pt") as f:
        places["safetensors metadata"] = f.metadata()["synthetic"] == "true"
    places["config.json"] = json.loads((out / "config.json").read_text())["resnet_zoo"]["synthetic"] is True
    card = (out / "README.md").read_text()
    body_first_line = card.split("---\n", 2)[2].splitlines()[0]
    places["model card (first line, no model-index)"] = (
        "SYNTHETIC" in body_first_line and "model-index" not in card and "top-1" not in card
    )
    with pytest.warns(SyntheticWeightsWarning) as caught:
        resnet_zoo.create_model(TAG, pretrained=True, hub_dir=str(hub))
    message = str(caught[0].message)
    places["warning on load"] = TAG in message and "SYNTHETIC" in message and caught[0].filename == __file__
    assert all(places.values()), places
    # verify-cache and weights show it
    assert main(["verify-cache", "--hub-dir", str(hub)]) == 0
    assert f"{TAG}: " in (text := capsys.readouterr().out) and "SYNTHETIC" in text
    assert main(["weights", "resnet10t", "--hub-dir", str(hub)]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    FIGURES["synthetic_places"] = places


def test_build_hub_and_convert_share_one_default_shown_in_help(capsys):
    import inspect

    from resnet_zoo.tools.buildhub import build_hub
    from resnet_zoo.tools.convert import DEFAULT_SOURCE

    assert inspect.signature(build_hub).parameters["source"].default == DEFAULT_SOURCE
    assert inspect.signature(convert).parameters["source"].default == DEFAULT_SOURCE
    for command in ("convert", "build-hub"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert f"(default: {DEFAULT_SOURCE})" in capsys.readouterr().out.replace("\n", " ").replace("  ", " ")


def test_readme_main_job_says_its_weights_are_synthetic_stand_ins():
    readme = (REPO / "README.md").read_text()
    job = readme[readme.index("**Main job**") : readme.index("**Tests**")]
    assert "synthetic stand-ins" in job and "no network" in job
    assert "fully pinned" in readme and "pinned on first use" in readme


# -- 2/3. pins come from the package; quarantine only what the cache owns ------------------------


def _overlay(tmp: Path, name: str, **changes) -> Path:
    entry = resnet_zoo.get_weights(name).to_dict()
    for path, value in changes.items():
        target = entry
        *parents, leaf = path.split("__")
        for p in parents:
            target = target[p]
        target[leaf] = value
    path = tmp / f"overlay-{len(list(tmp.glob('overlay-*')))}.json"
    path.write_text(json.dumps({"schema_version": 2, "weights": [entry]}))
    return path


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"bundled_sha256": "0" * 64}, "bundled_sha256"),
        ({"bundled_file": "data/other.safetensors"}, "bundled_file"),
        ({"origin__url": "https://evil.example/x.pth"}, "origin"),
        ({"preprocessing__crop_pct": 0.5}, "preprocessing"),
        ({"reported": []}, "reported"),
    ],
)
def test_an_overlay_cannot_replace_a_packaged_pin(tmp_path, monkeypatch, changes, field):
    monkeypatch.setenv("RESNET_ZOO_MANIFEST", str(_overlay(tmp_path, DIGITS, **changes)))
    with pytest.raises(ManifestError) as e:
        resnet_zoo.create_model(DIGITS, pretrained=True)
    assert DIGITS in str(e.value) and repr(field) in str(e.value)


def test_an_overlay_may_add_a_hub_location_and_new_entries(tmp_path):
    from resnet_zoo.weights.manifest import load_manifest

    hub = {"repo_id": "site/r10t", "filename": "model.safetensors", "revision": "a" * 40, "sha256": "B" * 64}
    path = _overlay(tmp_path, TAG, hub=hub)
    data = json.loads(path.read_text())
    data["weights"].append(dict(data["weights"][0], name="resnet10t.mine", tag="mine", default=False))
    path.write_text(json.dumps(data))
    merged = load_manifest(str(path))
    assert merged[TAG].hub.repo_id == "site/r10t" and merged[TAG].reported == resnet_zoo.get_weights(TAG).reported
    assert "resnet10t.mine" in merged


def _snapshot_outside(*roots: Path) -> dict[str, str]:
    out = {}
    for root in roots:
        for p in root.rglob("*"):
            inside_git = "/.git/" in str(p) and "/.git/lfs/" not in str(p)  # the test's own commit changes these
            if p.is_file() and not p.is_symlink() and not inside_git:
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_quarantine_never_moves_a_file_outside_the_cache(synthetic_hub, tmp_path, cache):
    """Every way the review found to make a load move a user's, a hub's or the package's file."""
    _, built = synthetic_hub
    hub = tmp_path / "hub"
    shutil.copytree(built, hub, symlinks=True)
    location = read_manifest_file(hub / "weights_manifest.json")[TAG].hub
    obj = LocalHub(hub).lfs_object(location.repo_id, location.sha256)
    user = tmp_path / "user"
    user.mkdir()
    (user / "precious.safetensors").write_bytes(b"the user's own file" * 100)
    pkg = tmp_path / "pkg"
    shutil.copytree(Path(resnet_zoo.__file__).parent / "data", pkg / "data")
    outside = (hub, user, pkg)
    before = _snapshot_outside(*outside)
    original = obj.read_bytes()
    cases = []

    def attempt(description: str, error: type, action) -> None:
        with pytest.raises(error) as e:
            action()
        message = str(e.value).replace(str(tmp_path), "<tmp>").replace("/.git/lfs/objects/", "/<lfs>/")
        cases.append({"case": description, "error": error.__name__, "message": message[:200]})

    load = lambda: resnet_zoo.create_model(TAG, pretrained=True, hub_dir=str(hub))  # noqa: E731
    # a symlinked LFS object pointing at a user's file
    obj.unlink()
    obj.symlink_to(user / "precious.safetensors")
    attempt("LFS object: a symlink to a user's file", IntegrityError, load)
    # a symlink to /dev/zero (would never end)
    obj.unlink()
    obj.symlink_to("/dev/zero")
    attempt("LFS object: a symlink to /dev/zero", IntegrityError, load)
    # a FIFO (would hang)
    obj.unlink()
    os.mkfifo(obj)
    started = time.monotonic()
    attempt("LFS object: a FIFO", IntegrityError, load)
    assert time.monotonic() - started < 30
    obj.unlink()
    # tampered bytes of the right size, in the hub directory
    obj.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    attempt("LFS object: tampered bytes in the hub directory", IntegrityError, load)
    obj.write_bytes(original)
    # an LFS pointer whose oid climbs out with ../
    repo = hub / "models" / location.repo_id
    manifest = json.loads((hub / "weights_manifest.json").read_text())
    bad = tmp_path / "climb.json"
    manifest["weights"][0]["hub"]["sha256"] = "../../../../../user/precious.safetensors"
    bad.write_text(json.dumps(manifest))
    attempt(
        "a manifest sha256 that climbs out with ../",
        ManifestError,
        lambda: resnet_zoo.weights.manifest.load_manifest(str(bad)),
    )
    pointer = (repo / "model.safetensors").read_text()
    assert LocalHub(hub).resolve(location.repo_id, "model.safetensors", location.revision) is not None
    (repo / "model.safetensors").write_text(pointer.replace(location.sha256, "../../../../../user/precious"))
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "commit", "-q", "-am", "climb"], check=True)
    attempt(
        "an LFS pointer whose oid climbs out with ../",
        IntegrityError,
        lambda: LocalHub(hub).resolve(location.repo_id, "model.safetensors", "main"),
    )
    (repo / "model.safetensors").write_text(pointer)
    # the package's bundled weight, altered: refused, never moved (every later load would fail)
    from types import SimpleNamespace

    import resnet_zoo.weights.fetch as fetch_module

    spec = resnet_zoo.get_weights(DIGITS)
    target = pkg / spec.bundled_file
    good = target.read_bytes()
    target.write_bytes(good[:-5] + bytes([good[-5] ^ 0xFF]) + good[-4:])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fetch_module, "resources", SimpleNamespace(files=lambda _pkg: pkg))
        attempt("the package's bundled weight altered", IntegrityError, lambda: fetch_module.fetch_weights(spec))
        assert target.exists()
        target.write_bytes(good)
        # an upper-case pin of the right hash is the right hash: nothing refused, nothing moved
        assert fetch_module.verify_file(target, spec.bundled_sha256.upper(), DIGITS, force=True)
    after = _snapshot_outside(*outside)
    moved = sorted(set(before) ^ set(after))
    changed = [p for p in before if p in after and before[p] != after[p]]
    assert moved == [] and changed == [], (moved, changed)
    FIGURES["quarantine"] = {"cases": cases, "files_outside_moved": len(moved) + len(changed)}
    assert not list((cache / "quarantine").glob("*"))  # nothing of theirs was taken into our quarantine


def test_a_cache_copy_that_fails_is_quarantined(tmp_path, cache):
    data = b"x" * 1000
    srv = FaultServer({"f-deadbeef.pth": data})
    try:
        url = srv.url("ok", 0, "f-deadbeef.pth")
        with pytest.raises(IntegrityError):
            url_download(url, "t", "deadbeef")
    finally:
        srv.close()
    assert not url_cache_path(url).exists()


def test_non_lfs_model_safetensors_is_read_as_what_it_is(tmp_path, cache):
    sd = digits_sd()
    folder = tmp_path / "plain"
    folder.mkdir()
    save_file(sd, str(folder / "model.safetensors"))
    repo = tmp_path / "hub" / "models" / "site" / "digits"
    repo.mkdir(parents=True)
    shutil.copy(folder / "model.safetensors", repo / "model.safetensors")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "no lfs"], check=True)
    path = LocalHub(tmp_path / "hub").resolve("site/digits", "model.safetensors", "main")
    assert path is not None and sha256_file(path) == sha256_file(folder / "model.safetensors")


# -- 4. bounded downloads ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    data = os.urandom(200_000)
    srv = FaultServer({"drip-00000000.bin": data, "plain.bin": data, "z.pth": data})
    srv.data = data
    yield srv
    srv.close()


def test_a_dripping_server_is_stopped_at_the_deadline(server, cache):
    deadline = 2.0
    policy = RetryPolicy(attempts=3, backoff_s=0.05, timeout_s=(2.0, 1.0), deadline_s=deadline)
    started = time.monotonic()
    with pytest.raises(DownloadError, match="deadline"):
        url_download(server.url("drip", 0.2, "plain.bin"), "drip.tag", retry=policy)
    elapsed = time.monotonic() - started
    assert elapsed < deadline + policy.timeout_s[1] + 1.0  # the deadline is the feature
    assert not [p for p in cache.rglob("*") if p.is_file() and not p.name.endswith(".lock")]
    FIGURES["drip"] = {"deadline_s": deadline, "stopped_after_s": round(elapsed, 2), "byte_every_s": 0.2}


def test_lock_waiters_give_up_at_the_deadline(server, cache):
    from filelock import FileLock

    url = server.url("ok", 0, "plain.bin")
    dest = url_cache_path(url)
    dest.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from filelock import FileLock; import time\nwith FileLock({str(dest) + '.lock'!r}):\n"
            "    print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DownloadError, match="gave up waiting"):
            url_download(url, "t", retry=RetryPolicy(deadline_s=1.0))
    finally:
        holder.kill()
        holder.wait()
    assert FileLock  # the lock class the waiters use


def test_stale_part_files_are_removed(server, cache):
    url = server.url("ok", 0, "plain.bin")
    dest = url_cache_path(url)
    dest.parent.mkdir(parents=True)
    stale = dest.parent / ".plain.bin.killed.part"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 1000, time.time() - 1000))
    fresh = dest.parent / ".plain.bin.running.part"
    fresh.write_bytes(b"in flight")
    assert url_download(url, "t", retry=RetryPolicy(deadline_s=100)).read_bytes() == server.data
    assert not stale.exists() and fresh.exists()


def test_gzip_responses_are_decoded(server, cache):
    path = url_download(server.url("gzip", 0, "plain.bin"), "t", retry=RetryPolicy(attempts=1))
    assert path.read_bytes() == server.data and gzip.compress(server.data) != server.data


@pytest.mark.parametrize("host", ["no-such-host.invalid", "127.0.0.1:{closed}"])
def test_unreachable_servers_fail_fast_with_offline_advice(cache, host):
    url = f"http://{host.format(closed=free_port())}/w-00000000.pth"
    started = time.monotonic()
    with pytest.raises(NetworkUnreachableError) as e:
        url_download(url, "resnet18.a1_in1k")
    assert time.monotonic() - started < 5
    for needle in ("HF_HUB_OFFLINE=1", "hub_dir=", "RESNET_ZOO_HUB_DIR", "resnet-zoo download", "machine with network"):
        assert needle in str(e.value)


def test_an_unreachable_hub_is_not_retried(tmp_path):
    code = (
        "import time, resnet_zoo\nt = time.monotonic()\ntry:\n    resnet_zoo.create_model('resnet18', pretrained=True)\n"
        "except resnet_zoo.WeightsNotAvailableError as e:\n    print(round(time.monotonic() - t, 1)); print(e)\n"
    )
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    env.pop("HF_HUB_OFFLINE", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO)
    seconds, message = done.stdout.split("\n", 1)
    assert float(seconds) < 5, done.stdout
    assert "HF_HUB_OFFLINE=1" in message and "machine with network" in message and "RESNET_ZOO_HUB_DIR" in message


# -- 5. pins of first use, URL cache keys ------------------------------------------------------


def _url_entry(tmp: Path, url: str, name: str = "cifar_resnet20.urlpin") -> Path:
    entry = resnet_zoo.get_weights(DIGITS).to_dict()
    entry.update(name=name, tag=name.split(".")[1], default=False, storage="hub", bundled_file="", bundled_sha256="")
    entry["origin"] = {"library": "timm", "url": url, "url_format": "timm"}
    path = tmp / f"{name}.json"
    path.write_text(json.dumps({"schema_version": 2, "weights": [entry]}))
    return path


def test_an_origin_file_is_pinned_on_first_use(tmp_path, cache, monkeypatch, capsys):
    import io

    buf, other = io.BytesIO(), io.BytesIO()
    sd = digits_sd()
    torch.save(sd, buf)
    torch.save({k: v + 1 if v.is_floating_point() and "running_var" not in k else v for k, v in sd.items()}, other)
    srv = FaultServer({"weights.pth": buf.getvalue()})
    try:
        url = srv.url("ok", 0, "weights.pth")
        monkeypatch.setenv("RESNET_ZOO_MANIFEST", str(_url_entry(tmp_path, url)))
        resnet_zoo.create_model("cifar_resnet20.urlpin", pretrained=True)
        pins = list((cache / "pins").glob("*.json"))
        assert (
            len(pins) == 1 and json.loads(pins[0].read_text())["sha256"] == hashlib.sha256(buf.getvalue()).hexdigest()
        )
        # the origin changes the file: the cached copy is gone, the new download is refused
        srv.files["weights.pth"] = other.getvalue()
        url_cache_path(url).unlink()
        with pytest.raises(IntegrityError, match="resnet-zoo verify-cache --accept cifar_resnet20.urlpin"):
            resnet_zoo.create_model("cifar_resnet20.urlpin", pretrained=True)
        assert not url_cache_path(url).exists()  # nothing that failed stays in the cache
        assert main(["verify-cache", "--accept", "cifar_resnet20.urlpin"]) == 0
        resnet_zoo.create_model("cifar_resnet20.urlpin", pretrained=True)  # accepted, pinned again
    finally:
        srv.close()


def test_url_cache_is_keyed_by_the_whole_url_and_bad_bodies_are_not_kept(tmp_path, cache, monkeypatch):
    html = b"<html>not a checkpoint</html>"
    srv = FaultServer({"weights.pth": html})
    try:
        a, b = srv.url("ok", 0, "weights.pth"), srv.url("flip", 3, "weights.pth")
        assert url_cache_path(a) != url_cache_path(b) and url_cache_path(a).name == url_cache_path(b).name
        monkeypatch.setenv("RESNET_ZOO_MANIFEST", str(_url_entry(tmp_path, a)))
        with pytest.raises(IncompatibleCheckpointError):
            resnet_zoo.create_model("cifar_resnet20.urlpin", pretrained=True)
        assert not url_cache_path(a).exists() and not list((cache / "pins").glob("*"))
    finally:
        srv.close()


# -- 7. content checks, copy-on-read, in-place edits -----------------------------------------------


def test_half_precision_files_load_as_float32_with_the_dtype_recorded(tmp_path):
    from resnet_zoo.factory import read_weights

    sd = {k: v.half() if v.is_floating_point() else v for k, v in digits_sd().items()}
    save_file(sd, str(tmp_path / "half.safetensors"))
    loaded = read_weights("cifar_resnet20", str(tmp_path / "half.safetensors"))
    assert loaded.dtype == "float16" and all(v.dtype != torch.float16 for v in loaded.state_dict.values())
    model = resnet_zoo.create_model("cifar_resnet20", pretrained=str(tmp_path / "half.safetensors"))
    assert model(torch.randn(1, 1, 16, 16)).dtype == torch.float32


def test_a_loaded_model_does_not_change_when_its_file_is_edited(tmp_path):
    path = tmp_path / "w.safetensors"
    save_file(digits_sd(), str(path))
    model = resnet_zoo.create_model("cifar_resnet20", pretrained=str(path))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    raw = bytearray(path.read_bytes())
    raw[-400:] = os.urandom(400)
    with open(path, "r+b") as f:  # in place: same inode, same size
        f.write(raw)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_an_edit_with_size_and_mtime_put_back_is_still_caught(tmp_path, cache, monkeypatch):
    from types import SimpleNamespace

    import resnet_zoo.weights.fetch as fetch_module

    pkg = tmp_path / "pkg"
    shutil.copytree(Path(resnet_zoo.__file__).parent / "data", pkg / "data")
    monkeypatch.setattr(fetch_module, "resources", SimpleNamespace(files=lambda _pkg: pkg))
    spec = resnet_zoo.get_weights(DIGITS)
    assert fetch_module.fetch_weights(spec).fresh and not fetch_module.fetch_weights(spec).fresh
    target = pkg / spec.bundled_file
    st = target.stat()
    raw = bytearray(target.read_bytes())
    raw[-7] ^= 0xFF
    with open(target, "r+b") as f:
        f.write(raw)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # size and mtime as they were
    with pytest.raises(IntegrityError):
        fetch_module.fetch_weights(spec)


def test_a_bare_word_is_a_tag_even_when_a_file_has_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("digits").write_bytes(b"not a weight file")
    model = resnet_zoo.create_model("cifar_resnet20", pretrained="digits")
    assert model.weights.name == DIGITS
    path = tmp_path / "mine"
    save_file(digits_sd(), str(path))
    assert (
        resnet_zoo.create_model("cifar_resnet20", pretrained=path).weights is None
    )  # a Path is a file, no manifest weight


# -- 6. publishing under concurrency -----------------------------------------------------------

PUBLISH = "import sys; from resnet_zoo.tools.publish import publish; publish(sys.argv[1], to=sys.argv[2])"


def _folders(root: Path, base: Path, names: list[str], same_repo: bool) -> list[Path]:
    folders = []
    for i, name in enumerate(names):
        folder = root / f"f{i}"
        shutil.copytree(base, folder)
        spec = json.loads((folder / "resnet_zoo_weight.json").read_text())
        spec.update(name=name, tag=name.split(".")[1], default=False)
        (folder / "resnet_zoo_weight.json").write_text(json.dumps(spec))
        if same_repo:  # other bytes for each publisher of the same repo
            from safetensors.torch import load_file

            save_file(load_file(str(base / "model.safetensors")), str(folder / "model.safetensors"), {"n": str(i)})
        folders.append(folder)
    return folders


def test_concurrent_publishers_lose_no_entry_and_serialise_commits(tmp_path):
    base = convert(DIGITS, tmp_path / "base").out_dir
    hub = tmp_path / "hub"
    n = 6
    names = [f"cifar_resnet20.c{i}" for i in range(n)]
    jobs = [(f, names[i]) for i, f in enumerate(_folders(tmp_path / "distinct", base, names, False))]
    jobs += [(f, "cifar_resnet20.same") for f in _folders(tmp_path / "same", base, ["cifar_resnet20.same"] * 3, True)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", PUBLISH, str(f), str(hub)], env=env, cwd=REPO) for f, _ in jobs]
    assert [p.wait(timeout=300) for p in procs] == [0] * len(procs)
    entries = read_manifest_file(hub / "weights_manifest.json")
    recorded = sum(name in entries for name in names)
    assert recorded == n and "cifar_resnet20.same" in entries
    log = subprocess.run(
        ["git", "-C", str(hub / "models" / "resnet-zoo" / "cifar_resnet20.same"), "log", "--format=%H"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(log) == 3  # three publishes of other bytes: three commits
    FIGURES["concurrent_publish"] = {
        "publishers": n,
        "recorded": recorded,
        "same_repo_publishes": 3,
        "commits": len(log),
    }


def test_convert_refuses_a_non_empty_out_dir_unless_forced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ResNetZooError, match="not empty.*--force"):
        convert(DIGITS, out)
    assert main(["convert", DIGITS, "--out", str(out)]) == 2
    convert(DIGITS, out, force=True)
    assert (out / "notes.txt").read_text() == "mine" and (out / "model.safetensors").exists()


@pytest.mark.parametrize("repo_id", ["a/.", "./x", "a/.git", "a/..", "../a", "a/b/c", "a--b/c", "", "a/" + "x" * 97])
def test_bad_repo_ids_are_refused(repo_id, tmp_path):
    with pytest.raises(InvalidArgumentError, match="repo id"):
        LocalHub(tmp_path).repo_dir(repo_id)
