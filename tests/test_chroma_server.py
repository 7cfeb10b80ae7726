"""The same store code against a Chroma server (FAZHI_CHROMA_URL), as deployments run it.

CI starts `chroma run` and sets FAZHI_TEST_CHROMA_URL; elsewhere this module starts its own.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.fixture_files import sample_paths
from vectorstore.store import drop_store, make_client

pytestmark = pytest.mark.server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, seconds: float = 60) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("FAZHI_TEST_CHROMA_URL")
    if url:
        assert _wait(url), f"FAZHI_TEST_CHROMA_URL={url} does not answer"
        yield url
        return
    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.exists():
        pytest.skip("the `chroma` server command is not installed")
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = (path / "server.log").open("w")
    proc = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(path / "data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert _wait(url), (path / "server.log").read_text()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def server(chroma_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    drop_store(make_client(url=chroma_url))
    monkeypatch.setenv("FAZHI_CHROMA_URL", chroma_url)
    return chroma_url


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    # --json output is parsed from stdout alone, as a script would; messages go to stderr
    return result.exit_code, result.stdout if "--json" in args else result.output


def test_ingest_ask_and_remove_against_a_chroma_server(server, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in (0, 2):
        shutil.copy(sample_paths()[i], folder)
    code, output = run("ingest", str(folder), "--json")
    assert code == 0, output
    assert json.loads(output)["added"] == 2
    code, output = run("ingest", str(folder), "--json")
    assert json.loads(output)["unchanged"] == 2

    code, output = run("reports", "--json")
    rows = {r["township"]: r for r in json.loads(output)}
    assert set(rows) == {"王场镇", "石桥镇"}
    assert rows["石桥镇"]["province"] == "河南省"

    code, output = run("ask", "石桥镇有多少名法律明白人？", "--json")
    assert code == 0, output
    answer = json.loads(output)
    assert "159名法律明白人" in answer["citations"][0]["quote"]

    code, output = run("remove", rows["王场镇"]["id"])
    assert code == 0
    code, output = run("reports", "--json")
    assert [r["township"] for r in json.loads(output)] == ["石桥镇"]


def test_unreachable_server_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("FAZHI_CHROMA_URL", f"http://127.0.0.1:{_free_port()}")
    code, output = run("reports")
    assert code == 1
    assert "Error:" in output and "Chroma server" in output
