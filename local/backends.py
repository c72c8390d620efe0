"""moto's backend object for a service, account and Region: the one lookup the driver and local.authz share."""

from __future__ import annotations

from typing import Any, cast


def moto_backend(service: str, account: str, region: str) -> Any:
    """``"stepfunctions"`` is the executing (parser) backend; S3 and IAM are global (moto's "aws" key)."""
    from moto.backends import get_backend

    if service == "stepfunctions":
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        return stepfunctions_parser_backends[account][region]
    key = "aws" if service in ("s3", "iam") else region
    # get_backend is overloaded on each service's literal name; a name known only at run time gets Any
    return get_backend(cast(Any, service))[account][key]
