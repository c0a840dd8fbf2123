"""Run in a fresh interpreter: 16 threads decode one stored event of every topic at once,
each the first decode of its class in this process (``python -m tests.support.first_decode URL``).

msgspec builds decoding info on first use and caches it before it is complete; without the
lock in ``application.encoding`` this crashed the interpreter (SIGSEGV) in about 4 runs of 10 (tests/application/test_decoder_threads.py).
"""

from __future__ import annotations

import sys
import threading

from adapters.container import build
from adapters.stores.persistence import LogReader, originator_uuid
from adapters.settings import Settings

THREADS = 16


def main(url: str) -> None:
    sys.setswitchinterval(1e-6)  # hand the GIL over as often as possible
    services = build(Settings(database_url=url, sla_watch_seconds=0))
    first: dict[str, tuple[object, ...]] = {}
    for row in LogReader(services.desk.recorder).read(0, 1_000_000):
        first.setdefault(row[3], row)
    sample = list(first.values())
    to_event = services.desk.mapper.event_from_row  # type: ignore[attr-defined]
    barrier = threading.Barrier(THREADS)

    def work(k: int) -> None:
        barrier.wait()
        for i in range(len(sample)):
            _, oid, version, topic, state = sample[(i + k) % len(sample)]
            to_event(topic, originator_uuid(oid, {}), version, state, None)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"decoded {len(sample)} topics in {THREADS} threads")


if __name__ == "__main__":
    main(sys.argv[1])
