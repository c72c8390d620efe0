"""Running a profile's grader over a batch of samples: a built-in one, or the team's module under graders/.

A module is loaded by its file path under the directory that holds the ``lambdas`` package (``package_root``):
the repository in a checkout, the CLI and the emulator, the asset root in Lambda, where the stack copies the
repository's ``graders/`` beside ``lambdas/``. Its path is a ``GraderSettings.module`` (``graders/<name>.py``;
the profile refuses anything else) and must resolve inside ``graders/``, so a profile cannot load code from
anywhere else. Its function is ``grade(sample: GraderSample) -> float | GraderScore`` (or the one the profile
names); a float becomes the sample's ``aggregate_reward_score``.

Errors, and why they end differently:
- A module that cannot be loaded (missing, a syntax error, no such function) fails the invocation
  (``GraderUnavailable``): every sample would get the same 0, a job would learn nothing while billing, and
  ``grader_problems`` already refuses such a profile at synth.
- A sample whose grading raises, or returns something that is not a finite number or a GraderScore for that
  sample, scores 0 with the metric ``grader_error`` = 1 and is reported (``GradingOutcome.errors``, which the
  handler logs with the sample id): one odd response must not lose the batch's other rewards, and the job's
  metrics show the error rate.
- A batch where EVERY sample raised fails the invocation (``GraderFailed``): that is a bug in the grader, not in
  the responses, and a job fed only zeros trains on noise. AWS documents no retry or failure policy for a
  grader's errors (nova-implementing-reward-functions, read 2026-12-07), so failing is the way to be seen.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import math
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, cast

from lambdas.domain.grader_contract import GraderMetric, GraderRequest, GraderResponse, GraderSample, GraderScore
from lambdas.domain.graders import BUILTIN_GRADERS
from lambdas.domain.profiles import GraderSettings

GRADERS_FOLDER = "graders"
# The directory holding the `lambdas` package: the repository, or the Lambda asset's root.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
ERROR_METRIC = "grader_error"

UserGrader = Callable[[GraderSample], Any]


class GraderUnavailable(RuntimeError):
    """The profile's grader module cannot be loaded: no sample can be graded."""


@dataclass(frozen=True)
class SampleError:
    sample_id: str
    error: str


class GraderFailed(RuntimeError):
    """Every sample of the batch raised: a bug in the grader, reported instead of answering only zeros."""

    def __init__(self, errors: list[SampleError]) -> None:
        super().__init__(f"the grader raised on all {len(errors)} sample(s); first: {errors[0].error}")
        self.errors = errors


@dataclass(frozen=True)
class GradingOutcome:
    response: GraderResponse
    errors: list[SampleError] = field(default_factory=list)


def module_path(settings: GraderSettings, root: Path) -> Path:
    """Where the profile's module is; refuses a path that leaves ``graders/`` (a link, for instance)."""
    if settings.module is None:
        raise ValueError("a builtin grader has no module")
    folder = (root / GRADERS_FOLDER).resolve()
    path = (root / settings.module).resolve()
    if not path.is_relative_to(folder):
        raise GraderUnavailable(f"{settings.module} resolves outside {GRADERS_FOLDER}/: {path}")
    return path


def grader_problems(settings: GraderSettings, repo_root: Path = PACKAGE_ROOT) -> list[str]:
    """Why the profile's grader could not run, read without running the module: for the stack at synth and
    ``tuneforge validate``. A builtin grader's options are checked by GraderSettings itself."""
    if settings.module is None:
        return []
    try:
        path = module_path(settings, repo_root)
    except GraderUnavailable as error:
        return [str(error)]
    where = repo_root / settings.module
    if not path.is_file():
        return [f"grader module {where} does not exist (a profile's module is a file under {GRADERS_FOLDER}/)"]
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(where))
    except (SyntaxError, UnicodeDecodeError, ValueError) as error:
        return [f"grader module {where} does not parse: {error}"]
    defined = _top_level_names(tree)
    if settings.function not in defined:
        return [f"grader module {where} defines no function {settings.function}(sample)"]
    if defined[settings.function] == "async":
        return [f"grader module {where}: {settings.function} is async; the grader calls it synchronously"]
    return []


def _top_level_names(tree: ast.Module) -> dict[str, str]:
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names[node.name] = "def"
        elif isinstance(node, ast.AsyncFunctionDef):
            names[node.name] = "async"
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update({t.id: "value" for t in targets if isinstance(t, ast.Name)})
        elif isinstance(node, ast.ImportFrom):
            names.update({(alias.asname or alias.name): "value" for alias in node.names})
    return names


@lru_cache(maxsize=8)
def load_user_grader(module: str, function: str, root: Path = PACKAGE_ROOT) -> UserGrader:
    """The module's grading function, loaded once per (warm) Lambda environment."""
    settings = GraderSettings(module=module, function=function)
    path = module_path(settings, root)
    if not path.is_file():
        raise GraderUnavailable(f"grader module {root / module} does not exist")
    # Registered under a name of its own (dataclasses and pickling look a module up in sys.modules), one per file.
    name = f"tuneforge_grader_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a source loader
        raise GraderUnavailable(f"cannot load {path}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    except Exception as error:
        del sys.modules[name]
        raise GraderUnavailable(f"grader module {module} failed to load: {type(error).__name__}: {error}") from error
    grade = getattr(loaded, function, None)
    if not callable(grade):
        del sys.modules[name]
        raise GraderUnavailable(f"grader module {module} defines no function {function}(sample)")
    return cast(UserGrader, grade)  # the team's code: what it returns is checked per sample (_as_score)


def _as_score(sample: GraderSample, result: Any) -> GraderScore:
    if isinstance(result, GraderScore):
        if result.id != sample.id:
            raise ValueError(f"returned a score for id {result.id!r}, not for the sample {sample.id!r}")
        return result
    if isinstance(result, bool) or not isinstance(result, (int, float)) or not math.isfinite(result):
        raise TypeError(f"returned {result!r}; a grader returns a finite number or a GraderScore")
    return GraderScore(id=sample.id, aggregate_reward_score=float(result))


def _grader_function(settings: GraderSettings, root: Path) -> UserGrader:
    if settings.builtin is not None:
        builtin = BUILTIN_GRADERS[settings.builtin]
        return lambda sample: builtin(sample, settings)
    assert settings.module is not None  # GraderSettings holds exactly one of the two
    return load_user_grader(settings.module, settings.function, root)


def grade_request(request: GraderRequest, settings: GraderSettings, root: Path = PACKAGE_ROOT) -> GradingOutcome:
    """One score per sample, in the request's order (module docstring: what an error does)."""
    grade = _grader_function(settings, root)
    scores: list[GraderScore] = []
    errors: list[SampleError] = []
    for sample in request.root:
        try:
            scores.append(_as_score(sample, grade(sample)))
        except Exception as error:  # the team's code: anything it raises is that sample's error, not the batch's
            errors.append(SampleError(sample.id, f"{type(error).__name__}: {error}"))
            scores.append(
                GraderScore(
                    id=sample.id,
                    aggregate_reward_score=0.0,
                    metrics_list=[GraderMetric(name=ERROR_METRIC, value=1.0)],
                )
            )
    if request.root and len(errors) == len(request.root):
        raise GraderFailed(errors)
    return GradingOutcome(GraderResponse(scores), errors)
