"""App updates on the emulated Raspberry Pi Pico (tools/pico.py: MicroPython's rp2 firmware
with ussh frozen in, on rp2040js): the app's slots in the board's own littlefs, its flash kept
in a host file (pico.Board(flash=...)), `tools/push.py` over SSH on UART1 (boards/rp2/uart_ssh.py,
a ProxyCommand), a reset = the emulator killed and started again on the same flash. The UART
server blocks (no asyncio), so the app's main.py is imported before it (uart_ssh.run_app()).
The scenarios are host_tests/appboards.py's, shared with the emulated Cortex-M3."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import appboards  # noqa: E402
import pico  # noqa: E402
import pico_login  # noqa: E402


@pytest.fixture(autouse=True)
def firmware():
    # built by `make test` (pico-firmware); missing means the install is broken, not a reason to skip
    assert os.path.exists(pico.FIRMWARE), "%s missing: make pico-firmware" % pico.FIRMWARE


class PicoAppBoard(appboards.AppBoard):
    timeout = 600  # the emulated RP2040 runs slower than qemu, more so on a loaded machine

    def start(self):
        # the keys go into its littlefs at every start (the same files: the same board)
        ub = pico_login.PicoUart(timeout=self.timeout, flash=self.flash, keys=(self.host_key, self.client_key))
        ub.__enter__()
        return ub


@pytest.fixture
def pb(tmp_path):
    b = PicoAppBoard(tmp_path)
    yield b
    b.kill()


def test_flash_outlives_the_emulator(tmp_path):
    # the filesystem is in the host file: a file written before a SIGKILL is there after it,
    # and a board started without flash= starts blank
    path = str(tmp_path / "flash.img")
    b = pico.Board(flash=path, timeout=600)
    with b:
        b.exec("with open('/kept.txt', 'w') as f:\n    f.write('still here')\n")
        os.killpg(b.proc.pid, 9)
        b.proc.wait(30)
    assert os.path.getsize(path) == pico.FLASH_SIZE
    with pico.Board(flash=path, timeout=600) as b:
        assert b.exec("print(open('/kept.txt').read())") == "still here\n"
    with pico.Board(timeout=600) as b:
        assert b.exec("import os\nprint('kept.txt' in os.listdir('/'))") == "False\n"


def test_update_rollback_and_unchanged_push_on_the_emulated_pico(pb, tmp_path):
    appboards.update_rollback_and_unchanged_push(pb, tmp_path)


def test_never_confirming_version_rolls_back_on_the_emulated_pico(pb, tmp_path):
    appboards.never_confirming_version_rolls_back(pb, tmp_path)


def test_emulator_killed_in_the_middle_of_a_push_runs_the_old_version_on_the_pico(pb, tmp_path):
    appboards.killed_in_the_middle_of_a_push_runs_the_old_version(pb, tmp_path)


def test_a_client_leaving_mid_packet_leaves_the_emulated_pico_to_the_next_one(pb, tmp_path):
    appboards.client_leaving_mid_packet_leaves_a_working_board(pb, tmp_path)
