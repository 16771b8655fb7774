"""V6's climb: train every row of ``versions.CLIMB`` (a row with a cached run is loaded).

Each row is an ordinary run (``train.train`` with the row's version, recipe and
profile overrides), so this is the same as typing, for the ``cpu`` profile,

    python -m landmarklib train --version heatmap --profile cpu
    python -m landmarklib train --version v6 --profile cpu --set loss=mse
    python -m landmarklib train --version v6 --profile cpu
    python -m landmarklib train --version v6 --profile cpu --recipe v5
    python -m landmarklib train --version v6 --profile cpu --set learning_rate=0.004
    python -m landmarklib train --version heatmap --profile cpu --set loss=wing
    python -m landmarklib train --version v6 --profile cpu --set learning_rate=0.008

``make climb PROFILE=cpu`` runs it; the report's and the README's climb tables
(``reporting.climb_tables``) read the runs. A cached run is loaded, not trained again.
"""
from ..core import config
from .versions import CLIMB


def step_run(step):
    """(recipe, overrides) of one step's run: ``train``'s ``--recipe`` and ``--set``.

    Args:
        step: a ``versions.ClimbStep``.
    """
    return step.recipe, step.run_overrides()


def train_climb(profile="auto", steps=CLIMB):
    """Train (or load) the run of every step; returns {step index: Run}.

    Args:
        profile: "smoke", "cpu", "full" or "auto" (full with a GPU, cpu without).
        steps: the rows to train (default ``versions.CLIMB``).
    """
    from . import train   # the training loop (Keras) only when something trains

    profile = config.resolve_profile(profile)
    found = {}
    for index, step in enumerate(steps):
        recipe, overrides = step_run(step)
        print(f"climb row {index + 1} of {len(steps)}: {step.change}")
        found[index] = train.train(step.version, profile, recipe=recipe, **overrides)
    return found
