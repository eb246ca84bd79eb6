"""A person's terminal during a rehearsal: lines said from any thread, prompts, and waits that show they tick.

Contract:
- `say(msg)` prints a line, from any thread (the invariant watcher speaks from its own); a ticking line on the
  screen is cleared first, so a violation shows the moment it is seen and is not overwritten.
- `ask(prompt, choices)` reads one answer (its first letter; Enter takes the first choice) until it is one of
  `choices`; end of input is the last choice (abort), never an endless loop.
- `waiting(what, probe)` is a context around something that takes time (a step, a wait). Past `after_s` (2 s)
  it shows "waiting for WHAT (PROGRESS — N s)", where PROGRESS is the probe's latest answer (a read-only command's
  output: "41% done"); on a terminal the line is redrawn in place every `every_s`, elsewhere (a log, a pipe) a
  line is printed every `log_every_s`. The probe runs on a thread of its own (about once a second, from the start),
  so a slow probe never delays a tick; a probe that fails shows nothing.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO


class Console:
    def __init__(
        self,
        out: TextIO | None = None,
        *,
        read: Callable[[str], str] | None = None,
        tty: bool | None = None,
        after_s: float = 2.0,
        every_s: float = 1.0,
        log_every_s: float = 10.0,
    ) -> None:
        self.out = out or sys.stdout
        self.read = read or input
        self.tty = self.out.isatty() if tty is None else tty
        self.after_s = after_s
        self.every_s = every_s if self.tty else log_every_s
        self._lock = threading.Lock()
        self._ticking = False  # a tick line is on the screen, not ended by a newline

    def say(self, msg: str) -> None:
        with self._lock:
            self._clear()
            self.out.write(msg + "\n")
            self.out.flush()

    def _clear(self) -> None:
        if self._ticking:
            self.out.write("\r\033[K")
            self._ticking = False

    def ask(self, prompt: str, choices: str) -> str:
        while True:
            with self._lock:
                self._clear()
            try:
                answer = self.read(prompt).strip().lower()[:1] or choices[0]
            except EOFError:
                self.say("")
                return choices[-1]
            if answer in choices:
                return answer
            self.say(f"  answer one of: {', '.join(choices)}")

    @contextmanager
    def waiting(self, what: str, probe: Callable[[], str] | None = None) -> Iterator[None]:
        done = threading.Event()
        t0 = time.monotonic()
        latest = [""]  # the probe's last answer, kept fresh by its own thread so a slow probe never delays a tick

        def ask_probe() -> None:
            assert probe is not None
            while not done.is_set():
                try:
                    latest[0] = " ".join(probe().split())[:60]
                except Exception:  # a progress probe is a nicety: when it fails, show the time only
                    latest[0] = ""
                done.wait(min(1.0, self.every_s))

        def tick() -> None:
            if done.wait(self.after_s):
                return
            while not done.is_set():
                took, progress = f"{time.monotonic() - t0:.0f} s", latest[0]
                line = f"  waiting for {what} ({progress} — {took})" if progress else f"  waiting for {what} ({took})"
                with self._lock:
                    if self.tty:
                        self.out.write("\r\033[K" + line)
                        self._ticking = True
                    else:
                        self.out.write(line + "\n")
                    self.out.flush()
                done.wait(self.every_s)

        threads = [threading.Thread(target=tick, name="opslab-ticker", daemon=True)]
        if probe is not None:
            threads.append(threading.Thread(target=ask_probe, name="opslab-progress", daemon=True))
        for t in threads:
            t.start()
        try:
            yield
        finally:
            done.set()
            for t in threads:
                t.join(10)
            with self._lock:
                self._clear()
                self.out.flush()
