"""Flows as tables of steps: each step name maps to its question and to what takes the answer.

A flow module declares `STEPS = {"name": Step(ask=..., handle=...)}` and registers
`Flow(handle, ask)` built with `run_step`; adding a step is adding a row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from bot.messages import Reply
from handlers.context import Context

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
