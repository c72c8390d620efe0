"""``tuneforge validate PATH --model MODEL_ID [--type TYPE] [--validation PATH] [--evaluation-set PATH] [--json] [--convert-out PATH]``

PATH is a JSONL file or a dataset folder: a folder's manifest.json names its training (and validation) file,
as when the folder is uploaded with ``tuneforge submit``; a folder without one is refused.

Exit 0 when Bedrock should accept the dataset, 1 when it has errors, 2 for a usage error. ``--json``
prints only the machine-readable report on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path, PurePosixPath
from typing import IO, Any, Callable

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from cli._common import (
    EXIT_NO,
    EXIT_OK,
    UsageError,
    add_model_arguments,
    dataset_source,
    parse_hyperparameters,
    resolve_model,
    resolve_type,
    s3_client,
)
from lambdas.domain.evaluation import EvaluationSetError, parse_evaluation_set
from lambdas.domain.openai_chat import OPENAI_CHAT
from lambdas.domain.overlap import EvaluationPrompts
from lambdas.domain.report import ValidationReport
from lambdas.domain.runs import MANIFEST_NAME, Manifest, ManifestError, S3ObjectRef
from lambdas.domain.sources import DatasetSource, s3_media_checker
from lambdas.domain.validation import validate_dataset

PROGRESS_THRESHOLD = 16 << 20  # below this a file validates in well under a second: no bar


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a JSONL dataset (or a folder with manifest.json) against what Bedrock accepts for a model",
        description="Check a JSONL dataset (local path or s3:// URI) against what Bedrock accepts for a model and customization type.",
    )
    parser.add_argument(
        "path",
        metavar="PATH",
        help="training JSONL (a local path or s3://bucket/key), or a dataset folder whose manifest.json names its files",
    )
    add_model_arguments(parser)
    parser.add_argument("--validation", metavar="PATH", help="validation JSONL (local path or s3:// URI)")
    parser.add_argument("--json", action="store_true", help="print only the JSON report on stdout")
    parser.add_argument(
        "--convert-out", metavar="PATH", help="write the OpenAI-chat records, converted to the model's format, to PATH"
    )
    parser.add_argument(
        "--max-examples",
        type=int,
        default=20,
        metavar="N",
        help="examples shown per kind of issue, as a count (default 20)",
    )
    parser.add_argument(
        "--format",
        dest="source_format",
        choices=("auto", "native", OPENAI_CHAT),
        default="auto",
        help="input format (default: detect OpenAI chat)",
    )
    parser.add_argument(
        "--check-media",
        action="store_true",
        help="also check that every s3:// media object exists (needs S3 read access)",
    )
    parser.add_argument(
        "--bucket",
        metavar="NAME",
        help="bucket the dataset will be uploaded to, for the same-bucket media rule (s3:// paths know theirs)",
    )
    parser.add_argument(
        "--evaluation-set",
        metavar="PATH",
        help="the profile's evaluation set (local JSONL of prompt + reference): warn where training repeats its prompts",
    )
    parser.set_defaults(handler=run)


def manifest_files(folder: Path) -> tuple[Path, Path | None]:
    """The training and validation files a dataset folder's manifest.json names, by the rules the upload
    trigger applies to the same folder uploaded under incoming/<profile>/ (lambdas/domain/runs.py Manifest)."""
    manifest = folder / MANIFEST_NAME
    if not manifest.is_file():
        raise UsageError(
            f"{folder} is a folder without {MANIFEST_NAME}: a dataset folder needs one naming its files, e.g. "
            '{"training": "train.jsonl", "validation": "validation.jsonl"}; to check a single file, give its path'
        )
    uploaded_as = S3ObjectRef(bucket="local", key=f"{folder.resolve().name}/{MANIFEST_NAME}")
    try:
        dataset = Manifest.model_validate_json(manifest.read_bytes()).dataset(uploaded_as)
    except ValidationError as invalid:
        raise ManifestError(
            "invalid manifest: "
            + "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'manifest'}: {e['msg']}" for e in invalid.errors(include_url=False)
            )
        ) from None

    def local(ref: S3ObjectRef) -> Path:
        path = folder / PurePosixPath(ref.key).relative_to(PurePosixPath(uploaded_as.key).parent)
        if not path.is_file():
            raise ManifestError(f"the manifest names {path.name!r}, which is not a file in {folder}")
        return path

    return local(dataset.training), local(dataset.validation) if dataset.validation else None


def _validation_out(path: str) -> Path:
    p = Path(path)
    return p.with_name(f"{p.stem}.validation{p.suffix or '.jsonl'}")


def _evaluation_prompts(path: str | None) -> EvaluationPrompts | None:
    """The evaluation set's prompts, as Validate checks the training data against them in a run."""
    if path is None:
        return None
    try:
        examples = parse_evaluation_set(Path(path).read_bytes(), path)
    except OSError as error:
        raise UsageError(f"--evaluation-set {path}: {error.strerror or error}") from None
    except EvaluationSetError as error:
        raise UsageError(str(error)) from None
    return EvaluationPrompts.of((example.line, example.prompt) for example in examples)


