"""Flows as tables of steps: each step name maps to its question and to what takes the answer.

A flow module declares `STEPS = {"name": Step(ask=..., handle=...)}` and registers
`Flow(handle, ask)` built with `run_step`; adding a step is adding a row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from bot.messages import Reply
from handlers.context import Context, say

StepHandler = Callable[[Context], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Step:
    """One step of a flow: `ask` puts its question, `handle` takes the answer."""

    ask: StepHandler
    handle: StepHandler


async def run_step(
    steps: Mapping[str, Step], ctx: Context, part: Literal["ask", "handle"]
) -> list[Reply]:
    """Run the ask or handle part of the person's current step (a lost step ends the flow)."""
    step = steps.get(ctx.state.step)
    if step is None:
        ctx.finish()
        return []
    return await getattr(step, part)(ctx)


class Gone(Exception):
    """What a step works on is gone, or no longer the person's to change: the flow ends."""


@dataclass(frozen=True)
class StepFlow:
    """A flow that is a table of steps, ready for the router: `Flow(flow.handle, flow.ask)`.

    `handle` takes the answer, then asks the question of the step the person is at now (none
    once the flow has finished). A step raising `Gone` — what it works on is gone, or no
    longer theirs to change — ends the flow with the string `lost`.
    """

    name: str
    steps: Mapping[str, Step]
    lost: str

    async def ask(self, ctx: Context) -> list[Reply]:
        """Ask the current step's question (again, after a restart or a detour)."""
        try:
            return await run_step(self.steps, ctx, "ask")
        except Gone:
            ctx.finish()
            return [say(ctx.t(self.lost))]

    async def handle(self, ctx: Context) -> list[Reply]:
        """Take the answer to the current step, then ask the next step's question."""
        try:
            said = await run_step(self.steps, ctx, "handle")
        except Gone:
            ctx.finish()
            return [say(ctx.t(self.lost))]
        return [*said, *(await self.ask(ctx) if ctx.state.flow == self.name else [])]
