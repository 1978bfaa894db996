#!/usr/bin/env bash
# `make run`: ussh on the MicroPython unix port (the virtual board) on 127.0.0.1:$PORT (default 2222).
# run/ holds host_key (ussh creates it when missing) and authorized_keys, made from ~/.ssh/*.pub.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-2222}
if [ ! -f lib/ussh/__main__.py ]; then
  echo "lib/ussh/__main__.py does not exist yet: the server's command line is not written" >&2
  exit 1
fi
mkdir -p run/files ~/.ssh
if ! ls ~/.ssh/*.pub >/dev/null 2>&1; then
  echo "no key pair in ~/.ssh: creating ~/.ssh/id_ed25519 (no passphrase) for logging in"
  ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/id_ed25519
fi
cat ~/.ssh/*.pub > run/authorized_keys
echo "run/authorized_keys: $(wc -l < run/authorized_keys) key(s) from ~/.ssh/*.pub"
cat <<MSG

ussh on the virtual board (MicroPython unix port), 127.0.0.1:$PORT. From another terminal:
    ssh -p $PORT 127.0.0.1                    # the REPL
    ssh -p $PORT 127.0.0.1 'print(6*7)'       # one command
    scp -P $PORT somefile 127.0.0.1:          # a file into run/files (the board's /)
    sftp -P $PORT 127.0.0.1                   # browse run/files
Stop with Ctrl-C.

MSG
# the server runs inside run/files, so `ssh ... 'import main'` finds an uploaded main.py
# as a board would (its / is both the sftp root and the working folder)
ROOT=$(pwd)
cd run/files
export MICROPYPATH="$ROOT/lib"
exec "$ROOT/.venv/bin/micropython" -m ussh --bind 127.0.0.1 --port "$PORT" \
  --host-key ../host_key --authorized-keys ../authorized_keys --root .
