"""One of several OS processes that refresh through the same token store at the same moment.

Used by ``tests/source/test_tokens.py``; not a test itself. Run as::

    python -m testkit.token_race STORE TOKEN_URL SEED_REFRESH_TOKEN BARRIER_DIR NAME ROUNDS

Round 0 starts from an empty store, as two scheduled runs configured with the same
``refresh_token`` do on their first night: each asks for an access token. Every later round
replays two runs that got a 401 for the same access token: each reads the store's access token,
then asks for a refresh with it as the stale one (what ``SageAuth`` does on a 401).

Each round the process writes ``NAME.ready.K`` in BARRIER_DIR, waits for ``go.K`` (written by
the test once every process is ready, so they refresh together), then writes ``NAME.done.K``:
JSON with how many refresh POSTs this process sent that round and a digest of the access token
it ended with (never the token). A failure is written there too, by type and message (which
carry no tokens), and ends the process with status 1.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import httpx

from sage_source.auth import TokenManager
from sage_source.tokens import FileTokenStore
from testkit.sage_http import CLIENT_ID, CLIENT_SECRET

WAIT_SECONDS = 60.0


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path.name} never appeared")
        time.sleep(0.002)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def main(argv: list[str]) -> int:
    store_path, token_url, seed, barrier, name, rounds = argv
    store = FileTokenStore(store_path)
    folder = Path(barrier)
    with httpx.Client(timeout=30) as http:
        tokens = TokenManager(
            store,
            token_url=token_url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            http=http,
            seed_refresh_token=seed,
        )
        for round_ in range(int(rounds)):
            current = store.load()
            stale = current.access_token if current else None
            (folder / f"{name}.ready.{round_}").touch()
            wait_for(folder / f"go.{round_}")
            before = tokens.refreshes
            outcome: dict[str, object]
            try:
                token = tokens.access_token() if round_ == 0 else tokens.refresh(stale=stale)
                outcome = {"refreshed": tokens.refreshes - before, "token": digest(token)}
            except Exception as error:
                outcome = {"error": f"{type(error).__name__}: {error}"}
            written = folder / f"{name}.done.{round_}.tmp"
            written.write_text(json.dumps(outcome))
            written.replace(folder / f"{name}.done.{round_}")  # the test sees it whole or not at all
            if "error" in outcome:
                print(f"{name}, round {round_}: {outcome['error']}", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
