"""Authorization in the emulated account: every AWS call is made as a principal and checked against the
deployed policies before moto serves it.

Who is calling is carried the way AWS carries it, in the request's credentials: the emulator hands each
principal its own access key (a Lambda function's execution role gets one in its environment per
invocation; the Step Functions executor signs with the state machine's role; the test driver and the
CLI use a configurable principal). ``botocore.client.BaseClient._make_api_call`` is wrapped: it looks up
the principal of the client's access key, asks ``operations.requirements`` what the call needs, and lets
``engine.decide`` judge each requirement against identity policies, the permissions boundary, the
resource's policy, the key policy and the VPC endpoint policy (for callers inside a VPC). A denied call
raises the error a real client gets, with a message naming principal, action and resource.

Modes (``Settings.authorization``): ``"enforce"`` (default) raises on denial; ``"record"`` only records;
``"off"`` skips the checks. Every decision is kept in :data:`DECISIONS`, denials in :data:`DENIALS`.
"""

from __future__ import annotations

from .hook import (
    DECISIONS,
    DENIALS,
    EMULATOR,
    OPERATOR,
    NoAuthorizationRule,
    apply,
    authorize,
    credentials_for,
    register_principal,
    reset,
    service_principal,
    unchecked,
)

__all__ = [
    "DECISIONS",
    "DENIALS",
    "EMULATOR",
    "OPERATOR",
    "NoAuthorizationRule",
    "apply",
    "authorize",
    "credentials_for",
    "register_principal",
    "reset",
    "service_principal",
    "unchecked",
]
