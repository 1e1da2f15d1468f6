"""`trainer evalsets fetch` against a real HTTP server on the loopback interface, laid out as raw.githubusercontent.com
(OWNER/REPO/COMMIT/PATH). The literal tests serve small invented files with their sha256 swapped into the set table;
the last test serves the real files of KGBUILD_EVALSETS and checks every real sha256 and every built file."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

import trainer.evalsets as evalsets_module
from trainer.cli import app
from trainer.evalsets import PUBLIC_SETS, PublicSet
from trainer.evaluate import evaluate_model

SICK_HEADER = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment"
# Invented rows in the SICK format (not SICK data): three files, as the source has.
SICK = {
    "SICK_train.txt": [
        ("A man is playing a guitar", "A person plays a guitar", 4.6),
        ("A dog runs in the park", "A cat sleeps on the sofa", 1.4),
    ],
    "SICK_trial.txt": [("Two children are swimming", "Kids are in the water", 4.1)],
    "SICK_test_annotated.txt": [
        ("A woman is cutting an onion", "Someone slices a vegetable", 3.9),
        ("The sky is blue", "A truck is parked outside", 1.1),
    ],
}
MAYO_TERMS = "heart attack<>myocardial infarction\nfever<>headache\ncough<>broken leg"  # no final newline, as Mayo's
MAYO_JUDGEMENTS = "8.1<>C0027051<>C0027051\n3.2<>C0015967<>C0018681\n1<>C0010200<>C0272667\n"
MAYO_TSV = (
    "id\tterm1\tterm2\tcui1\tcui2\tscore\n1\theart attack\tmyocardial infarction\tC0027051\tC0027051\t8.1\n"
    "2\tfever\theadache\tC0015967\tC0018681\t3.2\n3\tcough\tbroken leg\tC0010200\tC0272667\t1\n"
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def literal_files() -> dict[tuple[str, str], bytes]:
    """(set folder, file name) → bytes served for it."""
    files = {
        ("mayosrs", "raw/mayoSRS.txt"): MAYO_TERMS.encode(),
        ("mayosrs", "raw/mayoSRS_human_judgement.txt"): MAYO_JUDGEMENTS.encode(),
        ("sick", "readme.txt"): b"invented rows for a test; the real SICK is CC BY-NC-SA 3.0\n",
    }
    for name, rows in SICK.items():
        lines = [SICK_HEADER] + [f"{i}\t{a}\t{b}\t{s}\tNEUTRAL" for i, (a, b, s) in enumerate(rows, 1)]
        files[("sick", name)] = ("\n".join(lines) + "\n").encode()
    return files


def literal_sets(files: dict[tuple[str, str], bytes]) -> tuple[PublicSet, ...]:
    """The real table's biosses (skipped), mayosrs and sick entries with the literal files' sha256 swapped in."""
    chosen = []
    for spec in PUBLIC_SETS:
        if spec.folder not in ("biosses", "mayosrs", "sick"):
            continue
        remotes = tuple(
            dataclasses.replace(r, sha256=sha(files[spec.folder, r.name])) if not spec.skipped else r
            for r in spec.files
        )
        built = tuple(dataclasses.replace(b, sha256=sha(MAYO_TSV.encode())) for b in spec.built)
        chosen.append(dataclasses.replace(spec, files=remotes, built=built))
    return tuple(chosen)


def serve_layout(root: Path, sets: tuple[PublicSet, ...], content: dict[tuple[str, str], bytes]) -> None:
    """Write each file where raw.githubusercontent.com has it: OWNER/REPO/COMMIT/PATH."""
    for spec in sets:
        for remote in spec.files:
            if (spec.folder, remote.name) in content:
                target = root / spec.repo / spec.commit / remote.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content[spec.folder, remote.name])


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """(root folder served, base URL) of a real HTTP server on 127.0.0.1."""
    root = tmp_path / "served"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")  # a proxy set in the environment must not get loopback
    monkeypatch.delenv("KGBUILD_EVALSETS_MIRROR", raising=False)
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def literal(server, monkeypatch):
    root, base = server
    files = literal_files()
    sets = literal_sets(files)
    monkeypatch.setattr(evalsets_module, "PUBLIC_SETS", sets)  # the test hook: our hashes for our literal files
    serve_layout(root, sets, files)
    return root, base, sets


def fetch(*args: str):
    return CliRunner().invoke(app, ["evalsets", "fetch", *args])


def test_fetch_prints_plain_progress_lines_in_a_log_file(literal, tmp_path, monkeypatch):
    """Issue 31: `trainer evalsets fetch` in a log file says how far it is (here at every file)."""
    _, base, _ = literal
    monkeypatch.setenv("KGBUILD_PROGRESS_EVERY_S", "0")
    result = fetch(str(tmp_path / "sets"), "--mirror", base)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("fetch: ")]
    assert lines and "(100%)" in lines[-1] and "files/s" in lines[-1], lines


def test_fetch_writes_the_layout_evaluate_reads_and_prints_each_licence(literal, tiny_model, tmp_path):
    root, base, _ = literal
    out = tmp_path / "sets"
    result = fetch(str(out), "--mirror", base)
    assert result.exit_code == 0, result.output
    assert (out / "mayosrs" / "mayosrs.tsv").read_text() == MAYO_TSV  # built from the two raw files
    for name in SICK:
        assert (out / "sick" / name).read_bytes() == literal_files()["sick", name]
    assert not (out / "biosses").exists() and (out / "manifest.json").is_file()
    assert "Source: `brmson/dataset-sts`" in (out / "sick" / "SOURCES.md").read_text()
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and lines[0].startswith("biosses (BIOSSES): GPL-3.0") and "NOT FETCHED: " in lines[0]
    assert lines[1].startswith("mayosrs (MayoSRS): CC0 1.0") and "WARNING" not in lines[1]
    assert lines[2].startswith("sick (SICK-R, SICK-R-test): CC BY-NC-SA 3.0 — WARNING: NON-COMMERCIAL")
    # what was written is what `trainer evaluate --evalsets` reads: SICK-R is all three files, as MTEB's
    scores = evaluate_model(str(tiny_model), evalsets=out, sets=["MayoSRS", "SICK-R", "SICK-R-test"])
    assert scores["MayoSRS"]["n"] == 3 and scores["SICK-R"]["n"] == 5 and scores["SICK-R-test"]["n"] == 2

    again = fetch(str(out), "--mirror", base)  # an earlier fetch is ours, but replaced only when asked
    assert again.exit_code == 1 and "already exists" in again.stderr and "--force" in again.stderr
    (out / "sick" / "SICK_train.txt").write_text("damaged")
    forced = CliRunner(env={"KGBUILD_EVALSETS_MIRROR": base}).invoke(app, ["evalsets", "fetch", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert (out / "sick" / "SICK_train.txt").read_bytes() == literal_files()["sick", "SICK_train.txt"]


def test_a_folder_the_toolkit_did_not_write_is_never_replaced(literal, tmp_path):
    _, base, _ = literal
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    result = fetch(str(out), "--mirror", base, "--force")
    assert result.exit_code == 1 and "not written by kgbuild" in result.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_a_corrupt_download_is_one_line_and_writes_nothing(literal, tmp_path):
    root, base, sets = literal
    sick = next(s for s in sets if s.folder == "sick")
    served = root / sick.repo / sick.commit / "data/sts/sick2014/SICK_trial.txt"
    served.write_bytes(served.read_bytes().replace(b"4.1", b"4.2"))  # one changed score
    out = tmp_path / "sets"
    result = fetch(str(out), "--mirror", base)
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert (
        "sha256 mismatch" in line
        and f"{base}/brmson/dataset-sts/{sick.commit}/data/sts/sick2014/SICK_trial.txt" in line
    )
    assert not out.exists() and list(tmp_path.iterdir()) == [root]  # no folder, no temporary folder left


def test_a_missing_file_or_unreachable_server_is_one_line_naming_the_url(literal, tmp_path):
    root, base, sets = literal
    mayo = next(s for s in sets if s.folder == "mayosrs")
    (root / mayo.repo / mayo.commit / mayo.files[1].path).unlink()
    result = fetch(str(tmp_path / "sets"), "--mirror", base, "--only", "mayosrs")
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert "HTTP 404" in line and "mayoSRS%20human%20judgement.txt" in line and "KGBUILD_EVALSETS_MIRROR" in line
    refused = fetch(str(tmp_path / "sets"), "--mirror", "http://127.0.0.1:9", "--only", "sick")  # nothing listens
    assert refused.exit_code == 1 and "download failed" in refused.stderr and "127.0.0.1:9/brmson" in refused.stderr
    assert not (tmp_path / "sets").exists()
    unknown = fetch(str(tmp_path / "sets"), "--only", "medsts")
    assert unknown.exit_code == 1 and "unknown set" in unknown.stderr
    biosses = fetch(str(tmp_path / "sets"), "--only", "biosses")
    assert biosses.exit_code == 1 and "biosses cannot be fetched: its only source is a RAR archive" in biosses.stderr
    assert not (tmp_path / "sets").exists()


def test_fetch_only_takes_the_names_of_evaluate_sets_and_the_old_folder_names(literal, tmp_path):
    """Issue 31, item 9: --only took folder names (umnsrs, sick), `trainer evaluate --sets` set names (UMNSRS-sim)."""
    from trainer.evalsets import NAMES, folder_of
    from trainer.evaluate import SET_NAMES

    root, base, sets = literal
    assert set(SET_NAMES) - {"MedSTS", "MedNLI-S"} <= set(NAMES)  # every public evaluate set can be asked for by name
    assert folder_of("SICK-R-test") == folder_of("sick") == "sick" and folder_of("SICK") is None
    result = fetch(str(tmp_path / "sets"), "--mirror", base, "--only", "MayoSRS")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sets" / "mayosrs" / "mayosrs.tsv").is_file() and not (tmp_path / "sets" / "sick").exists()
    unknown = fetch(str(tmp_path / "other"), "--only", "UMNSRS")
    assert unknown.exit_code == 1 and "UMNSRS-sim" in unknown.stderr  # the fix lists the names to use


def test_the_real_sources_reproduce_every_file_of_the_shared_sets(evalsets, server, tmp_path):
    """Every real sha256 (the snapshot commits' files) and every built file (mayosrs.tsv, the mention tables) against
    the copies in KGBUILD_EVALSETS, served in the raw.githubusercontent.com layout."""
    root, base = server
    content = {
        (s.folder, r.name): (evalsets / s.folder / r.name).read_bytes()
        for s in PUBLIC_SETS
        for r in s.files
        if (evalsets / s.folder / r.name).is_file()
    }
    serve_layout(root, PUBLIC_SETS, content)
    out = tmp_path / "sets"
    result = fetch(str(out), "--mirror", base)
    assert result.exit_code == 0, result.output
    for spec in PUBLIC_SETS:
        if spec.skipped:
            continue
        for name in [r.name for r in spec.files] + [b.name for b in spec.built]:
            assert (out / spec.folder / name).read_bytes() == (evalsets / spec.folder / name).read_bytes(), name


# -- a mirror that misbehaves (issue 28, item 11) -------------------------------------------------------------------


@pytest.fixture
def bad_mirror():
    """A loopback HTTP server that answers every GET in the way `mode[0]` says: a body cut short, a trickle, or a
    body larger than the cap."""
    import socket
    import time

    mode = ["short"]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                if mode[0] == "short":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
                elif mode[0] == "trickle":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                    for _ in range(100):  # bounded: a byte every 0.05 s, 5 s at most
                        if stop.is_set():
                            break
                        try:
                            conn.sendall(b"x")
                        except OSError:
                            break
                        time.sleep(0.05)
                else:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\n")
                    try:
                        for _ in range(30):
                            conn.sendall(b"x" * 100_000)
                    except OSError:
                        pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield mode, f"http://127.0.0.1:{sock.getsockname()[1]}/file.txt"
    stop.set()
    thread.join(5)
    sock.close()


@pytest.mark.parametrize(
    "how, message",
    [
        ("short", r"the body ended after 10 of 1,000 bytes"),
        ("trickle", r"not done after 1 s"),
        ("huge", r"more than 1,000,000 bytes"),
    ],
)
def test_a_bad_mirror_is_one_line_naming_the_url(bad_mirror, monkeypatch, how, message):
    from kgbuild.core.errors import UserError

    mode, url = bad_mirror
    mode[0] = how
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(evalsets_module, "DEADLINE_S", 1.0)
    monkeypatch.setattr(evalsets_module, "MAX_BYTES", 1_000_000)
    with pytest.raises(UserError, match=message) as info:
        evalsets_module.download(url, timeout=5)
    assert url in str(info.value)
