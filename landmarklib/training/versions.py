"""The model versions: what each one changes, as one record per version.

Each version is one change over the one before (as in Daniel Nouri's facial
keypoints tutorial); the report's tables show what each bought.

=========  ============================================================  ==========
version    the one change                                                augment
=========  ============================================================  ==========
v1         plain CNN, trained only on rows with all 15 keypoints          none
v2         same network, **masked loss** over all rows                    none
v3         + rotation augmentation                                        ``v3``
v4         + the original's full augmentation list                        ``v4``
v5         + detector-robust augmentation (framing as a detector frames)  ``v5``
heatmap    one heatmap per keypoint, soft-argmax readout (masked loss)    ``v4``
transfer   a Keras Applications backbone (ImageNet weights if available)  ``v4``
v6         heatmap's readout on inverted residuals, trained with the      ``v4``
           Wing loss (``training.efficient``)
=========  ============================================================  ==========

``CLIMB`` lists V6's climb from the heatmap model, one run per row. A new
version may start as a candidate (``CANDIDATES``): trained by name (``train
--version NAME``, ``make climb``) but left out of ``make report`` and the tests'
version loops until CI and the report have its minutes, as V6 was until its
training got twice as fast (``efficient.BatchNorm``).

The networks are built by ``training.models``. This module
needs no Keras or TensorFlow, so the command line checks a version name
before they load, and a run's cache key (``training.runs.cache_key``) holds
only its own version's record: adding or editing another version retrains
nothing else.
"""
import re
from dataclasses import asdict, dataclass

from ..core.errors import LandmarkError

# "v4" -> "Vfour": digits spelled out, since TeX macro names are letters only.
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def tex_word(text):
    """`text` with each digit spelled out and the first letter capitalised ("v12" -> "Vonetwo").

    Args:
        text: a word of letters and digits (a version name, a split's part).
    """
    spelled = re.sub(r"\d", lambda m: DIGIT_WORDS[int(m.group())], str(text))
    return spelled[:1].upper() + spelled[1:]


@dataclass(frozen=True)
class Version:
    """What distinguishes one model version from another.

    Fields:
        name: the key in REGISTRY ("v4"), as folders and the command line write it.
        builder: "cnn", "heatmap", "transfer" or "efficient" (the function
            ``models.build`` calls).
        complete_rows_only: V1 drops rows with any missing keypoint.
        augment: recipe name in ``data.recipes.RECIPES`` ("none": no augmentation).
        description: the one change over the version before, as the README's and
            the report's tables show it ("change").
        epochs_field: the ``core.config.Profile`` field with its number of epochs
            (V1 trains as long as the original did on its fewer rows: ``v1_epochs``).
        loss: the masked loss it trains with (a key of ``core.metrics.LOSSES``), or
            None for the profile's (``Profile.loss``); ``--set loss=...`` overrides both.
        builds_on: the version whose numbers the report compares it with (None: V1).
    """

    name: str
    builder: str
    complete_rows_only: bool
    augment: str
    description: str
    epochs_field: str = "epochs"
    loss: str | None = None
    builds_on: str | None = None

    @property
    def label(self):
        """How tables and the text name it: "V4" for v<digits>, other names as they are."""
        return self.name.upper() if self.name[1:].isdigit() else self.name

    @property
    def macro_word(self):
        """Its word in LaTeX macro names: "Vfour" (``\\VfourTestRmse``), "Heatmap"."""
        return tex_word(self.name)

    @property
    def augmented(self):
        """True if it trains on augmented images (its recipe is not "none")."""
        return self.augment != "none"

    def epochs(self, profile):
        """How many epochs it trains for under `profile` (a ``core.config.Profile``)."""
        return getattr(profile, self.epochs_field)

    def loss_name(self, profile, overrides=()):
        """The loss it trains with: an override's, else its own, else the profile's.

        Args:
            profile: a ``core.config.Profile``.
            overrides: the profile fields the user set (``--set``); "loss" among them wins.
        """
        return profile.loss if "loss" in overrides or self.loss is None else self.loss

    def cache_facts(self):
        """What of this record decides a trained model (its run's cache key): every
        field but those the report alone reads (``REPORT_ONLY``)."""
        return {k: v for k, v in asdict(self).items() if k not in REPORT_ONLY}


