"""tuneforge's security review kit: ``make audit`` writes ``audit/REPORT.md`` and ``audit/report.json``.

Everything in the report is read from a synthesized cloud assembly (``cdk.out``): the templates, their
construct metadata and nag's ``validation-report.json``, plus the cfn-lint and checkov runs over them. Nothing
is hand-maintained. The model (``model.build``) is a JSON-able dict; ``diff.diff_models`` compares two models
fact by fact, so "changed since BASE" is exact; ``markdown.render`` writes the pull-request-readable report.
``standing_cost`` prices what each stage bills a month with no run in flight, from the same templates.

    python -m tuneforge_audit --cdk-out cdk.out --out audit [--base <git ref> | --base-report <report.json>]

The checklist checks (``checklist``), the acknowledgement audit (``acknowledgements``, with its allowlist
``allowed_suppressions.yaml``) and the scanner runners (``gates``, ``python -m tuneforge_audit.gates``) are the
security gates themselves: ``make gates`` and the tests in ``tests/security`` run this same code, so the report
and the gates can never disagree about what a template says.
"""

SCHEMA_VERSION = 1
