"""Method ``round`` (the paper's): round every weight and clamp it to {-1, 0, 1}; the margin is
max |theta - Q(theta)| and the exact verifier decides."""

from __future__ import annotations

from bilinear.learn.crystal import Crystal, Task, round_clamp, rounded_crystal


def crystallize(task: Task) -> Crystal:
    """The paper's Q of the run's weights, verified exactly."""
    return rounded_crystal(task.brent, task.x, round_clamp(task.x), "round", None)
