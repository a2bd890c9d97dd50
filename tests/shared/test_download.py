"""fetch/locate/download against a local HTTP server on 127.0.0.1 (no other host is contacted)."""

import hashlib
import io
import json
import socket
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from hepad.cli import main
from hepad.errors import InputError
from hepad.io.download import download, fetch, load_manifest, locate


def _hdf5_bytes(n: int) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f["x"] = np.arange(n, dtype=np.uint8)
    return buf.getvalue()


DATA = _hdf5_bytes(10_000)  # a real HDF5 file of about 12 kB: what a first download may record
SHA = hashlib.sha256(DATA).hexdigest()
HTML = b"<!DOCTYPE html>\n<html><body>Rate limited</body></html>"
SMALL = {"min_size": 1000}  # the test files are far below the default plausible size (1 MiB)
FAST = {"retries": 3, "timeout": 2, "backoff": 0.01, "chunk": 1024}
MANIFEST = Path(__file__).parents[2] / "resources" / "datasets.yaml"


class Handler(BaseHTTPRequestHandler):
    """Serves server.state['content']; state knobs: fail (503s to send first), truncate (bytes to
    send before closing on the next response), ignore_range, stall (seconds to sleep once)."""

    def do_GET(self):
        st = self.server.state
        st["ranges"].append(self.headers.get("Range"))
        if self.path.startswith("/missing"):
            return self.send_error(404)
        if st["fail"] > 0:
            st["fail"] -= 1
            return self.send_error(503)
        if st["stall"]:
            stall, st["stall"] = st["stall"], 0
            time.sleep(stall)
        data, start, rng = st["content"], 0, self.headers.get("Range")
        if rng and not st["ignore_range"]:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                return self.send_error(416)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))  # the full length, even when truncating
        self.end_headers()
        if st["truncate"]:
            body, st["truncate"] = body[: st["truncate"]], 0
            self.close_connection = True
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = {"content": DATA, "fail": 0, "truncate": 0, "ignore_range": False, "stall": 0, "ranges": []}
    t = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    t.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/file.h5"
    yield srv
    srv.shutdown()
    srv.server_close()


def leftovers(dest: Path):
    return sorted(p.name for p in dest.parent.iterdir() if p.name.startswith(dest.name))


def test_good_file(server, tmp_path):
    dest = tmp_path / "sub" / "file.h5"
    assert fetch(server.url, dest, sha256=SHA, size=len(DATA), **FAST) == dest
    assert dest.read_bytes() == DATA
    assert leftovers(dest) == ["file.h5"]


@pytest.mark.parametrize("ignore_range", [False, True], ids=["range", "range-ignored"])
def test_truncated_download_is_resumed(server, tmp_path, ignore_range):
    server.state.update(truncate=3000, ignore_range=ignore_range)
    dest = tmp_path / "file.h5"
    fetch(server.url, dest, sha256=SHA, **FAST)
    assert dest.read_bytes() == DATA and leftovers(dest) == ["file.h5"]
    assert server.state["ranges"] == [None, "bytes=3000-"]


def test_part_from_an_earlier_run_is_resumed(server, tmp_path):
    dest = tmp_path / "file.h5"
    (tmp_path / "file.h5.part").write_bytes(DATA[:5000])
    fetch(server.url, dest, sha256=SHA, size=len(DATA), **FAST)
    assert dest.read_bytes() == DATA and server.state["ranges"] == ["bytes=5000-"]


def test_503_then_success_and_timeout_then_success(server, tmp_path):
    server.state.update(fail=2)
    fetch(server.url, tmp_path / "a.h5", sha256=SHA, **FAST)
    server.state.update(stall=1.0, ranges=[])
    fetch(server.url, tmp_path / "b.h5", sha256=SHA, **{**FAST, "timeout": 0.3})
    assert (tmp_path / "b.h5").read_bytes() == DATA and len(server.state["ranges"]) == 2


def test_persistent_503_gives_up(server, tmp_path):
    server.state.update(fail=100)
    with pytest.raises(InputError, match=r"failed after 3 tries \(HTTP 503.*fetch it by hand into .*data_dir"):
        fetch(server.url, tmp_path / "f.h5", **FAST)
    assert leftovers(tmp_path / "f.h5") == []


@pytest.mark.parametrize("kw", [{"sha256": "0" * 64}, {"md5": "0" * 32}, {"size": len(DATA) + 1}])
def test_wrong_checksum_or_size_leaves_nothing(server, tmp_path, kw):
    dest = tmp_path / "file.h5"
    with pytest.raises(InputError, match=r"(checksum|size) mismatch for .*file.h5.*manifest") as e:
        fetch(server.url, dest, **kw, **FAST)
    assert "\n" not in str(e.value)
    assert leftovers(dest) == []


def test_wrong_bytes_then_right_bytes(server, tmp_path):
    server.state.update(content=b"x" * len(DATA))
    dest = tmp_path / "file.h5"
    with pytest.raises(InputError, match=f"sha256 {hashlib.sha256(b'x' * len(DATA)).hexdigest()} != {SHA}"):
        fetch(server.url, dest, sha256=SHA, **FAST)
    server.state.update(content=DATA)  # nothing untrusted was kept: a new try starts clean
    fetch(server.url, dest, sha256=SHA, **FAST)
    assert dest.read_bytes() == DATA


