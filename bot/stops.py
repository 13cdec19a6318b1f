"""Stop: which replies run on this instance, and who may end them.

A reply's stream runs as its own task, registered here for as long as it runs. A Stop press is
decided by :func:`bot.policy.may_stop` (the asker, or an admin); for a reply that streams on
another instance the press is left in the database (``Repository.request_stop``, which applies
the same rule in its UPDATE) and that instance finds it with :meth:`RunningTurns.apply_remote`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from bot.policy import may_stop
from bot.store.repository import Repository

StopOutcome = Literal["stopped", "requested", "not_yours", "finished"]


@dataclass(slots=True)
class RunningTurn:
    task: asyncio.Task[None]
    team_id: str
    asker: str  # whose question it answers: only they (or an admin) may stop it
    stopped_by: str | None = None

    def cancel(self, user_id: str) -> bool:
        """Cancel on behalf of ``user_id``; False if it was already stopped."""
        if self.stopped_by is not None:
            return False
        self.stopped_by = user_id
        self.task.cancel()
        return True


class RunningTurns:
    def __init__(self, *, repo: Repository, admins: frozenset[str]) -> None:
        self._repo = repo
        self._admins = admins
        self._turns: dict[str, RunningTurn] = {}

    async def run(
        self, turn_id: str, *, team_id: str, asker: str, stream: Coroutine[Any, Any, None]
    ) -> str | None:
        """Run ``stream`` as its own task, which only Stop cancels; who stopped it, if anyone.

        A cancellation of the caller (shutdown) reaches the ``await`` here instead: the stream
        is cancelled with it and the cancellation goes on up.
        """
        task = asyncio.create_task(stream)
        running = self._turns[turn_id] = RunningTurn(task, team_id, asker)
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            self._turns.pop(turn_id, None)
        if task.cancelled():
            return running.stopped_by
        task.result()  # ReplyGone and unexpected failures surface here
        return None

    async def stop(self, turn_id: str, *, user_id: str, team_id: str) -> StopOutcome:
        """A Stop press: cancel the reply if it streams here, else leave word in the database
        for the instance that streams it. Either way only the asker or an admin may."""
        running = self._turns.get(turn_id)
        if running is None or running.team_id != team_id:
            admin = user_id in self._admins
            return await self._repo.request_stop(
                turn_id, user_id=user_id, team_id=team_id, admin=admin
            )
        if not may_stop(presser=user_id, asker=running.asker, admins=self._admins):
            return "not_yours"
        return "stopped" if running.cancel(user_id) else "finished"

    async def apply_remote(self) -> int:
        """Stop local turns whose Stop button was pressed on another instance (the pressing
        instance checked who may)."""
        if not self._turns:
            return 0
        requests = await self._repo.stop_requests(list(self._turns))
        stopped = 0
        for turn_id, user_id in requests.items():
            running = self._turns.get(turn_id)
            if running is not None and running.cancel(user_id):
                stopped += 1
        return stopped
