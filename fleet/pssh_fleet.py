"""Run one command on many ussh boards at once with parallel-ssh (README "A fleet").

usage: python fleet/pssh_fleet.py [--user NAME] [--key ~/.ssh/id_ed25519] [--timeout 20]
                                  HOST[:PORT] [HOST[:PORT] ...] -- COMMAND

The command is Python, run on each board (`print(6*7)`). Prints one line per board:
`HOST:PORT exit=N | output` (errors: `HOST:PORT error | ...`) and exits 1 when any board failed.
parallel-ssh (libssh2) checks no host key: use Ansible or `ssh` with known_hosts where that matters.
"""
import argparse
import os
import sys

from pssh.clients import ParallelSSHClient
from pssh.config import HostConfig


def run(targets, command, user="board", key="~/.ssh/id_ed25519", timeout=20):
    """[(target, exit status or None, output text)] for each HOST[:PORT] target."""
    hosts, configs = [], []
    for t in targets:
        host, _, port = t.rpartition(":") if ":" in t else (t, "", "22")
        hosts.append(host)
        configs.append(HostConfig(port=int(port), user=user, private_key=os.path.expanduser(key)))
    client = ParallelSSHClient(hosts, host_config=configs, num_retries=1, timeout=timeout, allow_agent=False,
                               identity_auth=False, pool_size=len(hosts))
    out = client.run_command(command, stop_on_errors=False)
    client.join(out, timeout=timeout)
    rows = []
    for t, ho in zip(targets, out):
        if ho.exception is not None:
            rows.append((t, None, str(ho.exception)))
        else:
            text = "\n".join(list(ho.stdout) + list(ho.stderr))
            rows.append((t, ho.exit_code, text))
    return rows


def main(argv):
    if "--" not in argv:
        print(__doc__)
        return 2
    i = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--user", default="board")
    ap.add_argument("--key", default="~/.ssh/id_ed25519")
    ap.add_argument("--timeout", type=int, default=20)
    ap.add_argument("targets", nargs="+")
    a = ap.parse_args(argv[:i])
    rows = run(a.targets, " ".join(argv[i + 1 :]), a.user, a.key, a.timeout)
    bad = 0
    for t, status, text in rows:
        print("%s %s | %s" % (t, "error" if status is None else "exit=%d" % status, text.replace("\n", " ")))
        bad += status != 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