def test_server_down_fails_fast(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/file.h5"
    t0 = time.perf_counter()
    with pytest.raises(InputError, match=rf"download of {url} failed after 2 tries \(.*\); fetch it by hand"):
        fetch(url, tmp_path / "file.h5", **{**FAST, "retries": 2})
    assert time.perf_counter() - t0 < 3
    assert leftovers(tmp_path / "file.h5") == []


def test_http_404_is_not_retried(server, tmp_path):
    url = server.url.replace("file.h5", "missing.h5")
    with pytest.raises(InputError, match="HTTP 404"):
        fetch(url, tmp_path / "m.h5", **FAST)
    assert server.state["ranges"] == [None]


def test_unknown_checksum_is_recorded_then_enforced(server, tmp_path):
    store, dest = tmp_path / "checksums.json", tmp_path / "data" / "file.h5"
    fetch(server.url, dest, checksum_store=store, **SMALL, **FAST)
    rec = json.loads(store.read_text())[server.url]
    assert rec == {"name": "file.h5", "sha256": SHA, "size": len(DATA)}

    dest.unlink()
    server.state.update(content=DATA[::-1])  # the server now serves other bytes
    with pytest.raises(InputError, match=rf"checksum mismatch for .*file.h5: sha256 \w+ != {SHA} \(recorded in") as e:
        fetch(server.url, dest, checksum_store=store, **FAST)
    # how to recover when the recorded value itself is wrong: which file, which key
    assert f'delete the key "{server.url}" from {store}' in str(e.value)
    assert leftovers(dest) == []
    assert json.loads(store.read_text())[server.url]["sha256"] == SHA  # the record is not overwritten

    dest.write_bytes(DATA[::-1])  # a corrupt file already in place is refused too
    with pytest.raises(InputError, match="checksum mismatch for existing") as e:
        fetch(server.url, dest, checksum_store=store, **FAST)
    assert f"delete {dest} to download again" in str(e.value) and f'key "{server.url}" from {store}' in str(e.value)


def test_wrong_record_can_be_deleted_as_the_error_says(server, tmp_path):
    store, dest = tmp_path / "data" / "c.json", tmp_path / "data" / "file.h5"
    store.parent.mkdir()
    store.write_text(json.dumps({server.url: {"name": "file.h5", "sha256": "0" * 64, "size": len(DATA)}}))
    with pytest.raises(InputError, match=r"sha256 \w+ != 0{64} \(recorded in .*c.json") as e:
        fetch(server.url, dest, checksum_store=store, **SMALL, **FAST)
    assert f'delete the key "{server.url}" from {store} (or that whole file) and download again' in str(e.value)
    rec = json.loads(store.read_text())  # do as it says: the file is then fetched and recorded anew
    del rec[server.url]
    store.write_text(json.dumps(rec))
    fetch(server.url, dest, checksum_store=store, **SMALL, **FAST)
    assert dest.read_bytes() == DATA and json.loads(store.read_text())[server.url]["sha256"] == SHA


@pytest.mark.parametrize("content,match", [
    (HTML, r"received 54 bytes starting with '<!DOCTYPE html>' \(an HTML page\?\) \(fewer than 1000 bytes\); "
           r"expected an HDF5 file of at least 1000 bytes"),
    (HTML * 40, r"received 2160 bytes starting with '<!DOCTYPE html>' \(an HTML page\?\) \(no HDF5 signature\)"),
    (DATA[:5000], r"received 5000 bytes starting with '\\x89HDF.*\(h5py cannot open it"),
], ids=["small-html", "large-html", "truncated-hdf5"])
def test_error_page_is_neither_kept_nor_recorded(server, tmp_path, content, match):
    """Served with status 200, an error page must not become the data set (nor its recorded checksum)."""
    assert len(HTML) == 54
    server.state.update(content=content)
    store, dest = tmp_path / "data" / "c.json", tmp_path / "data" / "file.h5"
    with pytest.raises(InputError, match=match) as e:
        fetch(server.url, dest, checksum_store=store, **SMALL, **FAST)
    assert "\n" not in str(e.value) and "nothing was kept or recorded" in str(e.value)
    assert leftovers(dest) == [] and not store.exists()
    server.state.update(content=DATA)  # the real file then downloads and is recorded
    fetch(server.url, dest, checksum_store=store, **SMALL, **FAST)
    assert dest.read_bytes() == DATA and json.loads(store.read_text())[server.url]["sha256"] == SHA


def test_default_min_size_and_zip_format(server, tmp_path):
    """1 MiB is the default plausible size; a .zip must be a zip archive whose members pass their CRC."""
    with pytest.raises(InputError, match=r"\(fewer than 1048576 bytes\); expected an HDF5 file of at least 1048576"):
        fetch(server.url, tmp_path / "file.h5", **FAST)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("member.bin", bytes(range(256)) * 8)
    good = buf.getvalue()
    bad = good.replace(bytes(range(256)), bytes(range(1, 256)) + b"\0", 1)  # same size, bad CRC
    for content, match in ((HTML * 40, "no zip directory"), (bad, "bad CRC in member member.bin")):
        server.state.update(content=content)
        with pytest.raises(InputError, match=rf"\({match}\); expected a zip archive of at least 1000 bytes"):
            fetch(server.url, tmp_path / "a.zip", checksum_store=tmp_path / "c.json", **SMALL, **FAST)
        assert leftovers(tmp_path / "a.zip") == [] and not (tmp_path / "c.json").exists()
    server.state.update(content=good)
    fetch(server.url, tmp_path / "a.zip", checksum_store=tmp_path / "c.json", **SMALL, **FAST)
    assert (tmp_path / "a.zip").read_bytes() == good


def write_manifest(path, url, **extra):
    entry = dict(name="file.h5", url=url, size=None, sha256=None, md5=None, description="test", min_size=1000, **extra)
    path.write_text(yaml.safe_dump({"files": [entry]}))
    return path


def test_download_and_locate(server, tmp_path):
    manifest = write_manifest(tmp_path / "m.yaml", server.url)
    data_dir = tmp_path / "data"
    with pytest.raises(InputError, match=rf"file.h5: not found in data_dir .*data; download {server.url} .*data_dir") as e:
        locate("file.h5", data_dir, manifest)
    # the suggested command names the folder and this (non-default) manifest, and works as written
    cmd = f"hepad download file.h5 --data-dir {data_dir} --manifest {manifest}"
    assert f"run `{cmd}`" in str(e.value)
    assert main(cmd.split()[1:]) == 0 and (data_dir / "file.h5").read_bytes() == DATA
    (data_dir / "file.h5").unlink()
    assert download("file.h5", manifest, data_dir, tmp_path / "c.json", **FAST) == data_dir / "file.h5"
    assert locate("file.h5", data_dir, manifest) == data_dir / "file.h5"
    with pytest.raises(InputError, match="unknown dataset file 'nope'; expected one of file.h5"):
        locate("nope", data_dir, manifest)
    write_manifest(manifest, server.url, record=1).write_text(manifest.read_text().replace("size: null", "size: 3"))
    with pytest.raises(InputError, match="expected 3 \\(manifest\\)"):
        locate("file.h5", data_dir, manifest)


def test_project_manifest():
    files = load_manifest(MANIFEST)
    assert {"events_anomalydetection_v2.features.h5", "events_anomalydetection_qcd_extra_inneronly_features.h5",
            "gamma_1.hdf5", "gamma_2.hdf5"} <= set(files)  # fmt: skip
    raw = {e["name"]: e for e in yaml.safe_load(MANIFEST.read_text())["files"]}
    for name, e in files.items():
        assert e["url"] == f"https://zenodo.org/records/{raw[name]['record']}/files/{name}?download=1"
        assert e["size"] is None or isinstance(e["size"], int)
        assert e["sha256"] is None or len(e["sha256"]) == 64
        assert e["md5"] is None or len(e["md5"]) == 32
        assert e["description"]


def test_hepad_download_command(server, tmp_path, capsys):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(yaml.safe_dump({"files": [{"name": "file.h5", "url": server.url, "min_size": 1000}]}))
    data = tmp_path / "data"
    assert main(["download", "file.h5", "--manifest", str(manifest), "--data-dir", str(data)]) == 0
    assert (data / "file.h5").read_bytes() == DATA
    assert json.loads((data / ".hepad-checksums.json").read_text())[server.url]["sha256"] == SHA
    assert main(["datasets", "--manifest", str(manifest)]) == 0
    assert f"file.h5\t{server.url}" in capsys.readouterr().out
    assert main(["download", "other.h5", "--manifest", str(manifest), "--data-dir", str(data)]) == 2
    assert "unknown dataset file 'other.h5'; expected one of file.h5" in capsys.readouterr().err


def test_locate_with_default_manifest_names_data_dir_only(tmp_path):
    with pytest.raises(InputError) as e:
        locate("gamma_1.hdf5", tmp_path / "my data", MANIFEST)
    assert f"run `hepad download gamma_1.hdf5 --data-dir '{tmp_path / 'my data'}'`" in str(e.value)
    assert "--manifest" not in str(e.value)


def test_hepad_download_refuses_an_error_page(server, tmp_path, capsys):
    """The command: exit 2, one line saying what was received, nothing in data_dir (file, .part or record)."""
    manifest = write_manifest(tmp_path / "m.yaml", server.url)
    data = tmp_path / "data"
    data.mkdir()
    server.state.update(content=HTML)
    assert main(["download", "file.h5", "--manifest", str(manifest), "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "received 54 bytes starting with '<!DOCTYPE html>' (an HTML page?)" in err[0]
    assert [p.name for p in data.iterdir() if not p.name.endswith(".lock")] == []
    server.state.update(content=DATA)
    assert main(["download", "file.h5", "--manifest", str(manifest), "--data-dir", str(data)]) == 0
    assert json.loads((data / ".hepad-checksums.json").read_text())[server.url]["sha256"] == SHA
