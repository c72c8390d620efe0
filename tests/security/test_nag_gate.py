"""cdk-nag inside synth: an app with an open finding does not synthesize."""

from __future__ import annotations

import pytest


def test_unencrypted_bucket_fails_synth(tmp_path):
    from aws_cdk import App, Stack
    from aws_cdk import aws_s3 as s3

    from stacks.nag import add_security_gates

    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Tuneforge-test-Open")
    s3.Bucket(stack, "Plain", encryption=s3.BucketEncryption.UNENCRYPTED)
    add_security_gates(app)
    with pytest.raises(RuntimeError, match="ValidationFailed") as failure:
        app.synth()
    assert "Tuneforge-test-Open/Plain/Resource" in str(failure.value)  # the finding names the bucket


def test_acknowledged_finding_does_not_fail_synth(tmp_path):
    """The same kind of app synthesizes once its findings are compliant or acknowledged on the resource."""
    from aws_cdk import App, Stack
    from aws_cdk import aws_sqs as sqs

    from stacks.nag import acknowledge, add_security_gates

    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Tuneforge-test-Acked")
    dlq = sqs.Queue(stack, "Dlq", enforce_ssl=True)
    reason = "This queue is itself the dead-letter queue, and an alarm on its depth stands in for a second redrive."
    acknowledge(
        dlq,
        reason,
        "AwsSolutions-SQS3",
        "Serverless-SQSRedrivePolicy",
        "NIST.800.53.R5-SQSQueueSSE",
        "HIPAA.Security-SQSQueueSSE",
    )
    add_security_gates(app)
    app.synth()
    assert (tmp_path / "Tuneforge-test-Acked.template.json").exists()