# Fields of Version that change no trained model.
REPORT_ONLY = ("description", "builds_on")


REGISTRY = {
    "v1": Version("v1", "cnn", True, "none", "plain CNN on complete rows only",
                  epochs_field="v1_epochs"),
    "v2": Version("v2", "cnn", False, "none", "+ masked loss over all rows", builds_on="v1"),
    "v3": Version("v3", "cnn", False, "v3", "+ rotation augmentation", builds_on="v2"),
    "v4": Version("v4", "cnn", False, "v4", "+ full augmentation", builds_on="v3"),
    "v5": Version("v5", "cnn", False, "v5", "+ detector-robust augmentation", builds_on="v4"),
    "heatmap": Version("heatmap", "heatmap", False, "v4", "heatmaps + soft-argmax",
                       builds_on="v4"),
    "transfer": Version("transfer", "transfer", False, "v4", "ImageNet backbone", builds_on="v4"),
    "v6": Version("v6", "efficient", False, "v4", "inverted residuals + heatmaps + Wing loss",
                  loss="wing", builds_on="heatmap"),
}
# Candidates: trained by name (``train --version NAME``) but not by ``make report``, scored
# in no report table and trained by no test, until one is worth its minutes in CI and in
# ``make report``; then it moves into REGISTRY (as V6 did, issue 24). None now.
CANDIDATES = {}


@dataclass(frozen=True)
class ClimbStep:
    """One row of V6's climb (issue 24): one change over the row it names, as a run.

    Each step is an ordinary run of a version, trained with the command line's own
    options (``train --version V [--recipe R] [--set FIELD=VALUE]``), so its folder
    is the one ``runs.RunStore`` names for them (``v6-cpu+loss=mse``, ``v6-v5-cpu``).

    Fields:
        change: what this row changes over the row it builds on (the table's text).
        version: a key of REGISTRY or CANDIDATES.
        recipe: an augmentation recipe instead of the version's own (None: its own).
        overrides: ((profile field, value), ...) as ``--set`` gives them.
        base: the index in CLIMB of the row it changes (None: the row before).
    """

    change: str
    version: str
    recipe: str | None = None
    overrides: tuple = ()
    base: int | None = None

    def run_overrides(self):
        """{profile field: value} this step sets (``--set``)."""
        return dict(self.overrides)


# From the heatmap model to V6, one change per row, each chosen on validation people;
# the report and the README show every row, those that did not pay too. Longer training
# is no row: V6 trains no faster than the heatmap model on 2 cores (the climb table's
# speed columns, benchmarks/train_speed.py), so its speed buys no epochs there.
CLIMB = (
    ClimbStep("heatmap: V4's encoder, 24x24 maps, soft-argmax, squared error", "heatmap"),
    ClimbStep("+ inverted-residual backbone (squared error)", "v6", overrides=(("loss", "mse"),)),
    ClimbStep("+ Wing loss: V6", "v6"),
    ClimbStep("V6 + detector-robust augmentation (V5's recipe)", "v6", recipe="v5", base=2),
    ClimbStep("V6 + twice the peak learning rate", "v6", overrides=(("learning_rate", 4e-3),),
              base=2),
    ClimbStep("heatmap + Wing loss (no inverted residuals)", "heatmap",
              overrides=(("loss", "wing"),), base=0),
    ClimbStep("V6 + four times the peak learning rate", "v6", overrides=(("learning_rate", 8e-3),),
              base=2),
)
# The version the others are measured against: the report's reference run (its
# machine and test-set sizes) and the demo's version until 04_evaluate chooses one.
MAIN_VERSION = "v4"


def get_version(name):
    """The Version record of `name` (a key of REGISTRY or CANDIDATES), else a clear error."""
    known = {**REGISTRY, **CANDIDATES}
    if name not in known:
        raise LandmarkError(f"unknown model version {name!r}; choose one of {list(known)}")
    return known[name]