def run(args: argparse.Namespace) -> int:
    if args.max_examples < 0:
        raise UsageError("--max-examples must be 0 or more")
    model = resolve_model(args.model)
    ctype = resolve_type(model, args.customization_type)
    hyperparameters = parse_hyperparameters(model, args.hp, ctype)
    evaluation_prompts = _evaluation_prompts(args.evaluation_set)
    if os.path.isdir(args.path):
        if args.validation:
            raise UsageError(f"{args.path} is a dataset folder: its manifest.json names the validation file")
        try:
            training_path, validation_path = manifest_files(Path(args.path))
        except ManifestError as error:
            print(f"INVALID  {os.path.join(args.path, MANIFEST_NAME)}: {error}")
            return EXIT_NO
        training = dataset_source(os.fspath(training_path))
        validation = dataset_source(os.fspath(validation_path)) if validation_path else None
    else:
        training = dataset_source(args.path)
        validation = dataset_source(args.validation) if args.validation else None
    err = Console(stderr=True)

    with ExitStack() as stack:
        writers: dict[str, IO[str]] = {}
        targets = {"training": Path(args.convert_out)} if args.convert_out else {}
        if args.convert_out and validation is not None:
            targets["validation"] = _validation_out(args.convert_out)

        def on_converted(split: str, line: int, record: dict[str, Any]) -> None:
            out = writers.get(split)
            if out is None:
                out = writers[split] = stack.enter_context(open(targets[split], "w", encoding="utf-8"))
            out.write(json.dumps(record, ensure_ascii=False) + "\n")

        progress = _progress(stack, err, training, validation)
        report = validate_dataset(
            training,
            model,
            ctype,
            validation_source=validation,
            hyperparameters=hyperparameters,
            max_examples_per_kind=args.max_examples,
            bucket=args.bucket,
            media_exists=s3_media_checker(s3_client()) if args.check_media else None,
            source_format=args.source_format,
            on_converted=on_converted if targets else None,
            progress=progress,
            evaluation_prompts=evaluation_prompts,
        )
    if args.json:
        print(report.to_json(indent=2))
    else:
        _render(report, Console(), err)
    if args.convert_out:
        _conversion_note(report, targets, writers, err)
    return EXIT_OK if report.valid else EXIT_NO


def _progress(stack: ExitStack, err: Console, *sources: DatasetSource | None) -> Callable[[int], None] | None:
    sizes = []
    for source in sources:
        if source is not None:
            try:
                sizes.append(source.size() or 0)
            except Exception:
                sizes.append(0)
    total = sum(sizes)
    if total < PROGRESS_THRESHOLD:
        return None
    bar = stack.enter_context(
        Progress(
            TextColumn("validating"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
    )
    task = bar.add_task("validate", total=total)
    done_before = [0]  # bytes of files already finished; progress() reports per-file offsets
    last = [0]

    def progress(nbytes: int) -> None:
        if nbytes < last[0]:
            done_before[0] += last[0]
        last[0] = nbytes
        bar.update(task, completed=done_before[0] + nbytes)

    return progress


def _render(report: ValidationReport, out: Console, err: Console) -> None:
    verdict = "[bold green]VALID[/]" if report.valid else "[bold red]INVALID[/]"
    out.print(
        f"{verdict}  {escape(report.model_name)} ({report.model_id}), {report.customization_type}, format {report.dataset_format}"
    )
    if report.source_format == OPENAI_CHAT:
        out.print(f"  input recognised as OpenAI chat and converted to {report.dataset_format}")
    for f in report.files:
        out.print(f"  {f.split}: {escape(f.name)}", soft_wrap=True)
    stats = Table(box=None, pad_edge=False)
    for column in ("file", "lines", "records", "valid", "est. tokens", "p50", "p90", "max"):
        stats.add_column(column, justify="left" if column == "file" else "right")
    for f in report.files:
        t = f.tokens
        stats.add_row(
            f.split,
            f"{f.lines:,}",
            f"{f.records:,}",
            f"{f.valid_records:,}",
            f"{t.total:,}",
            *(str(v) if v is not None else "-" for v in (t.percentile(50), t.percentile(90), t.maximum)),
        )
    out.print(stats)
    for title, groups, style in (("error(s)", report.errors, "red"), ("warning(s)", report.warnings, "yellow")):
        if not groups:
            continue
        out.print(f"\n[bold {style}]{sum(g.count for g in groups):,} {title}[/]")
        for group in groups:
            shown = len(group.examples)
            more = f" (first {shown} shown)" if shown < group.count else ""
            out.print(f"  [{style}]{group.kind}[/] x{group.count:,}{more}")
            for issue in group.examples:
                out.print(f"    {escape(str(issue))}", soft_wrap=True)
    if report.notes:
        out.print("\n[dim]notes:[/]")
        for note in report.notes:
            out.print(f"  [dim]- {escape(note)}[/]", soft_wrap=True)


def _conversion_note(
    report: ValidationReport, targets: dict[str, Path], writers: dict[str, IO[str]], err: Console
) -> None:
    if report.source_format != OPENAI_CHAT:
        err.print(f"nothing converted: the input is already in {report.dataset_format} format")
        return
    for split, path in targets.items():
        summary = next((f for f in report.files if f.split == split), None)
        if summary is None or summary.format != OPENAI_CHAT:
            continue
        if split not in writers:
            path.write_text("", encoding="utf-8")
        skipped = summary.records - summary.valid_records
        tail = f"; {skipped:,} record(s) with errors were left out" if skipped else ""
        err.print(f"wrote {summary.valid_records:,} converted {split} record(s) to {escape(os.fspath(path))}{tail}")


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - convenience for `python -m cli.validate`
    from cli.main import main as tuneforge

    return tuneforge(["validate", *(argv if argv is not None else sys.argv[1:])])
