"""The interop matrix (tools/interop.py): every client x operation against the virtual board is green,
and a target or client that cannot run shows as red cells with their reason, never as a skip."""
import json
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import interop  # noqa: E402
from peers import Lab, free_port, keygen  # noqa: E402

KEYS = ("kex", "hostkey", "cipher", "mac")


def _reds(m):
    return "\n\n".join("%s/%s: %s\n%s" % (c, o, r, m["cells"][c][o].get("output", "")[-3000:])
                       for c, o, r in interop.red_cells(m))


@pytest.mark.timeout(240)
def test_matrix_on_the_virtual_board_is_green(tmp_path):
    m = interop.run_matrix("vboard", out_dir=str(tmp_path))
    assert not interop.red_cells(m), _reds(m) + "\n" + m["target"]["server_log"][-3000:]
    t = m["target"]
    assert t["banner"].startswith("SSH-2.0-ussh") and t["fingerprint"].startswith("SHA256:")
    assert "curve25519-sha256" in t["algorithms"]["kex"] and t["algorithms"]["hostkey"] == ["ssh-ed25519"]
    assert set(m["cells"]) == set(interop.CLIENTS)
    passed = 0
    for c, row in m["cells"].items():
        assert set(row) == set(interop.OPS)
        for op, cell in row.items():
            if cell["status"] == "na":
                assert cell["reason"], (c, op)
                continue
            passed += 1
            assert cell["status"] == "pass" and cell["seconds"] <= cell["bound"]
            assert all(cell["algs"].get(k) not in (None, "?") for k in KEYS), (c, op, cell["algs"])
            assert cell["algs"]["hostkey"] == "ssh-ed25519"
            assert cell["algs"]["kex"] in t["algorithms"]["kex"]
            if op == "exec":
                assert 0 < cell["login_ms"] < 5000, (c, cell)
            if op in ("sftp", "scp", "scp-O"):
                assert cell["mbps"]["up"] > 0 and cell["mbps"]["down"] > 0, (c, op, cell)
    # every operation the issue names is run by at least one client; OpenSSH runs them all
    assert all(m["cells"]["openssh9"][op]["status"] == "pass" for op in interop.OPS)
    assert all(m["cells"]["openssh10"][op]["status"] == "pass" for op in interop.OPS)
    assert passed >= 44
    # both OpenSSH generations: 10.x negotiates the post-quantum exchange, 9.2 cannot
    assert m["cells"]["openssh10"]["exec"]["algs"]["kex"] == "mlkem768x25519-sha256"
    assert m["cells"]["openssh9"]["exec"]["algs"]["kex"] == "curve25519-sha256"
    # Dropbear 2022 has no etm MAC: it needs (and gets) plain hmac-sha2-256
    assert m["cells"]["dbclient"]["exec"]["algs"]["mac"] == "hmac-sha2-256"
    # ... through the virtual board's legacy_mac = 1, which the report names
    assert "legacy_mac = 1" in m["cells"]["dbclient"]["exec"]["notes"][-1]
    _check_report(tmp_path, m)


def _check_report(folder, m):
    page = (folder / "report.html").read_text()
    assert "<style>" in page and not re.search(r"(src|href)=[\"']?(https?:)?//", page)  # nothing fetched
    assert m["target"]["fingerprint"] in page and m["target"]["banner"] in page
    for c, row in m["cells"].items():
        for op, cell in row.items():
            if cell["status"] != "na":
                assert 'id="out-%s-%s"' % (c, op) in page
    assert json.loads((folder / "report.json").read_text())["cells"].keys() == m["cells"].keys()
    text = (folder / "report.txt").read_text()
    assert "OpenSSH 10.x" in text and "dbclient" in text


@pytest.mark.timeout(180)
def test_a_board_by_address_and_a_wrong_key_is_red(tmp_path):
    # HOST[:PORT] mode, as for a real board (here ussh on CPython with a board's default limit of 2
    # connections), with the user's own key file: the whole matrix, one cell at a time
    with Lab(prefix="ussh-interop-test-") as lab:
        root = tmp_path / "root"
        root.mkdir()
        srv = lab.start("ussh", runtime="cpython", extra_args=("--root", str(root), "--max-connections", "2", "--legacy-mac"))
        m = interop.run_matrix("127.0.0.1:%d" % srv.port, identity=lab.client_key, out_dir=str(tmp_path / "ok"))
        assert not interop.red_cells(m), _reds(m) + srv.log()
        assert m["target"]["transfer_bytes"] == 64 * 1024 and m["target"]["jobs"] == 1
        assert "too many connections" not in srv.log()
        assert os.listdir(str(root)) == []  # what the cells uploaded is gone
        clients = ("openssh9", "paramiko", "dbclient")
        # a key the board does not know: every cell red, each with its reason and output
        other = keygen(str(tmp_path / "other"))
        m = interop.run_matrix("127.0.0.1:%d" % srv.port, identity=other, clients=clients, ops=("exec",),
                               out_dir=str(tmp_path / "bad"))
        reds = interop.red_cells(m)
        assert [(c, o) for c, o, _ in reds] == [(c, "exec") for c in clients]
        assert all(r for _, _, r in reds)
        assert "Permission denied" in m["cells"]["openssh9"]["exec"]["output"]
        page = (tmp_path / "bad" / "report.html").read_text()
        assert page.count('<a href="#out-') == 3 and "FAIL" in page


def test_a_target_that_does_not_answer_is_all_red(tmp_path, capsys):
    port = free_port()  # nothing listens there
    rc = interop.main(["--target", "127.0.0.1:%d" % port, "--identity", keygen(str(tmp_path / "k")),
                       "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 1
    m = json.loads((tmp_path / "report.json").read_text())
    cells = [cell for row in m["cells"].values() for cell in row.values()]
    assert len(cells) == len(interop.CLIENTS) * len(interop.OPS)
    assert all(c["status"] == "fail" and "did not start" in c["reason"] for c in cells)
    assert "TARGET FAILED" in out and "Connection refused" in out


@pytest.mark.timeout(1500)
def test_matrix_on_the_emulated_cortex_m3_is_green(tmp_path):
    # the board's budget (1 KB packets, a 4 KB window), 64 KiB transfers onto its flash (littlefs
    # outside the heap), every client one after another through the UART bridge and its hang-up
    # handshake (tools/qemu.py); SHA-256 checked both ways by each transfer cell. Each cell has its
    # bound (interop_clients.BOUNDS); the whole run takes 3 to 5 minutes
    m = interop.run_matrix("qemu", out_dir=str(tmp_path))
    log = m["target"]["server_log"]
    assert not interop.red_cells(m), _reds(m) + "\n" + log[-3000:]
    assert m["target"]["transfer_bytes"] == 64 * 1024
    passed = [(c, op) for c, row in m["cells"].items() for op, cell in row.items() if cell["status"] == "pass"]
    assert len(passed) == 40, passed
    na = [(c, op) for c, row in m["cells"].items() for op, cell in row.items() if cell["status"] == "na"]
    assert all(m["cells"][c][op]["reason"] for c, op in na) and len(na) == 16
    # no connection ran out of memory (that would have been contained, and its cell red)
    assert "out of memory" not in log and "HardFault" not in log, log[-3000:]
