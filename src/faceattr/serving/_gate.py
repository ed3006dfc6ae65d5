"""Bounded concurrency for blocking inference: N running in threads, a bounded queue, a deadline.

A job holds its slot until its worker thread really finishes, even when the request that
started it has already answered 504; so at most ``max_concurrency`` inferences ever run at once
and a timed-out job still counts against the queue bound (the CPU is still busy with it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread

from faceattr.serving.errors import ApiError

T = TypeVar("T")


class Gate:
    """Run blocking callables off the event loop with bounded concurrency, queue and time."""

    def __init__(self, max_concurrency: int, max_queue: int, timeout_s: float) -> None:
        if max_concurrency < 1 or max_queue < 0 or timeout_s <= 0:
            raise ValueError("need max_concurrency >= 1, max_queue >= 0 and timeout_s > 0")
        self.max_concurrency, self.max_queue, self.timeout_s = (max_concurrency, max_queue,
                                                                timeout_s)
        self._slots = asyncio.Semaphore(max_concurrency)
        self._jobs: set[asyncio.Task] = set()

    @property
    def in_flight(self) -> int:
        """Jobs running or waiting for a slot."""
        return len(self._jobs)

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` in a worker thread; :class:`ApiError` 503 when full, 504 past the deadline."""
        if len(self._jobs) >= self.max_concurrency + self.max_queue:
            raise ApiError(503, "busy", f"server busy: {self.max_concurrency} running and "
                           f"{self.max_queue} queued requests; retry shortly",
                           headers={"Retry-After": "1"})
        started = False

        async def job() -> T:
            nonlocal started
            async with self._slots:
                started = True
                return await anyio.to_thread.run_sync(fn)

        task = asyncio.ensure_future(job())
        self._jobs.add(task)
        task.add_done_callback(_forget(self._jobs))
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.timeout_s)
        except TimeoutError:
            if not started:
                task.cancel()
            where = "inference" if started else "waiting in the queue"
            raise ApiError(504, "timeout", f"request timed out after {self.timeout_s:g} s "
                           f"({where}); --timeout-s sets the limit") from None
        except asyncio.CancelledError:  # client went away or server stopping
            if not started:
                task.cancel()
            raise

    async def drain(self, timeout_s: float) -> None:
        """Wait (at most ``timeout_s``) for running jobs, e.g. at shutdown."""
        if self._jobs:
            await asyncio.wait(set(self._jobs), timeout=timeout_s)


def _forget(jobs: set[asyncio.Task]) -> Callable[[asyncio.Task], None]:
    def done(task: asyncio.Task) -> None:
        jobs.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved, so an abandoned job's error is not logged as lost
    return done
