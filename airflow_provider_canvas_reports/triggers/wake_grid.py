"""
Sleeps that end on a shared grid of wake-up times: one timer per grid point and event loop.

A triggerer runs thousands of waiting triggers in one event loop. With ``asyncio.sleep`` each of
them holds its own timer handle, future and ``sleep`` coroutine between polls, and each wake-up
is its own entry in the loop's timer heap. Here a sleep is rounded to the nearest point of a grid
(see :func:`grid_step`), and every sleeper due at one point waits on a future of its own in that
point's list: the point has one timer, which wakes them all in one pass of the loop. Triggers due
within the same tenth of a second then poll together instead of each paying the process's
wake-up from idle, and a sleeping trigger holds one future instead of a handle, a future and a
coroutine (what that saves is measured in ``benchmarks/RESULTS.md``).

Rounding to the nearest point keeps the mean interval. Cancelling a sleeper cancels only its own
future; the point's timer skips it when it fires.
"""

from __future__ import annotations

import asyncio
import weakref

#: The grid's spacing in seconds: at most this, and at most a tenth of the poll interval.
WAKE_GRID_SECONDS = 0.1


def grid_step(poll_interval: float) -> float:
    """The grid spacing for a poll interval: ``min(WAKE_GRID_SECONDS, poll_interval / 10)``."""
    return min(WAKE_GRID_SECONDS, poll_interval / 10)


class _LoopGrid:
    """The pending wake-ups of one event loop: loop time of a grid point → futures to wake then."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.due: dict[float, list[asyncio.Future[None]]] = {}

    def wait_until(self, when: float) -> asyncio.Future[None]:
        """A future that the timer of point ``when`` (loop time) resolves."""
        future: asyncio.Future[None] = self.loop.create_future()
        waiters = self.due.get(when)
        if waiters is None:
            waiters = self.due[when] = []
            self.loop.call_at(when, self._wake, when)
        waiters.append(future)
        return future

    def _wake(self, when: float) -> None:
        for future in self.due.pop(when, ()):
            if not future.done():  # a cancelled sleeper's future is done already
                future.set_result(None)


_grids: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopGrid] = weakref.WeakKeyDictionary()


def pending_points() -> list[float]:
    """The grid points (loop time) of the running loop with a timer waiting: one each, however many sleep."""
    grid = _grids.get(asyncio.get_running_loop())
    return sorted(grid.due) if grid is not None else []


def sleep(delay: float, poll_interval: float) -> asyncio.Future[None]:
    """
    A future to await: it is done at the grid point nearest to ``now + delay`` (loop time).

    A plain function, not a coroutine, so that a sleeper holds the future and nothing else.

    :param delay: seconds to sleep.
    :param poll_interval: the caller's poll interval, which sets the grid spacing (:func:`grid_step`);
        0 or less wakes at ``now + delay`` exactly.
    """
    loop = asyncio.get_running_loop()
    grid = _grids.get(loop)
    if grid is None:
        grid = _grids[loop] = _LoopGrid(loop)
    when = loop.time() + delay
    step = grid_step(poll_interval)
    return grid.wait_until(round(when / step) * step if step > 0 else when)
