"""App updates on the emulated Cortex-M3 (tools/qemu.py): the app's slots on the board's flash
(boards/qemu/flash.py, littlefs backed by a host file), `tools/push.py` over SSH on the UART (a
ProxyCommand), a reset = qemu killed and started again on the same flash. No asyncio there: the
app's main.py is imported before the server (boards/qemu/main.py run_app()). The scenarios are
host_tests/appboards.py's, shared with the emulated Pico (test_app_pico.py)."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import appboards  # noqa: E402
import qemu  # noqa: E402
import qemu_login  # noqa: E402

FLASH_BYTES = 1024 * 1024


@pytest.fixture(autouse=True)
def firmware():
    assert os.path.exists(qemu.FIRMWARE), "%s missing: make firmware" % qemu.FIRMWARE


class QBoard(appboards.AppBoard):
    def start(self):
        ub = qemu_login.UartBoard(icount=False, timeout=self.timeout, flash=self.flash)
        ub.__enter__()
        ub.host_key, ub.client_key = self.host_key, self.client_key  # the same board across resets
        qemu.mount_flash(ub.board, FLASH_BYTES)
        return ub


@pytest.fixture
def qb(tmp_path):
    b = QBoard(tmp_path)
    yield b
    b.kill()


def test_update_rollback_and_unchanged_push_on_the_emulated_board(qb, tmp_path):
    appboards.update_rollback_and_unchanged_push(qb, tmp_path)


def test_never_confirming_version_rolls_back_on_the_emulated_board(qb, tmp_path):
    appboards.never_confirming_version_rolls_back(qb, tmp_path)


def test_emulator_killed_in_the_middle_of_a_push_runs_the_old_version(qb, tmp_path):
    appboards.killed_in_the_middle_of_a_push_runs_the_old_version(qb, tmp_path)


def test_a_client_leaving_mid_packet_leaves_the_emulated_board_to_the_next_one(qb, tmp_path):
    appboards.client_leaving_mid_packet_leaves_a_working_board(qb, tmp_path)
